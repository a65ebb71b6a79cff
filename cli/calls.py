"""How the CLI calls a service: honestly. A network error or a time-out is a sentence saying
what happened and what to do, never a traceback; a creating call carries one
``Idempotency-Key`` through all its retries, so a time-out after the service created something
gets the same answer back (the key shown once is not lost) instead of a second creation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

RETRIES = 4  # attempts in all
_RETRY_STATUSES = {500, 502, 503, 504}


class CallFailed(Exception):
    """The call did not succeed; the message says what happened and what to do."""


def call(
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json: Any = None,
    creating: bool = False,
    timeout: float = 15,
    pause: Callable[[float], None] = time.sleep,
    address: str = "LT_LEARNER_URL",
    listing: str = "trail providers list",
) -> httpx.Response:
    """Send the request, retrying time-outs, lost connections and 5xx answers with back-off
    (1, 2, 4 s) — a creating call only with an Idempotency-Key, the same each time. Any other
    answer is returned as it is, for the caller to judge. ``address`` names the setting that
    points at the service, ``listing`` the command that shows whether a creation went through."""
    sent = dict(headers)
    if creating:
        sent["Idempotency-Key"] = str(uuid.uuid4())
    last = ""
    for attempt in range(RETRIES):
        if attempt:
            pause(2 ** (attempt - 1))
        try:
            response = httpx.request(method, url, headers=sent, json=json, timeout=timeout)
        except httpx.TimeoutException:
            last = f"no answer within {timeout:g} s"
            continue
        except httpx.TransportError as exc:
            last = f"could not connect ({type(exc).__name__})"
            continue
        if response.status_code in _RETRY_STATUSES:
            last = f"it answered {response.status_code}"
            continue
        return response
    where = httpx.URL(url).copy_with(query=None)
    again = (
        " Running the same command again is safe only if it created nothing: check first "
        f"(`{listing}`)."
        if creating
        else ""
    )
    raise CallFailed(
        f"{method} {where} failed after {RETRIES} attempts: {last}. Is the service running "
        f"(`trail dev status`), and is the address right ({address})?{again}"
    )


def problem_text(response: httpx.Response) -> str:
    """An error answer in one line: status, title and detail of its problem+json."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code}: {response.text[:300]}"
    if isinstance(body, dict):
        return f"{response.status_code} {body.get('title', '')}: {body.get('detail', body)}"
    return f"{response.status_code}: {body}"


def unreachable(exc: BaseException) -> str | None:
    """What to tell a person when ``exc`` says a service, Kafka or the database could not be
    reached or did not answer in time — one sentence and what to do — or None when it says
    something else (a bug, which keeps its traceback)."""
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
    from pymongo.errors import ConnectionFailure

    todo = (
        "Is the stack running (`trail dev status`; start it with `trail dev up`), and are the "
        "addresses right (LT_LEARNER_URL, LT_CREDENTIAL_URL, LT_NOTIFY_URL, "
        "LT_KAFKA_BOOTSTRAP_SERVERS, LT_MONGODB_URI)?"
    )
    if isinstance(exc, httpx.TransportError):
        try:
            where = str(exc.request.url.copy_with(query=None))
        except RuntimeError:  # no request attached
            where = "a service"
        what = (
            "did not answer in time"
            if isinstance(exc, httpx.TimeoutException)
            else ("could not be reached")
        )
        return f"{where} {what} ({type(exc).__name__}). {todo}"
    if isinstance(exc, (KafkaConnectionError, KafkaTimeoutError)):
        return f"Kafka could not be reached ({_first_line(exc)}). {todo}"
    if isinstance(exc, ConnectionFailure):
        return f"The database could not be reached ({_first_line(exc)}). {todo}"
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return f"A connection failed ({_first_line(exc)}). {todo}"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
