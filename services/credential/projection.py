"""Consuming the log into the trail: the credential service's event handler.

Applying a batch twice, or replaying the topics from the start, gives the same trail:
records are inserted once by record id; corrections apply only if newer than what the entry
holds; revocations and merges are plain state. A merge and a record of the merged learner
may arrive in either order (they travel on different topics); both orders end with the entry
under the surviving learner.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from pymongo import UpdateOne

from contracts import credentials
from contracts.credentials import RecognitionGranted, RecognitionRevoked, TrailUpdated
from contracts.envelope import Envelope, to_kafka
from contracts.learners import LearnerMerged, LearnerProfile
from contracts.prior_learning import PriorLearningImported
from contracts.records import (
    LearningRecordContent,
    LearningRecordCorrected,
    LearningRecordRecorded,
    LearningRecordRevoked,
)
from services.common.broker import EventLog
from services.common.outbox import pending_event
from services.common.telemetry import current_traceparent
from services.credential.issuing import Issuer
from services.credential.recognition import Decision, RecognitionRule, evaluate
from services.credential.store import CredentialStore, Write
from services.credential.trail import build_trail, entry_from_import, entry_from_record

SOURCE = "/credential"
CONTENT_FIELDS = tuple(LearningRecordContent.model_fields)
_log = logging.getLogger("learningtrail.credential.projection")


class TrailProjection:
    """Applies a batch of learner and record events; safe to apply twice."""

    def __init__(
        self,
        store: CredentialStore,
        log: EventLog | None,
        rules: list[RecognitionRule],
        issuer: Issuer | None = None,
    ) -> None:
        """With ``log`` None the projection replays (``trail rebuild``): it builds the same
        state but announces nothing, since the live projection announced it already."""
        self.store = store
        self.log = log
        self.rules = rules
        self.issuer = issuer
        self._registered = False

    async def handle(self, events: list[Envelope[BaseModel]]) -> None:
        if not self._registered:
            await self.store.register_rules(self.rules)
            self._registered = True
        learner_changes: dict[str, dict[str, Any]] = {}  # learner -> fields it now holds
        merged_into: dict[str, str] = {}
        new_entries: dict[str, dict[str, Any]] = {}
        entry_writes: list[Write] = []
        moves: dict[str, str] = {}  # merged learner -> the learner it was merged into
        changed: dict[str, list[str]] = {}  # learner -> records whose trail changed
        revoked: list[tuple[str, str]] = []  # (record, reason)
        touched: set[str] = set()  # records corrected or revoked in this batch
        survivors = await self.store.survivors(
            {getattr(e.data, "learner_id", "") for e in events} - {""}
        )

        def survivor(learner_id: str) -> str:
            """The end of the learner's chain of merges as this batch has seen them so far (a
            merge into a learner merged later in the batch is followed on)."""
            seen = set()
            while learner_id in survivors and learner_id not in seen:
                seen.add(learner_id)
                learner_id = survivors[learner_id]
            return learner_id

        for event in events:
            data = event.data
            if isinstance(data, LearnerProfile):
                profile = data.model_dump(mode="json", exclude_none=True)
                learner_changes.setdefault(profile.pop("learner_id"), {}).update(profile)
            elif isinstance(data, LearnerMerged):
                survivors[data.learner_id] = survivor(data.merged_into)
                merged_into[data.learner_id] = data.merged_into
                learner_changes.setdefault(data.learner_id, {})["merged_into"] = data.merged_into
                moves[data.learner_id] = survivor(data.merged_into)
                changed.setdefault(survivor(data.merged_into), [])
            elif isinstance(data, LearningRecordRecorded):
                entry = entry_from_record(data, event.id)
                entry["learner_id"] = survivor(data.learner_id)
                new_entries.setdefault(entry["_id"], entry)  # the first recording stands
                changed.setdefault(entry["learner_id"], []).append(data.record_id)
            elif isinstance(data, PriorLearningImported):
                for imported in entry_from_import(data, event.id):
                    imported["learner_id"] = survivor(data.learner_id)
                    new_entries.setdefault(imported["_id"], imported)
                    changed.setdefault(imported["learner_id"], []).append(imported["_id"])
            elif isinstance(data, LearningRecordCorrected):
                entry_writes.append(_correction(data))
                touched.add(data.record_id)
                changed.setdefault(survivor(data.learner_id), []).append(data.record_id)
            elif isinstance(data, LearningRecordRevoked):
                entry_writes.append(
                    UpdateOne(
                        {"_id": data.record_id},
                        {
                            "$set": {
                                "revoked": True,
                                "revoked_at": data.revoked_at.isoformat(),
                                "revocation_reason": data.reason,
                            }
                        },
                    )
                )
                changed.setdefault(survivor(data.learner_id), []).append(data.record_id)
                revoked.append((data.record_id, data.reason))
                touched.add(data.record_id)
        await self.store.put_merges(merged_into)
        await self.store.put_learners(learner_changes)
        # new entries first: a correction or revocation in the same batch applies to them
        new = await self.store.add_entries(list(new_entries.values()))
        await self.store.write_entries(entry_writes)
        # moves last: the survivor of each merge is final, whatever the order of the events
        await self.store.move_entries({old: survivor(old) for old in moves})
        if self.issuer is not None:
            for record_id, reason in revoked:
                await self.issuer.revoke_with_record(record_id, f"Hồ sơ bị thu hồi: {reason}")
        if changed:
            _log.info("trail updated", extra={"learners": len(changed), "new_entries": len(new)})
            # the entries this batch inserted and changed no further need not be read back
            known = {
                rid: new_entries[rid]
                for rid in new
                if rid not in touched and new_entries[rid]["learner_id"] not in moves
            }
            stored = await self.store.entries_of(list(changed), known)
            await self._recognise(stored)
            if self.log is not None:
                await self._announce(self.log, changed, stored)

    async def _recognise(self, stored: dict[str, list[dict[str, Any]]]) -> None:
        """Apply the recognition rules to each changed trail: grant what is newly derived,
        revoke what no longer is; each decision is stored with its event (the outbox)."""
        learner_ids = list(stored)
        decided = await self.store.recognitions_of(learner_ids)
        now = datetime.now(UTC)
        writes: list[dict[str, Any]] = []
        for learner_id, entries in stored.items():
            derived = {d.recognition_id: d for d in evaluate(self.rules, learner_id, entries)}
            known = {doc["_id"]: doc for doc in decided[learner_id]}
            for rid, decision in derived.items():
                before = known.get(rid, {})
                if before.get("state") != "granted" or _basis(before) != _basis_of(decision):
                    # new, granted again, or its basis grew (more courses stacked): the latest
                    # derivation is what a replay of the whole log gives too
                    writes.append(_granted(learner_id, decision, now))
            for rid, doc in known.items():
                if doc["state"] == "granted" and rid not in derived:
                    writes.append(_revoked(doc, now))
        if self.log is None:
            for doc in writes:
                doc["pending"] = None
        await self.store.write_recognitions(writes)
        if self.log is not None:  # what Kafka does not take now, the outbox relay appends
            await self.store.outbox.append(self.log, "recognitions", writes)

    async def _announce(
        self,
        log: EventLog,
        changed: dict[str, list[str]],
        stored: dict[str, list[dict[str, Any]]],
    ) -> None:
        """Tell the rest of the system which trails changed (as state, so repeats are harmless)."""
        now = datetime.now(UTC)
        records = []
        for learner_id, record_ids in changed.items():
            if not record_ids:
                record_ids = [e["_id"] for e in stored[learner_id]]
            if not record_ids:
                continue
            trail = build_trail(learner_id, None, stored[learner_id])
            update = TrailUpdated(
                learner_id=learner_id,
                record_ids=list(dict.fromkeys(record_ids)),
                entry_count=trail.entry_count,
                total_credits=trail.total_credits,
                total_hours=trail.total_hours,
                pathways=[g.pathway for g in trail.pathways],
                updated_at=now,
            )
            envelope = Envelope[BaseModel](
                type=credentials.TRAIL_UPDATED,
                source=SOURCE,
                subject=learner_id,
                data=update,
                traceparent=current_traceparent(),
            )
            key, value, headers = to_kafka(envelope)
            if envelope.traceparent:
                headers["traceparent"] = envelope.traceparent
            records.append((credentials.TOPIC, value, key, headers))
        _raise_first(await log.append_many(records))


def _raise_first(results: list[BaseException | None]) -> None:
    """An append Kafka did not confirm fails the batch, which is then applied again (the
    writes are idempotent and the announcements are state, so repeats are harmless)."""
    for error in results:
        if error is not None:
            raise error


def _correction(data: LearningRecordCorrected) -> UpdateOne:
    """Replace the entry's content, unless it already holds a correction at least as new."""
    content = data.model_dump(mode="json", include=set(CONTENT_FIELDS), exclude_none=True)
    at = data.corrected_at.isoformat()
    update: dict[str, dict[str, object]] = {
        "$set": {**content, "corrected_at": at, "correction_reason": data.reason}
    }
    gone = {name: "" for name in CONTENT_FIELDS if name not in content}
    if gone:
        update["$unset"] = dict(gone)
    return UpdateOne(
        {
            "_id": data.record_id,
            "$or": [{"corrected_at": {"$exists": False}}, {"corrected_at": {"$lt": at}}],
        },
        update,
    )


def _basis(doc: dict[str, Any]) -> tuple[Any, ...]:
    return (tuple(doc.get("record_ids", ())), doc.get("outcome_vi"), doc.get("credits"))


def _basis_of(decision: Decision) -> tuple[Any, ...]:
    return (decision.record_ids, decision.outcome_vi, decision.credits)


REVOKED_BECAUSE = (
    "Hồ sơ làm căn cứ đã được sửa hoặc thu hồi (the records it rested on were corrected or revoked)"
)


def _granted(learner_id: str, decision: Decision, now: datetime) -> dict[str, Any]:
    event = RecognitionGranted(
        recognition_id=decision.recognition_id,
        learner_id=learner_id,
        rule_id=decision.rule_id,
        rule_version=decision.rule_version,
        record_ids=list(decision.record_ids),
        outcome_vi=decision.outcome_vi,
        outcome_en=decision.outcome_en,
        toward=decision.toward,
        credits=decision.credits,
        granted_at=now,
    )
    data = event.model_dump(mode="json", exclude_none=True)
    return {
        "_id": decision.recognition_id,
        **{k: v for k, v in data.items() if k != "recognition_id"},
        "state": "granted",
        "pending": pending_event(credentials.RECOGNITION_GRANTED, learner_id, data),
    }


def _revoked(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    event = RecognitionRevoked(
        recognition_id=doc["_id"],
        learner_id=doc["learner_id"],
        rule_id=doc["rule_id"],
        rule_version=doc["rule_version"],
        reason=REVOKED_BECAUSE,
        revoked_at=now,
    )
    data = event.model_dump(mode="json")
    return {
        "_id": doc["_id"],
        "state": "revoked",
        "revoked_at": data["revoked_at"],
        "pending": pending_event(credentials.RECOGNITION_REVOKED, doc["learner_id"], data),
    }
