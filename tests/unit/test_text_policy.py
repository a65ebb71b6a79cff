"""The one text policy (contracts/text.py) as every one-line and long text field applies it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import TypeAdapter, ValidationError

from contracts.records import Result
from contracts.vocabulary import BirthDate, ClockTime, ShortText, Text

SHORT = TypeAdapter(ShortText)
LONG = TypeAdapter(Text)

HIDDEN = {
    "right-to-left override": "8\u202e01",
    "left-to-right isolate": "Giỏi\u2066",
    "line separator": "Kỹ thuật\u2028trồng nho",
    "paragraph separator": "Kỹ thuật\u2029trồng nho",
    "zero-width space": "Giỏi\u200b",
    "zero-width joiner": "8\u200d.0",
    "byte order mark": "\ufeffB+",
    "word joiner": "A\u2060F",
    "control character": "8\x0001",
    "escape": "8\x1b[31m",
    "private use": "8\ue000",
    "hangul filler": "Giỏi\u3164",
}


@pytest.mark.parametrize("value", HIDDEN.values(), ids=HIDDEN.keys())
def test_hidden_characters_are_refused_in_short_and_long_text(value: str) -> None:
    for adapter in (SHORT, LONG):
        with pytest.raises(ValidationError, match=r"U\+[0-9A-F]{4}"):
            adapter.validate_python(value)


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "@SUM(1+1)", "+1", "-1", " =1"])
def test_one_line_text_does_not_start_like_a_formula(value: str) -> None:
    with pytest.raises(ValidationError, match="formula"):
        SHORT.validate_python(value)


def test_grades_and_scales_in_a_result_go_through_the_policy() -> None:
    with pytest.raises(ValidationError, match="text-direction"):
        Result(status="passed", grade="8\u202e01")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="formula"):
        Result(status="passed", grade="8.0", grade_scale="=0-10")  # type: ignore[arg-type]
    assert Result(status="passed", grade="B+", grade_scale="A-F").grade == "B+"  # type: ignore[arg-type]


def test_vietnamese_is_kept_in_nfc_and_descriptions_keep_line_breaks() -> None:
    decomposed = "Nguye\u0302\u0303n"
    assert SHORT.validate_python(decomposed) == "Nguyễn"
    assert LONG.validate_python("- dòng một\n\tdòng hai") == "- dòng một\n\tdòng hai"


def test_birth_dates_are_within_human_limits() -> None:
    adapter = TypeAdapter(BirthDate)
    assert adapter.validate_python("1990-05-14") == date(1990, 5, 14)
    for bad in ("2999-01-01", "0001-01-01", "1899-12-31", date.today() + timedelta(days=3)):
        with pytest.raises(ValidationError, match="birth date"):
            adapter.validate_python(bad)


def test_clock_times_are_hh_mm_without_an_offset() -> None:
    adapter = TypeAdapter(ClockTime)
    assert adapter.validate_python("21:00").hour == 21
    for bad in ("21:00+05:00", "07:00-11:00", "7:00", "24:00", "21:00:00", "21:00Z", "21:00\n"):
        with pytest.raises(ValidationError, match="HH:MM"):
            adapter.validate_python(bad)


def test_what_entered_before_the_policy_is_still_read_back() -> None:
    # an event in the log (or a document in the database) from before a rule was added: a
    # replay must not drop the learner's record over it; what a person sends now is refused
    import json

    from contracts.envelope import Envelope, from_kafka, to_kafka
    from contracts.records import LEARNING_RECORD_RECORDED, LearningRecordRecorded
    from contracts.text import STORED

    old = {
        "record_id": "r-1",
        "learner_id": "l-1",
        "provider_id": "c-1",
        "provider_record_ref": "-2019-0001",
        "recorded_at": "2019-05-01T00:00:00+00:00",
        "pathway": "vocational",
        "kind": "course",
        "title": "Sơ cấp Kỹ thuật trồng nho",
        "result": {"status": "passed", "grade": "-", "grade_scale": "Đạt/Không đạt"},
        "completed_on": "2019-04-01",
    }
    with pytest.raises(ValidationError, match="formula"):
        LearningRecordRecorded.model_validate(old)
    event = LearningRecordRecorded.model_validate(old, context=STORED)
    envelope = Envelope[LearningRecordRecorded](
        type=LEARNING_RECORD_RECORDED, source="/learner", subject="l-1", data=event
    )
    _, value, headers = to_kafka(envelope)
    raw = [(k, v.encode()) for k, v in headers.items()]
    read = from_kafka(raw, value, {LEARNING_RECORD_RECORDED: LearningRecordRecorded})
    assert json.loads(value)["result"]["grade"] == "-"
    assert read.data.model_dump()["provider_record_ref"] == "-2019-0001"
