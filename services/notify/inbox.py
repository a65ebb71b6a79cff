"""Consuming learners and programmes into inbox notifications: the notify service's handler."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from contracts.envelope import Envelope
from contracts.learners import LearnerRegistered
from contracts.programmes import ProgrammeAnnounced
from services.notify.matching import fits, inbox_message, notification_id
from services.notify.store import NotifyStore

_log = logging.getLogger("learningtrail.notify.inbox")


class InboxProjection:
    """Keeps subscriptions and programmes, and puts a notification in the inbox of every
    learner a programme fits — whichever of the two arrives first. Safe to apply twice."""

    def __init__(self, store: NotifyStore) -> None:
        self.store = store

    async def handle(self, events: list[Envelope[BaseModel]]) -> None:
        learners: dict[str, dict[str, Any]] = {}
        programmes: dict[str, ProgrammeAnnounced] = {}
        for event in events:
            data = event.data
            if isinstance(data, LearnerRegistered):
                learners[data.learner_id] = {
                    "_id": data.learner_id,
                    "commune_code": data.commune_code,
                    "birth_date": data.birth_date.isoformat(),
                    "email": data.email,
                    "language": data.preferred_language.value,
                }
            elif isinstance(data, ProgrammeAnnounced):
                programmes[data.programme_id] = data
        await self.store.put_subscriptions(list(learners.values()))
        await self.store.put_programmes(
            [{"_id": p.programme_id, **p.model_dump(mode="json")} for p in programmes.values()],
        )
        today = datetime.now(UTC).date()
        notes: list[dict[str, Any]] = []
        for programme in programmes.values():
            for learner in await self.store.learners_in(programme.place_codes):
                if fits(programme, learner, today):
                    notes.append(self._note(programme, learner))
        for learner in learners.values():
            if learner["commune_code"] is None:
                continue
            for doc in await self.store.programmes_in(learner["commune_code"]):
                programme = ProgrammeAnnounced.model_validate(doc)
                if fits(programme, learner, today):
                    notes.append(self._note(programme, learner))
        created = await self.store.add_notifications(notes)
        if notes:
            _log.info("inbox notifications", extra={"matched": len(notes), "new": created})

    @staticmethod
    def _note(programme: ProgrammeAnnounced, learner: dict[str, Any]) -> dict[str, Any]:
        title, body = inbox_message(programme, learner.get("language", "vi"))
        return {
            "_id": notification_id(learner["_id"], programme.programme_id, "inbox"),
            "learner_id": learner["_id"],
            "programme_id": programme.programme_id,
            "channel": "inbox",
            "state": "delivered",
            "title": title,
            "body": body,
            "created_at": datetime.now(UTC),
            "read_at": None,
        }
