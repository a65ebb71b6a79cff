"""Share links: a learner lets an employer or a school see their trail, or the entries they
chose, until a day they chose — no I/O.

A link carries a random token of 256 bits (``lts_…``); only its SHA-256 is stored (the
document's ``_id``, so opening a link is one read by ``_id``). The token is shown once, when
the link is made. The link is ``/shared?token=…``: the ``token`` query parameter is kept out
of traces (services/common/http.py) and no service logs request URLs. A revoked or expired
link shows nothing. Each opening is noted (first and last time, how many), for the learner to
see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from services.common.tokens import new_secret_token, secret_hash

SHARE_PREFIX = "lts_"
LABEL_MAX = 80
ShareState = Literal["live", "expired", "revoked"]


@dataclass(frozen=True)
class ShareChoice:
    """What the learner chose to share: everything (``record_ids`` None) or those records."""

    record_ids: tuple[str, ...] | None
    days: int
    label: str


class ShareRefused(ValueError):
    """The choice cannot make a link; the message says why (in English, for the detail)."""


def choose(
    whole: bool,
    record_ids: Iterable[str],
    days: int,
    label: str,
    live_records: set[str],
    max_days: int,
) -> ShareChoice:
    """Check a learner's choice against their live records and the longest a link may last."""
    if not 1 <= days <= max_days:
        raise ShareRefused(f"a link lasts from 1 to {max_days} days")
    label = " ".join(label.split())[:LABEL_MAX]
    if whole:
        return ShareChoice(None, days, label)
    chosen = tuple(dict.fromkeys(record_ids))
    if not chosen:
        raise ShareRefused("choose the whole trail or at least one entry")
    unknown = [r for r in chosen if r not in live_records]
    if unknown:
        raise ShareRefused("some chosen entries are not on your trail")
    return ShareChoice(chosen, days, label)


def new_share(learner_id: str, choice: ShareChoice, now: datetime) -> tuple[str, dict[str, Any]]:
    """A fresh link's token (to show once) and the document to store."""
    token = new_secret_token(SHARE_PREFIX)
    return token, {
        "_id": secret_hash(token),
        "share_id": str(uuid.uuid4()),
        "learner_id": learner_id,
        "record_ids": list(choice.record_ids) if choice.record_ids is not None else None,
        "label": choice.label,
        "created_at": now,
        "expires_at": now + timedelta(days=choice.days),
        "revoked_at": None,
        "first_opened_at": None,
        "last_opened_at": None,
        "opens": 0,
    }


def state(share: dict[str, Any], now: datetime) -> ShareState:
    if share.get("revoked_at") is not None:
        return "revoked"
    if share["expires_at"] <= now:
        return "expired"
    return "live"


def shown(
    share: dict[str, Any], entries: list[dict[str, Any]], recognitions: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What a link shows: the chosen entries (all, for the whole trail), and only the
    recognitions every record of which is shown (a recognition names its records)."""
    chosen = share.get("record_ids")
    if chosen is None:
        return entries, recognitions
    wanted = set(chosen)
    kept = [e for e in entries if e["_id"] in wanted]
    ids = {e["_id"] for e in kept}
    return kept, [r for r in recognitions if set(r.get("record_ids") or ()) <= ids]
