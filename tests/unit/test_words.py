"""The one catalogue of words: every enumerated value a person may see has a label in
Vietnamese and English that is not its code; both catalogues hold the same words; every word a
template asks for exists; dates and times are shown in Vietnam time as dd/mm/yyyy."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from contracts import words
from contracts.notifications import About, Channel
from contracts.vocabulary import GeneralEducationLevel, Pathway, RecordKind, ResultStatus

ROOT = Path(__file__).resolve().parents[2]
ENUMERATIONS: dict[str, list[str]] = {
    "pathway": [p.value for p in Pathway],
    "kind": [k.value for k in RecordKind],
    "level.general": [g.value for g in GeneralEducationLevel],
    "level.vqf": [str(n) for n in range(1, 9)],
    "result": [r.value for r in ResultStatus],
    "about": list(About.__args__),
    "channel": list(Channel.__args__),
    "state": ["pending", "sending", "sent", "failed", "cancelled"],
}


@pytest.mark.parametrize("lang", words.LANGUAGES)
@pytest.mark.parametrize("what", sorted(ENUMERATIONS))
def test_every_enumerated_value_has_a_label_that_is_not_its_code(lang: str, what: str) -> None:
    for code in ENUMERATIONS[what]:
        key = f"{what}.{code}"
        shown = words.word(lang, key)  # type: ignore[arg-type]
        assert shown != key, f"no {lang} label for {key}"
        assert "_" not in shown, (lang, key, shown)
        # an English label may be the code when the code is a plain English word ("email")
        assert lang == "en" or shown != code, (lang, key, shown)


def test_both_catalogues_hold_the_same_words() -> None:
    ids = {}
    for lang in words.LANGUAGES:
        with (ROOT / "contracts" / "locale" / lang / "LC_MESSAGES" / "words.po").open("rb") as f:
            ids[lang] = {m.id for m in read_po(f) if m.id and m.string}
    assert ids["vi"] == ids["en"]


def test_every_word_a_template_asks_for_is_in_the_catalogue() -> None:
    templates = [*ROOT.glob("services/*/templates/*.html")]
    asked = set()
    for template in templates:
        asked |= set(re.findall(r"""t\(\s*"([a-z0-9_.]+)"\s*[,)]""", template.read_text()))
    assert len(asked) > 20
    for lang in words.LANGUAGES:
        assert words.missing(lang, sorted(asked)) == []


def test_results_and_grades_read_as_people_write_them() -> None:
    assert words.result_text("vi", "passed", "8.5", "0-10") == "Đạt · 8,5/10"
    assert words.result_text("en", "passed", "8.5", "0-10") == "Passed · 8.5/10"
    assert words.result_text("vi", "passed", "B+", "A-F") == "Đạt · B+ (thang điểm chữ A–F)"
    assert words.result_text("vi", "passed", "Giỏi", "xếp loại") == "Đạt · Giỏi (xếp loại)"
    assert words.result_text("vi", "completed", None, None) == "Hoàn thành"
    assert words.level_label("vi", None, "upper_secondary") == "Trung học phổ thông"
    assert words.level_label("en", 5) == "Level 5 — College"
    assert words.level_label("vi", None, None) is None


def test_times_are_shown_in_vietnam_time_as_dd_mm_yyyy() -> None:
    late_evening_utc = datetime(2026, 12, 31, 18, 30, tzinfo=UTC)
    assert words.moment(late_evening_utc, "vi") == "01/01/2027 01:30"
    assert words.moment(late_evening_utc.replace(tzinfo=None), "en") == "01/01/2027 01:30"
    assert words.day(date(2025, 3, 5)) == "05/03/2025" == words.day("2025-03-05")


def test_a_language_is_read_from_any_spelling() -> None:
    assert words.language("en-GB") == "en"
    assert words.language("vi-VN") == "vi"
    assert words.language("fr") == "vi"
    assert words.language(None) == "vi"


def test_every_verification_check_has_a_label() -> None:
    source = (ROOT / "services" / "credential" / "vc" / "verify.py").read_text(encoding="utf-8")
    names = set(re.findall(r'add\("([a-z_]+)"', source))
    assert len(names) >= 10
    results = ["passed", "failed", "unknown", "skipped"]
    for lang in words.LANGUAGES:
        assert words.missing(lang, [f"check.{n}" for n in sorted(names) + results]) == []
