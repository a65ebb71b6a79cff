"""Programmes training centres announce, update and withdraw: the rules (pure) and use cases."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts import programmes
from contracts.envelope import new_event_id
from contracts.programmes import ProgrammeAnnounced, ProgrammeUpdated, ProgrammeWithdrawn
from contracts.text import visible_long_text, visible_text
from contracts.vocabulary import Pathway, ShortText, Text, UnitCode
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.outbox import pending_event
from services.learner.intake import FieldError
from services.learner.store import LearnerStore, check_revision


class ProgrammeAnnouncement(BaseModel):
    """A programme a training centre offers: what, where, when, for whom, how to enrol."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText = Field(examples=["Kỹ thuật trồng nho an toàn"])
    description: Text | None = Field(default=None, max_length=5000)
    pathway: Pathway
    vqf_level: int | None = Field(default=None, ge=1, le=8)
    place_codes: list[UnitCode] = Field(min_length=1, max_length=200, examples=[["22735"]])
    starts_on: date | None = None
    ends_on: date | None = None
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    prior_vqf_level: int | None = Field(
        default=None, ge=1, le=8, description="Level a learner must already hold."
    )
    topics: list[ShortText] = Field(default_factory=list, max_length=20)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    fee_vnd: int | None = Field(default=None, ge=0, le=1_000_000_000)
    how_to_enrol: ShortText = Field(examples=["Đăng ký tại Trung tâm GDNN-GDTX, ĐT 0259 3822 123"])

    @field_validator("title", "how_to_enrol")
    @classmethod
    def _visible(cls, value: str) -> str:
        return visible_text(value)  # sent to learners: nothing hidden or reordering the text

    @field_validator("topics")
    @classmethod
    def _visible_topics(cls, value: list[str]) -> list[str]:
        return [visible_text(topic) for topic in value]

    @field_validator("description")
    @classmethod
    def _visible_description(cls, value: str | None) -> str | None:
        return None if value is None else visible_long_text(value)


class ProgrammeWithdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ShortText = Field(examples=["Không đủ học viên"])


def check_announcement(
    announcement: ProgrammeAnnouncement, allowed_pathways: frozenset[Pathway]
) -> list[FieldError]:
    """Every rule the announcement breaks (empty when it is acceptable)."""
    errors = []
    if announcement.pathway not in allowed_pathways:
        errors.append(
            FieldError(
                "pathway",
                f"this training centre may not offer the '{announcement.pathway}' pathway",
            )
        )
    starts, ends = announcement.starts_on, announcement.ends_on
    if starts and ends and ends < starts:
        errors.append(FieldError("ends_on", "must be on or after starts_on"))
    if (
        announcement.min_age is not None
        and announcement.max_age is not None
        and announcement.max_age < announcement.min_age
    ):
        errors.append(FieldError("max_age", "must be at least min_age"))
    return errors


class ProgrammeRejected(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class ProgrammeNotFound(Exception):
    pass


class ProgrammeWithdrawnAlready(Exception):
    pass


class Programmes:
    """Announce, update and withdraw programmes (the owning centre only)."""

    def __init__(self, store: LearnerStore, log: EventLog) -> None:
        self.store = store
        self.log = log

    def _check(self, provider: Document, announcement: ProgrammeAnnouncement) -> None:
        allowed = frozenset(Pathway(p) for p in provider.get("pathways", []))
        if errors := check_announcement(announcement, allowed):
            raise ProgrammeRejected(errors)

    async def announce(self, provider: Document, announcement: ProgrammeAnnouncement) -> Document:
        self._check(provider, announcement)
        programme_id = new_event_id()
        now = datetime.now(UTC)
        event = ProgrammeAnnounced(
            programme_id=programme_id,
            provider_id=provider["_id"],
            announced_at=now,
            **announcement.model_dump(),
        )
        doc: Document = {
            "_id": programme_id,
            "provider_id": provider["_id"],
            "state": "announced",
            "announced_at": now,
            "description": announcement.model_dump(mode="json", exclude_none=True),
            "pending": pending_event(programmes.PROGRAMME_ANNOUNCED, programme_id, event),
        }
        await self.store.add_programme(doc)
        await self.store.outbox.append_one(self.log, "programmes", doc)
        return doc

    async def owned(self, provider: Document, programme_id: str) -> Document:
        doc = await self.store.programme(programme_id)
        if doc is None or doc["provider_id"] != provider["_id"]:
            raise ProgrammeNotFound(programme_id)
        await self.store.outbox.append_one(self.log, "programmes", doc)
        return doc

    async def update(
        self,
        provider: Document,
        programme_id: str,
        announcement: ProgrammeAnnouncement,
        expected: int | None = None,
    ) -> Document:
        doc = await self.owned(provider, programme_id)
        if doc["state"] == "withdrawn":
            raise ProgrammeWithdrawnAlready(programme_id)
        revision = check_revision(doc, expected)
        self._check(provider, announcement)
        description = announcement.model_dump(mode="json", exclude_none=True)
        if description == doc["description"]:
            return doc
        now = datetime.now(UTC)
        event = ProgrammeUpdated(
            programme_id=programme_id,
            provider_id=provider["_id"],
            announced_at=doc["announced_at"],
            updated_at=now,
            **announcement.model_dump(),
        )
        changed = await self.store.change_programme(
            programme_id,
            {
                "description": description,
                "updated_at": now,
                "pending": pending_event(programmes.PROGRAMME_UPDATED, programme_id, event),
            },
            revision,
        )
        await self.store.outbox.append_one(self.log, "programmes", changed)
        return changed

    async def withdraw(
        self,
        provider: Document,
        programme_id: str,
        withdrawal: ProgrammeWithdrawal,
        expected: int | None = None,
    ) -> Document:
        doc = await self.owned(provider, programme_id)
        if doc["state"] == "withdrawn":
            return doc
        revision = check_revision(doc, expected)
        now = datetime.now(UTC)
        event = ProgrammeWithdrawn(
            programme_id=programme_id,
            provider_id=provider["_id"],
            reason=withdrawal.reason,
            withdrawn_at=now,
        )
        changed = await self.store.change_programme(
            programme_id,
            {
                "state": "withdrawn",
                "withdrawn_at": now,
                "pending": pending_event(programmes.PROGRAMME_WITHDRAWN, programme_id, event),
            },
            revision,
        )
        await self.store.outbox.append_one(self.log, "programmes", changed)
        return changed
