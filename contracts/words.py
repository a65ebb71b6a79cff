"""The one catalogue of words a person sees: the Vietnamese and English label of every
enumerated value (pathways, kinds, levels, result statuses, grade scales, notification subjects,
channels, delivery states) and the text of the pages, and the way dates, times and numbers are
written for people — in Asia/Ho_Chi_Minh, as dd/mm/yyyy.

The words live in gettext catalogues (``contracts/locale/<lang>/LC_MESSAGES/words.po``), read
with Babel and served by :class:`babel.support.Translations`. A message id is the internal code
with what it names in front (``pathway.in_service``, ``level.vqf.4``, ``result.passed``), so a
code without a label shows up as itself — which :func:`missing` reports and the tests refuse.
No I/O beyond reading the catalogues shipped beside this module, once.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from contracts.dates import VIETNAM

Lang = Literal["vi", "en"]
LANGUAGES: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANGUAGE: Lang = "vi"
_LOCALE = Path(__file__).resolve().parent / "locale"
_NUMERIC_SCALE_PREFIX = "0-"


def language(value: object) -> Lang:
    """A supported language from any spelling of one (``"en"``, ``"en-GB"``, ``Language.EN``);
    Vietnamese otherwise."""
    text = str(getattr(value, "value", value) or "").strip().lower()[:2]
    return "en" if text == "en" else DEFAULT_LANGUAGE


@cache
def translations(lang: Lang) -> Translations:
    """The catalogue of ``lang`` as gettext translations (read and compiled once)."""
    with (_LOCALE / lang / "LC_MESSAGES" / "words.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain="words")


def word(lang: Lang, key: str, **values: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` placeholders filled in."""
    text: str = translations(lang).gettext(key)
    return text.format(**values) if values else text


def known(lang: Lang, key: str) -> bool:
    return translations(lang).gettext(key) != key


def missing(lang: Lang, keys: list[str]) -> list[str]:
    """Which of ``keys`` have no label in ``lang``."""
    return [k for k in keys if not known(lang, k)]


# labels of enumerated values


def label(lang: Lang, what: str, code: object) -> str:
    """The label of ``code`` (an enum member or its value) among ``what`` (``pathway``, ``kind``,
    ``result``, ``about``, ``channel``, ``state``)."""
    return word(lang, f"{what}.{getattr(code, 'value', code)}")


def level_label(lang: Lang, vqf_level: int | None, general_level: str | None = None) -> str | None:
    """A VQF level ("Bậc 4 — Trung cấp") or a general-education level ("Trung học phổ
    thông"); None when there is neither."""
    if vqf_level is not None:
        return word(lang, f"level.vqf.{vqf_level}")
    if general_level:
        return word(lang, f"level.general.{general_level}")
    return None


def number(lang: Lang, value: float) -> str:
    """A number as people write it: ``8,5`` in Vietnamese, ``8.5`` in English."""
    return format_decimal(value, locale=lang)


def grade_text(lang: Lang, grade: str | None, scale: str | None) -> str | None:
    """A grade on its scale: ``8,5/10`` on a numeric scale written ``0-N``; otherwise the grade
    and the scale's label (``B+ (thang điểm chữ A–F)``); a scale nobody labelled is shown as the
    centre wrote it. None without a grade."""
    if not grade:
        return None
    scale = (scale or "").strip()
    if scale.startswith(_NUMERIC_SCALE_PREFIX):
        top = scale.removeprefix(_NUMERIC_SCALE_PREFIX)
        try:
            shown = number(lang, float(grade.replace(",", ".")))
            return f"{shown}/{number(lang, float(top))}"
        except ValueError:
            pass
    if not scale:
        return grade
    key = f"scale.{scale}"
    return f"{grade} ({word(lang, key) if known(lang, key) else scale})"


def result_text(lang: Lang, status: str, grade: str | None, scale: str | None) -> str:
    """A result as a learner reads it: ``Đạt · 8,5/10``."""
    shown = label(lang, "result", status)
    graded = grade_text(lang, grade, scale)
    return f"{shown} · {graded}" if graded else shown


# dates and times, for people


def day(value: date | str) -> str:
    """A date as dd/mm/yyyy."""
    found = date.fromisoformat(value) if isinstance(value, str) else value
    return found.strftime("%d/%m/%Y")


def moment(value: datetime, lang: Lang) -> str:
    """A point in time in Asia/Ho_Chi_Minh, as ``dd/mm/yyyy HH:mm`` (naive values are UTC)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return format_datetime(aware, "dd/MM/yyyy HH:mm", tzinfo=VIETNAM, locale=lang)
