"""The department's administration, and a training centre's own key rotation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from contracts.vocabulary import Pathway, ShortText
from services.common.access import require_admin
from services.common.mongo import Document
from services.common.problems import Problem
from services.common.tokens import Claims
from services.learner.api.deps import (
    ProviderCaller,
    ServicesDep,
    any_provider,
    conflict,
    expected_revision,
)
from services.learner.api.learners import LearnerView, learner_view
from services.learner.profiles import LearnerNotFound, Merge, ProfileConflict
from services.learner.providers import (
    IssuedKey,
    ProviderChange,
    ProviderKind,
    ProviderRegistration,
    Scope,
)
from services.learner.submissions import RecordNotFound, RecordStateConflict

router = APIRouter(prefix="/v1", tags=["administration"])
Admin = Annotated[Claims, Depends(require_admin)]


class Provider(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f6d2a9e-1b7c-4e58-a0d4-6c9b8e2f1a37",
                    "name": "Trung tâm Giáo dục nghề nghiệp – Giáo dục thường xuyên Ninh Phước",
                    "kind": "vocational_continuing_centre",
                    "unit_code": "22735",
                    "pathways": ["vocational", "continuing"],
                    "active": True,
                }
            ]
        }
    )

    id: str
    name: str
    kind: ProviderKind
    unit_code: str
    pathways: list[Pathway]
    active: bool


class KeyView(BaseModel):
    key_id: str
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class NewKey(BaseModel):
    key_id: str
    api_key: str = Field(description="Shown once; only its hash is kept.")
    scopes: list[Scope]


class ProviderCreated(BaseModel):
    provider: Provider
    api_key: str = Field(description="Shown once; only its hash is kept.")
    key_id: str
    scopes: list[Scope]


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Scope] = Field(min_length=1)


def _provider(doc: Document) -> Provider:
    return Provider(
        id=doc["_id"],
        name=doc["name"],
        kind=doc["kind"],
        unit_code=doc["unit_code"],
        pathways=doc["pathways"],
        active=doc.get("active", True),
    )


def _new_key(key: IssuedKey) -> NewKey:
    return NewKey(key_id=key.key_id, api_key=key.secret, scopes=key.scopes)


def _unknown_provider(provider_id: str) -> Problem:
    return Problem(404, "Unknown training centre", f"No training centre {provider_id}.")


@router.post(
    "/admin/providers",
    status_code=201,
    response_model=ProviderCreated,
    summary="Register a training centre and issue its first API key (department only).",
)
async def create_provider(
    registration: ProviderRegistration, _: Admin, svc: ServicesDep
) -> ProviderCreated:
    provider, key = await svc.providers.register(registration)
    return ProviderCreated(
        provider=_provider(provider), api_key=key.secret, key_id=key.key_id, scopes=key.scopes
    )


@router.get(
    "/admin/providers",
    response_model=list[Provider],
    summary="List training centres (department only).",
)
async def list_providers(_: Admin, svc: ServicesDep) -> list[Provider]:
    return [_provider(d) for d in await svc.providers.store.list_providers()]


@router.get(
    "/admin/providers/{provider_id}",
    response_model=Provider,
    summary="One training centre (department only).",
)
async def get_provider(provider_id: str, _: Admin, svc: ServicesDep) -> Provider:
    doc = await svc.providers.store.provider(provider_id)
    if doc is None:
        raise _unknown_provider(provider_id)
    return _provider(doc)


@router.patch(
    "/admin/providers/{provider_id}",
    response_model=Provider,
    summary="Change a training centre: name, kind, unit, pathways, active (department only).",
)
async def change_provider(
    provider_id: str, change: ProviderChange, _: Admin, svc: ServicesDep
) -> Provider:
    doc = await svc.providers.change(provider_id, change)
    if doc is None:
        raise _unknown_provider(provider_id)
    return _provider(doc)


@router.get(
    "/admin/providers/{provider_id}/keys",
    response_model=list[KeyView],
    summary="A training centre's API keys, without secrets (department only).",
)
async def list_keys(provider_id: str, _: Admin, svc: ServicesDep) -> list[KeyView]:
    if await svc.providers.store.provider(provider_id) is None:
        raise _unknown_provider(provider_id)
    return [KeyView.model_validate(k) for k in await svc.providers.store.keys_of(provider_id)]


@router.post(
    "/admin/providers/{provider_id}/keys",
    status_code=201,
    response_model=NewKey,
    summary="Issue another API key for a training centre (department only).",
)
async def issue_key(provider_id: str, request: KeyRequest, _: Admin, svc: ServicesDep) -> NewKey:
    if await svc.providers.store.provider(provider_id) is None:
        raise _unknown_provider(provider_id)
    return _new_key(await svc.providers.issue_key(provider_id, request.scopes))


@router.delete(
    "/admin/providers/{provider_id}/keys/{key_id}",
    status_code=204,
    summary="Revoke an API key (department only).",
)
async def revoke_key(provider_id: str, key_id: str, _: Admin, svc: ServicesDep) -> None:
    if not await svc.providers.revoke(provider_id, key_id):
        raise Problem(
            404, "Unknown key", f"No live key {key_id} for training centre {provider_id}."
        )


@router.get(
    "/provider",
    response_model=Provider,
    tags=["keys"],
    summary="The training centre your API key belongs to (training centres).",
)
async def who_am_i(caller: Annotated[ProviderCaller, Depends(any_provider)]) -> Provider:
    return _provider(caller.provider)


@router.post(
    "/keys:rotate",
    status_code=201,
    response_model=NewKey,
    tags=["keys"],
    summary="Rotate the API key you call with (training centres).",
)
async def rotate_own_key(
    caller: Annotated[ProviderCaller, Depends(any_provider)], svc: ServicesDep
) -> NewKey:
    """A new key with the same scopes; the key used for this call stops working at once."""
    return _new_key(await svc.providers.rotate(caller.key))


class HeldRecord(BaseModel):
    record_id: str
    provider_id: str
    provider_record_ref: str
    learner_id: str = Field(description="The learner the national ID belongs to.")
    known_name: str
    known_birth_date: str
    submitted_name: str
    submitted_birth_date: str
    reason: str
    created_at: datetime


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool = Field(description="True: the same person, add the record; False: reject it.")
    note: ShortText = Field(examples=["Đã xác minh CCCD: cùng một người, sai chính tả tên"])


@router.get(
    "/admin/reviews",
    response_model=list[HeldRecord],
    summary="Records held because the name or birth date did not match (department only).",
)
async def held_records(
    _: Admin, svc: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[HeldRecord]:
    held = []
    for doc in await svc.records.held(limit):
        learner = await svc.profiles.store.learner(doc["learner_id"])
        review = doc["review"]
        held.append(
            HeldRecord(
                record_id=doc["_id"],
                provider_id=doc["provider_id"],
                provider_record_ref=doc["provider_record_ref"],
                learner_id=doc["learner_id"],
                known_name=learner["full_name"] if learner else "",
                known_birth_date=learner["birth_date"] if learner else "",
                submitted_name=review["submitted_name"],
                submitted_birth_date=review["submitted_birth_date"],
                reason=review["reason"],
                created_at=doc["created_at"],
            )
        )
    return held


@router.post(
    "/admin/reviews/{record_id}",
    status_code=202,
    summary="Decide a held record: add it to the learner, or reject it (department only).",
)
async def decide(record_id: str, decision: Decision, _: Admin, svc: ServicesDep) -> dict[str, str]:
    try:
        doc = await svc.records.decide(record_id, decision.accept, decision.note)
    except RecordNotFound as exc:
        raise Problem(404, "Unknown record", f"No record {record_id}.") from exc
    except RecordStateConflict as exc:
        raise conflict(str(exc)) from exc
    return {"record_id": doc["_id"], "status": doc["state"]}


@router.post(
    "/admin/learners/{learner_id}/merge",
    status_code=202,
    response_model=LearnerView,
    summary="Merge a learner into another (department only); every projection follows.",
)
async def merge(
    learner_id: str,
    merge: Merge,
    _: Admin,
    svc: ServicesDep,
    if_match: Annotated[str | None, Header()] = None,
) -> LearnerView:
    """`If-Match: "<revision>"` merges only the learner at that revision (else `409`)."""
    try:
        return learner_view(
            await svc.profiles.merge(learner_id, merge, expected_revision(if_match))
        )
    except LearnerNotFound as exc:
        raise Problem(404, "Unknown learner", f"No learner {exc}.") from exc
    except ProfileConflict as exc:
        raise conflict(str(exc)) from exc
