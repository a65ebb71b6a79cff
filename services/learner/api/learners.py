"""Learners: register themselves, read and correct their own profile."""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field

from services.common.access import app_settings, learner_or_admin
from services.common.mongo import Document
from services.common.problems import Problem
from services.common.settings import Settings
from services.common.tokens import Claims, issue_token
from services.learner.api.deps import (
    ServicesDep,
    conflict,
    expected_revision,
    throttle,
)
from services.learner.profiles import (
    AlreadyRegistered,
    LearnerNotFound,
    ProfileChange,
    ProfileConflict,
    SelfRegistration,
)
from services.learner.store import revision_of

router = APIRouter(prefix="/v1", tags=["learners"])
TOKEN_HOURS = 24


class LearnerView(BaseModel):
    """A learner's profile as they and the department see it (never the national ID)."""

    learner_id: str
    full_name: str
    birth_date: date
    commune_code: str | None
    email: str | None
    phone: str | None
    preferred_language: str
    interests: list[str]
    topics: list[str]
    registered_at: datetime
    merged_into: str | None = None
    revision: int = Field(
        default=0, description="Counts changes; send it as If-Match to change the profile safely."
    )


class Registered(BaseModel):
    learner: LearnerView
    token: str = Field(description=f"A learner token, valid {TOKEN_HOURS} h.")


def learner_view(doc: Document) -> LearnerView:
    return LearnerView(
        learner_id=doc["_id"],
        full_name=doc["full_name"],
        birth_date=doc["birth_date"],
        commune_code=doc.get("commune_code"),
        email=doc.get("email"),
        phone=doc.get("phone"),
        preferred_language=doc.get("preferred_language", "vi"),
        interests=doc.get("interests", []),
        topics=doc.get("topics", []),
        registered_at=doc["registered_at"],
        merged_into=doc.get("merged_into"),
        revision=revision_of(doc),
    )


@router.post(
    "/learners",
    status_code=201,
    response_model=Registered,
    summary="Register as a learner (anyone; limited per address).",
    responses={409: {"description": "This national ID is registered already."}},
)
async def register(
    registration: SelfRegistration,
    request: Request,
    svc: ServicesDep,
    settings: Annotated[Settings, Depends(app_settings)],
) -> Registered:
    """Create your learner profile and get a token to read your trail. A national ID that is
    known already cannot be registered again (it would hand its trail to whoever asks)."""
    throttle(svc, f"ip:{request.client.host if request.client else 'unknown'}")
    try:
        doc = await svc.profiles.register(registration)
    except AlreadyRegistered as exc:
        raise conflict(
            "This national ID is registered already. Ask your training centre or the "
            "department for access to your trail."
        ) from exc
    expires = int(time.time()) + TOKEN_HOURS * 3600
    token = issue_token(settings.token_secret.get_secret_value(), doc["_id"], "learner", expires)
    return Registered(learner=learner_view(doc), token=token)


@router.get(
    "/learners/{learner_id}",
    response_model=LearnerView,
    summary="A learner's profile (the learner, or the department).",
)
async def get_profile(
    learner_id: str,
    _: Annotated[Claims, Depends(learner_or_admin)],
    svc: ServicesDep,
    response: Response,
) -> LearnerView:
    """The profile, with its revision as `ETag` (send it back as `If-Match` when changing)."""
    try:
        view = learner_view(await svc.profiles.get(learner_id))
    except LearnerNotFound as exc:
        raise Problem(404, "Unknown learner", f"No learner {learner_id}.") from exc
    response.headers["ETag"] = f'"{view.revision}"'
    return view


@router.patch(
    "/learners/{learner_id}",
    response_model=LearnerView,
    summary="Correct a profile (the learner: contact and interests; the department: all).",
    responses={
        403: {"description": "Name and birth date are the department's to correct."},
        409: {"description": "It changed since read (If-Match): `current_revision` says to what."},
    },
)
async def change_profile(
    learner_id: str,
    change: ProfileChange,
    who: Annotated[Claims, Depends(learner_or_admin)],
    svc: ServicesDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> LearnerView:
    """Only the fields sent change; every service hears the whole new profile. With
    `If-Match: "<revision>"` the change applies only to that revision; without it, to the
    profile as read now. Two changes at once never both apply to the same revision: the
    second gets `409` and reads again."""
    try:
        view = learner_view(
            await svc.profiles.change(
                learner_id, change, who.role == "admin", expected_revision(if_match)
            )
        )
        response.headers["ETag"] = f'"{view.revision}"'
        return view
    except LearnerNotFound as exc:
        raise Problem(404, "Unknown learner", f"No learner {learner_id}.") from exc
    except PermissionError as exc:
        raise Problem(403, "Forbidden", str(exc)) from exc
    except ProfileConflict as exc:
        raise conflict(str(exc)) from exc
