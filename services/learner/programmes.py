"""Programmes training centres announce: the rules (no I/O) and the use case."""

from __future__ import annotations

from datetime import UTC, date, datetime

from faststream.kafka import KafkaBroker
from pydantic import BaseModel, ConfigDict, Field

from contracts import programmes
from contracts.envelope import new_event_id
from contracts.programmes import ProgrammeAnnounced
from contracts.vocabulary import Pathway, ShortText, Text, UnitCode
from services.common.mongo import Document
from services.learner.appending import append
from services.learner.intake import FieldError
from services.learner.store import LearnerStore


class ProgrammeAnnouncement(BaseModel):
    """A programme a training centre offers."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText = Field(examples=["Kỹ thuật trồng nho an toàn"])
    description: Text | None = None
    pathway: Pathway
    vqf_level: int | None = Field(default=None, ge=1, le=8)
    place_codes: list[UnitCode] = Field(min_length=1, examples=[["22015"]])
    starts_on: date | None = None
    ends_on: date | None = None
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    topics: list[ShortText] = Field(default_factory=list, max_length=20)
    how_to_enrol: ShortText = Field(examples=["Đăng ký tại Trung tâm GDNN-GDTX, ĐT 0259 3822 123"])


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
    if (
        announcement.starts_on
        and announcement.ends_on
        and announcement.ends_on < announcement.starts_on
    ):
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


class Programmes:
    """The announce-a-programme use case."""

    def __init__(self, store: LearnerStore, broker: KafkaBroker) -> None:
        self.store = store
        self.broker = broker

    async def announce(self, provider: Document, announcement: ProgrammeAnnouncement) -> str:
        allowed = frozenset(Pathway(p) for p in provider.get("pathways", []))
        if errors := check_announcement(announcement, allowed):
            raise ProgrammeRejected(errors)
        programme_id = new_event_id()
        event = ProgrammeAnnounced(
            programme_id=programme_id,
            provider_id=provider["_id"],
            announced_at=datetime.now(UTC),
            **announcement.model_dump(),
        )
        await self.store.save_programme(
            {"_id": programme_id, "state": "pending", **event.model_dump(mode="json")}
        )
        await append(
            self.broker,
            programmes.TOPIC,
            programmes.PROGRAMME_ANNOUNCED,
            new_event_id(),
            programme_id,
            event,
        )
        await self.store.save_programme({"_id": programme_id, "state": "announced"})
        return programme_id
