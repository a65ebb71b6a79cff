"""Taking in a completion: resolve the learner, keep the idempotency key, append the event.

Nothing is acknowledged before Kafka has the event (acks=all). The record is first kept as
*pending* under its unique ``(provider, provider_record_ref)``; a retry of a submission whose
append failed re-appends the same event (same record id, same event id), so a retry is always
safe and consumers never see two different records for one reference.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from faststream.kafka import KafkaBroker

from contracts import learners, records
from contracts.envelope import new_event_id
from contracts.learners import LearnerRegistered
from contracts.records import LearningRecordRecorded
from contracts.vocabulary import Pathway
from services.common.mongo import Document
from services.learner.appending import append
from services.learner.identity import national_id_hash
from services.learner.intake import (
    FieldError,
    RecordSubmission,
    check_submission,
    fingerprint,
    recorded_event,
)
from services.learner.store import LearnerStore

_log = logging.getLogger("learningtrail.learner.intake")


class SubmissionRejected(Exception):
    """The submission breaks intake rules."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class ConflictingResubmission(Exception):
    """The reference was already used for a different record."""

    def __init__(self, record_id: str) -> None:
        super().__init__(record_id)
        self.record_id = record_id


@dataclass(frozen=True)
class Accepted:
    record_id: str
    learner_id: str
    replayed: bool


class Intake:
    """The record-intake use case."""

    def __init__(self, store: LearnerStore, broker: KafkaBroker, identity_key: bytes) -> None:
        self.store = store
        self.broker = broker
        self.identity_key = identity_key

    async def submit(self, provider: Document, submission: RecordSubmission) -> Accepted:
        allowed = frozenset(Pathway(p) for p in provider.get("pathways", []))
        errors = check_submission(submission, allowed, datetime.now(UTC).date())
        if errors:
            raise SubmissionRejected(errors)
        id_hash = national_id_hash(self.identity_key, submission.learner.national_id)
        digest = fingerprint(id_hash, submission.record)

        existing = await self.store.record_by_ref(provider["_id"], submission.provider_record_ref)
        if existing is None:
            learner = await self._resolve_learner(id_hash, submission)
            now = datetime.now(UTC)
            record_id = new_event_id()
            event = recorded_event(
                record_id=record_id,
                learner_id=learner["_id"],
                provider_id=provider["_id"],
                submission=submission,
                recorded_at=now,
            )
            pending: Document = {
                "_id": record_id,
                "provider_id": provider["_id"],
                "provider_record_ref": submission.provider_record_ref,
                "learner_id": learner["_id"],
                "fingerprint": digest,
                "state": "pending",
                "event_id": new_event_id(),
                "event": event.model_dump(mode="json", exclude_none=True),
                "created_at": now,
            }
            if await self.store.add_pending_record(pending) is not None:
                await self._append_record(pending)
                return Accepted(record_id, learner["_id"], replayed=False)
            # A concurrent submission with the same reference won the race.
            existing = await self.store.record_by_ref(
                provider["_id"], submission.provider_record_ref
            )
            assert existing is not None

        if existing["fingerprint"] != digest:
            raise ConflictingResubmission(existing["_id"])
        if existing["state"] != "appended":
            await self._append_record(existing)
        return Accepted(existing["_id"], existing["learner_id"], replayed=True)

    async def _resolve_learner(self, id_hash: str, submission: RecordSubmission) -> Document:
        learner = await self.store.learner_by_hash(id_hash)
        if learner is None:
            identity = submission.learner
            now = datetime.now(UTC)
            learner = await self.store.add_learner(
                {
                    "_id": new_event_id(),
                    "id_hash": id_hash,
                    "full_name": identity.full_name,
                    "birth_date": identity.birth_date.isoformat(),
                    "commune_code": identity.commune_code,
                    "email": identity.email,
                    "registered_at": now,
                    "registration_event_id": new_event_id(),
                    "published": False,
                }
            )
        if not learner.get("published"):
            await self._append_learner(learner)
        return learner

    async def _append_learner(self, learner: Document) -> None:
        data = LearnerRegistered(
            learner_id=learner["_id"],
            full_name=learner["full_name"],
            birth_date=date.fromisoformat(learner["birth_date"]),
            commune_code=learner.get("commune_code"),
            email=learner.get("email"),
            registered_at=learner["registered_at"],
        )
        await append(
            self.broker,
            learners.TOPIC,
            learners.LEARNER_REGISTERED,
            learner["registration_event_id"],
            learner["_id"],
            data,
        )
        await self.store.mark_learner_published(learner["_id"])

    async def _append_record(self, pending: Document) -> None:
        data = LearningRecordRecorded.model_validate(pending["event"])
        await append(
            self.broker,
            records.TOPIC,
            records.LEARNING_RECORD_RECORDED,
            pending["event_id"],
            data.learner_id,
            data,
        )
        await self.store.mark_record_appended(pending["_id"], datetime.now(UTC))
        _log.info(
            "record appended",
            extra={"record_id": pending["_id"], "provider_id": pending["provider_id"]},
        )
