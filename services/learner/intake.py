"""Record intake rules without I/O: what a submission looks like and when it is acceptable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, field_validator

from contracts.records import LearningRecordContent, LearningRecordRecorded
from contracts.text import STORED, visible_text
from contracts.vocabulary import (
    BirthDate,
    Pathway,
    RecordKind,
    ResultStatus,
    Sex,
    ShortText,
    UnitCode,
)
from services.learner.identity import NationalId, PersonName

# Pathways where general-education levels (tiểu học, THCS, THPT) make sense.
GENERAL_EDUCATION_PATHWAYS = frozenset({Pathway.REGULAR, Pathway.CONTINUING, Pathway.LITERACY})
# Pathways whose learning carries no qualifications-framework level of its own.
LEVEL_FREE_PATHWAYS = frozenset({Pathway.LITERACY, Pathway.COMMUNITY})
# Kinds that are documents awarded on success (văn bằng, chứng chỉ).
AWARD_KINDS = frozenset({RecordKind.CERTIFICATE, RecordKind.DIPLOMA})


class LearnerIdentity(BaseModel):
    """Who the record is for, as the training centre knows them."""

    model_config = ConfigDict(extra="forbid")

    national_id: NationalId = Field(
        description="12-digit personal ID number (CCCD); hashed on arrival, never kept.",
        examples=["079190001234"],
    )
    full_name: PersonName = Field(examples=["Nguyễn Thị Hương"])
    birth_date: BirthDate = Field(examples=["1990-05-14"])
    sex: Sex | None = Field(
        default=None,
        description="female or male, from the learner's papers; optional (the department's "
        "figures by sex count only the learners whose sex is known).",
        examples=["female"],
    )
    commune_code: UnitCode | None = Field(default=None, examples=["22015"])
    email: EmailStr | None = None
    phone: Phone | None = None


def _e164(value: str) -> str:
    digits = value.replace(" ", "").replace(".", "").replace("-", "")
    if digits.startswith("0") and len(digits) == 10:
        digits = "+84" + digits[1:]  # Vietnamese national format
    if not (digits.startswith("+") and digits[1:].isdigit() and 8 <= len(digits) <= 16):
        raise ValueError("must be a phone number, e.g. +84912345678 or 0912345678")
    return digits


Phone = Annotated[str, AfterValidator(_e164)]


class RecordContentInput(LearningRecordContent):
    """The record part of a submission; unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("title", "code", "certificate_number")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        # printed on the trail and on credentials: nothing hidden or reordering the text
        return None if value is None else visible_text(value)


class RecordSubmission(BaseModel):
    """One completion posted by a training centre."""

    model_config = ConfigDict(extra="forbid")

    provider_record_ref: ShortText = Field(
        description="The centre's own unique reference for this record; resubmitting it is safe.",
        examples=["GDTX-NT-2025-000123"],
    )
    learner: LearnerIdentity
    record: RecordContentInput


@dataclass(frozen=True)
class FieldError:
    """A rule a submission breaks: which field, and what to do about it."""

    field: str
    message: str


def check_submission(
    submission: RecordSubmission, allowed_pathways: frozenset[Pathway], today: date
) -> list[FieldError]:
    """Every rule the submission breaks (empty when it is acceptable)."""
    errors: list[FieldError] = []
    if submission.learner.birth_date >= today:
        errors.append(FieldError("learner.birth_date", "must be in the past"))
    errors += check_record(
        submission.record, submission.learner.birth_date, allowed_pathways, today
    )
    return errors


def check_record(
    record: LearningRecordContent,
    birth_date: date,
    allowed_pathways: frozenset[Pathway],
    today: date,
    prefix: str = "record.",
) -> list[FieldError]:
    """Every rule a record's content breaks, for a learner born on ``birth_date``."""
    errors: list[FieldError] = []

    def error(name: str, message: str) -> None:
        errors.append(FieldError(prefix + name, message))

    if record.pathway not in allowed_pathways:
        allowed = ", ".join(sorted(allowed_pathways)) or "none"
        error(
            "pathway",
            f"this training centre may not record the '{record.pathway}' pathway "
            f"(allowed: {allowed}); ask the department to extend its registration",
        )
    if record.completed_on > today:
        error("completed_on", "cannot be in the future")
    if record.completed_on < birth_date:
        error("completed_on", "cannot be before the learner's birth")
    if record.started_on and record.started_on > record.completed_on:
        error("started_on", "must be on or before completed_on")
    if record.awarded_on and record.awarded_on < record.completed_on:
        error("awarded_on", "must be on or after completed_on")
    if record.awarded_on and record.awarded_on > today:
        error("awarded_on", "cannot be in the future")
    if record.vqf_level is not None and record.general_education_level is not None:
        error(
            "general_education_level",
            "give either vqf_level or general_education_level, not both: general "
            "education sits outside the qualifications framework",
        )
    if (
        record.general_education_level is not None
        and record.pathway not in GENERAL_EDUCATION_PATHWAYS
    ):
        error(
            "general_education_level",
            f"a general-education level does not fit the '{record.pathway}' pathway",
        )
    if record.vqf_level is not None and record.pathway in LEVEL_FREE_PATHWAYS:
        error(
            "vqf_level",
            f"the '{record.pathway}' pathway awards no qualifications-framework level; "
            "leave vqf_level out",
        )
    if (
        record.kind in (RecordKind.DIPLOMA,)
        and record.vqf_level is None
        and (record.general_education_level is None)
    ):
        error("vqf_level", "a diploma states its level (vqf_level or general_education_level)")
    if record.result.status == ResultStatus.FAILED and record.kind in AWARD_KINDS:
        error("result.status", f"a {record.kind} is only awarded on success; report the exam")
    if record.pathway == Pathway.RECOGNITION and record.recognition is None:
        error("recognition", "a recognition record must say what it recognises")
    if record.recognition is not None and record.pathway != Pathway.RECOGNITION:
        error("recognition", "only a record on the 'recognition' pathway recognises learning")
    return errors


def fingerprint(identity_hash: str, content: LearningRecordContent) -> str:
    """A digest of what was submitted, to tell a retry from a conflicting resubmission."""
    canonical = json.dumps(
        {"learner": identity_hash, "record": content.model_dump(mode="json", exclude_none=True)},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def recorded_event(
    *,
    record_id: str,
    learner_id: str,
    provider_id: str,
    submission: RecordSubmission,
    recorded_at: datetime,
    provider_name: str | None = None,
) -> LearningRecordRecorded:
    """The event that says this submission was accepted. The submission was checked as it
    entered; the centre's name comes from its stored registration (``STORED``)."""
    return LearningRecordRecorded.model_validate(
        {
            "record_id": record_id,
            "learner_id": learner_id,
            "provider_id": provider_id,
            "provider_name": provider_name,
            "provider_record_ref": submission.provider_record_ref,
            "recorded_at": recorded_at,
            **submission.record.model_dump(),
        },
        context=STORED,
    )


class RecordCorrection(BaseModel):
    """A correction of a record by the centre that posted it: the whole corrected content."""

    model_config = ConfigDict(extra="forbid")

    reason: ShortText = Field(examples=["Sai số giờ học: 300 thay vì 30"])
    record: RecordContentInput


class RecordRevocation(BaseModel):
    """Withdrawal of a record by the centre that posted it."""

    model_config = ConfigDict(extra="forbid")

    reason: ShortText = Field(examples=["Cấp nhầm học viên"])
