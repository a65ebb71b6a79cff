"""The trail as a printable page, in Vietnamese or English, readable on a phone and on A4, in the
project's shared layout (services/common/pages.py) with the words of the one catalogue
(contracts/words.py) — no I/O beyond reading the templates and rules shipped with the code."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import segno
from fastapi.responses import HTMLResponse

from contracts import words
from contracts.words import Lang
from services.common.pages import Pages
from services.credential.recognition import load_rules
from services.credential.trail import Trail, TrailEntry

PAGES = Pages(Path(__file__).resolve().parent / "templates")


@cache
def rule_titles() -> dict[str, dict[Lang, str]]:
    """Each recognition rule's title, by rule id, in both languages."""
    return {rule.id: {"vi": rule.title_vi, "en": rule.title_en} for rule in load_rules()}


def qr_svg(url: str) -> str:
    """The QR code of ``url`` as inline SVG that scales as a whole: a ``viewBox`` and no fixed
    size (the stylesheet sizes it), the four-module quiet zone kept, error correction M."""
    return str(segno.make(url, error="m").svg_inline(scale=1, omitsize=True, title=url))


def _entry_facts(entry: TrailEntry, lang: Lang) -> list[tuple[str, str]]:
    def t(key: str) -> str:
        return words.word(lang, f"page.trail.{key}")

    facts = [(t("completed"), words.day(entry.completed_on))]
    facts.append((t("kind"), words.label(lang, "kind", entry.kind)))
    if entry.provider_name:
        facts.append((t("provider"), entry.provider_name))
    level = words.level_label(lang, entry.vqf_level, entry.general_education_level)
    if level:
        facts.append((t("level"), level))
    if entry.credits is not None:
        facts.append((t("credits"), words.number(lang, entry.credits)))
    if entry.hours is not None:
        facts.append((t("hours"), words.number(lang, entry.hours)))
    result: dict[str, Any] = entry.result
    facts.append(
        (
            t("result"),
            words.result_text(
                lang, str(result.get("status", "")), result.get("grade"), result.get("grade_scale")
            ),
        )
    )
    if entry.certificate_number:
        facts.append((t("certificate"), entry.certificate_number))
    if entry.imported is not None:
        facts.append((t("imported"), entry.provider_name or entry.imported.issuer_id))
    return facts


def trail_context(trail: Trail, lang: Lang, verify_url: str | None) -> dict[str, Any]:
    """What the trail's template (``trail_body.html``) shows, in ``lang``: the groups with each
    entry's facts, the totals, and each recognition explained — its outcome, the rule that
    granted it and the entries it counted."""
    entries = [e for g in trail.pathways for e in g.entries]
    titles = rule_titles()
    by_id = {e.record_id: e.title for e in entries}
    return {
        "trail": trail,
        "groups": [
            (
                words.label(lang, "pathway", g.pathway),
                [(e, _entry_facts(e, lang)) for e in g.entries],
            )
            for g in trail.pathways
        ],
        "show_credits": any(e.credits is not None for e in entries),
        "show_hours": any(e.hours is not None for e in entries),
        "highest": words.level_label(lang, trail.highest_vqf_level),
        "recognitions": [
            (
                r.outcome_en if lang == "en" and r.outcome_en else r.outcome_vi,
                titles.get(r.rule_id, {}).get(lang, r.rule_id),
                [by_id[i] for i in r.record_ids if i in by_id],
            )
            for r in trail.recognitions
        ],
        "verify_url": verify_url,
        "qr": qr_svg(verify_url) if verify_url else "",
    }


def render_trail(
    trail: Trail, lang: Lang, verify_url: str | None, generated: datetime, switch_url: str
) -> HTMLResponse:
    """The trail page; ``verify_url`` (the latest credential's verification link) is shown
    with its QR code; ``switch_url`` opens the page in the other language."""
    return PAGES.response(
        "trail.html",
        lang,
        switch_url=switch_url,
        generated=words.moment(generated, lang),
        **trail_context(trail, lang, verify_url),
    )
