"""The facts as this instance last read them, the state resolved from them, and the figures
last published from that state — so that a figures request costs a count of the stored packs
when nothing was added, and a read of the new packs only when something was.

Nothing here is what keeps the figures right: every request asks the database how many fact
packs it holds (packs are only ever inserted, and a pack's id names the facts it holds), and
reads those it has not seen, by ``_id`` — the one filter FerretDB pushes down — before
resolving again; another instance's writes are therefore seen by the next request. The lock
only keeps two requests of one instance from reading the same packs twice.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from services.common.mongo import Document
from services.insights.figures import Period, Scope, State, figures, resolve
from services.insights.store import InsightsStore, listed
from services.insights.units import catalogue

FIGURES_KEPT = 64  # published figures kept (period × unit), for the same facts only


class Snapshot:
    """The stored facts, read incrementally; their resolved state; recent figures."""

    def __init__(self, store: InsightsStore) -> None:
        self.store = store
        self.found: dict[str, dict[str, Document]] = {}
        self.seen: set[str] = set()
        self.state: State | None = None
        self.published: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self.lock = asyncio.Lock()

    async def current(self) -> tuple[State, int]:
        """The resolved state of every fact stored now, and how many packs it is made of."""
        async with self.lock:
            if self.state is None or await self.store.pack_count() != len(self.seen):
                new = sorted(await self.store.pack_ids() - self.seen)
                await self.store.read_packs(self.found, new)
                self.seen.update(new)
                self.state = resolve(listed(self.found), catalogue())
                self.published.clear()
            return self.state, len(self.seen)

    async def figures(
        self, period: Period, scope: Scope, populations: Mapping[tuple[str, int], int]
    ) -> dict[str, Any]:
        """The published figures of a period and scope from the facts stored now."""
        state, packs = await self.current()
        key = (
            packs,
            period.label,
            scope.unit.code if scope.unit else None,
            tuple(sorted(populations.items())),
        )
        found = self.published.get(key)
        if found is None:
            found = figures(state, catalogue(), period, scope, populations)
            self.published[key] = found
            while len(self.published) > FIGURES_KEPT:
                self.published.popitem(last=False)
        return found
