"""Shared vocabulary of the contracts: pathways, kinds, levels and results (see the glossary)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints


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


class Language(StrEnum):
    """Languages a learner can read messages and summaries in."""

    VI = "vi"
    EN = "en"


def _nfc(value: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", value)


# Vietnamese text is data: normalised to NFC, diacritics kept, surrounding blanks trimmed.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_nfc)]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_nfc),
]
# An administrative unit code (province or commune), kept as data, never as a hard-coded list.
UnitCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,6}$")]
