"""Records from training centres: intake, corrections, revocations and the review queue.

Nothing is acknowledged before Kafka has the event (acks=all). A record is first stored with
its event pending under its unique ``(provider, provider_record_ref)``; a retry of a submission
whose append failed appends the same event (same record id, same event id), so a retry is
always safe and consumers never see two different records for one reference.

When the national ID is known but the name or birth date disagree, the record is not merged
silently: it is held for review and the centre is told; the department accepts or rejects it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel

from contracts import learners, records
from contracts.dates import today_in_vietnam
from contracts.learners import LearnerRegistered
from contracts.records import LearningRecordCorrected, LearningRecordRevoked
from contracts.text import STORED
from contracts.vocabulary import Pathway
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.outbox import AppendFailed, pending_event
from services.common.telemetry import current_traceparent
from services.learner.identity import national_id_hash, same_person
from services.learner.intake import (
    FieldError,
    LearnerIdentity,
    RecordCorrection,
    RecordRevocation,
    RecordSubmission,
    check_record,
    check_submission,
    fingerprint,
    recorded_event,
)
from services.learner.store import LearnerStore, learner_key, record_key

_log = logging.getLogger("learningtrail.learner.records")
Status = Literal["accepted", "held_for_review", "rejected", "revoked"]
MAX_BATCH = 1000  # as many as POST /v1/records:batch takes
# Group commits written at once; what arrives while all are busy is the next batch. One: on
# the 2-core stack, where processor time bounds everything, bigger batches beat overlapping
# ones — 50 single submissions a second answered in p50/p99 81/222 ms with one writer against
# 269/648 ms with four (bench/e2e.py, same stack and hour; BENCHMARKS.md, fifth round).
WRITERS = 1


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


class RecordNotFound(Exception):
    """No such record, or not the caller's."""


class RecordStateConflict(Exception):
    """The record is in a state that does not allow the change; the message says which."""


@dataclass(frozen=True)
class _Item:
    """A valid submission of a batch, with what identifies it and who sent it."""

    index: int
    provider: Document
    submission: RecordSubmission
    id_hash: str
    digest: str
    record_id: str
    traceparent: str | None


@dataclass
class _Waiting:
    """A single submission waiting for the batch it goes in (see :class:`Records.submit`)."""

    provider: Document
    submission: RecordSubmission
    traceparent: str | None
    result: asyncio.Future[Outcome | Exception]


@dataclass(frozen=True)
class Outcome:
    """What became of a submission."""

    record_id: str
    learner_id: str | None
    status: Status
    replayed: bool


def status_of(doc: Document) -> Status:
    state: Status = {
        "accepted": "accepted",
        "held": "held_for_review",
        "rejected": "rejected",
        "revoked": "revoked",
    }[doc["state"]]  # type: ignore[assignment]
    return state


def learner_profile(doc: Document) -> dict[str, object]:
    """The profile fields of a stored learner, as learner events carry them."""
    return {
        "learner_id": doc["_id"],
        "full_name": doc["full_name"],
        "birth_date": doc["birth_date"],
        "sex": doc.get("sex"),
        "commune_code": doc.get("commune_code"),
        "email": doc.get("email"),
        "phone": doc.get("phone"),
        "preferred_language": doc.get("preferred_language", "vi"),
        "interests": doc.get("interests", []),
        "topics": doc.get("topics", []),
    }


def new_learner_doc(
    id_hash: str, identity: LearnerIdentity, traceparent: str | None = None
) -> Document:
    """A learner first known by national ID — through a centre's record or claim code — with
    its registration event pending."""
    now = datetime.now(UTC)
    learner_id = learner_key(id_hash)
    fresh: Document = {
        "_id": learner_id,
        "id_hash": id_hash,
        "full_name": identity.full_name,
        "birth_date": identity.birth_date.isoformat(),
        "sex": identity.sex.value if identity.sex else None,
        "commune_code": identity.commune_code,
        "email": identity.email,
        "phone": identity.phone,
        "preferred_language": "vi",
        "interests": [],
        "topics": [],
        "registered_at": now,
        "merged_into": None,
    }
    fresh["pending"] = pending_event(
        learners.LEARNER_REGISTERED,
        learner_id,
        LearnerRegistered.model_validate(
            {**learner_profile(fresh), "registered_at": now}, context=STORED
        ),
        traceparent,
    )
    return fresh


class Records:
    """The record use cases of training centres and the department."""

    def __init__(
        self,
        store: LearnerStore,
        log: EventLog,
        identity_key: bytes,
    ) -> None:
        self.store = store
        self.log = log
        self.identity_key = identity_key
        self._queue: list[_Waiting] = []
        self._writers = asyncio.Semaphore(WRITERS)

    # intake

    async def submit(self, provider: Document, submission: RecordSubmission) -> Outcome:
        """Submit one record (group commit): up to ``WRITERS`` batches are written at once;
        single submissions that arrive while all of them are busy wait for a writer and then
        go together, as the next batch, written by the first of them in its own request.
        Alone, a submission is a batch of one with no wait; under load, one batch's round
        trips and appends serve many requests. Each event still carries the trace of the
        request that submitted it. (Concurrent batches may hold the same record: its unique
        insert decides, as between two centres' batches.)"""
        waiting = _Waiting(
            provider, submission, current_traceparent(), asyncio.get_running_loop().create_future()
        )
        self._queue.append(waiting)
        async with self._writers:  # first come, first served: the semaphore is fair
            # a writer that took this submission along may be writing it still: then wait
            while not waiting.result.done() and self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                results: list[Outcome | Exception] = []
                try:
                    results = await self._submit(
                        [(w.provider, w.submission, w.traceparent) for w in batch]
                    )
                except Exception as exc:
                    results = [exc] * len(batch)
                finally:  # every waiting request gets an answer, even if this one is cancelled
                    for n, w in enumerate(batch):
                        if not w.result.done():
                            w.result.set_result(
                                results[n]
                                if n < len(results)
                                else AppendFailed("the batch was interrupted; retry")
                            )
        result = await waiting.result
        if isinstance(result, Exception):
            raise result
        return result

    async def submit_many(
        self, provider: Document, items: list[RecordSubmission | list[FieldError]]
    ) -> list[Outcome | Exception]:
        """Submit a batch; each item succeeds or fails on its own (partial success)."""
        traceparent = current_traceparent()
        return await self._submit([(provider, item, traceparent) for item in items])

    async def submit_linked(
        self, provider: Document, items: list[tuple[str, RecordSubmission]]
    ) -> list[Outcome | Exception]:
        """Submit records of learners the centre linked beforehand, known by the keyed hash of
        their national ID (xAPI agents linked to learners): the national ID itself is not
        kept, so ``learner.national_id`` of these submissions is not read."""
        traceparent = current_traceparent()
        return await self._submit(
            [(provider, submission, traceparent) for _, submission in items],
            [id_hash for id_hash, _ in items],
        )

    async def _submit(
        self,
        items: list[tuple[Document, RecordSubmission | list[FieldError], str | None]],
        hashes: list[str] | None = None,
    ) -> list[Outcome | Exception]:
        """Submit a batch, possibly from several centres; one result per item, in order.

        Whatever the batch's size, it costs a constant number of database round trips
        (lookups by ``_id $in``, unordered bulk inserts, one bulk delete of the outbox
        entries) and two pipelined waves of appends: the learners' events, then their records'.
        """
        today = today_in_vietnam()
        allowed: dict[str, frozenset[Pathway]] = {}
        results: list[Outcome | Exception | None] = [None] * len(items)
        wanted: list[_Item] = []
        for index, (provider, given, traceparent) in enumerate(items):
            if isinstance(given, list):
                results[index] = SubmissionRejected(given)
                continue
            if provider["_id"] not in allowed:
                allowed[provider["_id"]] = frozenset(
                    Pathway(p) for p in provider.get("pathways", [])
                )
            errors = check_submission(given, allowed[provider["_id"]], today)
            if errors:
                results[index] = SubmissionRejected(errors)
                continue
            id_hash = (
                hashes[index]
                if hashes is not None
                else national_id_hash(self.identity_key, given.learner.national_id)
            )
            digest = fingerprint(id_hash, given.record)
            record_id = record_key(provider["_id"], given.provider_record_ref)
            wanted.append(_Item(index, provider, given, id_hash, digest, record_id, traceparent))

        # the records and their learners are looked up at once (one round trip's wait); the
        # learners of records stored already are read for nothing, which only a retry costs
        stored, known = await asyncio.gather(
            self.store.records_by_ids(i.record_id for i in wanted),
            self.store.learners_by_ids({learner_key(i.id_hash) for i in wanted}),
        )
        fresh = [i for i in wanted if i.record_id not in stored]
        learners, unannounced = await self._resolve_learners(fresh, known)
        new_docs: dict[str, Document] = {}
        for item in fresh:
            learner = learners.get(item.id_hash)
            if learner is None:
                results[item.index] = AppendFailed(unannounced[item.id_hash])
            elif item.record_id not in new_docs:
                new_docs[item.record_id] = self._record_doc(item, learner)
        inserted = await self.store.add_many("records", list(new_docs.values()))
        raced = [rid for rid in new_docs if rid not in inserted]
        stored.update({rid: new_docs[rid] for rid in inserted})
        stored.update(await self.store.records_by_ids(raced))

        first_of: dict[str, int] = {}
        to_append: dict[str, Document] = {}
        for item in wanted:
            if results[item.index] is not None:
                continue
            doc = stored[item.record_id]
            if doc["fingerprint"] != item.digest:
                results[item.index] = ConflictingResubmission(doc["_id"])
                continue
            first_of.setdefault(item.record_id, item.index)
            to_append[doc["_id"]] = doc
        failed = await self.store.outbox.append(
            self.log, "records", list(to_append.values()), noted=inserted
        )
        for item in wanted:
            if results[item.index] is not None:
                continue
            if item.record_id in failed:
                results[item.index] = AppendFailed(str(failed[item.record_id]))
                continue
            new = item.record_id in inserted and first_of[item.record_id] == item.index
            results[item.index] = self._outcome(stored[item.record_id], replayed=not new)
        return [r for r in results if r is not None]

    def _record_doc(self, item: _Item, learner: Document) -> Document:
        """A new record of ``learner``: accepted with its event pending, or held for review
        when the name or birth date differ from the learner's."""
        submission, provider = item.submission, item.provider
        identity = submission.learner
        same = same_person(
            learner["full_name"],
            date.fromisoformat(learner["birth_date"]),
            identity.full_name,
            identity.birth_date,
        )
        now = datetime.now(UTC)
        event = recorded_event(
            record_id=item.record_id,
            learner_id=learner["_id"],
            provider_id=provider["_id"],
            submission=submission,
            recorded_at=now,
            provider_name=provider.get("name"),
        )
        doc: Document = {
            "_id": item.record_id,
            "provider_id": provider["_id"],
            "provider_record_ref": submission.provider_record_ref,
            "learner_id": learner["_id"],
            "fingerprint": item.digest,
            "content": submission.record.model_dump(mode="json", exclude_none=True),
            "revision": 0,
            "created_at": now,
            "state": "accepted" if same else "held",
            "pending": pending_event(
                records.LEARNING_RECORD_RECORDED, learner["_id"], event, item.traceparent
            )
            if same
            else None,
        }
        if not same:
            doc["review"] = {
                "reason": "name or birth date differ from the learner with this national ID",
                "submitted_name": identity.full_name,
                "submitted_birth_date": identity.birth_date.isoformat(),
                "held_event": event.model_dump(mode="json", exclude_none=True),
            }
            _log.warning(
                "record held for review",
                extra={"record_id": item.record_id, "provider_id": provider["_id"]},
            )
        return doc

    async def _resolve_learners(
        self, items: list[_Item], known: dict[str, Document]
    ) -> tuple[dict[str, Document], dict[str, str]]:
        """The learner each national-ID hash belongs to (after merges), registering the ones
        not ``known`` (looked up by the caller) yet, with every learner event appended first;
        and, for the hashes whose learner event Kafka did not confirm, why."""
        first: dict[str, _Item] = {}
        for item in items:
            first.setdefault(item.id_hash, item)
        keys = {learner_key(h): h for h in first}
        found = {lid: known[lid] for lid in keys if lid in known}
        fresh = [
            new_learner_doc(h, first[h].submission.learner, first[h].traceparent)
            for lid, h in keys.items()
            if lid not in found
        ]
        inserted = await self.store.add_many("learners", fresh)
        found.update({d["_id"]: d for d in fresh if d["_id"] in inserted})
        found.update(
            await self.store.learners_by_ids(d["_id"] for d in fresh if d["_id"] not in inserted)
        )
        final = await self._follow_merges(found)
        failed = await self.store.outbox.append(
            self.log,
            "learners",
            list({d["_id"]: d for d in final.values()}.values()),
            noted=inserted,
        )
        resolved: dict[str, Document] = {}
        unannounced: dict[str, str] = {}
        for learner_id, id_hash in keys.items():
            learner = final[learner_id]
            if learner["_id"] in failed:
                unannounced[id_hash] = str(failed[learner["_id"]])
            else:
                resolved[id_hash] = learner
        return resolved, unannounced

    async def _follow_merges(self, learners: dict[str, Document]) -> dict[str, Document]:
        """For each learner, the learner it was finally merged into (itself if none)."""
        known = dict(learners)
        while missing := {d["merged_into"] for d in known.values() if d.get("merged_into")} - set(
            known
        ):
            step = await self.store.learners_by_ids(missing)
            if not step:
                break
            known.update(step)

        def final(doc: Document) -> Document:
            seen = set()
            while doc.get("merged_into") in known and doc["_id"] not in seen:
                seen.add(doc["_id"])
                doc = known[doc["merged_into"]]
            return doc

        return {learner_id: final(doc) for learner_id, doc in learners.items()}

    @staticmethod
    def _outcome(doc: Document, replayed: bool) -> Outcome:
        status = status_of(doc)
        learner_id = doc["learner_id"] if status != "held_for_review" else None
        return Outcome(doc["_id"], learner_id, status, replayed)

    # reading, correcting, revoking (the owning centre only)

    async def owned(self, provider: Document, record_id: str) -> Document:
        doc = await self.store.record(record_id)
        if doc is None or doc["provider_id"] != provider["_id"]:
            raise RecordNotFound(record_id)
        return doc

    async def correct(
        self, provider: Document, record_id: str, correction: RecordCorrection
    ) -> tuple[Document, bool]:
        """Replace the record's content; returns the record and whether this was a replay."""
        doc = await self.owned(provider, record_id)
        self._must_be_accepted(doc, "corrected")
        await self.store.outbox.append_one(self.log, "records", doc)
        learner = await self.store.learner(doc["learner_id"])
        assert learner is not None
        allowed = frozenset(Pathway(p) for p in provider.get("pathways", []))
        birth = date.fromisoformat(learner["birth_date"])
        errors = check_record(correction.record, birth, allowed, today_in_vietnam())
        if errors:
            raise SubmissionRejected(errors)
        content = correction.record.model_dump(mode="json", exclude_none=True)
        if content == doc["content"]:
            return doc, True
        now = datetime.now(UTC)
        event = LearningRecordCorrected(
            record_id=record_id,
            learner_id=doc["learner_id"],
            provider_id=provider["_id"],
            reason=correction.reason,
            corrected_at=now,
            **correction.record.model_dump(),
        )
        changes = {"content": content, "revision": doc["revision"] + 1, "corrected_at": now}
        changed = await self._change(doc, records.LEARNING_RECORD_CORRECTED, event, changes)
        return changed, False

    async def revoke(
        self, provider: Document, record_id: str, revocation: RecordRevocation
    ) -> tuple[Document, bool]:
        """Withdraw the record; returns the record and whether it was already revoked."""
        doc = await self.owned(provider, record_id)
        if doc["state"] == "revoked":
            await self.store.outbox.append_one(self.log, "records", doc)
            return doc, True
        self._must_be_accepted(doc, "revoked")
        await self.store.outbox.append_one(self.log, "records", doc)
        now = datetime.now(UTC)
        event = LearningRecordRevoked(
            record_id=record_id,
            learner_id=doc["learner_id"],
            provider_id=provider["_id"],
            reason=revocation.reason,
            revoked_at=now,
        )
        changes = {"state": "revoked", "revoked_at": now, "revocation_reason": revocation.reason}
        changed = await self._change(doc, records.LEARNING_RECORD_REVOKED, event, changes)
        return changed, False

    async def _change(
        self, doc: Document, event_type: str, event: BaseModel, changes: Document
    ) -> Document:
        """Apply a change of an accepted record with the event announcing it, unless another
        change came first; then append the event."""
        changed = await self.store.change_record(
            doc["_id"],
            {**changes, "pending": pending_event(event_type, doc["learner_id"], event)},
            expect={"revision": doc["revision"], "state": "accepted"},
        )
        if changed is None:
            raise RecordStateConflict("the record changed meanwhile; read it again and retry")
        await self.store.outbox.append_one(self.log, "records", changed)
        return changed

    @staticmethod
    def _must_be_accepted(doc: Document, verb: str) -> None:
        if doc["state"] == "held":
            raise RecordStateConflict(
                f"the record is held for review and cannot be {verb} until the department "
                "decides; resubmit after it is accepted or rejected"
            )
        if doc["state"] != "accepted":
            raise RecordStateConflict(
                f"a {status_of(doc).replace('_', ' ')} record cannot be {verb}"
            )

    # the review queue (the department)

    async def held(self, limit: int = 100) -> list[Document]:
        return await self.store.held_records(limit)

    async def decide(self, record_id: str, accept: bool, note: str) -> Document:
        doc = await self.store.record(record_id)
        if doc is None:
            raise RecordNotFound(record_id)
        if doc["state"] != "held":
            if doc["state"] == ("accepted" if accept else "rejected"):
                await self.store.outbox.append_one(self.log, "records", doc)
                return doc
            raise RecordStateConflict(f"the record is {status_of(doc)}, not held for review")
        changes: Document = {
            "state": "accepted" if accept else "rejected",
            "decided_at": datetime.now(UTC),
            "decision_note": note,
        }
        if accept:
            held_event = recorded_event_from(doc["review"]["held_event"])
            changes["pending"] = pending_event(
                records.LEARNING_RECORD_RECORDED, doc["learner_id"], held_event
            )
        changed = await self.store.change_record(record_id, changes, expect={"state": "held"})
        if changed is None:
            raise RecordStateConflict("the record was decided meanwhile")
        await self.store.outbox.append_one(self.log, "records", changed)
        return changed


def recorded_event_from(data: Document) -> records.LearningRecordRecorded:
    return records.LearningRecordRecorded.model_validate(data, context=STORED)
