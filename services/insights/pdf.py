"""The periodic report as a PDF (A4), laid out as a Vietnamese administrative report: issuing
body and number beside the national motto, place and date; the title; each indicator group's
totals and breakdowns; the charts; how each indicator is counted; recipients and signer.

It is built from the published figures alone, like the workbook and the page, so it carries
the API's numbers and its suppressed cells (``<5``). Text is set in DejaVu Sans, which has
every Vietnamese letter and ships inside matplotlib (already what draws the charts): nothing
is fetched and no system font is needed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from contracts import words
from contracts.words import Lang
from services.common.fonts import FONT, register_fonts
from services.insights.charts import all_chart_pictures
from services.insights.figures import DIMENSIONS, GROUPS
from services.insights.figures_page import Heading

WIDTH = A4[0] - 36 * mm  # the text block between the margins


Align = Literal[0, 1, 2]  # left, centre, right


def _style(size: float = 9.5, bold: bool = False, align: Align = 0, **more: Any) -> ParagraphStyle:
    return ParagraphStyle(
        "s",
        fontName=f"{FONT}-Bold" if bold else FONT,
        fontSize=size,
        leading=size * 1.3,
        alignment=align,
        **more,
    )


def _p(text: str, size: float = 9.5, bold: bool = False, align: Align = 0) -> Paragraph:
    return Paragraph(escape(text), _style(size, bold, align))


def _shown(lang: Lang, value: object) -> str:
    return words.number(lang, value) if isinstance(value, int | float) else str(value)


def _grid(rows: list[list[Any]], widths: list[float], numbers_from: int) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("FONT", (0, 0), (-1, 0), f"{FONT}-Bold", 8.5),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("ALIGN", (numbers_from, 1), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _head(heading: Heading, lang: Lang) -> list[Flowable]:
    left = [
        _p(heading.parent, 9.5, align=1),
        _p(heading.body, 9.5, bold=True, align=1),
        _p(words.word(lang, "page.figures.number", number=heading.number), 9.5, align=1),
    ]
    place_date = words.word(
        lang,
        "page.figures.place_date",
        place=heading.place,
        day=f"{heading.on.day:02d}",
        month=f"{heading.on.month:02d}",
        year=heading.on.year,
    )
    right = [
        _p(words.word(lang, "page.figures.nation"), 9.5, bold=True, align=1),
        _p(words.word(lang, "page.figures.motto"), 9.5, bold=True, align=1),
        Paragraph(f"<i>{escape(place_date)}</i>", _style(9.5, align=1)),
    ]
    table = Table([[left, right]], colWidths=[WIDTH * 0.42, WIDTH * 0.58])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [table, Spacer(1, 8 * mm)]


def pdf_bytes(found: Mapping[str, Any], heading: Heading, lang: Lang = "vi") -> bytes:
    """The report of ``found`` (the figures as the API publishes them) as a PDF."""
    register_fonts()
    pick = 0 if lang == "vi" else 1
    unit = found["unit"]
    unit_name = (
        f"{unit['name']} ({unit['code']})" if unit else words.word(lang, "page.figures.all_units")
    )
    story: list[Flowable] = _head(heading, lang)
    story += [
        _p(words.word(lang, "page.figures.report"), 14, bold=True, align=1),
        _p(words.word(lang, "page.figures.subject", period=found["period"]), 10, True, align=1),
        _p(unit_name, 10, align=1),
        Spacer(1, 4 * mm),
        _p(
            words.word(
                lang,
                "page.figures.range",
                start=words.day(found["from"]),
                end=words.day(found["to"]),
            )
        ),
        _p(words.word(lang, "page.figures.suppressed"), 8.5),
    ]
    value_word = words.word(lang, "page.figures.value")
    for group, names in GROUPS.items():
        indicators = [i for i in found["indicators"] if i["group"] == group]
        if not indicators:
            continue
        story += [Spacer(1, 5 * mm), _p(names[pick], 11.5, bold=True), Spacer(1, 2 * mm)]
        totals: list[list[Any]] = [
            [words.word(lang, "page.figures.indicator"), words.word(lang, "page.figures.total")]
        ]
        totals += [
            [_p(i["name_vi"] if lang == "vi" else i["name_en"], 8.5), _shown(lang, i["total"])]
            for i in indicators
        ]
        story.append(_grid(totals, [WIDTH * 0.78, WIDTH * 0.22], 1))
        for indicator in indicators:
            rows: list[list[Any]] = [[words.word(lang, "page.figures.details"), "", value_word]]
            rows += [
                [
                    _p(DIMENSIONS[dimension][pick], 8.5),
                    _p(str(cell["label"]), 8.5),
                    _shown(lang, cell["value"]),
                ]
                for dimension, cells in indicator["breakdowns"].items()
                for cell in cells
                if not (indicator["id"] == "programmes_announced" and cell["value"] == 0)
            ]
            if len(rows) == 1:
                continue
            name = indicator["name_vi"] if lang == "vi" else indicator["name_en"]
            story += [
                Spacer(1, 3 * mm),
                _p(name, 9.5, bold=True),
                _grid(rows, [WIDTH * 0.25, WIDTH * 0.55, WIDTH * 0.2], 2),
            ]
    story += [Spacer(1, 6 * mm), _p(words.word(lang, "page.figures.charts"), 11.5, bold=True)]
    for picture in all_chart_pictures(found):
        image = Image(io.BytesIO(picture))
        scale = min(1.0, WIDTH / image.drawWidth)
        image.drawWidth, image.drawHeight = image.drawWidth * scale, image.drawHeight * scale
        story += [Spacer(1, 3 * mm), image]
    story += [Spacer(1, 6 * mm), _p(words.word(lang, "page.figures.how"), 11.5, bold=True)]
    how = [
        [
            _p(i["name_vi"] if lang == "vi" else i["name_en"], 8.5),
            _p(i["counting_vi"] if lang == "vi" else i["counting_en"], 8.5),
        ]
        for i in found["indicators"]
    ]
    story.append(_grid([["", ""], *how], [WIDTH * 0.32, WIDTH * 0.68], 2))
    recipients = Paragraph(
        f"<b>{escape(words.word(lang, 'page.figures.recipients'))}</b><br/>"
        f"- {escape(words.word(lang, 'page.figures.recipient_committee'))}<br/>"
        f"- {escape(words.word(lang, 'page.figures.recipient_archive'))}",
        _style(8.5),
    )
    signer = _p(words.word(lang, "page.figures.signer"), 10, bold=True, align=1)
    sign = Table([[recipients, signer]], colWidths=[WIDTH * 0.5, WIDTH * 0.5])
    sign.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [Spacer(1, 8 * mm), KeepTogether([sign])]

    out = io.BytesIO()
    title = f"{words.word(lang, 'page.figures.report')} {found['period']} — {unit_name}"
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        author=heading.body,
        lang=lang,
    )
    document.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return out.getvalue()


def _page_number(canvas: Any, document: Any) -> None:
    canvas.saveState()
    canvas.setFont(FONT, 8)
    canvas.drawCentredString(A4[0] / 2, 8 * mm, str(document.page))
    canvas.restoreState()
