"""Churn beside the load: databases and collections created and dropped while the stack works.

Issue 9 saw FerretDB freeze whole when a ``dropDatabase`` of a scratch database arrived while
the services were busy. Run this beside ``bench/e2e.py`` (same stack) for as long as the load
lasts; it creates a scratch database, writes to it, creates and drops a collection, drops the
database — over and over — and times each step. Every step must answer; the slowest one is the
figure to watch. Usage::

    uv run python bench/soak.py --minutes 10 [--uri mongodb://127.0.0.1:27017/]

Exit status 1 if any step failed or took longer than ``--limit`` seconds (default 30).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections import defaultdict
from typing import Any

from pymongo import AsyncMongoClient


async def churn(client: AsyncMongoClient[dict[str, Any]], rounds: dict[str, list[float]]) -> None:
    name = f"soak_{uuid.uuid4().hex[:8]}"
    db = client[name]
    steps = (
        ("insert", lambda: db.scratch.insert_many([{"_id": i, "n": i} for i in range(200)])),
        ("create collection", lambda: db.create_collection("other")),
        ("find", lambda: db.scratch.find({"_id": {"$in": list(range(50))}}).to_list()),
        ("drop collection", lambda: db.drop_collection("other")),
        ("list databases", client.list_database_names),
        ("drop database", lambda: client.drop_database(name)),
    )
    for step, call in steps:
        started = time.perf_counter()
        await call()
        rounds[step].append(time.perf_counter() - started)


async def main() -> int:
    parser = argparse.ArgumentParser()
    default = os.environ.get("MONGODB_URI") or (
        f"mongodb://127.0.0.1:{os.environ.get('LT_DEV_MONGODB_PORT', '27017')}/"
    )
    parser.add_argument("--uri", default=default)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--limit", type=float, default=30, help="slowest step allowed (s)")
    args = parser.parse_args()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        args.uri, serverSelectionTimeoutMS=args.limit * 1000, socketTimeoutMS=args.limit * 1000
    )
    rounds: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    deadline = time.monotonic() + args.minutes * 60
    while time.monotonic() < deadline:
        try:
            await churn(client, rounds)
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
        await asyncio.sleep(0.5)
    await client.close()
    print("| step | rounds | median | slowest |\n| --- | --- | --- | --- |")
    slowest = 0.0
    for step, times in rounds.items():
        slowest = max(slowest, max(times))
        median = statistics.median(times) * 1000
        print(f"| {step} | {len(times)} | {median:.1f} ms | {max(times) * 1000:.0f} ms |")
    print(f"failures: {len(failures)}" + (f" (first: {failures[0]})" if failures else ""))
    return 1 if failures or slowest > args.limit else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
