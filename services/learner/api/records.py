"""Records: what training centres submit, read, correct and revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.records import LearningRecordContent
from contracts.text import STORED
from services.common.mongo import Document
from services.common.problems import Problem
from services.learner.api.deps import (
    ProviderCaller,
    ServicesDep,
    conflict,
    not_found,
    records_writer,
    rejected,
)
from services.learner.intake import FieldError, RecordCorrection, RecordRevocation, RecordSubmission
from services.learner.submissions import (
    ConflictingResubmission,
    Outcome,
    RecordNotFound,
    RecordStateConflict,
    Status,
    SubmissionRejected,
    status_of,
)

router = APIRouter(prefix="/v1", tags=["records"])
Writer = Annotated[ProviderCaller, Depends(records_writer)]
BATCH_LIMIT = 1000

EXAMPLE: dict[str, Any] = {
    "provider_record_ref": "GDTX-NP-2025-000123",
    "learner": {
        "national_id": "079190001234",
        "full_name": "Nguyễn Thị Hương",
        "birth_date": "1990-05-14",
        "commune_code": "22735",
    },
    "record": {
        "pathway": "vocational",
        "kind": "certificate",
        "title": "Sơ cấp Kỹ thuật trồng nho",
        "code": "SC-NHO-01",
        "vqf_level": 1,
        "hours": 300,
        "result": {"status": "passed", "grade": "8.0", "grade_scale": "0-10"},
        "started_on": "2024-12-02",
        "completed_on": "2025-03-15",
        "certificate_number": "NP-SC-2025-0042",
    },
}


class RecordAccepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "record_id": "0d9f8e7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f",
                    "learner_id": "5b0e4c1a-8f3e-4d7a-9c61-2f8a7d3e9b10",
                    "status": "accepted",
                    "detail": None,
                }
            ]
        }
    )

    record_id: str = Field(description="Stable id; the same for a retried submission.")
    learner_id: str | None = Field(description="None while the record is held for review.")
    status: Status
    detail: str | None = None


class RecordView(BaseModel):
    """A record as its training centre sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "record_id": "0d9f8e7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f",
                    "provider_record_ref": EXAMPLE["provider_record_ref"],
                    "learner_id": "5b0e4c1a-8f3e-4d7a-9c61-2f8a7d3e9b10",
                    "status": "accepted",
                    "revision": 1,
                    "content": {**EXAMPLE["record"], "hours": 30},
                    "created_at": "2025-03-16T03:12:45Z",
                    "corrected_at": "2025-03-20T08:05:00Z",
                    "revoked_at": None,
                    "review_reason": None,
                }
            ]
        }
    )

    record_id: str
    provider_record_ref: str
    learner_id: str | None
    status: Status
    revision: int = Field(description="0 as submitted; +1 for each correction.")
    content: LearningRecordContent
    created_at: datetime
    corrected_at: datetime | None = None
    revoked_at: datetime | None = None
    review_reason: str | None = None


def _held_detail(outcome: Outcome) -> str | None:
    if outcome.status == "held_for_review":
        return (
            "The national ID is known under another name or birth date, so the record is held "
            "for the department's review instead of being added. Check the learner's details; "
            "GET this record later to see the decision."
        )
    return None


def _accepted(outcome: Outcome) -> RecordAccepted:
    return RecordAccepted(
        record_id=outcome.record_id,
        learner_id=outcome.learner_id,
        status=outcome.status,
        detail=_held_detail(outcome),
    )


def _view(doc: Document) -> RecordView:
    status = status_of(doc)
    return RecordView(
        record_id=doc["_id"],
        provider_record_ref=doc["provider_record_ref"],
        learner_id=doc["learner_id"] if status != "held_for_review" else None,
        status=status,
        revision=doc["revision"],
        content=LearningRecordContent.model_validate(doc["content"], context=STORED),
        created_at=doc["created_at"],
        corrected_at=doc.get("corrected_at"),
        revoked_at=doc.get("revoked_at"),
        review_reason=(doc.get("review") or {}).get("reason") if status != "accepted" else None,
    )


def _conflict_problem(ref: str, record_id: str) -> Problem:
    return Problem(
        409,
        "Reference already used",
        f"provider_record_ref {ref!r} already names record {record_id} with different "
        f"content. To change that record, POST /v1/records/{record_id}/corrections; for a new "
        "record use a new reference.",
        record_id=record_id,
        correction_url=f"/v1/records/{record_id}/corrections",
    )


@router.post(
    "/records",
    status_code=202,
    response_model=RecordAccepted,
    summary="Submit a completion (training centres; scope records:write).",
    responses={
        401: {"description": "No, unknown or revoked API key."},
        403: {"description": "The key lacks records:write."},
        409: {"description": "The reference already names a record with other content."},
        422: {"description": "The record breaks a rule; `errors` names each field."},
        429: {"description": "Over the key's rate limit; see Retry-After."},
        503: {"description": "The event log is unavailable; retry after Retry-After."},
    },
    openapi_extra={"requestBody": {"content": {"application/json": {"example": EXAMPLE}}}},
)
async def submit_record(
    submission: RecordSubmission, response: Response, caller: Writer, svc: ServicesDep
) -> RecordAccepted:
    """Accept one completion. The answer comes after the event log has it (acks=all). The same
    `provider_record_ref` with the same content returns the same `record_id` and adds
    nothing (header `Idempotent-Replayed: true`). A known national ID under another name or
    birth date is held for review (`status: held_for_review`), never merged silently."""
    try:
        outcome = await svc.records.submit(caller.provider, submission)
    except SubmissionRejected as exc:
        raise rejected(exc.errors, "Record") from exc
    except ConflictingResubmission as exc:
        raise _conflict_problem(submission.provider_record_ref, exc.record_id) from exc
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/records/{outcome.record_id}"
    return _accepted(outcome)


class BatchSubmission(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "records": [
                        EXAMPLE,
                        {
                            "provider_record_ref": "GDTX-NP-2025-000124",
                            "learner": {
                                "national_id": "058085002317",
                                "full_name": "Phạm Văn Đức",
                                "birth_date": "1985-09-02",
                                "commune_code": "22738",
                                "phone": "0987654321",
                            },
                            "record": {
                                "pathway": "continuing",
                                "kind": "programme",
                                "title": "Chương trình GDTX cấp trung học phổ thông",
                                "general_education_level": "upper_secondary",
                                "hours": 1200,
                                "result": {"status": "completed"},
                                "completed_on": "2025-05-31",
                            },
                        },
                    ]
                }
            ]
        }
    )

    records: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=BATCH_LIMIT,
        description="Up to 1,000 submissions, each shaped like the body of POST /v1/records.",
        json_schema_extra={"items": {"$ref": "#/components/schemas/RecordSubmission"}},
    )


class BatchItem(BaseModel):
    index: int
    provider_record_ref: str | None
    status: Literal["accepted", "held_for_review", "rejected", "conflict", "unavailable", "invalid"]
    replayed: bool = False
    record_id: str | None = None
    learner_id: str | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)
    detail: str | None = None


class BatchResult(BaseModel):
    accepted: int
    held_for_review: int
    failed: int
    results: list[BatchItem]


def _parse(raw: dict[str, Any]) -> RecordSubmission | list[FieldError]:
    try:
        return RecordSubmission.model_validate(raw)
    except ValidationError as exc:
        return [
            FieldError(".".join(str(p) for p in err["loc"]) or "(item)", err["msg"])
            for err in exc.errors()
        ]


def _item(index: int, raw: dict[str, Any], result: Outcome | Exception) -> BatchItem:
    ref = (
        raw.get("provider_record_ref") if isinstance(raw.get("provider_record_ref"), str) else None
    )
    if isinstance(result, Outcome):
        return BatchItem(
            index=index,
            provider_record_ref=ref,
            status=result.status if result.status != "revoked" else "accepted",
            replayed=result.replayed,
            record_id=result.record_id,
            learner_id=result.learner_id,
            detail=_held_detail(result),
        )
    if isinstance(result, SubmissionRejected):
        return BatchItem(
            index=index,
            provider_record_ref=ref,
            status="invalid",
            errors=[{"field": e.field, "message": e.message} for e in result.errors],
            detail="; ".join(f"{e.field}: {e.message}" for e in result.errors),
        )
    if isinstance(result, ConflictingResubmission):
        return BatchItem(
            index=index,
            provider_record_ref=ref,
            status="conflict",
            record_id=result.record_id,
            detail=_conflict_problem(ref or "", result.record_id).detail,
        )
    return BatchItem(
        index=index,
        provider_record_ref=ref,
        status="unavailable",
        detail="The event log did not confirm this record; resubmit it (safe to repeat).",
    )


@router.post(
    "/records:batch",
    response_model=BatchResult,
    summary="Submit up to 1,000 completions at once (training centres; scope records:write).",
)
async def submit_batch(batch: BatchSubmission, caller: Writer, svc: ServicesDep) -> BatchResult:
    """Each item is judged on its own: one result per item, in order, partial success allowed.
    Resubmitting the whole batch after an interruption doubles nothing."""
    parsed = [_parse(raw) for raw in batch.records]
    results = await svc.records.submit_many(caller.provider, parsed)
    items = [
        _item(i, raw, r) for i, (raw, r) in enumerate(zip(batch.records, results, strict=True))
    ]
    return BatchResult(
        accepted=sum(i.status == "accepted" for i in items),
        held_for_review=sum(i.status == "held_for_review" for i in items),
        failed=sum(i.status not in ("accepted", "held_for_review") for i in items),
        results=items,
    )


@router.get(
    "/records/{record_id}",
    response_model=RecordView,
    summary="A record, as its training centre submitted and corrected it (owner only).",
    responses={404: {"description": "No such record for this training centre."}},
)
async def get_record(record_id: str, caller: Writer, svc: ServicesDep) -> RecordView:
    try:
        return _view(await svc.records.owned(caller.provider, record_id))
    except RecordNotFound as exc:
        raise not_found("record", record_id) from exc


@router.post(
    "/records/{record_id}/corrections",
    status_code=202,
    response_model=RecordView,
    summary="Correct a record (the training centre that posted it).",
    responses={
        404: {"description": "No such record for this training centre."},
        409: {"description": "The record is revoked or held for review."},
        422: {"description": "The corrected content breaks a rule."},
    },
)
async def correct_record(
    record_id: str,
    correction: RecordCorrection,
    response: Response,
    caller: Writer,
    svc: ServicesDep,
) -> RecordView:
    """Replace the record's content; a correction event is appended and the original stays in
    the log. Sending the same correction again changes nothing."""
    try:
        doc, replayed = await svc.records.correct(caller.provider, record_id, correction)
    except RecordNotFound as exc:
        raise not_found("record", record_id) from exc
    except RecordStateConflict as exc:
        raise conflict(str(exc)) from exc
    except SubmissionRejected as exc:
        raise rejected(exc.errors, "Correction") from exc
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _view(doc)


@router.post(
    "/records/{record_id}/revocation",
    status_code=202,
    response_model=RecordView,
    summary="Revoke a record (the training centre that posted it).",
    responses={
        404: {"description": "No such record for this training centre."},
        409: {"description": "The record is held for review or rejected."},
    },
)
async def revoke_record(
    record_id: str,
    revocation: RecordRevocation,
    response: Response,
    caller: Writer,
    svc: ServicesDep,
) -> RecordView:
    """Withdraw the record: it leaves the learner's trail, and credentials built on it are
    revoked. The original stays in the log. Revoking twice changes nothing."""
    try:
        doc, replayed = await svc.records.revoke(caller.provider, record_id, revocation)
    except RecordNotFound as exc:
        raise not_found("record", record_id) from exc
    except RecordStateConflict as exc:
        raise conflict(str(exc)) from exc
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _view(doc)
