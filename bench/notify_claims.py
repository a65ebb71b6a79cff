"""What one delivery claim costs while a programme's emails wait in the queue.

Plans N email notifications (as a programme announced to N learners leaves them) in a
throwaway database on the running MongoDB-protocol server, then times the delivery workers'
real claim (20 at a time, the email channel's batch) and, as the baseline measured in the
same run, one read of every due entry of the queue (what each claim read before it took a
page). Each claim is given back afterwards, so every timing sees N waiting. Usage::

    uv run python bench/notify_claims.py [--waiting 1000 20000 100000] [--claims 20]

The URI defaults to the local stack's (LT_DEV_MONGODB_PORT, or MONGODB_URI).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

from pymongo import AsyncMongoClient

from cli import localstack
from contracts.envelope import new_event_id
from services.common.mongo import Document
from services.notify.store import NotifyStore

BATCH = 20  # DeliverySettings.claim_batch


def planned(n: int, due: datetime) -> Document:
    return {
        "_id": f"N{n:07d}",
        "learner_id": f"L{n:07d}",
        "channel": "email",
        "state": "pending",
        "due_at": due,
        "digest": False,
        "attempts": 0,
        "created_at": due,
        "title": "Kỹ thuật tưới nhỏ giọt",
        "about": "programme",
        "subject_id": "PG-bench",
    }


async def measure(client: AsyncMongoClient[Document], waiting: int, claims: int) -> None:
    name = f"lt_bench_{new_event_id()[-12:]}"
    store = NotifyStore(client[name])
    try:
        await store.ensure_indexes()
        due = datetime.now(UTC) - timedelta(minutes=1)
        started = time.perf_counter()
        for start in range(0, waiting, 5_000):
            part = [planned(n, due) for n in range(start, min(waiting, start + 5_000))]
            await store.put_planned(part, ("title",))
        filled = time.perf_counter() - started

        claim_ms = []
        for _ in range(claims):
            now = datetime.now(UTC)
            started = time.perf_counter()
            _, claimed = await store.claim("email", "bench", now, 60, BATCH)
            claim_ms.append((time.perf_counter() - started) * 1000)
            assert len(claimed) == BATCH
            await store.release("bench", now)

        due_filter: Document = {"channel": "email", "state": "pending", "due_at": {"$lte": now}}
        read_ms = []
        for _ in range(3):
            started = time.perf_counter()
            everything = [d async for d in store.queue.find(due_filter)]
            read_ms.append((time.perf_counter() - started) * 1000)
        assert len(everything) == waiting
        claim, read = statistics.median(claim_ms), statistics.median(read_ms)
        print(
            f"{waiting:>8,} waiting (planned in {filled:.1f} s): claim of {BATCH} "
            f"p50 {claim:,.1f} ms (max {max(claim_ms):,.1f}); "
            f"baseline, reading every due entry: {read:,.1f} ms; ratio {read / claim:,.1f}×"
        )
    finally:
        await client.drop_database(name)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waiting", type=int, nargs="+", default=[1_000, 20_000, 100_000])
    parser.add_argument("--claims", type=int, default=20)
    parser.add_argument("--uri", default=localstack.mongodb_uri(localstack.Ports.from_env()))
    args = parser.parse_args()
    client: AsyncMongoClient[Document] = AsyncMongoClient(args.uri, tz_aware=True)
    try:
        for waiting in args.waiting:
            await measure(client, waiting, args.claims)
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
