"""``Idempotency-Key`` for creating endpoints: a client that retries gets the first answer.

The same key from the same caller with the same body gets the answer the first request got
(status, body, ``Location``), with ``Idempotent-Replayed: true``, and nothing is created
twice; the same key with another body is ``422``; while the first request is still being
answered, a repeat is ``409`` with ``Retry-After``. Keys are scoped to the caller (a hash of
its credentials) and to the method and path, so one caller's key never replays another's
answer. Answers of ``5xx`` are not kept: the retry runs again (the endpoints are safe to
repeat). Answers are kept ``RETENTION`` (24 h), long enough for any client's retries; a
first request that died mid-way frees its key after ``ABANDONED``.

Stored in the service's own database (``idempotency``): one document per key, claimed by a
unique insert — atomic on MongoDB and on the local FerretDB alike. What is kept is the answer
as sent, which for self-registration includes the learner's token: the collection is as
sensitive as the rest of the service's data.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.mongo import Document
from services.common.problems import Problem, problem_response

_log = logging.getLogger("learningtrail.idempotency")
HEADER = "idempotency-key"
RETENTION = timedelta(hours=24)
SWEEP_SECONDS = 3600.0
ABANDONED = timedelta(minutes=2)
_KEY = re.compile(r"^[\x21-\x7e]{8,128}$")  # printable ASCII, as the IETF draft suggests
_KEPT_HEADERS = {b"content-type", b"location"}


class IdempotencyMiddleware:
    """Applies ``Idempotency-Key`` to the requests ``applies`` selects (method, path)."""

    def __init__(
        self,
        app: ASGIApp,
        collection: Callable[[], AsyncCollection[Document]],
        applies: Callable[[str, str], bool],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.collection = collection
        self.applies = applies
        self.max_body_bytes = max_body_bytes
        self._swept_at = 0.0  # monotonic time of the last sweep of expired answers
        self._sweeps: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(HEADER.encode())
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _KEY.match(key):
            await _refuse(
                scope,
                receive,
                send,
                Problem(
                    400,
                    "Bad Idempotency-Key",
                    "Idempotency-Key must be 8 to 128 printable ASCII characters (a UUID is "
                    "a good choice), new for each operation and the same on its retries.",
                ),
            )
            return
        body, replay = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await _refuse(
                scope,
                receive,
                send,
                Problem(
                    413,
                    "Request body too large",
                    f"This endpoint accepts at most {self.max_body_bytes:,} bytes.",
                    headers={"Connection": "close"},
                ),
            )
            return
        doc_id = _doc_id(scope, headers, key)
        fingerprint = hashlib.sha256(body).hexdigest()
        collection = self.collection()
        now = datetime.now(UTC)
        self._sweep(collection, now)
        try:
            await collection.insert_one(
                {"_id": doc_id, "fingerprint": fingerprint, "state": "running", "at": now}
            )
        except DuplicateKeyError:
            kept = await collection.find_one({"_id": doc_id})
            answered = await self._answer_repeat(kept, fingerprint, now, collection, doc_id)
            if answered is not None:
                await _refuse_or_replay(scope, receive, send, answered)
                return
            # an abandoned or expired claim was taken over: run the request as a first one
        # the answer is kept before it is sent: a client that has it, or retries at once, finds
        # it kept (sent first, a quick retry met "still running", and a crash in between let the
        # retry create a second time)
        status, kept_headers, chunks, messages = await self._run(scope, replay)
        if status >= 500:
            await collection.delete_one({"_id": doc_id, "state": "running"})
        else:
            try:
                await collection.update_one(
                    {"_id": doc_id},
                    {
                        "$set": {
                            "state": "done",
                            "status": status,
                            "headers": kept_headers,
                            "body": base64.b64encode(b"".join(chunks)).decode(),
                            "at": datetime.now(UTC),
                        }
                    },
                )
            except Exception:  # a retry then waits out ABANDONED and runs again
                _log.exception(
                    "could not keep the answer of an Idempotency-Key", extra={"key": key}
                )
        for message in messages:
            await send(message)

    def _sweep(self, collection: AsyncCollection[Document], now: datetime) -> None:
        """At most hourly, in the background: forget answers older than ``RETENTION``."""
        if time.monotonic() - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = time.monotonic()

        async def sweep() -> None:
            try:
                await collection.delete_many({"at": {"$lt": now - RETENTION}})
            except Exception:
                _log.exception("could not forget expired Idempotency-Key answers")

        task = asyncio.create_task(sweep())
        self._sweeps.add(task)
        task.add_done_callback(self._sweeps.discard)

    async def _answer_repeat(
        self,
        kept: Document | None,
        fingerprint: str,
        now: datetime,
        collection: AsyncCollection[Document],
        doc_id: str,
    ) -> Problem | Document | None:
        """What a repeated key gets: a kept answer, a problem, or None to run it afresh."""
        if kept is None:
            return Problem(409, "Try again", "The first request with this key just ended; retry.")
        expired = kept["at"] < now - RETENTION
        abandoned = kept["state"] == "running" and kept["at"] < now - ABANDONED
        if expired or abandoned:
            taken = await collection.find_one_and_replace(
                {"_id": doc_id, "at": kept["at"]},
                {"_id": doc_id, "fingerprint": fingerprint, "state": "running", "at": now},
            )
            if taken is not None:
                return None
        if kept["fingerprint"] != fingerprint:
            return Problem(
                422,
                "Idempotency-Key reused",
                "This Idempotency-Key was used for a request with another body. Use a new key "
                "for a new operation, and the same key only to retry the same request.",
            )
        if kept["state"] == "running":
            problem = Problem(
                409,
                "Request in progress",
                "The first request with this Idempotency-Key is still being answered; retry "
                "after a moment to get its answer.",
                headers={"Retry-After": "1"},
            )
            return problem
        return kept

    async def _run(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, dict[str, str], list[bytes], list[Message]]:
        """Run the request and hold its answer (the endpoints answer small JSON documents):
        its status, the headers kept, the body, and the messages to send once it is kept."""
        status = 500
        kept_headers: dict[str, str] = {}
        chunks: list[bytes] = []
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() in _KEPT_HEADERS:
                        kept_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            messages.append(message)

        await self.app(scope, receive, hold)
        return status, kept_headers, chunks, messages


def _doc_id(scope: Scope, headers: dict[bytes, bytes], key: str) -> str:
    """The key, scoped to the caller's credentials, the method and the path."""
    caller = hashlib.sha256(
        headers.get(b"authorization", b"") + b"\x1f" + headers.get(b"x-api-key", b"")
    ).hexdigest()[:32]
    return f"{scope['method']} {scope['path']} {caller} {key}"


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The whole body (None past ``limit`` bytes), and a ``receive`` that gives it again."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None, receive
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _refuse(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    await problem_response(problem, scope["path"])(scope, receive, send)


async def _refuse_or_replay(
    scope: Scope, receive: Receive, send: Send, answer: Problem | Document
) -> None:
    if isinstance(answer, Problem):
        await _refuse(scope, receive, send, answer)
        return
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer["headers"].items()]
    headers.append((b"idempotent-replayed", b"true"))
    body = base64.b64decode(answer["body"])
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": answer["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


def routes(*patterns: tuple[str, str]) -> Callable[[str, str], bool]:
    """A selector of (method, path) pairs; paths may hold ``{name}`` segments."""
    compiled = [
        (method, re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"))
        for method, path in patterns
    ]

    def applies(method: str, path: str) -> bool:
        return any(method == m and p.match(path) for m, p in compiled)

    return applies
