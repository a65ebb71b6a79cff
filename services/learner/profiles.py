"""Learners themselves: registering, reading and correcting their profile; merges by the
department. Every change is a full-profile event on the compacted ``learners.v1``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from contracts import learners
from contracts.learners import LearnerMerged, LearnerUpdated
from contracts.text import STORED
from contracts.vocabulary import BirthDate, Language, Pathway, ShortText, UnitCode
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.outbox import pending_event
from services.learner.identity import PersonName, checked_name
from services.learner.intake import Phone
from services.learner.store import LearnerStore, check_revision
from services.learner.submissions import learner_profile

_log = logging.getLogger("learningtrail.learner.profiles")


class Contact(BaseModel):
    """How and about what a learner wants to hear."""

    model_config = ConfigDict(extra="forbid")

    commune_code: UnitCode | None = Field(default=None, examples=["22735"])
    email: EmailStr | None = None
    phone: Phone | None = None
    preferred_language: Language = Language.VI
    interests: list[Pathway] = Field(default_factory=list, max_length=8)
    topics: list[ShortText] = Field(default_factory=list, max_length=20)


class SelfRegistration(Contact):
    """Someone opening an account. No national ID: typing one proves nothing (it is printed
    on every card and widely copied), so it is bound only by a proof — a centre's claim code
    or a sign-in with the national e-ID."""

    full_name: PersonName = Field(examples=["Lê Hoàng Yến"])
    birth_date: BirthDate

    @model_validator(mode="before")
    @classmethod
    def _no_national_id(cls, data: object) -> object:
        if isinstance(data, dict) and "national_id" in data:
            raise ValueError(
                "national_id is not taken here: opening an account binds no national ID. "
                "Redeem the claim code your training centre gives you (POST "
                "/v1/account/claims) to reach your records."
            )
        return data


class ProfileChange(BaseModel):
    """Fields a learner may correct; name and birth date only through the department."""

    model_config = ConfigDict(extra="forbid")

    commune_code: UnitCode | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    preferred_language: Language | None = None
    interests: list[Pathway] | None = Field(default=None, max_length=8)
    topics: list[ShortText] | None = Field(default=None, max_length=20)
    full_name: ShortText | None = Field(default=None, description="Department only.")
    birth_date: BirthDate | None = Field(default=None, description="Department only.")

    @field_validator("full_name")
    @classmethod
    def _normalised(cls, value: str | None) -> str | None:
        return None if value is None else checked_name(value)


class Merge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merged_into: str = Field(description="The learner id that remains.")
    reason: ShortText = Field(examples=["Hai hồ sơ của cùng một người (nhập sai số CCCD)"])


class LearnerNotFound(Exception):
    pass


class ProfileConflict(Exception):
    """The change is not possible in the learner's state; the message says why."""


class Profiles:
    def __init__(self, store: LearnerStore, log: EventLog, identity_key: bytes) -> None:
        self.store = store
        self.log = log
        self.identity_key = identity_key

    async def get(self, learner_id: str) -> Document:
        doc = await self.store.learner(learner_id)
        if doc is None:
            raise LearnerNotFound(learner_id)
        return doc

    async def change(
        self, learner_id: str, change: ProfileChange, by_admin: bool, expected: int | None = None
    ) -> Document:
        doc = await self.get(learner_id)
        revision = check_revision(doc, expected)
        if doc.get("merged_into"):
            raise ProfileConflict(f"this learner was merged into {doc['merged_into']}")
        changes = change.model_dump(mode="json", exclude_unset=True)
        if not by_admin and ({"full_name", "birth_date"} & set(changes)):
            raise PermissionError(
                "name and birth date are corrected by the department, with proof of identity"
            )
        await self.store.outbox.append_one(self.log, "learners", doc)
        merged = {**doc, **changes}
        if all(doc.get(k) == v for k, v in changes.items()):
            return doc
        now = datetime.now(UTC)
        changes["updated_at"] = now
        changes["pending"] = pending_event(
            learners.LEARNER_UPDATED,
            learner_id,
            LearnerUpdated.model_validate(
                {**learner_profile(merged), "updated_at": now}, context=STORED
            ),
        )
        changed = await self.store.change_learner(learner_id, changes, revision)
        await self.store.outbox.append_one(self.log, "learners", changed)
        return changed

    async def merge(self, learner_id: str, merge: Merge, expected: int | None = None) -> Document:
        if learner_id == merge.merged_into:
            raise ProfileConflict("a learner cannot be merged into itself")
        doc = await self.get(learner_id)
        target = await self.store.learner(merge.merged_into)
        if target is None:
            raise LearnerNotFound(merge.merged_into)
        if target.get("merged_into"):
            raise ProfileConflict(f"{merge.merged_into} was itself merged; merge into the survivor")
        if doc.get("merged_into"):
            if doc["merged_into"] == merge.merged_into:
                await self.store.outbox.append_one(self.log, "learners", doc)
                return doc
            raise ProfileConflict(f"this learner was already merged into {doc['merged_into']}")
        revision = check_revision(doc, expected)
        await self.store.outbox.append_one(self.log, "learners", doc)
        now = datetime.now(UTC)
        event = LearnerMerged(
            learner_id=learner_id, merged_into=merge.merged_into, reason=merge.reason, merged_at=now
        )
        changed = await self.store.change_learner(
            learner_id,
            {
                "merged_into": merge.merged_into,
                "merged_at": now,
                "pending": pending_event(learners.LEARNER_MERGED, learner_id, event),
            },
            revision,
        )
        await self.store.outbox.append_one(self.log, "learners", changed)
        return changed
