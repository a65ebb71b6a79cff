"""The figures as a page: the department's dashboard (choose period and unit, indicators,
charts, downloads) and the printable report laid out as a Vietnamese administrative report
(issuing body, number, place and date, title, tables, charts, recipients, signer) — both from
the published figures alone, in the shared layout with the words of the one catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from contracts import words
from contracts.words import Lang
from services.common.pages import STATIC, STYLESHEET_URL, Pages
from services.insights.charts import all_charts
from services.insights.figures import DIMENSIONS, GROUPS
from services.insights.units import catalogue

PAGES = Pages(Path(__file__).resolve().parent / "templates")


@dataclass(frozen=True)
class Heading:
    """What a printed report says about itself."""

    parent: str  # e.g. ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA
    body: str  # e.g. SỞ GIÁO DỤC VÀ ĐÀO TẠO
    number: str  # e.g. 123/BC-SGDĐT
    place: str  # e.g. Khánh Hòa
    on: date


def report_heading(found: Mapping[str, Any], number: str, body: str, on: date) -> Heading:
    """A printed report's heading: the province's People's Committee over the department."""
    units = catalogue()
    unit = found["unit"]
    province = units.units.get(unit and (unit["code"] if unit["level"] == "province" else ""))
    if unit and province is None:
        resolved = units.resolve(unit["code"])
        province = units.units.get(resolved.province_code) if resolved else None
    name = province.name if province else "Tỉnh"
    place = name.removeprefix("Tỉnh ").removeprefix("Thành phố ")
    return Heading(f"ỦY BAN NHÂN DÂN {name.upper()}", body, number, place, on)


def _shown(lang: Lang) -> Any:
    def shown(value: object) -> str:
        if isinstance(value, int | float):
            return words.number(lang, value)
        return str(value)

    return shown


def render(
    found: Mapping[str, Any],
    lang: Lang = "vi",
    heading: Heading | None = None,
    base_url: str = "/v1/figures",
    session: Mapping[str, Any] | None = None,
) -> str:
    """The dashboard (``heading`` None) or the printable report, as one HTML document;
    ``session`` is a signed-in officer's (their unit's name, the sign-out form's token)."""
    pick = 0 if lang == "vi" else 1
    groups = []
    for group, names in GROUPS.items():
        indicators = [
            {
                "id": i["id"],
                "name": i["name_vi"] if lang == "vi" else i["name_en"],
                "total": i["total"],
                "rows": [
                    (dimension, cell["key"], cell["label"], cell["value"])
                    for dimension, cells in i["breakdowns"].items()
                    for cell in cells
                    if not (i["id"] == "programmes_announced" and cell["value"] == 0)
                ],
            }
            for i in found["indicators"]
            if i["group"] == group
        ]
        groups.append((group, names[pick], indicators))
    query = {
        "period": found["period"],
        **({"unit": found["unit"]["code"]} if found["unit"] else {}),
    }
    unit = found["unit"]
    report = None
    if heading is not None:
        report = {
            "parent": heading.parent,
            "body": heading.body,
            "number": heading.number,
            "place": heading.place,
            "day": f"{heading.on.day:02d}",
            "month": f"{heading.on.month:02d}",
            "year": heading.on.year,
        }
    page = PAGES.render(
        "figures.html",
        lang,
        found=found,
        groups=groups,
        unit_name=f"{unit['name']} ({unit['code']})"
        if unit
        else words.word(lang, "page.figures.all_units"),
        dimension_names={k: v[pick] for k, v in DIMENSIONS.items()},
        definitions=[
            {
                "name": i["name_vi"] if lang == "vi" else i["name_en"],
                "how": i["counting_vi"] if lang == "vi" else i["counting_en"],
            }
            for i in found["indicators"]
        ],
        charts=all_charts(found),
        shown=_shown(lang),
        report=report,
        base_url=base_url,
        session=session,
        xlsx_url=f"{base_url}?{urlencode({**query, 'format': 'xlsx'})}",
        csv_url=f"{base_url}?{urlencode({**query, 'format': 'csv'})}",
        pdf_url=f"{base_url}?{urlencode({**query, 'format': 'pdf'})}",
        switch_url=None
        if heading
        else f"{base_url}?{urlencode({**query, 'lang': 'en' if lang == 'vi' else 'vi'})}",
    )
    if heading is not None:  # a file on its own: the stylesheet goes inside it
        page = page.replace(
            f'<link rel="stylesheet" href="{STYLESHEET_URL}">',
            f"<style>{(STATIC / 'site.css').read_text(encoding='utf-8')}</style>",
        )
    return page
