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
) -> httpx.Response:
    """Send the request, retrying time-outs, lost connections and 5xx answers with back-off
    (1, 2, 4 s) — a creating call only with an Idempotency-Key, the same each time. Any other
    answer is returned as it is, for the caller to judge."""
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
        "(e.g. `trail providers list`)."
        if creating
        else ""
    )
    raise CallFailed(
        f"{method} {where} failed after {RETRIES} attempts: {last}. Is the service running "
        f"(`trail dev status`), and is the address right (LT_LEARNER_URL…)?{again}"
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
