"""Consuming the log into the trail: the credential service's event handler."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from faststream.kafka import KafkaBroker
from pydantic import BaseModel

from contracts import credentials
from contracts.credentials import TrailUpdated
from contracts.envelope import Envelope
from contracts.learners import LearnerRegistered
from contracts.records import LearningRecordRecorded
from services.common.broker import publish_event
from services.credential.store import CredentialStore
from services.credential.trail import build_trail, entry_from_record

SOURCE = "/credential"
_log = logging.getLogger("learningtrail.credential.projection")


class TrailProjection:
    """Applies a batch of learner and record events; safe to apply twice."""

    def __init__(self, store: CredentialStore, broker: KafkaBroker) -> None:
        self.store = store
        self.broker = broker

    async def handle(self, events: list[Envelope[BaseModel]]) -> None:
        learners = []
        entries: dict[str, dict[str, object]] = {}
        for event in events:
            data = event.data
            if isinstance(data, LearnerRegistered):
                doc = data.model_dump(mode="json", exclude_none=True)
                doc["_id"] = doc.pop("learner_id")
                learners.append(doc)
            elif isinstance(data, LearningRecordRecorded):
                entries.setdefault(data.record_id, entry_from_record(data, event.id))
        await self.store.put_learners(learners)
        new = await self.store.add_entries(list(entries.values()))
        if entries:
            _log.info("trail entries stored", extra={"received": len(entries), "new": new})
            await self._announce(entries)

    async def _announce(self, entries: dict[str, dict[str, object]]) -> None:
        """Tell the rest of the system which trails changed (as state, so repeats are harmless)."""
        by_learner: dict[str, list[str]] = {}
        for record_id, entry in entries.items():
            by_learner.setdefault(str(entry["learner_id"]), []).append(record_id)
        stored = await self.store.entries_of(list(by_learner))
        now = datetime.now(UTC)
        for learner_id, record_ids in by_learner.items():
            trail = build_trail(learner_id, None, stored[learner_id])
            update = TrailUpdated(
                learner_id=learner_id,
                record_ids=record_ids,
                entry_count=trail.entry_count,
                total_credits=trail.total_credits,
                total_hours=trail.total_hours,
                pathways=[g.pathway for g in trail.pathways],
                updated_at=now,
            )
            await publish_event(
                self.broker,
                credentials.TOPIC,
                Envelope[BaseModel](
                    type=credentials.TRAIL_UPDATED, source=SOURCE, subject=learner_id, data=update
                ),
            )
