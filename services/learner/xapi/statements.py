"""The LRS's statements: storing (with voiding and conflicts), reading, querying, and turning
the ones a centre's mapping takes into learning records.

A stored statement is a document with its ``statement_stored`` event pending and an outbox
entry (as every change of the learner service), so it is announced on ``xapi-statements.v1``
even if the request dies after storing it. Statements a mapping takes become records through
the record intake of ``POST /v1/records:batch`` (reference ``xapi:<statement id>``), for the
learner the centre linked to the statement's actor; a repeat of the same request repeats
nothing and finishes what an interrupted one left undone.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts import xapi
from contracts.xapi import StatementStored
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.outbox import AppendFailed, pending_event
from services.common.problems import Problem
from services.learner.intake import LearnerIdentity, RecordRevocation, RecordSubmission
from services.learner.store import record_key
from services.learner.submissions import (
    ConflictingResubmission,
    Outcome,
    RecordNotFound,
    Records,
    RecordStateConflict,
    SubmissionRejected,
)
from services.learner.xapi.activities import activity_object, definitions_in, merged_definitions
from services.learner.xapi.attachments import Part, attachment_errors
from services.learner.xapi.keys import ALL, FILTERS, key_range
from services.learner.xapi.mapping import Mapping, map_statement
from services.learner.xapi.store import XapiStore, statement_key
from services.learner.xapi.validation import (
    SUPPORTED_VERSION,
    VOIDED,
    agent_key,
    fingerprint,
    iso,
    normalised,
    statement_activities,
    statement_agents,
    statement_errors,
    statement_target,
)

_log = logging.getLogger("learningtrail.learner.xapi")
MAX_STATEMENTS = 1000  # in one POST, as POST /v1/records:batch
MAX_PAGE = 500  # statements in one answer; ``limit=0`` means this
WALK_PAGE = 1000  # query keys read at once, at most, while looking for a page
AUTHORITY_HOME = "https://learningtrail.vn/training-centres"
Json = Any


def bad_request(detail: str, **extensions: Any) -> Problem:
    return Problem(
        400,
        "Bad xAPI request",
        detail,
        type_="https://learningtrail.vn/problems/xapi",
        **extensions,
    )


def record_ref(statement_id: str) -> str:
    """The record reference of a statement's record: one record per statement."""
    return f"xapi:{statement_id.lower()}"


def authority(provider: Document) -> dict[str, Json]:
    """Who vouches for the centre's statements: the centre, as the LRS knows it."""
    return {
        "objectType": "Agent",
        "name": provider.get("name", provider["_id"]),
        "account": {"homePage": AUTHORITY_HOME, "name": provider["_id"]},
    }


@dataclass(frozen=True)
class Page:
    """One answer to a statement query, and the cursor of the next one (None: no more)."""

    statements: list[dict[str, Json]]
    more: str | None
    last_modified: datetime | None  # the latest ``stored`` of the statements answered


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: milliseconds


def _cursor(doc: Document) -> str:
    text = json.dumps([iso(doc["stored"]), doc["statement_id"]])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_cursor(text: str) -> tuple[datetime, str]:
    try:
        stored, sid = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        at = datetime.fromisoformat(stored.replace("Z", "+00:00"))
    except (ValueError, TypeError) as exc:
        raise bad_request("The 'cursor' parameter is damaged; use the 'more' link whole.") from exc
    return at, str(sid)


class Statements:
    """The statement resource of the LRS, for training centres."""

    def __init__(self, store: XapiStore, log: EventLog, records: Records) -> None:
        self.store = store
        self.log = log
        self.records = records

    # storing

    async def store_statements(
        self,
        provider: Document,
        given: list[Json],
        put_id: str | None = None,
        parts: dict[str, Part] | None = None,
    ) -> list[str]:
        """Store statements (all or none); their ids, in order. Raises a 400 problem for a
        statement that breaks a rule, 409 for an id that names a different statement."""
        if not given:
            raise bad_request("Send a statement, or an array of at least one.")
        if len(given) > MAX_STATEMENTS:
            raise Problem(
                413,
                "Too many statements",
                f"At most {MAX_STATEMENTS} statements in one request; split the array.",
            )
        problems: list[str] = []
        for n, statement in enumerate(given):
            prefix = f"[{n}]" if len(given) > 1 else ""
            problems += [f"{prefix}{p}" for p in statement_errors(statement)]
        if problems:
            raise bad_request(
                "The statement breaks rules of xAPI 2.0; fix these and send it again: "
                + "; ".join(problems[:20])
                + (f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""),
                errors=problems[:200],
            )
        problems = attachment_errors(given, parts or {})
        if problems:
            raise bad_request(
                "The statements' attachments break rules of xAPI 2.0: " + "; ".join(problems[:20]),
                errors=problems[:200],
            )
        statements: list[dict[str, Json]] = []
        for statement in given:
            statement = normalised(statement)
            if put_id is not None:
                if "id" in statement and statement["id"].lower() != put_id.lower():
                    raise bad_request("The statement's id differs from the statementId parameter.")
                statement["id"] = put_id
            statement.setdefault("id", str(uuid.uuid4()))
            statements.append(statement)
        ids = [s["id"].lower() for s in statements]
        prints: dict[str, str] = {}
        unique: list[dict[str, Json]] = []
        for sid, statement in zip(ids, statements, strict=True):
            digest = fingerprint(statement)
            if sid in prints:
                if prints[sid] != digest:
                    raise bad_request(f"Two different statements in the request share id {sid}.")
                continue
            prints[sid] = digest
            unique.append(statement)

        pid = provider["_id"]
        # every lookup the request needs, at once: one round trip's wait
        link_keys = {f"{pid}:{k}" for s in unique if (k := agent_key(s.get("actor")))}
        existing, voided, mapping, links = await asyncio.gather(
            self.store.statements_by_ids(pid, prints),
            self.store.voided_among(pid, prints),
            self.store.mapping(pid),
            self.store.links_by_ids(link_keys),
        )
        for sid, doc in existing.items():
            if doc["fingerprint"] != prints[sid]:
                raise _conflict(sid)
        fresh = [s for s in unique if s["id"].lower() not in existing]
        # all the request's voidings, also those stored by an earlier try of it: a try that
        # died before noting them is finished by this one
        voids = await self._voids(pid, unique)
        now = _now()
        docs = [
            self._doc(provider, s, prints[s["id"].lower()], now, s["id"].lower() in voided)
            for s in fresh
        ]
        if parts:  # the contents first: a stored statement always finds its attachments
            await self.store.add_attachments(
                pid, {h: (p.content_type, p.data) for h, p in parts.items()}
            )
        inserted = await self.store.add_statements(docs)
        raced = [d for d in docs if d["_id"] not in inserted]
        if raced:
            again = await self.store.statements_by_ids(pid, (d["statement_id"] for d in raced))
            for doc in raced:
                if again[doc["statement_id"]]["fingerprint"] != doc["fingerprint"]:
                    raise _conflict(doc["statement_id"])
        mine = [d for d in docs if d["_id"] in inserted] + list(existing.values())
        await self.store.add_index([_index_entry(d) for d in mine])
        await self.store.add_keys(mine)
        await self.store.add_refs([r for d in mine if (r := _ref_entry(d)) is not None])
        if voids:
            await self.store.note_voids(pid, voids)
        # the statements are stored: their events and their records go at the same time
        appended, applied, defined = await asyncio.gather(
            self.store.learner_store.outbox.append(self.log, "statements", mine, noted=inserted),
            self._apply(provider, statements, voids, mapping, links),
            self._define_activities(pid, unique, now),
            return_exceptions=True,
        )
        if isinstance(appended, BaseException):
            raise appended
        for outcome in (applied, defined):
            if isinstance(outcome, BaseException):
                raise outcome
        if appended:
            raise AppendFailed(str(next(iter(appended.values()))))
        return [s["id"] for s in statements]

    async def _define_activities(
        self, pid: str, statements: list[dict[str, Json]], now: datetime
    ) -> None:
        """Merge the Activity definitions the statements carry into the centre's canonical
        ones (read only for the Activities they define; written only where they change)."""
        defined = {a for s in statements for a, _ in definitions_in(s)}
        if not defined:
            return
        stored = await self.store.activity_definitions(pid, defined)
        changed = merged_definitions(stored, statements)
        if changed:
            await self.store.set_activity_definitions(pid, changed, now)

    async def activity(self, provider: Document, activity_id: str) -> dict[str, Json]:
        """The Activity with its canonical definition (its id alone if none is known)."""
        found = await self.store.activity_definitions(provider["_id"], [activity_id])
        return activity_object(activity_id, found.get(activity_id))

    async def _voids(self, pid: str, given: list[dict[str, Json]]) -> dict[str, str]:
        """The statements the new voiding statements void (target → voiding id); a voiding
        statement that targets a voiding statement is refused: those cannot be voided."""
        voids = {
            s["object"]["id"].lower(): s["id"].lower() for s in given if s["verb"]["id"] == VOIDED
        }
        if not voids:
            return voids
        batch = {s["id"].lower(): s for s in given}
        stored = await self.store.statements_by_ids(pid, voids)
        for target in voids:
            voiding = (target in batch and batch[target]["verb"]["id"] == VOIDED) or (
                target in stored and stored[target]["verb_id"] == VOIDED
            )
            if voiding:
                raise bad_request(
                    f"Statement {target} is itself a voiding statement, and a voiding "
                    "statement cannot be voided (xAPI 2.0, Voiding)."
                )
        return voids

    def _doc(
        self,
        provider: Document,
        statement: dict[str, Json],
        digest: str,
        now: datetime,
        voided: bool,
    ) -> Document:
        sid = statement["id"].lower()
        kept = dict(statement)
        kept["stored"] = iso(now)
        kept.setdefault("timestamp", kept["stored"])
        kept["authority"] = authority(provider)
        kept["version"] = statement.get("version", SUPPORTED_VERSION)
        agents, related_agents = statement_agents(kept)
        activities, related_activities = statement_activities(kept)
        raw = json.dumps(kept, ensure_ascii=False, separators=(",", ":"))
        verb_id = statement["verb"]["id"]
        event = StatementStored(
            statement_id=sid,
            provider_id=provider["_id"],
            stored=now,
            verb_id=verb_id,
            voids=statement["object"]["id"].lower() if verb_id == VOIDED else None,
            statement=raw,
        )
        return {
            "_id": statement_key(provider["_id"], sid),
            "provider_id": provider["_id"],
            "statement_id": sid,
            "stored": now,
            "fingerprint": digest,
            "verb_id": verb_id,
            "agents": agents,
            "related_agents": related_agents,
            "activities": activities,
            "related_activities": related_activities,
            "registration": ((statement.get("context") or {}).get("registration") or "").lower()
            or None,
            "target": statement_target(statement),
            "voided": voided,
            "raw": raw,
            "pending": pending_event(xapi.STATEMENT_STORED, provider["_id"], event),
        }

    # statements into records

    async def _apply(
        self,
        provider: Document,
        statements: list[dict[str, Json]],
        voids: dict[str, str],
        stored: Document | None,
        links: dict[str, Document],
    ) -> None:
        """Make the records the centre's mapping asks for (idempotent: one record per
        statement id), and revoke the records of statements voided now."""
        if stored is not None and links:
            mapping = Mapping.model_validate(stored["mapping"])
            await self._records(provider, mapping, statements, links)
        for target, voiding in voids.items():
            try:
                await self.records.revoke(
                    provider,
                    record_key(provider["_id"], record_ref(target)),
                    RecordRevocation(reason=f"xAPI statement {target} voided by {voiding}"),
                )
            except (RecordNotFound, RecordStateConflict):
                continue  # the voided statement made no record, or it cannot be revoked

    async def _records(
        self,
        provider: Document,
        mapping: Mapping,
        statements: list[dict[str, Json]],
        links: dict[str, Document],
    ) -> None:
        candidates: list[tuple[dict[str, Json], str]] = []
        for statement in statements:
            key = agent_key(statement.get("actor"))
            if key is not None and statement["verb"]["id"] != VOIDED:
                candidates.append((statement, f"{provider['_id']}:{key}"))
        if not candidates:
            return
        items: list[tuple[str, RecordSubmission]] = []
        now = _now()
        for statement, link_key in candidates:
            link = links.get(link_key)
            if link is None:
                continue
            mapped = map_statement(statement, mapping, now)
            if mapped.content is None:
                _log.info(
                    "statement not mapped",
                    extra={"statement_id": statement["id"], "reason": mapped.reason},
                )
                continue
            learner = LearnerIdentity.model_construct(
                national_id="",  # linked learners are known by the hash alone
                full_name=link["full_name"],
                birth_date=datetime.fromisoformat(link["birth_date"]).date(),
                commune_code=link.get("commune_code"),
                email=None,
                phone=None,
            )
            try:
                submission = RecordSubmission.model_validate(
                    {
                        "provider_record_ref": record_ref(statement["id"]),
                        "learner": learner,
                        "record": mapped.content,
                    }
                )
            except ValueError as exc:
                _log.warning(
                    "statement's record is invalid",
                    extra={"statement_id": statement["id"], "error": str(exc)[:500]},
                )
                continue
            items.append((link["id_hash"], submission))
        if not items:
            return
        outcomes = await self.records.submit_linked(provider, items)
        for (_, submission), outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, AppendFailed):
                raise outcome
            if isinstance(outcome, SubmissionRejected | ConflictingResubmission):
                _log.warning(
                    "statement's record refused",
                    extra={"ref": submission.provider_record_ref, "error": str(outcome)[:500]},
                )
            elif isinstance(outcome, Outcome):
                _log.info(
                    "statement recorded",
                    extra={"ref": submission.provider_record_ref, "record_id": outcome.record_id},
                )

    async def record_of(self, provider: Document, statement_id: str) -> tuple[Document | None, str]:
        """The record a statement made, or None and why it made none."""
        sid = statement_id.lower()
        found = await self.store.statements_by_ids(provider["_id"], [sid])
        doc = found.get(sid)
        if doc is None:
            return None, f"no statement {statement_id} is stored for this centre"
        record = await self.records.store.record(record_key(provider["_id"], record_ref(sid)))
        if record is not None:
            return record, "made by the centre's mapping"
        statement: dict[str, Json] = json.loads(doc["raw"])
        stored = await self.store.mapping(provider["_id"])
        if stored is None:
            return None, "the centre has set no mapping (PUT /v1/xapi/mapping)"
        key = agent_key(statement.get("actor"))
        link = await self.store.link(f"{provider['_id']}:{key}") if key else None
        if link is None:
            return None, "its actor is not linked to a learner (PUT /v1/xapi/agent-links)"
        mapped = map_statement(statement, Mapping.model_validate(stored["mapping"]), doc["stored"])
        if mapped.content is None:
            return None, mapped.reason or "the mapping does not take it"
        return None, (
            "it maps to a record the record intake refused, or the mapping or link came after "
            "it; send the statement again to apply the current mapping and links"
        )

    # reading

    async def one(self, provider: Document, statement_id: str, voided: bool) -> dict[str, Json]:
        """The statement with this id (``voided``: only if it is voided; else only if not)."""
        found = await self.store.statements_by_ids(provider["_id"], [statement_id.lower()])
        doc = found.get(statement_id.lower())
        if doc is None or bool(doc.get("voided")) != voided:
            which = "voided statement" if voided else "statement"
            hint = (
                " (it is voided: ask with voidedStatementId)"
                if doc is not None and not voided
                else ""
            )
            raise Problem(
                404, "Unknown statement", f"No {which} {statement_id} for this centre{hint}."
            )
        statement: dict[str, Json] = json.loads(doc["raw"])
        return statement

    async def query(
        self,
        provider: Document,
        filters: dict[str, Json],
        ascending: bool,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> Page:
        """A page of the statements that meet the filters, or target (by StatementRef, at any
        depth) a statement that meets the filters other than ``since`` and ``until`` — voided
        or not — as xAPI 2.0 asks (Communication 2.1.3, "Filter Conditions for
        StatementRefs"). ``since``, ``until``, ``limit`` and the paging apply to the
        statements answered; voided statements are never answered."""
        pid = provider["_id"]
        conditions = {k: v for k, v in filters.items() if k != "stored"}
        stored = filters.get("stored")
        size = MAX_PAGE if limit == 0 else min(limit, MAX_PAGE)
        field = next((f for f in FILTERS if f in conditions), ALL)
        value = str(conditions[field]) if field != ALL else ""
        others = {k: v for k, v in conditions.items() if k != field}
        bounds = key_range(pid, field, value, stored, after, ascending)
        docs = await self._walk(bounds, ascending, others, size + 1)
        if conditions:
            targeting = await self._targeting(pid, conditions)
            docs = _merged(
                docs,
                await self._targeting_docs(pid, targeting, stored, after, ascending),
                ascending,
            )[: size + 1]
        more = _cursor(docs[size - 1]) if len(docs) > size else None
        latest = max((d["stored"] for d in docs[:size]), default=None)
        return Page([json.loads(d["raw"]) for d in docs[:size]], more, latest)

    async def _walk(
        self, bounds: dict[str, str], ascending: bool, others: Document, count: int
    ) -> list[Document]:
        """Up to ``count`` statements, in order, of the query keys in ``bounds`` that are not
        voided and meet the other conditions: key ranges read a page at a time (each page
        twice the last, up to WALK_PAGE), then the statements by ``_id``."""
        found: list[Document] = []
        page = count
        while True:
            keys = await self.store.key_page(bounds, ascending, page)
            bodies = await self.store.statements_by_keys(k for _, k in keys)
            for _, key in keys:
                doc = bodies.get(key)
                if doc is not None and not doc.get("voided") and _meets(doc, others):
                    found.append(doc)
            if len(found) >= count or len(keys) < page:
                return found[:count]
            bounds = {**bounds, ("$gt" if ascending else "$lt"): keys[-1][0]}
            page = min(page * 2, WALK_PAGE)

    async def _targeting_docs(
        self,
        pid: str,
        ids: set[str],
        stored: Document | None,
        after: tuple[datetime, str] | None,
        ascending: bool,
    ) -> list[Document]:
        """The statements targeting a match (not voided), within since/until and after the
        paging cursor."""
        if not ids:
            return []
        found = await self.store.statements_by_ids(pid, ids)
        keep = []
        for doc in found.values():
            at = _aware(doc["stored"])
            if doc.get("voided"):
                continue
            if stored is not None and "$gt" in stored and not at > _aware(stored["$gt"]):
                continue
            if stored is not None and "$lte" in stored and not at <= _aware(stored["$lte"]):
                continue
            if after is not None:
                mark = (_aware(after[0]), after[1])
                here = (at, doc["statement_id"])
                if (here <= mark) if ascending else (here >= mark):
                    continue
            keep.append(doc)
        return keep

    async def _targeting(self, pid: str, conditions: dict[str, Json]) -> set[str]:
        """The statements that target, directly or through other targeting statements, a
        statement meeting the conditions."""
        refs = await self.store.refs_of(pid)
        if not refs:
            return set()
        referrers: dict[str, list[str]] = {}
        for referrer, target in refs.items():
            referrers.setdefault(target, []).append(referrer)
        frontier = list(await self.store.matching_among(pid, referrers, conditions))
        found: set[str] = set()
        while frontier:
            reached = [r for t in frontier for r in referrers.get(t, ()) if r not in found]
            found.update(reached)
            frontier = reached
        return found


_INDEXED = (
    "provider_id",
    "statement_id",
    "stored",
    "verb_id",
    "agents",
    "related_agents",
    "activities",
    "related_activities",
    "registration",
    "voided",
)


def _meets(doc: Document, conditions: Document) -> bool:
    """Whether a statement meets equality conditions (a list field: holds the value)."""
    for name, wanted in conditions.items():
        value = doc.get(name)
        if value != wanted and not (isinstance(value, list) and wanted in value):
            return False
    return True


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _merged(walked: list[Document], targeting: list[Document], ascending: bool) -> list[Document]:
    """Two answers to one query in one order (stored, then statement id), each statement
    once."""
    unique = {d["_id"]: d for d in [*walked, *targeting]}
    return sorted(
        unique.values(),
        key=lambda d: (_aware(d["stored"]), d["statement_id"]),
        reverse=not ascending,
    )


def _index_entry(doc: Document) -> Document:
    """What queries filter on, of a stored statement."""
    return {"_id": doc["_id"], **{k: doc.get(k) for k in _INDEXED}}


def _ref_entry(doc: Document) -> Document | None:
    """The StatementRef a stored statement makes, if it makes one (statements stored before
    ``target`` was kept are read again)."""
    target = doc["target"] if "target" in doc else statement_target(json.loads(doc["raw"]))
    if target is None:
        return None
    return {
        "_id": doc["_id"],
        "provider_id": doc["provider_id"],
        "statement_id": doc["statement_id"],
        "target": target,
    }


def _conflict(statement_id: str) -> Problem:
    return Problem(
        409,
        "Statement id already used",
        f"Statement {statement_id} is stored already with different content; statements "
        "cannot change. Send a new statement under a new id (or void the old one).",
    )
