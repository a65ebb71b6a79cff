"""``trail rebuild insights``: replay the topics from the beginning into a fresh database and
compare it with the live projection — fact by fact, and figure by figure.

The figures are derived from the log alone (the population figures the department enters
are its own data, not a projection, and are read from the live database by both sides).
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from services.common.history import RebuildReport, read_events
from services.common.mongo import Document
from services.insights.bootstrap import TOPICS
from services.insights.facts import PROJECTED
from services.insights.figures import Period, Scope, figures, resolve
from services.insights.projection import FiguresProjection
from services.insights.store import InsightsStore
from services.insights.units import catalogue

BATCH = 2_000


async def rebuild(
    bootstrap: str,
    mongodb_uri: str,
    live_database: str,
    target_database: str,
    periods: tuple[str, ...] = (),
) -> RebuildReport:
    """Replay into ``target_database`` (emptied first), then compare its facts with
    ``live_database``'s and, for each of ``periods``, the department's figures."""
    if target_database == live_database:
        raise ValueError("rebuild into a fresh database, not the live one")
    report = RebuildReport()
    events = await read_events(bootstrap, TOPICS, report)
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        await client.drop_database(target_database)
        rebuilt = InsightsStore(client[target_database])
        projection = FiguresProjection(rebuilt)
        for start in range(0, len(events), BATCH):
            await projection.handle(events[start : start + BATCH])
        live = InsightsStore(client[live_database])
        report.differences = await compare(live, rebuilt, periods)
        report.collections = {name: len(docs) for name, docs in (await rebuilt.facts()).items()}
    finally:
        await client.close()
    return report


async def compare(
    live: InsightsStore, rebuilt: InsightsStore, periods: tuple[str, ...]
) -> list[str]:
    """What differs: each fact, then each period's figures for the whole department."""
    differences = []
    a, b = await live.facts(), await rebuilt.facts()
    for name in PROJECTED:
        left = {d["_id"]: d for d in a[name]}
        right = {d["_id"]: d for d in b[name]}
        for key in sorted(set(left) | set(right)):
            if left.get(key) != right.get(key):
                differences.append(
                    f"{name}/{key}: live {left.get(key)!r} != rebuilt {right.get(key)!r}"
                )
    populations = await live.populations()
    units = catalogue()
    for label in periods:
        period = Period.parse(label)
        shown: list[dict[str, Any]] = [
            figures(resolve(facts, units), units, period, Scope(None), populations)
            for facts in (a, b)
        ]
        if shown[0] != shown[1]:
            differences.append(f"figures {label}: live and rebuilt differ")
    return differences
