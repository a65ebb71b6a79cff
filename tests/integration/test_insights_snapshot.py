"""The insights snapshot against the real MongoDB-protocol server: its figures equal those
counted from every stored fact; facts stored after — also through another instance's store —
are in the next request's figures; only the new packs are read again (by ``_id``)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.common.mongo import Document
from services.insights.facts import grouped
from services.insights.figures import Period, Scope, figures, resolve
from services.insights.snapshot import Snapshot
from services.insights.store import InsightsStore
from services.insights.units import catalogue
from tests.integration.test_stores import Commands
from tests.unit.test_insights_figures import learner, recorded


def _total(found: dict[str, Any], indicator: str) -> Any:
    return next(i["total"] for i in found["indicators"] if i["id"] == indicator)


async def test_the_snapshot_sees_every_stored_fact_and_reads_only_new_packs(
    watched: tuple[AsyncDatabase[Document], Commands],
) -> None:
    db, commands = watched
    store, other_instance = InsightsStore(db), InsightsStore(db)
    snapshot = Snapshot(store)
    units = catalogue()
    period, scope = Period.parse("2026-Q3"), Scope(units.resolve("56"))
    await store.add(grouped([learner(f"L{i}", "22738") for i in range(6)]))
    await store.add(grouped([recorded(f"R{i}", f"L{i}") for i in range(6)]))
    first = await snapshot.figures(period, scope, {})
    assert first == figures(resolve(await store.facts(), units), units, period, scope, {})
    assert _total(first, "learners_with_learning") == 6

    commands.seen.clear()
    assert await snapshot.figures(period, scope, {}) is first  # nothing stored since
    assert not [c for c in commands.seen if c[0] == "find"]  # a count, no pack read

    await other_instance.add(grouped([learner("L9", "22738"), recorded("R9", "L9")]))
    commands.seen.clear()
    after = await snapshot.figures(period, scope, {})
    assert _total(after, "learners_with_learning") == 7
    assert after == figures(resolve(await store.facts(), units), units, period, scope, {})
    reads = [filters for name, _, filters in commands.seen if name == "find"]
    assert any("$in" in str(f) for f in reads)  # the new packs, by id
