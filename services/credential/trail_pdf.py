"""The printable trail page as a PDF (A4), made on the server: the same content as the page
(``trail_context``, the same words from the one catalogue), in Vietnamese or English, times in
Asia/Ho_Chi_Minh, and the QR code of the latest credential's verification address, so an
employer who scans the paper reaches the verification page. Set in DejaVu Sans
(services/common/fonts.py), which has every Vietnamese letter. No I/O: values in, bytes out."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
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
from services.common.fonts import BOLD, FONT, register_fonts
from services.credential.summary_page import trail_context
from services.credential.trail import Trail

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN
QR_SIZE = 42 * mm  # scans from a phone held at reading distance


def _style(size: float = 10, bold: bool = False, **more: Any) -> ParagraphStyle:
    return ParagraphStyle(
        "s", fontName=BOLD if bold else FONT, fontSize=size, leading=size * 1.35, **more
    )


BODY = _style()
MUTED = _style(9, textColor=colors.HexColor("#555555"))
TITLE = _style(17, bold=True, spaceAfter=4)
HEADING = _style(12.5, bold=True, spaceBefore=10, spaceAfter=4)
ENTRY = _style(10.5, bold=True, spaceBefore=6, spaceAfter=2)


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    return Paragraph(escape(text), style)


def qr_png(url: str) -> bytes:
    """The QR code of ``url`` as a PNG (error correction M, the four-module quiet zone)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def trail_pdf(trail: Trail, lang: Lang, verify_url: str | None, generated: datetime) -> bytes:
    """The trail as an A4 PDF in ``lang``; ``verify_url`` (the latest credential's
    verification address) is printed with its QR code."""
    register_fonts()
    context = trail_context(trail, lang, verify_url)

    def t(key: str, **values: object) -> str:
        return words.word(lang, f"page.trail.{key}", **values)

    story: list[Flowable] = [
        _p(f"{words.word(lang, 'page.issuer')} · {words.word(lang, 'page.site')}", MUTED),
        _p(t("title"), TITLE),
        _p(trail.full_name or "—", _style(12, bold=True)),
        _p(f"{t('learner_id')}: {trail.learner_id}", MUTED),
        _p(t("generated", when=words.moment(generated, lang)), MUTED),
        Spacer(1, 4 * mm),
    ]
    totals = [f"{trail.entry_count} {t('entries')}"]
    if context["show_credits"]:
        totals.append(f"{words.number(lang, trail.total_credits)} {t('credits')}")
    if context["show_hours"]:
        totals.append(f"{words.number(lang, trail.total_hours)} {t('hours')}")
    if context["highest"]:
        totals.append(f"{t('highest')}: {context['highest']}")
    story.append(_p(" · ".join(totals), _style(10.5, bold=True)))

    if context["recognitions"]:
        story.append(_p(t("recognitions"), HEADING))
        for outcome, rule, counted in context["recognitions"]:
            parts: list[Flowable] = [_p(outcome, _style(10.5, bold=True))]
            parts.append(_p(f"{t('rule')}: {rule}", MUTED))
            if counted:
                parts.append(_p(f"{t('counted')}: {'; '.join(counted)}", MUTED))
            story.append(KeepTogether(parts))

    for name, entries in context["groups"]:
        story.append(_p(name, HEADING))
        for entry, facts in entries:
            title = entry.title + (f" ({entry.code})" if entry.code else "")
            rows = [[_p(term, MUTED), _p(value)] for term, value in facts]
            table = Table(rows, colWidths=[45 * mm, WIDTH - 45 * mm], hAlign="LEFT")
            table.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                        ("TOPPADDING", (0, 0), (-1, -1), 1),
                    ]
                )
            )
            story.append(KeepTogether([_p(title, ENTRY), table]))
    if not context["groups"]:
        story.append(_p(t("empty")))

    story.append(Spacer(1, 6 * mm))
    if verify_url:
        said = [_p(t("verify"), _style(11, bold=True)), _p(verify_url, MUTED)]
        said.append(_p(t("verify_help"), MUTED))
        qr = Image(io.BytesIO(qr_png(verify_url)), width=QR_SIZE, height=QR_SIZE)
        box = Table(
            [[qr, said]], colWidths=[QR_SIZE + 4 * mm, WIDTH - QR_SIZE - 4 * mm], hAlign="LEFT"
        )
        box.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
        story.append(KeepTogether([box]))
    else:
        story.append(_p(t("no_credential"), MUTED))

    def page_number(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.setFont(FONT, 8)
        canvas.drawRightString(
            A4[0] - MARGIN, 10 * mm, f"{t('title')} · {trail.full_name or ''} · {doc.page}"
        )

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{t('title')} — {trail.full_name or trail.learner_id}",
        author=words.word(lang, "page.issuer"),
    )
    doc.build(story, onFirstPage=page_number, onLaterPages=page_number)
    return out.getvalue()
