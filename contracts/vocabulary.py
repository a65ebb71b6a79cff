"""Shared vocabulary of the contracts: pathways, kinds, levels and results (see the glossary)."""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
)

from contracts.dates import today_in_vietnam
from contracts.text import checked_long_text, checked_short_text, is_stored


class Pathway(StrEnum):
    """The learning pathway a record belongs to; the trail groups entries by it."""

    REGULAR = "regular"  # giáo dục chính quy
    CONTINUING = "continuing"  # giáo dục thường xuyên
    VOCATIONAL = "vocational"  # giáo dục nghề nghiệp
    IN_SERVICE = "in_service"  # bồi dưỡng theo vị trí việc làm / chức danh / ngạch
    LITERACY = "literacy"  # xóa mù chữ, phổ cập giáo dục
    ONLINE = "online"  # học trực tuyến, đào tạo từ xa
    COMMUNITY = "community"  # trung tâm học tập cộng đồng
    RECOGNITION = "recognition"  # công nhận kết quả học tập


class RecordKind(StrEnum):
    """What was completed."""

    COURSE = "course"
    PROGRAMME = "programme"
    MODULE = "module"
    CERTIFICATE = "certificate"
    DIPLOMA = "diploma"
    EXAM = "exam"
    RECOGNISED_UNIT = "recognised_unit"


class GeneralEducationLevel(StrEnum):
    """General education sits outside the qualifications framework."""

    PRIMARY = "primary"  # tiểu học
    LOWER_SECONDARY = "lower_secondary"  # THCS
    UPPER_SECONDARY = "upper_secondary"  # THPT


class ResultStatus(StrEnum):
    """The outcome the training centre reports."""

    PASSED = "passed"
    COMPLETED = "completed"
    FAILED = "failed"


class Sex(StrEnum):
    """A learner's sex as the training centre recorded it from their papers, if it did; the
    department's figures break down by it where it is known."""

    FEMALE = "female"
    MALE = "male"


class Language(StrEnum):
    """Languages a learner can read messages and summaries in."""

    VI = "vi"
    EN = "en"


# Free text a person writes, through the one text policy (contracts/text.py): NFC, diacritics
# kept, surrounding blanks trimmed, nothing hidden or reordering; one-line fields do not start
# like a spreadsheet formula.
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(checked_long_text)
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(checked_short_text),
]
# An administrative unit code (province or commune), kept as data, never as a hard-coded list.
UnitCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,6}$")]

EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def _human_birth_date(value: date, info: ValidationInfo) -> date:
    if is_stored(info):
        return value
    if value < EARLIEST_BIRTH_DATE:
        raise ValueError(f"a birth date is not before {EARLIEST_BIRTH_DATE.isoformat()}")
    if value > today_in_vietnam():
        raise ValueError("a birth date is not in the future")
    return value


# A person's birth date, within human limits: from 1900 to today.
BirthDate = Annotated[date, AfterValidator(_human_birth_date)]

_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _clock_time(value: object) -> object:
    if isinstance(value, str) and not _CLOCK.fullmatch(value):
        raise ValueError("a local time as HH:MM, e.g. 21:00 (no seconds, no offset)")
    if isinstance(value, time) and (value.tzinfo is not None or value.second or value.microsecond):
        raise ValueError("a local time as HH:MM, e.g. 21:00 (no seconds, no offset)")
    return value


# A local wall-clock time as HH:MM, without an offset (the time zone is a separate field).
ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": _CLOCK.pattern, "examples": ["21:00"]}),
]
