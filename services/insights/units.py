"""Administrative units after the 2025 reform, as data from the ``vietnamadminunits`` package.

Since 1 July 2025 local government has two tiers (province → commune/ward): districts were
abolished and 63 provinces became 34 (Ninh Thuận joined Khánh Hòa). The package ships both
catalogues — 3,321 post-reform communes and 10,040 pre-reform ones with their districts —
and the mapping of each pre-reform commune to its successor (a commune split between several
new ones goes to the one the package marks as its default successor). Nothing here is typed
by hand: the catalogue is built from the package's data when first asked for.

Codes: a province has 2 digits, a pre-reform district 3, a commune 5 (``00097``); a code given
with fewer digits than 5 but more than 3 is read as a commune code with its zeros dropped.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """Where a unit sits: a province, a pre-reform district (for comparison), a commune."""

    PROVINCE = "province"
    OLD_DISTRICT = "old_district"
    COMMUNE = "commune"


@dataclass(frozen=True)
class Unit:
    """One administrative unit: its code, Vietnamese name and province."""

    code: str
    name: str
    level: Level
    province_code: str


@dataclass(frozen=True)
class Catalogue:
    """Post-reform provinces and communes, pre-reform districts, and the old→new mapping."""

    units: dict[str, Unit]  # every code: provinces, communes (post-reform), old districts
    successors: dict[str, str] = field(default_factory=dict)  # pre-reform commune → commune
    old_districts: dict[str, str] = field(default_factory=dict)  # any commune → old district
    old_provinces: dict[str, str] = field(default_factory=dict)  # pre-reform province → province

    def normalise(self, code: str) -> str:
        """A code in its canonical spelling (communes with 5 digits)."""
        code = code.strip()
        return code.zfill(5) if len(code) > 3 else code

    def commune(self, code: str | None) -> str | None:
        """The post-reform commune a commune code (pre- or post-reform) counts under, or
        None when the code names no commune the catalogue knows."""
        if code is None:
            return None
        code = self.normalise(code)
        unit = self.units.get(code)
        if unit is not None and unit.level is Level.COMMUNE:
            return code
        return self.successors.get(code)

    def province_of(self, commune: str) -> str | None:
        """The post-reform province of a post-reform commune."""
        unit = self.units.get(commune)
        return unit.province_code if unit is not None else None

    def old_district_of(self, code: str | None) -> str | None:
        """The pre-reform district a commune code belongs to: exactly, for a pre-reform code;
        for a post-reform one, the district most of its predecessors belonged to."""
        if code is None:
            return None
        return self.old_districts.get(self.normalise(code))

    def name(self, code: str) -> str:
        """The unit's Vietnamese name, or the code itself when unknown."""
        unit = self.units.get(self.normalise(code))
        return unit.name if unit is not None else code

    def resolve(self, code: str) -> Unit | None:
        """The unit a code asked about names: a province (a pre-reform province code gives
        its successor), an old district, or a commune (a pre-reform one gives its
        successor); None when unknown."""
        code = self.normalise(code)
        if len(code) == 2 and code in self.old_provinces:
            code = self.old_provinces[code]
        if len(code) == 5:
            commune = self.commune(code)
            return self.units.get(commune) if commune else None
        return self.units.get(code)

    def communes_in(self, province: str) -> list[str]:
        """The post-reform communes of a province, by code."""
        return sorted(
            u.code
            for u in self.units.values()
            if u.level is Level.COMMUNE and u.province_code == province
        )


def build_catalogue(
    communes: list[dict[str, Any]],
    legacy: list[dict[str, Any]],
    province_merges: dict[str, list[str]],
    undivided: dict[str, dict[str, list[str]]],
    divided: dict[str, dict[str, list[dict[str, Any]]]],
) -> Catalogue:
    """The catalogue from the package's tables: ``communes`` (post-reform rows), ``legacy``
    (pre-reform rows with districts) and the converter's three mappings, keyed by the
    package's name keys (``province_district_ward``)."""
    units: dict[str, Unit] = {}
    by_key: dict[tuple[str, str], str] = {}
    for row in communes:
        province = row["provinceCode"]
        units.setdefault(province, Unit(province, row["province"], Level.PROVINCE, province))
        units[row["wardCode"]] = Unit(row["wardCode"], row["ward"], Level.COMMUNE, province)
        by_key[(row["provinceKey"], row["wardKey"])] = row["wardCode"]
    province_keys = {row["provinceKey"]: row["provinceCode"] for row in communes}
    new_province_of_key = {old: new for new, olds in province_merges.items() for old in olds}
    successor_key: dict[str, tuple[str, str]] = {}
    for new_province, wards in undivided.items():
        for ward_key, olds in wards.items():
            for old in olds:
                successor_key[old] = (new_province, ward_key)
    for new_province, splits in divided.items():
        for old, options in splits.items():
            default = [o["newWardKey"] for o in options if o.get("isDefaultNewWard")]
            if default and old not in successor_key:
                successor_key[old] = (new_province, default[0])
    successors: dict[str, str] = {}
    old_districts: dict[str, str] = {}
    old_provinces: dict[str, str] = {}
    predecessors_districts: dict[str, Counter[str]] = {}
    for row in legacy:
        district = row["districtCode"]
        new_province_key = new_province_of_key.get(row["provinceKey"])
        if new_province_key in province_keys:
            old_provinces[row["provinceCode"]] = province_keys[new_province_key]
        if district not in units:
            province = old_provinces.get(row["provinceCode"], row["provinceCode"])
            units[district] = Unit(district, row["district"], Level.OLD_DISTRICT, province)
        if row["wardCode"] is None:
            continue
        old_districts[row["wardCode"]] = district
        key = f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}"
        new = by_key.get(successor_key.get(key, ("", "")))
        if new is not None:
            successors[row["wardCode"]] = new
            predecessors_districts.setdefault(new, Counter())[district] += 1
    for commune, districts in predecessors_districts.items():
        # a post-reform code that was also a pre-reform one keeps that commune's district
        if commune not in old_districts:
            old_districts[commune] = districts.most_common(1)[0][0]
    return Catalogue(units, successors, old_districts, old_provinces)


@functools.cache
def catalogue() -> Catalogue:
    """The catalogue from the installed ``vietnamadminunits`` package (read once)."""
    from vietnamadminunits.converter.converter_2025 import (
        DICT_PROVINCE,
        DICT_PROVINCE_WARD_DIVIDED,
        DICT_PROVINCE_WARD_NO_DIVIDED,
    )
    from vietnamadminunits.database import get_data

    communes = get_data(["province", "provinceKey", "provinceCode", "ward", "wardKey", "wardCode"])
    legacy = get_data(
        [
            "province",
            "provinceKey",
            "provinceCode",
            "district",
            "districtKey",
            "districtCode",
            "ward",
            "wardKey",
            "wardCode",
        ],
        table="admin_units_legacy",
    )
    return build_catalogue(
        communes, legacy, DICT_PROVINCE, DICT_PROVINCE_WARD_NO_DIVIDED, DICT_PROVINCE_WARD_DIVIDED
    )
