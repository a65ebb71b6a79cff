"""Learners: open an account, read and correct their own profile."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.text import STORED
from services.common.mongo import Document
from services.common.problems import Problem
from services.common.tokens import Claims
from services.learner.api.accounts import SessionTokens, session_tokens
from services.learner.api.deps import (
    ServicesDep,
    client_address,
    conflict,
    expected_revision,
    profile_reader,
    throttle,
)
from services.learner.profiles import (
    Contact,
    LearnerNotFound,
    ProfileChange,
    ProfileConflict,
    SelfRegistration,
)
from services.learner.store import revision_of

router = APIRouter(prefix="/v1", tags=["learners"])


class LearnerView(BaseModel):
    """A learner's profile as they and the department see it (never the national ID)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "learner_id": "5b0e4c1a-8f3e-4d7a-9c61-2f8a7d3e9b10",
                    "full_name": "Trần Thị Thu Hà",
                    "birth_date": "1992-11-03",
                    "commune_code": "22735",
                    "email": "thuha.tran@example.vn",
                    "phone": "0912345678",
                    "preferred_language": "vi",
                    "interests": ["vocational", "continuing"],
                    "topics": ["Nông nghiệp công nghệ cao"],
                    "registered_at": "2025-03-15T02:30:00Z",
                    "merged_into": None,
                    "revision": 2,
                }
            ]
        }
    )

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
    """An account opened: its own learner profile and a sign-in session."""

    account_id: str
    learner: LearnerView
    session: SessionTokens


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
    summary="Open an account (anyone; limited per address); it binds no national ID.",
)
async def register(
    registration: SelfRegistration, request: Request, svc: ServicesDep
) -> Registered:
    """Open an account with a profile of its own and a sign-in session. It reaches no one's
    records: a national ID is bound to it only by a proof — redeem the claim code a training
    centre gives you after checking your card (`POST /v1/account/claims`)."""
    throttle(svc, f"ip:{client_address(request)}")
    contact = Contact.model_validate(
        registration.model_dump(exclude={"full_name", "birth_date"}), context=STORED
    )
    account, learner = await svc.accounts.open(
        registration.full_name, registration.birth_date, contact
    )
    tokens = await svc.sessions.start(account)
    return Registered(
        account_id=account["_id"], learner=learner_view(learner), session=session_tokens(tokens)
    )


@router.get(
    "/learners/{learner_id}",
    response_model=LearnerView,
    summary="A learner's profile (the learner, or the department).",
)
async def get_profile(
    learner_id: str,
    _: Annotated[Claims, Depends(profile_reader)],
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
    who: Annotated[Claims, Depends(profile_reader)],
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
