"""The outbox: one document per learner, subject and channel, and how its state moves — no I/O.

States::

    pending ──claim──▶ sending ──sent──▶ sent
       ▲                  │ ├──permanent failure, or last attempt──▶ failed
       └──retry (back-off)┘ └──unsubscribed / withdrawn meanwhile──▶ cancelled
    pending ──withdrawn, revoked, no longer fits, channel turned off──▶ cancelled

``sending`` carries a lease (owner, claim id, expiry): a worker that dies leaves it to expire,
after which another claims it again — so nothing is lost, and a message is sent twice only if
the process died between the receiver accepting it and the state becoming ``sent``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from contracts import notifications
from contracts.envelope import derived_event_id
from contracts.notifications import About, Channel, NotificationDelivered, NotificationFailed
from services.common.outbox import pending_event
from services.notify.matching import notification_id
from services.notify.messages import Message
from services.notify.preferences import Subscriber
from services.notify.scheduling import after_quiet_hours, due_at
from services.notify.signing import unsubscribe_token

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"
STATES = (PENDING, SENDING, SENT, FAILED, CANCELLED)

# Why a pending notification was cancelled; only the first two can be undone by a later match.
NO_LONGER_FITS = "no longer fits"
CHANNEL_OFF = "channel turned off"
WITHDRAWN = "programme withdrawn"
REVOKED = "revoked"
MERGED = "learner merged"
REVIVABLE = (NO_LONGER_FITS, CHANNEL_OFF)


def unsubscribe_url(public_url: str, secret: str, learner_id: str, channel: str) -> str:
    """The one-click link that stops ``channel`` for the learner."""
    token = unsubscribe_token(secret, learner_id, channel)
    return f"{public_url.rstrip('/')}/v1/unsubscribe?token={token}"


def plan(
    learner: Subscriber,
    about: About,
    subject_id: str,
    message: Message,
    data: Mapping[str, Any],
    now: datetime,
    links: tuple[str, str],
) -> list[dict[str, Any]]:
    """The notifications to create about ``subject_id``: one per channel the learner uses,
    each due when the learner's schedule allows (``links`` = public URL, token secret)."""
    grouped = about == "programme" and learner.schedule.digest
    public_url, secret = links
    return [
        {
            "_id": notification_id(learner.learner_id, subject_id, channel),
            "learner_id": learner.learner_id,
            "channel": channel,
            "about": about,
            "subject_id": subject_id,
            "state": PENDING,
            "attempts": 0,
            "created_at": now,
            "read_at": None,
            **content(learner, message, data, channel, links=(public_url, secret)),
            **schedule(learner, channel, grouped, now),
        }
        for channel in learner.channels
    ]


def content(
    learner: Subscriber,
    message: Message,
    data: Mapping[str, Any],
    channel: Channel,
    links: tuple[str, str],
) -> dict[str, Any]:
    """The part of a notification a re-match may refresh while it is still pending."""
    return {
        "language": learner.language.value,
        "title": message.title,
        "body": message.body,
        "data": dict(data),
        "unsubscribe_url": unsubscribe_url(*links, learner.learner_id, channel),
    }


def schedule(learner: Subscriber, channel: Channel, grouped: bool, now: datetime) -> dict[str, Any]:
    """When the notification is due, and whether it waits for the learner's digest."""
    is_digest = grouped and channel != "inbox"
    return {"due_at": due_at(now, learner.schedule, channel, is_digest), "digest": is_digest}


Verdict = Literal["sent", "retry", "permanent"]


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to; ``retry_after`` is the receiver's own wish (seconds)."""

    verdict: Verdict
    error: str | None = None
    retry_after: float | None = None


def http_outcome(status: int, retry_after: str | None = None) -> Outcome:
    """A webhook's (or SMS gateway's) answer: 2xx is delivered; timeouts, throttling and server
    errors are worth retrying; any other answer (4xx, redirects) will not change by retrying."""
    if 200 <= status < 300:
        return Outcome("sent")
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    if status in (408, 425, 429) or status >= 500:
        return Outcome("retry", f"HTTP {status}", wait)
    return Outcome("permanent", f"HTTP {status}")


def smtp_outcome(code: int, text: str) -> Outcome:
    """An SMTP refusal: 5xx is permanent (e.g. 550 no such mailbox), 4xx is temporary."""
    verdict: Verdict = "permanent" if 500 <= code < 600 else "retry"
    return Outcome(verdict, f"SMTP {code} {text}".strip())


@dataclass(frozen=True)
class Next:
    """Where a notification goes after a failed attempt."""

    state: str
    due_at: datetime | None


def after_failure(
    outcome: Outcome,
    attempts: int,
    max_attempts: int,
    now: datetime,
    delay: float,
    learner: Subscriber | None,
) -> Next:
    """Failed for good (permanent, or the last attempt), or pending again after ``delay``
    seconds (or what the receiver asked for, if longer) — but never inside quiet hours."""
    if outcome.verdict == "permanent" or attempts >= max_attempts:
        return Next(FAILED, None)
    wait = max(delay, outcome.retry_after or 0.0)
    retry_at = now + timedelta(seconds=wait)
    if learner is not None:
        retry_at = after_quiet_hours(retry_at, learner.schedule.zone, learner.schedule.quiet)
    return Next(PENDING, retry_at)


def announcement(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``notifications.v1`` event a closed notification carries (delivered or failed; none
    for the others), for the chassis' outbox. It is derived from the stored state alone, with
    an id derived from the notification and its outcome, so however often it is derived and
    appended it is one event to consumers."""
    state = doc.get("state")
    if state not in (SENT, FAILED):
        return None
    common = {
        "notification_id": doc["_id"],
        "learner_id": doc["learner_id"],
        "channel": doc["channel"],
        "about": doc["about"],
        "subject_id": doc["subject_id"],
        "attempts": max(1, int(doc.get("attempts") or 1)),
    }
    event: NotificationDelivered | NotificationFailed
    if state == SENT:
        event = NotificationDelivered(**common, delivered_at=doc["sent_at"])
        event_type = notifications.NOTIFICATION_DELIVERED
    else:
        failed_at = doc["failed_at"]
        event = NotificationFailed(
            **common, error=doc.get("last_error") or "failed", failed_at=failed_at
        )
        event_type = notifications.NOTIFICATION_FAILED
    created = doc.get("created_at") or doc.get("sent_at") or doc["failed_at"]
    return pending_event(
        event_type,
        doc["learner_id"],
        event,
        event_id=derived_event_id(f"{doc['_id']}:{state}", created),
    )
