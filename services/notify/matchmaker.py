"""Deciding who is told what, and keeping the outbox in step: the use cases that the event
handler and the API share. Load, call the pure domain, save."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.notifications import About
from contracts.programmes import Programme
from contracts.text import STORED
from contracts.vocabulary import Language
from services.common.mongo import Document
from services.notify.isolation import Isolation, learner_of
from services.notify.matching import reasons_against
from services.notify.messages import Message, programme_message
from services.notify.outbox import (
    CHANNEL_OFF,
    MERGED,
    NO_LONGER_FITS,
    REVOKED,
    WITHDRAWN,
    plan,
    schedule,
)
from services.notify.preferences import Subscriber, subscriber
from services.notify.settings import DeliverySettings
from services.notify.store import NotifyStore

_log = logging.getLogger("learningtrail.notify.matching")

CONTENT_FIELDS = ("language", "title", "body", "data", "unsubscribe_url")


@dataclass(frozen=True)
class Telling:
    """Something of a learner's to tell them about: a recognition or a credential."""

    learner_id: str
    about: About
    subject_id: str
    message: Callable[[Language], Message]
    data: dict[str, Any]


def _later(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at > now


class Matchmaker:
    """Matches programmes and learners and plans, refreshes or cancels notifications."""

    def __init__(
        self,
        store: NotifyStore,
        settings: DeliverySettings,
        token_secret: str,
        wake: Callable[[], None],
        isolation: Isolation | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.links = (settings.public_url, token_secret)
        self.wake = wake
        self.isolation = isolation or Isolation()

    def subscriber(self, doc: Document) -> Subscriber:
        return subscriber(doc, self.settings, sms=self.settings.sms_available)

    def subscribers(self, docs: Iterable[Document]) -> list[Subscriber]:
        """The learners whose stored data can be read; each other one is logged, counted and
        left out of this decision alone."""
        return self.isolation.each("subscriber", docs, self.subscriber, learner_of)

    def today(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.settings.default_time_zone)).date()

    def _plan_programme(
        self, programme: Programme, learners: Iterable[Subscriber], now: datetime
    ) -> list[Document]:
        today = self.today(now)
        messages: dict[Language, Message] = {}
        data = programme.model_dump(mode="json")
        planned: list[Document] = []

        def decide(learner: Subscriber) -> list[Document]:
            if reasons_against(programme, learner, today):
                return []
            if learner.language not in messages:
                messages[learner.language] = programme_message(programme, learner.language)
            return plan(
                learner,
                "programme",
                programme.programme_id,
                messages[learner.language],
                data,
                now,
                self.links,
            )

        # each learner on their own: one learner's bad data fails one decision
        for found in self.isolation.each("match", learners, decide, lambda s: s.learner_id):
            planned.extend(found)
        return planned

    async def programme_changed(self, programme: Programme, now: datetime) -> int:
        """Announced or updated: tell the learners it fits now (once each per channel), refresh
        what is still waiting, cancel what waits for learners it no longer fits."""
        candidates = await self.store.candidates(programme, self.today(now))
        planned = self._plan_programme(programme, self.subscribers(candidates), now)
        created = await self.store.put_planned(planned, CONTENT_FIELDS)
        keep = {p["_id"] for p in planned}
        stale = [p["_id"] for p in await self.store.pending_about(programme.programme_id)]
        cancelled = await self.store.cancel(
            (nid for nid in stale if nid not in keep), NO_LONGER_FITS, now
        )
        _log.info(
            "programme matched",
            extra={
                "programme_id": programme.programme_id,
                "candidates": len(candidates),
                "notifications": len(planned),
                "new": created,
                "cancelled": cancelled,
            },
        )
        if created:
            self.wake()
        return created

    async def programme_withdrawn(self, programme_id: str, now: datetime) -> None:
        await self.store.cancel_about(programme_id, WITHDRAWN, now)

    async def learners_changed(
        self,
        learner_ids: Iterable[str],
        now: datetime,
        trails: Mapping[str, Document] | None = None,
    ) -> None:
        """A profile, a trail or preferences changed: match these learners against the
        programmes on offer in their places, cancel what no longer fits or has no channel,
        and move what waits to the learners' new schedule. ``trails``: the trail summaries
        the caller has just written (not read back).

        A constant number of reads and writes, whatever the number of learners, each by
        ``_id`` but for the programmes in the learners' places."""
        docs = await self.store.subscriptions_of(learner_ids, trails)
        learners = self.subscribers(docs)
        if not learners:
            return
        places = {code for learner in learners for code in learner.places}
        programmes = self.isolation.each(
            "programme",
            await self.store.programmes_in(places),
            lambda p: Programme.model_validate(p, context=STORED),
            lambda p: f"programme {p.get('_id')}",
        )
        planned: list[Document] = []
        for programme in programmes:
            planned.extend(self._plan_programme(programme, learners, now))
        created = await self.store.put_planned(planned, CONTENT_FIELDS)
        keep = {p["_id"] for p in planned}
        by_id = {learner.learner_id: learner for learner in learners}
        unfit, off = [], []
        waiting: list[tuple[Subscriber, Document]] = []  # not due yet, never tried
        for pending in await self.store.pending_of(by_id):
            learner = by_id.get(pending["learner_id"])
            if learner is None:
                continue
            if pending["channel"] not in learner.channels:
                off.append(pending["_id"])
            elif pending["about"] == "programme" and pending["_id"] not in keep:
                unfit.append(pending["_id"])
            elif pending.get("attempts", 0) == 0 and _later(pending.get("due_at"), now):
                waiting.append((learner, pending))
        await self.store.cancel(off, CHANNEL_OFF, now)
        await self.store.cancel(unfit, NO_LONGER_FITS, now)

        def moved(pair: tuple[Subscriber, Document]) -> tuple[str, dict[str, Any]]:
            learner, doc = pair
            grouped = doc["about"] == "programme" and learner.schedule.digest
            return doc["_id"], schedule(learner, doc["channel"], grouped, now)

        changes = dict(
            self.isolation.each("schedule", waiting, moved, lambda pair: pair[0].learner_id)
        )
        await self.store.reschedule(changes, now)
        if created or changes:
            self.wake()

    async def learners_merged(self, merges: Mapping[str, str], now: datetime) -> None:
        """Each learner (key) was merged into another (value): nothing more is offered to it,
        and what waited for it is cancelled."""
        if not merges:
            return
        await self.store.merge(merges)
        pending = await self.store.pending_of(merges)
        await self.store.cancel((p["_id"] for p in pending), MERGED, now)

    async def tell(self, tellings: Sequence[Telling], now: datetime) -> None:
        """Tell learners about things of theirs (recognitions, credentials) on every channel
        they use: one read and one write for them all. A learner not known yet (their profile
        still on its way) is told in the inbox; a learner merged away is told nothing."""
        if not tellings:
            return
        docs = {
            d["_id"]: d for d in await self.store.subscriptions_of(t.learner_id for t in tellings)
        }
        planned: list[Document] = []

        def decide(t: Telling) -> list[Document]:
            doc = docs.get(t.learner_id) or {"_id": t.learner_id}
            if doc.get("merged_into"):
                return []
            learner = self.subscriber(doc)
            message = t.message(learner.language)
            return plan(learner, t.about, t.subject_id, message, t.data, now, self.links)

        for found in self.isolation.each("tell", tellings, decide, lambda t: t.learner_id):
            planned.extend(found)
        if await self.store.put_planned(planned, CONTENT_FIELDS):
            self.wake()

    async def retract(self, subject_id: str, now: datetime) -> None:
        """A recognition or credential was revoked: what was not sent about it is not sent."""
        await self.store.cancel_about(subject_id, REVOKED, now)
