"""Consuming the log into the figures' facts: the insights service's event handler.

Each batch becomes facts (:func:`services.insights.facts.grouped`) inserted once by id; the
figures are counted from them when asked for. Applying a batch twice, or replaying the topics
from the start (``trail rebuild insights``), stores the same documents.
"""

from __future__ import annotations

import logging

from pydantic import BaseModel

from contracts.envelope import Envelope
from services.insights.facts import grouped
from services.insights.store import InsightsStore

_log = logging.getLogger("learningtrail.insights.projection")


class FiguresProjection:
    def __init__(self, store: InsightsStore) -> None:
        self.store = store

    async def handle(self, events: list[Envelope[BaseModel]]) -> None:
        new = await self.store.add(grouped(events))
        _log.debug("facts stored", extra={"events": len(events), "new_facts": new})
