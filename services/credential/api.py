"""The credential service's HTTP API: a learner's trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from services.common.access import learner_or_admin
from services.common.problems import Problem
from services.common.tokens import Claims
from services.credential.store import CredentialStore
from services.credential.trail import Trail, build_trail

router = APIRouter(prefix="/v1", tags=["trail"])


def store(request: Request) -> CredentialStore:
    found: CredentialStore = request.app.state.store
    return found


@router.get(
    "/learners/{learner_id}/trail",
    response_model=Trail,
    summary="A learner's trail, grouped by pathway (the learner, or the department).",
    responses={
        401: {"description": "No or invalid token."},
        403: {"description": "A learner token for someone else."},
        404: {"description": "Nothing is known about this learner yet."},
    },
)
async def get_trail(
    learner_id: str,
    _: Annotated[Claims, Depends(learner_or_admin)],
    trails: Annotated[CredentialStore, Depends(store)],
) -> Trail:
    """Every piece of learning recorded for the learner, grouped by pathway, with totals."""
    learner = await trails.learner(learner_id)
    if learner is not None and learner.get("merged_into"):
        raise Problem(
            404,
            "Learner merged",
            "This learner record was merged into another by the department; the trail now "
            "lives under the surviving learner.",
        )
    entries = (await trails.entries_of([learner_id]))[learner_id]
    if learner is None and not entries:
        raise Problem(
            404,
            "Unknown learner",
            f"No learning has been recorded for learner {learner_id} yet. Records appear here "
            "a moment after a training centre's submission is accepted.",
        )
    recognitions = (await trails.recognitions_of([learner_id]))[learner_id]
    name = learner.get("full_name") if learner else None
    return build_trail(learner_id, name, entries, recognitions)
