"""``learning-records.v1`` (keyed by learner id): completions posted by training centres."""

from __future__ import annotations

from datetime import date

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field

from contracts.envelope import EventData
from contracts.vocabulary import (
    GeneralEducationLevel,
    Pathway,
    RecordKind,
    ResultStatus,
    ShortText,
)

TOPIC = "learning-records.v1"
LEARNING_RECORD_RECORDED = "vn.learningtrail.records.learning_record.recorded.v1"
LEARNING_RECORD_CORRECTED = "vn.learningtrail.records.learning_record.corrected.v1"
LEARNING_RECORD_REVOKED = "vn.learningtrail.records.learning_record.revoked.v1"


class Result(BaseModel):
    """The outcome of the learning: status, and a grade on its own scale if there is one."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: ResultStatus
    grade: ShortText | None = Field(default=None, description="e.g. '8.5', 'Giỏi', 'B+'.")
    grade_scale: ShortText | None = Field(default=None, description="e.g. '0-10', 'A-F'.")


class RecognitionBasis(BaseModel):
    """For a recognition record: what learning is recognised, toward which programme."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    recognises: ShortText = Field(description="The learning recognised (title or record id).")
    toward_programme: ShortText | None = Field(
        default=None, description="The programme it counts toward, if any."
    )


class LearningRecordContent(BaseModel):
    """What a training centre says was learned: the part of a record the centre controls."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    pathway: Pathway
    kind: RecordKind
    title: ShortText
    code: ShortText | None = Field(default=None, description="The centre's course/programme code.")
    vqf_level: int | None = Field(
        default=None, ge=1, le=8, description="Vietnamese Qualifications Framework level 1–8."
    )
    general_education_level: GeneralEducationLevel | None = None
    field_of_study: ShortText | None = Field(
        default=None,
        description="The field or subject area, e.g. 'Công nghệ thông tin' (OB 3.0 fieldOfStudy).",
    )
    credits: float | None = Field(default=None, ge=0, le=300)
    hours: float | None = Field(default=None, ge=0, le=10_000)
    result: Result
    started_on: date | None = None
    completed_on: date
    awarded_on: date | None = None
    certificate_number: ShortText | None = None
    evidence_url: AnyHttpUrl | None = None
    recognition: RecognitionBasis | None = None


class LearningRecordRecorded(LearningRecordContent, EventData):
    """A training centre's completion was accepted.

    Emitted by the learner service before it answers ``202`` to the centre, exactly once per
    ``(provider_id, provider_record_ref)`` (a retried submission is answered with the same
    ``record_id``; consumers must still be idempotent on ``record_id``). Consumed by the
    credential service into the learner's trail.
    """

    record_id: str = Field(description="Stable record id (UUIDv7) the centre was given.")
    learner_id: str
    provider_id: str = Field(description="The training centre that posted it.")
    provider_record_ref: ShortText = Field(description="The centre's own reference for it.")
    recorded_at: AwareDatetime
    provider_name: ShortText | None = Field(
        default=None, description="The training centre's name when it posted the record."
    )


class LearningRecordCorrected(LearningRecordContent, EventData):
    """The training centre that posted a record corrected it.

    Emitted by the learner service when the owning centre submits a correction; carries the
    whole corrected content, which replaces the record's content (the original event stays in
    the log). Consumers apply it only if it is newer than what they hold.
    """

    record_id: str
    learner_id: str
    provider_id: str
    reason: ShortText = Field(description="Why the record was corrected, in the centre's words.")
    corrected_at: AwareDatetime


class LearningRecordRevoked(EventData):
    """The training centre that posted a record withdrew it (issued in error, fraud, …).

    Emitted by the learner service; the record leaves the trail, and credentials and
    recognitions built on it are revoked. The original event stays in the log.
    """

    record_id: str
    learner_id: str
    provider_id: str
    reason: ShortText
    revoked_at: AwareDatetime
