"""The LRS's document resources: State, Activity Profile and Agent Profile.

A document is whatever the client stores (JSON or not) under its resource's parameters, with
an ETag (the SHA-1 of its content, quoted) for optimistic concurrency, as xAPI 2.0
(Communication 3.1) asks: a PUT, POST or DELETE whose ``If-Match`` names another ETag, or
whose ``If-None-Match: *`` finds a document, is refused with ``412`` and changes nothing; a
PUT with neither header over an existing document is refused with ``409``. A POST merges a JSON
object into the stored JSON object (top-level properties of the new one win); a POST where
either is not a JSON object is ``400``. Each stored version has a ``version_id``; a write that
replaces or deletes it first claims it by a unique insert (``xapi_document_claims``), so two
writes that read the same version never both apply, on FerretDB too (the loser gets ``412``).
Claims are forgotten after ``CLAIM_RETENTION`` by a background sweep.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.common.mongo import Document
from services.common.problems import Problem
from services.learner.xapi.store import XapiStore
from services.learner.xapi.validation import iso

JSON_TYPE = "application/json"
# A claim (``xapi_document_claims``) guards a version only while writes that read it may run;
# kept an hour, far past any request's time, then forgotten by a sweep that a write starts at
# most every SWEEP_SECONDS in each process.
CLAIM_RETENTION = timedelta(hours=1)
SWEEP_SECONDS = 600.0
_log = logging.getLogger("learningtrail.learner.xapi")


@dataclass(frozen=True)
class Address:
    """Which document: the centre, the resource's scope (e.g. an activity and agent) and the
    document's id within it."""

    provider_id: str
    resource: str
    scope_parts: tuple[str, ...]
    doc_id: str

    @property
    def scope(self) -> str:
        text = json.dumps([self.provider_id, self.resource, *self.scope_parts])
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.scope}\x1f{self.doc_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    """A document as it is answered."""

    content: bytes
    content_type: str
    etag: str
    updated: datetime


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()  # noqa: S324 - a version tag, not a secret


def _tags(header: str) -> list[str]:
    return [t.strip().removeprefix("W/").strip('"') for t in header.split(",") if t.strip()]


def check_preconditions(
    current: Document | None, if_match: str | None, if_none_match: str | None, put: bool
) -> None:
    """Refuse a change whose preconditions fail (412), or a blind PUT over a document (409)."""
    if if_match is not None:
        tags = _tags(if_match)
        if current is None or ("*" not in tags and current["etag"] not in tags):
            raise Problem(
                412,
                "Precondition failed",
                "If-Match names an ETag the document does not have (it changed, or is gone); "
                "GET it again and send the change with its current ETag.",
            )
    if if_none_match is not None and current is not None:
        tags = _tags(if_none_match)
        if "*" in tags or current["etag"] in tags:
            raise Problem(
                412,
                "Precondition failed",
                "If-None-Match says the document must not exist yet (or not be this version), "
                "but it does.",
            )
    if put and current is not None and if_match is None and if_none_match is None:
        raise Problem(
            409,
            "Document exists",
            "A document is stored here already. Check its current state (GET it) and send the "
            'PUT again with If-Match set to its ETag (or If-None-Match: "*" to create only).',
        )


def _json_object(content: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError as exc:
        raise Problem(400, "Bad xAPI request", f"The {what} is not valid JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise Problem(
            400,
            "Bad xAPI request",
            f"POST merges JSON objects, and the {what} is not a JSON object; use PUT to "
            "replace the document.",
        )
    return value


class Documents:
    """State, Activity Profile and Agent Profile documents of training centres."""

    def __init__(self, store: XapiStore) -> None:
        self.store = store
        self._swept_at: float | None = None  # monotonic time of the last sweep of claims
        self._sweeps: set[asyncio.Task[None]] = set()

    def _sweep(self) -> None:
        """At most every SWEEP_SECONDS, in the background: forget claims older than
        CLAIM_RETENTION, so ``xapi_document_claims`` holds about an hour of writes."""
        if self._swept_at is not None and time.monotonic() - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = time.monotonic()

        async def sweep() -> None:
            try:
                await self.store.forget_claims(datetime.now(UTC) - CLAIM_RETENTION)
            except Exception:
                _log.exception("could not forget old claims of xAPI documents")

        task = asyncio.create_task(sweep())
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    async def get(self, address: Address) -> Stored | None:
        doc = await self.store.document(address.key)
        if doc is None:
            return None
        return Stored(bytes(doc["content"]), doc["content_type"], doc["etag"], doc["updated"])

    async def ids(self, address: Address, since: datetime | None) -> list[str]:
        docs = await self.store.documents_in(address.provider_id, address.scope)
        return sorted(
            d["doc_id"] for d in docs if since is None or d["updated"].replace(tzinfo=UTC) > since
        )

    async def put(
        self,
        address: Address,
        content: bytes,
        content_type: str,
        if_match: str | None,
        if_none_match: str | None,
        merge: bool,
    ) -> None:
        self._sweep()
        current = await self.store.document(address.key)
        check_preconditions(current, if_match, if_none_match, put=not merge)
        media = content_type.split(";")[0].strip().lower()
        if media == JSON_TYPE:
            try:
                json.loads(content)
            except ValueError as exc:
                raise Problem(
                    400, "Bad xAPI request", f"The document is not valid JSON: {exc}."
                ) from exc
        if merge and current is not None:
            merged = {
                **_json_object(bytes(current["content"]), "stored document"),
                **_json_object(content, "document sent"),
            }
            content = json.dumps(merged, ensure_ascii=False).encode()
            media = JSON_TYPE
        elif merge:
            _json_object(content, "document sent")
            media = JSON_TYPE
        now = datetime.now(UTC)
        doc: Document = {
            "_id": address.key,
            "provider_id": address.provider_id,
            "scope": address.scope,
            "doc_id": address.doc_id,
            "content": content,
            "content_type": media or "application/octet-stream",
            "etag": etag_of(content),
            "version_id": str(uuid.uuid4()),  # what a write that replaces this one claims
            "updated": now,
        }
        if not await self.store.put_document(doc, current):
            raise Problem(
                412,
                "Precondition failed",
                "The document changed while this request was being handled; GET it again.",
            )

    async def delete(self, address: Address, if_match: str | None) -> None:
        self._sweep()
        current = await self.store.document(address.key)
        check_preconditions(current, if_match, None, put=False)
        if current is not None and not await self.store.delete_document(current):
            raise Problem(
                412,
                "Precondition failed",
                "The document changed while this request was being handled; GET it again.",
            )

    async def delete_all(self, address: Address) -> None:
        await self.store.delete_documents(address.provider_id, address.scope)


def last_modified(at: datetime) -> str:
    return iso(at.replace(tzinfo=UTC) if at.tzinfo is None else at)
