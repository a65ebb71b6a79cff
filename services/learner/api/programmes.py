"""Programmes: what training centres announce, update and withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, ConfigDict

from contracts.text import STORED
from services.common.mongo import Document
from services.common.problems import Problem
from services.learner.api.deps import (
    ProviderCaller,
    ServicesDep,
    expected_revision,
    not_found,
    programmes_writer,
    rejected,
)
from services.learner.programmes import (
    ProgrammeAnnouncement,
    ProgrammeNotFound,
    ProgrammeRejected,
    ProgrammeWithdrawal,
    ProgrammeWithdrawnAlready,
)
from services.learner.store import revision_of

router = APIRouter(prefix="/v1", tags=["programmes"])
Writer = Annotated[ProviderCaller, Depends(programmes_writer)]


class ProgrammeView(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "programme_id": "b7c1e9d2-4a3f-4f0e-8d6b-1e2a3c4d5f60",
                    "state": "announced",
                    "announced_at": "2025-08-01T01:00:00Z",
                    "updated_at": None,
                    "withdrawn_at": None,
                    "programme": {
                        "title": "Kỹ thuật trồng nho an toàn",
                        "description": "Khóa sơ cấp 3 tháng tại xã Phước Hậu, học thực hành "
                        "tại vườn nho của hợp tác xã",
                        "pathway": "vocational",
                        "vqf_level": 1,
                        "place_codes": ["22735"],
                        "starts_on": "2025-09-08",
                        "ends_on": "2025-12-05",
                        "min_age": 18,
                        "max_age": None,
                        "prior_vqf_level": None,
                        "topics": ["Nông nghiệp công nghệ cao"],
                        "capacity": 35,
                        "fee_vnd": 0,
                        "how_to_enrol": "Đăng ký tại Trung tâm GDNN-GDTX Ninh Phước, "
                        "ĐT 0259 3822 123",
                    },
                    "revision": 0,
                }
            ]
        }
    )

    programme_id: str
    state: Literal["announced", "withdrawn"]
    announced_at: datetime
    updated_at: datetime | None = None
    withdrawn_at: datetime | None = None
    programme: ProgrammeAnnouncement
    revision: int = 0


def _view(doc: Document) -> ProgrammeView:
    return ProgrammeView(
        programme_id=doc["_id"],
        state=doc["state"],
        announced_at=doc["announced_at"],
        updated_at=doc.get("updated_at"),
        withdrawn_at=doc.get("withdrawn_at"),
        programme=ProgrammeAnnouncement.model_validate(doc["description"], context=STORED),
        revision=revision_of(doc),
    )


@router.post(
    "/programmes",
    status_code=202,
    response_model=ProgrammeView,
    summary="Announce a programme (training centres; scope programmes:write).",
    responses={422: {"description": "A rule is broken."}, 503: {"description": "Retry."}},
)
async def announce(
    announcement: ProgrammeAnnouncement, caller: Writer, svc: ServicesDep
) -> ProgrammeView:
    """Announce a programme; the notify service tells the learners it fits."""
    try:
        return _view(await svc.programmes.announce(caller.provider, announcement))
    except ProgrammeRejected as exc:
        raise rejected(exc.errors, "Programme") from exc


@router.get(
    "/programmes",
    response_model=list[ProgrammeView],
    summary="This training centre's programmes (scope programmes:write).",
)
async def list_programmes(caller: Writer, svc: ServicesDep) -> list[ProgrammeView]:
    return [_view(d) for d in await svc.programmes.store.programmes_of(caller.provider["_id"])]


@router.put(
    "/programmes/{programme_id}",
    status_code=202,
    response_model=ProgrammeView,
    summary="Replace a programme's description (the centre that announced it).",
    responses={404: {"description": "Not this centre's."}, 409: {"description": "Withdrawn."}},
)
async def update(
    programme_id: str,
    announcement: ProgrammeAnnouncement,
    caller: Writer,
    svc: ServicesDep,
    if_match: Annotated[str | None, Header()] = None,
) -> ProgrammeView:
    """The whole new description; learners are matched again against it. `If-Match:
    "<revision>"` applies it only to that revision (else `409`)."""
    try:
        return _view(
            await svc.programmes.update(
                caller.provider, programme_id, announcement, expected_revision(if_match)
            )
        )
    except ProgrammeNotFound as exc:
        raise not_found("programme", programme_id) from exc
    except ProgrammeWithdrawnAlready as exc:
        raise Problem(
            409, "Withdrawn", "A withdrawn programme cannot change; announce a new one."
        ) from exc
    except ProgrammeRejected as exc:
        raise rejected(exc.errors, "Programme") from exc


@router.post(
    "/programmes/{programme_id}/withdrawal",
    status_code=202,
    response_model=ProgrammeView,
    summary="Withdraw a programme (the centre that announced it).",
    responses={404: {"description": "Not this centre's."}},
)
async def withdraw(
    programme_id: str,
    withdrawal: ProgrammeWithdrawal,
    caller: Writer,
    svc: ServicesDep,
    if_match: Annotated[str | None, Header()] = None,
) -> ProgrammeView:
    """Pending messages about it are cancelled. Withdrawing twice changes nothing."""
    try:
        return _view(
            await svc.programmes.withdraw(
                caller.provider, programme_id, withdrawal, expected_revision(if_match)
            )
        )
    except ProgrammeNotFound as exc:
        raise not_found("programme", programme_id) from exc
