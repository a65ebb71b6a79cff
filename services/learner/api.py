"""The learner service's HTTP API: training centres submit, the department administers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import new_event_id
from contracts.vocabulary import Pathway, ShortText, UnitCode
from services.common.access import require_admin
from services.common.mongo import Document
from services.common.problems import Problem
from services.common.tokens import Claims, api_key_hash, new_api_key
from services.learner.appending import AppendFailed
from services.learner.intake import FieldError, RecordSubmission
from services.learner.programmes import ProgrammeAnnouncement, ProgrammeRejected, Programmes
from services.learner.store import LearnerStore
from services.learner.submissions import ConflictingResubmission, Intake, SubmissionRejected

ProviderKind = Literal[
    "school",
    "university",
    "vocational_continuing_centre",
    "community_learning_centre",
    "enterprise",
    "government_body",
]
Scope = Literal["records:write", "programmes:write"]
ALL_SCOPES: list[Scope] = ["records:write", "programmes:write"]

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A training centre's API key."
)


class Services:
    """What the routes need, wired by the composition root."""

    def __init__(self, store: LearnerStore, intake: Intake, programmes: Programmes) -> None:
        self.store = store
        self.intake = intake
        self.programmes = programmes


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


class Provider(BaseModel):
    """A training centre, as the service knows it."""

    id: str
    name: str
    kind: ProviderKind
    unit_code: str
    pathways: list[Pathway]


async def provider_with_scope(
    scope: Scope, key: str | None, svc: Services
) -> tuple[Document, list[str]]:
    if not key:
        raise Problem(
            401,
            "Unauthorised",
            "Send the training centre's API key in the X-API-Key header.",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    found = await svc.store.provider_for_key(api_key_hash(key))
    if found is None:
        raise Problem(
            401,
            "Unauthorised",
            "The API key is unknown or revoked; ask the department for a new one.",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    provider, scopes = found
    if scope not in scopes:
        raise Problem(403, "Forbidden", f"This API key lacks the '{scope}' scope.")
    return provider, scopes


async def records_writer(
    key: Annotated[str | None, Depends(api_key_header)],
    svc: Annotated[Services, Depends(services)],
) -> Document:
    provider, _ = await provider_with_scope("records:write", key, svc)
    return provider


async def programmes_writer(
    key: Annotated[str | None, Depends(api_key_header)],
    svc: Annotated[Services, Depends(services)],
) -> Document:
    provider, _ = await provider_with_scope("programmes:write", key, svc)
    return provider


def _rejected(errors: list[FieldError], what: str) -> Problem:
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Problem(
        422,
        f"{what} rejected",
        f"Fix these fields and resubmit: {summary}",
        type_="https://learningtrail.vn/problems/validation",
        errors=[{"field": e.field, "message": e.message} for e in errors],
    )


def _unavailable() -> Problem:
    return Problem(
        503,
        "Service unavailable",
        "The event log did not confirm the write, so nothing was accepted. "
        "Retry the same request: it is safe to repeat.",
        headers={"Retry-After": "5"},
    )


# records

records_router = APIRouter(prefix="/v1", tags=["records"])


class RecordAccepted(BaseModel):
    record_id: str = Field(
        description="Stable id of the record; the same for a retried submission."
    )
    learner_id: str
    status: Literal["accepted"] = "accepted"


@records_router.post(
    "/records",
    status_code=202,
    response_model=RecordAccepted,
    summary="Submit a completion (training centres, scope records:write).",
    responses={
        401: {"description": "No or unknown API key."},
        403: {"description": "Key lacks records:write."},
        409: {"description": "The reference was already used for a different record."},
        422: {"description": "The record breaks a rule; `errors` names each field."},
        503: {"description": "The event log is unavailable; retry after `Retry-After`."},
    },
)
async def submit_record(
    submission: RecordSubmission,
    response: Response,
    provider: Annotated[Document, Depends(records_writer)],
    svc: Annotated[Services, Depends(services)],
) -> RecordAccepted:
    """Accept one completion. The answer comes after the event log has it (acks=all); the same
    `provider_record_ref` with the same content returns the same `record_id` and adds nothing."""
    try:
        accepted = await svc.intake.submit(provider, submission)
    except SubmissionRejected as exc:
        raise _rejected(exc.errors, "Record") from exc
    except ConflictingResubmission as exc:
        raise Problem(
            409,
            "Reference already used",
            f"provider_record_ref {submission.provider_record_ref!r} already names record "
            f"{exc.record_id} with different content. Use a new reference for a new record.",
            record_id=exc.record_id,
        ) from exc
    except AppendFailed as exc:
        raise _unavailable() from exc
    if accepted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/records/{accepted.record_id}"
    return RecordAccepted(record_id=accepted.record_id, learner_id=accepted.learner_id)


# programmes

programmes_router = APIRouter(prefix="/v1", tags=["programmes"])


class ProgrammeAccepted(BaseModel):
    programme_id: str
    status: Literal["announced"] = "announced"


@programmes_router.post(
    "/programmes",
    status_code=202,
    response_model=ProgrammeAccepted,
    summary="Announce a programme (training centres, scope programmes:write).",
)
async def announce_programme(
    announcement: ProgrammeAnnouncement,
    provider: Annotated[Document, Depends(programmes_writer)],
    svc: Annotated[Services, Depends(services)],
) -> ProgrammeAccepted:
    """Announce a programme; the notify service tells the learners it fits."""
    try:
        programme_id = await svc.programmes.announce(provider, announcement)
    except ProgrammeRejected as exc:
        raise _rejected(exc.errors, "Programme") from exc
    except AppendFailed as exc:
        raise _unavailable() from exc
    return ProgrammeAccepted(programme_id=programme_id)


# administration

admin_router = APIRouter(prefix="/v1/admin", tags=["administration"])


class ProviderRegistration(BaseModel):
    """A training centre the department registers."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText = Field(examples=["Trung tâm GDNN-GDTX Ninh Phước"])
    kind: ProviderKind
    unit_code: UnitCode = Field(description="Administrative unit where it sits.")
    pathways: list[Pathway] = Field(min_length=1, description="Pathways it may record.")
    scopes: list[Scope] = Field(default_factory=lambda: list(ALL_SCOPES), min_length=1)


class ProviderCreated(BaseModel):
    provider: Provider
    api_key: str = Field(description="Shown once; only its hash is kept.")
    scopes: list[Scope]


def _provider(doc: Document) -> Provider:
    return Provider(
        id=doc["_id"],
        name=doc["name"],
        kind=doc["kind"],
        unit_code=doc["unit_code"],
        pathways=doc["pathways"],
    )


@admin_router.post(
    "/providers",
    status_code=201,
    response_model=ProviderCreated,
    summary="Register a training centre and issue its first API key (department only).",
)
async def create_provider(
    registration: ProviderRegistration,
    _: Annotated[Claims, Depends(require_admin)],
    svc: Annotated[Services, Depends(services)],
) -> ProviderCreated:
    doc: dict[str, Any] = {
        "_id": new_event_id(),
        "name": registration.name,
        "kind": registration.kind,
        "unit_code": registration.unit_code,
        "pathways": [str(p) for p in dict.fromkeys(registration.pathways)],
        "created_at": datetime.now(UTC),
    }
    key = new_api_key()
    await svc.store.add_provider(doc, api_key_hash(key), list(registration.scopes))
    return ProviderCreated(provider=_provider(doc), api_key=key, scopes=registration.scopes)


@admin_router.get(
    "/providers",
    response_model=list[Provider],
    summary="List training centres (department only).",
)
async def list_providers(
    _: Annotated[Claims, Depends(require_admin)],
    svc: Annotated[Services, Depends(services)],
) -> list[Provider]:
    return [_provider(d) for d in await svc.store.list_providers()]
