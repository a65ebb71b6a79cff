"""Consuming the log: the notify service's event handler.

From ``learners.v1`` it keeps where and how to reach each learner; from ``learning-records.v1``
what they have completed and their highest level; from ``programmes.v1`` what is on offer; from
``credentials.v1`` what to congratulate them on. Each batch is applied idempotently (upserts by
id, notifications keyed by learner, subject and channel), so a redelivered batch changes
nothing.

A learner merged away is offered nothing more, what waited for them is cancelled, and their
learning moves to the learner that remains — also learning that arrives after the merge (records
and merges travel on different topics), so replaying the topics in any interleaving ends the same.
Learner and record events cost a constant number of reads and writes per batch, each by ``_id``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel

from contracts.credentials import (
    CredentialIssued,
    CredentialRevoked,
    RecognitionGranted,
    RecognitionRevoked,
)
from contracts.envelope import Envelope, utc_now
from contracts.learners import LearnerMerged, LearnerRegistered, LearnerUpdated
from contracts.programmes import ProgrammeAnnounced, ProgrammeUpdated, ProgrammeWithdrawn
from contracts.records import (
    LearningRecordCorrected,
    LearningRecordRecorded,
    LearningRecordRevoked,
)
from services.common.mongo import Document
from services.notify.matching import completion_key
from services.notify.matchmaker import Matchmaker, Telling
from services.notify.messages import credential_message, recognition_message
from services.notify.store import NotifyStore

_log = logging.getLogger("learningtrail.notify.projection")

# Results that count as having completed the learning.
COMPLETED = ("passed", "completed")


def trail_summary(records: Iterable[Document]) -> Document:
    """A learner's highest VQF level and the learning they completed (not revoked, not failed)."""
    done = [r for r in records if not r.get("revoked") and r.get("status") in COMPLETED]
    levels = [r["vqf_level"] for r in done if r.get("vqf_level") is not None]
    return {
        "highest_vqf_level": max(levels) if levels else None,
        "completed": sorted({completion_key(r["pathway"], r["title"]) for r in done}),
    }


def _record(data: LearningRecordRecorded | LearningRecordCorrected) -> Document:
    return {
        "learner_id": data.learner_id,
        "pathway": data.pathway.value,
        "title": data.title,
        "vqf_level": data.vqf_level,
        "status": data.result.status.value,
    }


def _profile(data: LearnerRegistered | LearnerUpdated) -> Document:
    return {
        "full_name": data.full_name,
        "birth_date": data.birth_date.isoformat(),
        "commune_code": data.commune_code,
        "email": data.email,
        "phone": data.phone,
        "language": data.preferred_language.value,
        "interests": [p.value for p in data.interests],
        "topics": list(data.topics),
    }


class NotifyProjection:
    """Applies a batch of events; safe to apply twice."""

    def __init__(self, store: NotifyStore, matchmaker: Matchmaker) -> None:
        self.store = store
        self.matchmaker = matchmaker

    async def handle(self, events: list[Envelope[BaseModel]]) -> None:
        now = utc_now()
        profiles: dict[str, Document] = {}
        merges: dict[str, str] = {}
        records: dict[str, Document] = {}
        programmes: dict[str, tuple[BaseModel, datetime]] = {}
        told: list[BaseModel] = []
        for event in events:  # per key the log keeps order: the last event about a key wins
            data = event.data
            if isinstance(data, LearnerRegistered | LearnerUpdated):
                profiles[data.learner_id] = _profile(data)
            elif isinstance(data, LearnerMerged):
                merges[data.learner_id] = data.merged_into
            elif isinstance(data, LearningRecordRecorded | LearningRecordCorrected):
                records[data.record_id] = _record(data)
            elif isinstance(data, LearningRecordRevoked):
                records[data.record_id] = {"learner_id": data.learner_id, "revoked": True}
            elif isinstance(data, ProgrammeUpdated):
                programmes[data.programme_id] = (data, data.updated_at)
            elif isinstance(data, ProgrammeAnnounced):
                programmes[data.programme_id] = (data, data.announced_at)
            elif isinstance(data, ProgrammeWithdrawn):
                programmes[data.programme_id] = (data, data.withdrawn_at)
            elif isinstance(
                data, RecognitionGranted | RecognitionRevoked | CredentialIssued | CredentialRevoked
            ):
                told.append(data)
            # TrailUpdated: the records themselves say more (levels, titles); nothing to do.

        await self.store.put_profiles(profiles)
        await self.matchmaker.learners_merged(merges, now)
        trails = await self._learning(records, merges)
        for programme, version_at in programmes.values():
            await self._programme(programme, version_at, now)
        changed = [lid for lid in dict.fromkeys([*profiles, *trails]) if lid not in merges]
        if changed:
            await self.matchmaker.learners_changed(changed, now, trails)
        await self._tell(told, now)

    async def _learning(
        self, records: dict[str, Document], merges: dict[str, str]
    ) -> dict[str, Document]:
        """Store the batch's records under their learners (under the learner that remains, for
        one merged away), move the learning of learners merged away to the learner that
        remains, and return the new trail summary of each learner whose learning changed.

        A constant number of reads and writes, each by ``_id``: whom the learners were merged
        into (one read per step of the longest chain of merges), their learning, then one
        write of the learning with the summaries beside it."""
        if not records and not merges:
            return {}
        owners = {str(r["learner_id"]) for r in records.values()}
        survivors = await self.store.survivors(owners | set(merges))

        def final(learner_id: str) -> str:
            return survivors.get(learner_id, learner_id)

        moving = {old: final(old) for old in merges if final(old) != old}
        stored, documents = await self.store.learning_of(
            {*moving, *moving.values(), *map(final, owners)}
        )
        changed: dict[str, dict[str, Document]] = {}  # learner -> record id -> whole record
        cleared = []
        for old, into in moving.items():
            moved = stored.pop(old, {})
            stored.setdefault(into, {}).update(moved)
            if moved:
                changed.setdefault(into, {}).update(moved)
                cleared.append(old)
        for rid, record in records.items():  # a later event sets the fields it carries
            owner = final(str(record["learner_id"]))
            fields = {k: v for k, v in record.items() if k != "learner_id"}
            whole = {**stored.setdefault(owner, {}).get(rid, {}), **fields}
            stored[owner][rid] = whole
            changed.setdefault(owner, {})[rid] = whole
        trails = {lid: trail_summary(stored[lid].values()) for lid in changed}
        await self.store.write_learning(changed, trails, documents, cleared)
        return trails

    async def _programme(self, data: BaseModel, version_at: datetime, now: datetime) -> None:
        if isinstance(data, ProgrammeWithdrawn):
            await self.store.withdraw_programme(data.programme_id, version_at, data.reason)
            await self.matchmaker.programme_withdrawn(data.programme_id, now)
        elif isinstance(data, ProgrammeAnnounced | ProgrammeUpdated):
            if await self.store.put_programme(data, version_at):
                await self.matchmaker.programme_changed(data, now)
            else:
                _log.info("stale programme event ignored", extra={"id": data.programme_id})

    async def _tell(self, told: list[BaseModel], now: datetime) -> None:
        """Recognitions and credentials, in the order of the log: what is granted or issued is
        told in one go, up to a revocation (which cancels what was not sent about it)."""
        tellings: list[Telling] = []
        for data in told:
            if isinstance(data, RecognitionGranted):
                tellings.append(
                    Telling(
                        data.learner_id,
                        "recognition",
                        data.recognition_id,
                        functools.partial(recognition_message, data),
                        data.model_dump(mode="json"),
                    )
                )
            elif isinstance(data, CredentialIssued):
                tellings.append(
                    Telling(
                        data.learner_id,
                        "credential",
                        data.credential_id,
                        functools.partial(credential_message, data),
                        data.model_dump(mode="json"),
                    )
                )
            elif isinstance(data, RecognitionRevoked | CredentialRevoked):
                await self.matchmaker.tell(tellings, now)
                tellings = []
                subject = (
                    data.recognition_id
                    if isinstance(data, RecognitionRevoked)
                    else data.credential_id
                )
                await self.matchmaker.retract(subject, now)
        await self.matchmaker.tell(tellings, now)
