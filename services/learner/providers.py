"""Training centres and their API keys: registration, keys shown once, rotation, revocation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.envelope import new_event_id
from contracts.text import visible_text
from contracts.vocabulary import Pathway, ShortText, UnitCode
from services.common.mongo import Document
from services.common.tokens import api_key_hash, new_api_key
from services.learner.store import LearnerStore

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


class ProviderRegistration(BaseModel):
    """A training centre the department registers."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText = Field(examples=["Trung tâm GDNN-GDTX Ninh Phước"])
    kind: ProviderKind
    unit_code: UnitCode = Field(
        description="Administrative unit where it sits.", examples=["22735"]
    )
    pathways: list[Pathway] = Field(min_length=1, description="Pathways it may record.")
    scopes: list[Scope] = Field(
        default_factory=lambda: list(ALL_SCOPES),
        min_length=1,
        description="Scopes of the first API key.",
    )

    @field_validator("name")
    @classmethod
    def _visible(cls, value: str) -> str:
        return visible_text(value)  # shown on every credential the centre's records make


class ProviderChange(BaseModel):
    """What the department may change about a training centre."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = Field(
        default=None, examples=["Trung tâm Giáo dục nghề nghiệp – Giáo dục thường xuyên Ninh Sơn"]
    )
    kind: ProviderKind | None = None
    unit_code: UnitCode | None = None
    pathways: list[Pathway] | None = Field(default=None, min_length=1)
    active: bool | None = Field(default=None, description="An inactive centre's keys stop working.")

    @field_validator("name")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        return None if value is None else visible_text(value)


@dataclass(frozen=True)
class IssuedKey:
    """A new API key: ``secret`` is shown this once and never stored."""

    key_id: str
    secret: str
    scopes: list[Scope]
    created_at: datetime


# How long a live key's lookup is reused. Every request of a training centre presents its key;
# two reads of the database each time were a third of the database's work for single
# submissions. Revoking a key or deactivating a centre through this instance takes effect at
# once; through another instance, within this many seconds.
KEY_CACHE_SECONDS = 10.0
KEY_CACHE_SIZE = 10_000


class Providers:
    """The department's management of training centres."""

    def __init__(self, store: LearnerStore) -> None:
        self.store = store
        # key hash -> (until, provider, key): live keys only; a refused key is read each time
        self._live: dict[str, tuple[float, Document, Document]] = {}
        self._changes = 0  # keys or centres changed through this instance so far

    def _forget(self) -> None:
        """After a change is stored: drop every lookup, and keep a lookup that was under way
        during the change from being remembered (see ``authenticate``)."""
        self._changes += 1
        self._live.clear()

    async def register(self, registration: ProviderRegistration) -> tuple[Document, IssuedKey]:
        provider: Document = {
            "_id": new_event_id(),
            "name": registration.name,
            "kind": registration.kind,
            "unit_code": registration.unit_code,
            "pathways": [str(p) for p in dict.fromkeys(registration.pathways)],
            "active": True,
            "created_at": datetime.now(UTC),
        }
        await self.store.add_provider(provider)
        return provider, await self.issue_key(provider["_id"], registration.scopes)

    async def change(self, provider_id: str, change: ProviderChange) -> Document | None:
        changes = change.model_dump(exclude_none=True, mode="json")
        if "pathways" in changes:
            changes["pathways"] = list(dict.fromkeys(changes["pathways"]))
        if not changes:
            return await self.store.provider(provider_id)
        changes["updated_at"] = datetime.now(UTC)
        changed = await self.store.update_provider(provider_id, changes)
        self._forget()
        return changed

    async def issue_key(self, provider_id: str, scopes: list[Scope]) -> IssuedKey:
        secret = new_api_key()
        now = datetime.now(UTC)
        key_id = new_event_id()
        await self.store.add_key(
            {
                "_id": api_key_hash(secret),
                "key_id": key_id,
                "provider_id": provider_id,
                "scopes": list(dict.fromkeys(scopes)),
                "prefix": secret[:8],
                "created_at": now,
                "revoked_at": None,
            }
        )
        return IssuedKey(key_id, secret, list(dict.fromkeys(scopes)), now)

    async def rotate(self, key: Document) -> IssuedKey:
        """A new key with the same scopes; the presented one is revoked."""
        issued = await self.issue_key(key["provider_id"], key["scopes"])
        await self.store.revoke_key(key["provider_id"], key["key_id"], datetime.now(UTC))
        self._forget()
        return issued

    async def revoke(self, provider_id: str, key_id: str) -> bool:
        revoked = await self.store.revoke_key(provider_id, key_id, datetime.now(UTC))
        self._forget()
        return revoked

    async def authenticate(self, secret: str) -> tuple[Document, Document] | None:
        """The provider and key record for a presented API key, if it is live (a live
        key's lookup is reused for ``KEY_CACHE_SECONDS``)."""
        key_hash = api_key_hash(secret)
        changes = self._changes
        now = time.monotonic()
        cached = self._live.get(key_hash)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
        key = await self.store.key(key_hash)
        if key is None or key.get("revoked_at") is not None:
            return None
        provider = await self.store.provider(key["provider_id"])
        if provider is None or not provider.get("active", True):
            return None
        if changes != self._changes:  # read while a change was being stored: maybe stale
            return provider, key
        if len(self._live) >= KEY_CACHE_SIZE:
            self._live = {h: v for h, v in self._live.items() if v[0] > now}
            if len(self._live) >= KEY_CACHE_SIZE:
                self._live.clear()
        self._live[key_hash] = (now + KEY_CACHE_SECONDS, provider, key)
        return provider, key
