"""Record intake rules without I/O: what a submission looks like and when it is acceptable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from contracts.records import LearningRecordContent, LearningRecordRecorded
from contracts.vocabulary import Pathway, ShortText, UnitCode
from services.learner.identity import is_national_id, normalise_name

# Pathways where general-education levels (tiểu học, THCS, THPT) make sense.
GENERAL_EDUCATION_PATHWAYS = frozenset({Pathway.REGULAR, Pathway.CONTINUING, Pathway.LITERACY})


class LearnerIdentity(BaseModel):
    """Who the record is for, as the training centre knows them."""

    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(
        description="12-digit personal ID number (CCCD); hashed on arrival, never kept.",
        examples=["079190001234"],
    )
    full_name: ShortText = Field(examples=["Nguyễn Thị Hương"])
    birth_date: date = Field(examples=["1990-05-14"])
    commune_code: UnitCode | None = Field(default=None, examples=["22015"])
    email: EmailStr | None = None

    @field_validator("national_id")
    @classmethod
    def _twelve_digits(cls, value: str) -> str:
        value = value.strip()
        if not is_national_id(value):
            raise ValueError("must be the 12-digit personal identification number (CCCD)")
        return value

    @field_validator("full_name")
    @classmethod
    def _normalised(cls, value: str) -> str:
        return normalise_name(value)


class RecordContentInput(LearningRecordContent):
    """The record part of a submission; unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    record = submission.record
    errors: list[FieldError] = []
    if record.pathway not in allowed_pathways:
        allowed = ", ".join(sorted(allowed_pathways)) or "none"
        errors.append(
            FieldError(
                "record.pathway",
                f"this training centre may not record the '{record.pathway}' pathway "
                f"(allowed: {allowed}); ask the department to extend its registration",
            )
        )
    if submission.learner.birth_date >= today:
        errors.append(FieldError("learner.birth_date", "must be in the past"))
    if record.completed_on > today:
        errors.append(FieldError("record.completed_on", "cannot be in the future"))
    if record.completed_on < submission.learner.birth_date:
        errors.append(FieldError("record.completed_on", "cannot be before the learner's birth"))
    if record.started_on and record.started_on > record.completed_on:
        errors.append(FieldError("record.started_on", "must be on or before completed_on"))
    if record.awarded_on and record.awarded_on < record.completed_on:
        errors.append(FieldError("record.awarded_on", "must be on or after completed_on"))
    if record.awarded_on and record.awarded_on > today:
        errors.append(FieldError("record.awarded_on", "cannot be in the future"))
    if record.vqf_level is not None and record.general_education_level is not None:
        errors.append(
            FieldError(
                "record.general_education_level",
                "give either vqf_level or general_education_level, not both: general "
                "education sits outside the qualifications framework",
            )
        )
    if (
        record.general_education_level is not None
        and record.pathway not in GENERAL_EDUCATION_PATHWAYS
    ):
        errors.append(
            FieldError(
                "record.general_education_level",
                f"a general-education level does not fit the '{record.pathway}' pathway",
            )
        )
    if record.pathway == Pathway.RECOGNITION and record.recognition is None:
        errors.append(
            FieldError("record.recognition", "a recognition record must say what it recognises")
        )
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
) -> LearningRecordRecorded:
    """The event that says this submission was accepted."""
    return LearningRecordRecorded(
        record_id=record_id,
        learner_id=learner_id,
        provider_id=provider_id,
        provider_record_ref=submission.provider_record_ref,
        recorded_at=recorded_at,
        **submission.record.model_dump(),
    )
