"""Qualification frameworks a credential's level aligns to — the Vietnamese Qualifications
Framework (VQF, 8 levels), the ASEAN Qualifications Reference Framework (AQRF) it is referenced
to, and the general-education levels outside both — as OB 3.0 ``Alignment`` objects; no I/O
beyond reading the data file once.

The level-to-level mapping and its source are data (``frameworks/qualification-frameworks.toml``),
never code. Each alignment names its framework by a stable ``targetType`` (``ext:VQFLevel``,
``ext:AQRFLevel``, ``ext:GeneralEducationLevel``) and the level in ``targetCode``, which is what a
receiving system reads (see :func:`levels_from_alignments`); ``targetName`` is Vietnamese and
``targetDescription`` English, the only place OB 3.0 leaves for a second language.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts import words
from contracts.vocabulary import GeneralEducationLevel

DATA = Path(__file__).resolve().parent / "frameworks" / "qualification-frameworks.toml"
FRAMEWORKS_PATH = "/v1/frameworks/"
VQF_TYPE = "ext:VQFLevel"
AQRF_TYPE = "ext:AQRFLevel"
GENERAL_TYPE = "ext:GeneralEducationLevel"


@dataclass(frozen=True)
class Framework:
    """One framework: its names, where its levels come from, its levels."""

    key: str
    name_vi: str
    name_en: str
    source: str
    levels: tuple[str, ...]


@dataclass(frozen=True)
class Frameworks:
    """The VQF, the AQRF with the VQF→AQRF mapping, and general education with ISCED levels."""

    vqf: Framework
    aqrf: Framework
    general: Framework
    aqrf_from_vqf: Mapping[int, int]
    isced: Mapping[str, int]

    def by_key(self, key: str) -> Framework | None:
        """The framework published under ``key`` (``vqf``, ``aqrf``, ``general``)."""
        return {f.key: f for f in (self.vqf, self.aqrf, self.general)}.get(key)


def _framework(key: str, table: Mapping[str, Any], levels: Iterable[object]) -> Framework:
    return Framework(
        key=key,
        name_vi=str(table["name_vi"]),
        name_en=str(table["name_en"]),
        source=str(table["source"]),
        levels=tuple(str(level) for level in levels),
    )


def load_frameworks(path: Path = DATA) -> Frameworks:
    """The frameworks from their data file; raises ``ValueError`` when the mapping names a
    level a framework does not have."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    general_levels = [g.value for g in GeneralEducationLevel]
    found = Frameworks(
        vqf=_framework("vqf", data["vqf"], data["vqf"]["levels"]),
        aqrf=_framework("aqrf", data["aqrf"], data["aqrf"]["levels"]),
        general=_framework("general", data["general"], general_levels),
        aqrf_from_vqf={int(k): int(v) for k, v in data["aqrf"]["from_vqf"].items()},
        isced={str(k): int(v) for k, v in data["general"]["isced"].items()},
    )
    for vqf, aqrf in found.aqrf_from_vqf.items():
        if str(vqf) not in found.vqf.levels or str(aqrf) not in found.aqrf.levels:
            raise ValueError(f"{path}: VQF {vqf} -> AQRF {aqrf} names an unknown level")
    return found


def _url(base_url: str, framework: Framework, level: object) -> str:
    return f"{base_url.rstrip('/')}{FRAMEWORKS_PATH}{framework.key}#level-{level}"


def level_alignments(
    frameworks: Frameworks,
    base_url: str,
    vqf_level: int | None,
    general_level: str | None,
) -> list[dict[str, Any]]:
    """The OB 3.0 ``Alignment`` objects of a record's level: the VQF level and the AQRF level
    it maps to, or the general-education level (with its ISCED level in the description)."""
    found: list[dict[str, Any]] = []
    if vqf_level is not None:
        vqf = frameworks.vqf
        found.append(
            {
                "type": ["Alignment"],
                "targetType": VQF_TYPE,
                "targetFramework": f"{vqf.name_vi} ({vqf.name_en})",
                "targetCode": str(vqf_level),
                "targetName": words.level_label("vi", vqf_level) or str(vqf_level),
                "targetDescription": f"VQF {words.level_label('en', vqf_level)}",
                "targetUrl": _url(base_url, vqf, vqf_level),
            }
        )
        aqrf_level = frameworks.aqrf_from_vqf.get(vqf_level)
        if aqrf_level is not None:
            aqrf = frameworks.aqrf
            found.append(
                {
                    "type": ["Alignment"],
                    "targetType": AQRF_TYPE,
                    "targetFramework": f"{aqrf.name_vi} ({aqrf.name_en})",
                    "targetCode": str(aqrf_level),
                    "targetName": f"Bậc {aqrf_level} Khung tham chiếu trình độ ASEAN",
                    "targetDescription": (
                        f"AQRF level {aqrf_level}, referenced from VQF level {vqf_level}"
                    ),
                    "targetUrl": _url(base_url, aqrf, aqrf_level),
                }
            )
    elif general_level:
        general = frameworks.general
        isced = frameworks.isced.get(general_level)
        english = words.level_label("en", None, general_level)
        found.append(
            {
                "type": ["Alignment"],
                "targetType": GENERAL_TYPE,
                "targetFramework": f"{general.name_vi} ({general.name_en})",
                "targetCode": general_level,
                "targetName": words.level_label("vi", None, general_level) or general_level,
                "targetDescription": f"{english} (ISCED 2011 level {isced})"
                if isced is not None
                else str(english),
                "targetUrl": _url(base_url, general, general_level),
            }
        )
    return found


def levels_from_alignments(
    frameworks: Frameworks, alignments: Iterable[Any]
) -> tuple[int | None, str | None]:
    """The VQF level and general-education level a list of alignments states (by
    ``targetType`` and ``targetCode``): a VQF level as given, else one mapped back from an
    AQRF level; ``(None, None)`` when there is neither."""
    vqf: int | None = None
    from_aqrf: int | None = None
    general: str | None = None
    back = {aqrf: v for v, aqrf in frameworks.aqrf_from_vqf.items()}
    for item in alignments:
        if not isinstance(item, Mapping):
            continue
        kind, code = item.get("targetType"), str(item.get("targetCode", "")).strip()
        if kind == VQF_TYPE and code in frameworks.vqf.levels:
            vqf = int(code)
        elif kind == AQRF_TYPE and code.isdigit() and int(code) in back:
            from_aqrf = back[int(code)]
        elif kind == GENERAL_TYPE and code in frameworks.general.levels:
            general = code
    return (vqf if vqf is not None else from_aqrf), general


def framework_document(frameworks: Frameworks, framework: Framework) -> dict[str, Any]:
    """What ``GET /v1/frameworks/{key}`` serves: the framework, its source and its levels
    (with the AQRF level each VQF level maps to, or the ISCED level of a general one)."""
    levels: list[dict[str, Any]] = []
    for level in framework.levels:
        item: dict[str, Any] = {"id": f"level-{level}", "code": level}
        if framework.key == "vqf":
            item["name_vi"] = words.level_label("vi", int(level))
            item["name_en"] = words.level_label("en", int(level))
            item["aqrf_level"] = frameworks.aqrf_from_vqf.get(int(level))
        elif framework.key == "general":
            item["name_vi"] = words.level_label("vi", None, level)
            item["name_en"] = words.level_label("en", None, level)
            item["isced_2011_level"] = frameworks.isced.get(level)
        else:
            item["vqf_levels"] = sorted(
                v for v, a in frameworks.aqrf_from_vqf.items() if str(a) == level
            )
        levels.append(item)
    return {
        "framework": framework.key,
        "name_vi": framework.name_vi,
        "name_en": framework.name_en,
        "source": framework.source,
        "levels": levels,
    }
