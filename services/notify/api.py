"""The notify service's HTTP API: a learner's inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.common.access import learner_or_admin
from services.common.tokens import Claims
from services.notify.store import NotifyStore

router = APIRouter(prefix="/v1", tags=["inbox"])


def store(request: Request) -> NotifyStore:
    found: NotifyStore = request.app.state.store
    return found


class Notification(BaseModel):
    id: str
    programme_id: str
    channel: str
    state: str
    title: str
    body: str
    created_at: datetime
    read: bool


class Inbox(BaseModel):
    learner_id: str
    notifications: list[Notification]


@router.get(
    "/learners/{learner_id}/notifications",
    response_model=Inbox,
    summary="A learner's inbox, newest first (the learner, or the department).",
    responses={401: {"description": "No or invalid token."}, 403: {"description": "Not yours."}},
)
async def get_inbox(
    learner_id: str,
    _: Annotated[Claims, Depends(learner_or_admin)],
    notes: Annotated[NotifyStore, Depends(store)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Inbox:
    docs = await notes.inbox(learner_id, limit)
    return Inbox(
        learner_id=learner_id,
        notifications=[
            Notification(
                id=d["_id"],
                programme_id=d["programme_id"],
                channel=d["channel"],
                state=d["state"],
                title=d["title"],
                body=d["body"],
                created_at=d["created_at"],
                read=d.get("read_at") is not None,
            )
            for d in docs
        ],
    )
