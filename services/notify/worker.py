"""Delivery workers: background tasks that drain the outbox, one per channel.

Each worker claims due notifications of its channel in small batches (the claim is a lease:
owner, claim id, expiry), sends them one message at a time under the channel's rate limit, and
closes each as ``sent``, ``failed`` (permanent, or out of attempts) or back to ``pending`` with
an exponential back-off. A notification closed carries its ``notifications.v1`` event, which is
appended at once (and by the outbox relay if Kafka did not take it). A worker that is woken
finds new work at once; an idle one looks every ``poll_seconds``.

Exactly-once is not promised across a crash: if the process dies after a receiver accepted a
message and before the state became ``sent``, the message goes again (same ids, so receivers
can drop it). Everything else — claimed but not sent, sent but not announced — resumes where
it stopped: this instance takes back its own claims when it starts, another instance takes
them when their lease expires, and the outbox relay announces what was closed but not told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence

from contracts.envelope import utc_now
from contracts.notifications import Channel
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.tokenbucket import TokenBucket
from services.notify.channels import Delivery, EmailSender, HttpSender
from services.notify.isolation import DATA_ERRORS, Isolation
from services.notify.outbox import (
    CANCELLED,
    CHANNEL_OFF,
    FAILED,
    SENT,
    WITHDRAWN,
    Outcome,
    after_failure,
)
from services.notify.preferences import CHANNELS, Subscriber, subscriber
from services.notify.scheduling import idle_pause, retry_delay
from services.notify.settings import DeliverySettings
from services.notify.store import ACTIVE, NotifyStore

UNREADABLE = "the learner's stored preferences cannot be read; they must set them again"
_log = logging.getLogger("learningtrail.notify.delivery")


def deliveries(claimed: Sequence[Document], learners: dict[str, Subscriber]) -> list[Delivery]:
    """One message per claimed notification, except that a learner's digest notifications go
    together as one."""
    out: list[Delivery] = []
    digests: dict[str, list[Document]] = {}
    for doc in claimed:
        learner = learners[doc["learner_id"]]
        if doc.get("digest"):
            digests.setdefault(doc["learner_id"], []).append(doc)
        else:
            out.append(Delivery(learner, [doc]))
    out.extend(Delivery(learners[lid], docs) for lid, docs in digests.items())
    return out


class DeliveryWorkers:
    """The outbox's workers: one task per channel."""

    def __init__(
        self,
        store: NotifyStore,
        log: EventLog,
        settings: DeliverySettings,
        owner: str,
        isolation: Isolation | None = None,
    ) -> None:
        self.store = store
        self.log = log
        self.settings = settings
        self.owner = owner
        self.isolation = isolation or Isolation()
        self.email = EmailSender(settings)
        self.http = HttpSender(settings)
        self._wake = {channel: asyncio.Event() for channel in CHANNELS}
        self._tasks: list[asyncio.Task[None]] = []
        self.delivered = 0

    def wake(self) -> None:
        """New work may be due: look now rather than at the next poll."""
        for event in self._wake.values():
            event.set()

    async def start(self) -> None:
        released = await self.store.release(self.owner, utc_now())
        if released:
            _log.warning(
                "took back notifications claimed before a stop",
                extra={"owner": self.owner, "count": released},
            )
        channels: list[Channel] = ["inbox", "email", "webhook"]
        if self.settings.sms_available:
            channels.append("sms")
        self._tasks = [asyncio.create_task(self._guarded(c), name=f"notify-{c}") for c in channels]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.http.close()

    async def _guarded(self, channel: Channel) -> None:
        """Run a worker loop for the life of the process; an unexpected error (MongoDB away)
        is logged and the loop starts again after a pause."""
        while not self.log.running:  # noqa: ASYNC110 - publishing needs the producer
            await asyncio.sleep(0.1)
        while True:
            try:
                await self._drain(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("delivery worker failed; restarting", extra={"channel": channel})
                await asyncio.sleep(self.settings.poll_seconds)

    async def _idle(self, channel: Channel, seconds: float) -> bool:
        """Wait ``seconds``, or until new work is planned here; whether it was."""
        event = self._wake[channel]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout=seconds)
        woken = event.is_set()
        event.clear()
        return woken

    async def _drain(self, channel: Channel) -> None:
        rate = self.settings.rate(channel)
        bucket = TokenBucket(max(1.0, rate), rate, time.monotonic())
        batch = 500 if channel == "inbox" else self.settings.claim_batch
        # an idle worker looks again after poll_seconds, then twice as long each time it found
        # nothing, up to idle_poll_max_seconds: a claim that finds nothing due has read the
        # whole queue on FerretDB, so idle channels must not read it several times a second
        pause = self.settings.poll_seconds
        while True:
            self._wake[channel].clear()
            lease_id, claimed = await self.store.claim(
                channel, self.owner, utc_now(), self.settings.lease_seconds, batch
            )
            if not claimed:
                woken = await self._idle(channel, pause)
                pause = idle_pause(
                    pause, woken, self.settings.poll_seconds, self.settings.idle_poll_max_seconds
                )
                continue
            pause = self.settings.poll_seconds
            learners, unreadable = self._subscribers(
                await self.store.subscriptions_of(n["learner_id"] for n in claimed)
            )
            if unreadable:  # their data fails their own messages, at once, and no one else's
                mine = [d for d in claimed if d["learner_id"] in unreadable]
                await self._fail(mine, lease_id, UNREADABLE)
                claimed = [d for d in claimed if d["learner_id"] not in unreadable]
            for doc in claimed:  # a subscription may be gone; then it is no one's to send
                learners.setdefault(
                    doc["learner_id"],
                    subscriber({"_id": doc["learner_id"]}, self.settings, sms=False),
                )
            if channel == "inbox":
                await self._fill_inbox(lease_id, claimed, learners)
                continue
            for delivery in deliveries(claimed, learners):
                await asyncio.sleep(bucket.reserve(time.monotonic()))
                await self._deliver(channel, lease_id, delivery)

    def _subscribers(self, docs: Sequence[Document]) -> tuple[dict[str, Subscriber], set[str]]:
        """The learners of the claimed notifications, and the ids of those whose stored data
        cannot be read (logged and counted)."""
        learners: dict[str, Subscriber] = {}
        unreadable: set[str] = set()
        for doc in docs:
            try:
                learners[doc["_id"]] = subscriber(doc, self.settings, self.settings.sms_available)
            except DATA_ERRORS as exc:
                self.isolation.failed("delivery", str(doc["_id"]), exc)
                unreadable.add(str(doc["_id"]))
        return learners, unreadable

    async def _fail(self, docs: Sequence[Document], lease_id: str, error: str) -> None:
        """Close ``docs`` as failed for good now: retrying cannot help them."""
        if not docs:
            return
        await self._announce(
            await self.store.finish(
                [d["_id"] for d in docs], lease_id, FAILED, utc_now(), error=error
            )
        )

    async def _still_wanted(
        self, channel: Channel, lease_id: str, docs: Sequence[Document], learner: Subscriber
    ) -> list[Document]:
        """Drop (cancel) what the learner stopped or what was withdrawn since it was planned."""
        now = utc_now()
        if channel not in learner.channels:
            await self.store.finish(
                [d["_id"] for d in docs], lease_id, CANCELLED, now, cancel_reason=CHANNEL_OFF
            )
            return []
        wanted = []
        for doc in docs:
            if doc["about"] == "programme":
                programme = await self.store.programme(doc["subject_id"])
                if programme is None or programme.get("state") != ACTIVE:
                    await self.store.finish(
                        [doc["_id"]], lease_id, CANCELLED, now, cancel_reason=WITHDRAWN
                    )
                    continue
            wanted.append(doc)
        return wanted

    async def _fill_inbox(
        self, lease_id: str, claimed: Sequence[Document], learners: dict[str, Subscriber]
    ) -> None:
        wanted: list[Document] = []
        for learner_id in dict.fromkeys(d["learner_id"] for d in claimed):
            docs = [d for d in claimed if d["learner_id"] == learner_id]
            wanted.extend(await self._still_wanted("inbox", lease_id, docs, learners[learner_id]))
        await self._announce(
            await self.store.finish([d["_id"] for d in wanted], lease_id, SENT, utc_now())
        )

    async def _deliver(self, channel: Channel, lease_id: str, delivery: Delivery) -> None:
        docs = await self._still_wanted(channel, lease_id, delivery.notifications, delivery.learner)
        if not docs:
            return
        delivery = Delivery(delivery.learner, docs)
        outcome = await self._send(channel, delivery)
        now = utc_now()
        if outcome.verdict == "sent":
            done = await self.store.finish(delivery.ids, lease_id, SENT, now)
            self.delivered += len(done)
            await self._announce(done)
            return
        attempts = max(int(d["attempts"]) for d in docs)
        delay = retry_delay(
            attempts,
            self.settings.retry_base_seconds,
            self.settings.retry_max_seconds,
            random.random(),  # noqa: S311 - jitter, not a secret
        )
        step = after_failure(
            outcome, attempts, self.settings.max_attempts, now, delay, delivery.learner
        )
        error = outcome.error or "failed"
        _log.warning(
            "delivery failed",
            extra={
                "channel": channel,
                "delivery_id": delivery.delivery_id,
                "attempts": attempts,
                "verdict": outcome.verdict,
                "error": error,
                "next": step.state,
            },
        )
        if step.state == FAILED:
            await self._announce(
                await self.store.finish(delivery.ids, lease_id, FAILED, now, error=error)
            )
        else:
            assert step.due_at is not None
            await self.store.retry_later(
                dict.fromkeys(delivery.ids, step.due_at), lease_id, error, now
            )

    async def _send(self, channel: Channel, delivery: Delivery) -> Outcome:
        """Send; a message that cannot even be composed (data no channel can carry) fails
        for good at once, since every attempt would fail the same way."""
        try:
            if channel == "email":
                return await self.email.send(delivery)
            if channel == "webhook":
                return await self.http.webhook(delivery)
            return await self.http.sms(delivery)
        except DATA_ERRORS as exc:
            self.isolation.failed("compose", delivery.learner.learner_id, exc)
            return Outcome("permanent", f"the message cannot be sent: {type(exc).__name__}")

    # notifications.v1

    async def _announce(self, closed: Sequence[Document]) -> None:
        """Append the events of notifications just closed; what Kafka does not take now stays
        in the outbox for its relay."""
        await self.store.outbox.append(self.log, "notifications", closed)
