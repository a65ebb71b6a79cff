"""``trail rebuild credential``: replay the topics from the beginning into fresh collections,
and compare the result with the live projection.

Kafka's log is the system of record, so the trail must be derivable from it alone. The replay
reads ``learners.v1`` and ``learning-records.v1`` up to their current end, keeps each
partition's order, interleaves partitions by timestamp, and applies the same projection the
live service runs — announcing nothing, since the live projection announced it already.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from contracts import learners, prior_learning, records
from services.common.history import RebuildReport, read_events
from services.common.mongo import Document
from services.credential.projection import TrailProjection
from services.credential.recognition import load_rules
from services.credential.store import CredentialStore

TOPICS = (learners.TOPIC, records.TOPIC, prior_learning.TOPIC)
BATCH = 2_000  # events a replayed batch: a learner seen twice in one is read and decided once
COMPARED = ("trail_entries", "learners", "learner_merges")


async def rebuild(
    bootstrap: str, mongodb_uri: str, live_database: str, target_database: str
) -> RebuildReport:
    """Replay into ``target_database`` (emptied first) and compare it with ``live_database``."""
    if target_database == live_database:
        raise ValueError("rebuild into a fresh database, not the live one")
    report = RebuildReport()
    events = await read_events(bootstrap, TOPICS, report)
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        await client.drop_database(target_database)
        store = CredentialStore(client[target_database])
        await store.ensure_indexes()
        projection = TrailProjection(store, None, load_rules())
        for start in range(0, len(events), BATCH):
            await projection.handle(events[start : start + BATCH])
        report.differences = await compare(client, live_database, target_database)
        for name in (*COMPARED, "recognitions"):
            report.collections[name] = await client[target_database][name].count_documents({})
    finally:
        await client.close()
    return report


async def compare(client: AsyncMongoClient[Document], live: str, rebuilt: str) -> list[str]:
    """What differs between two projections: entries, learners and merges document by
    document; recognitions by what is granted (when a live decision was granted and later
    revoked, a replay that sees both changes at once never grants it)."""
    differences = []
    for name in COMPARED:
        a = {d["_id"]: d async for d in client[live][name].find({})}
        b = {d["_id"]: d async for d in client[rebuilt][name].find({})}
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                differences.append(f"{name}/{key}: live {a.get(key)!r} != rebuilt {b.get(key)!r}")

    async def granted(database: str) -> dict[str, tuple[Any, ...]]:
        cursor = client[database]["recognitions"].find({"state": "granted"})
        return {
            d["_id"]: (d["learner_id"], d["rule_id"], d["rule_version"], tuple(d["record_ids"]))
            async for d in cursor
        }

    live_granted, rebuilt_granted = await granted(live), await granted(rebuilt)
    for key in sorted(set(live_granted) | set(rebuilt_granted)):
        if live_granted.get(key) != rebuilt_granted.get(key):
            differences.append(
                f"recognitions/{key}: live {live_granted.get(key)} "
                f"!= rebuilt {rebuilt_granted.get(key)}"
            )
    return differences
