"""What each database operation costs on a MongoDB-protocol server, as a collection grows.

For each size (default 1,000, 20,000 and 200,000 documents) it fills a throwaway collection
shaped like the learner service's records (string ``_id``, a secondary key with an index),
then times the operations the services use, on documents spread over the whole collection:

- ``insert_many`` of 1,000 new documents (ordered=False), documents/s;
- ``find_one({_id})`` and ``find({_id: {$in: 1,000}})``;
- ``find({learner: …})`` by an indexed secondary key;
- ``update_one({_id}, {$set})`` and ``update_many({_id: {$in: 1,000}}, {$set})``;
- ``bulk_write`` of 1,000 ``UpdateOne(upsert=True)`` (half new, half existing);
- ``delete_many({_id: {$in: 1,000}})`` and ``delete_one({_id})``.

Latencies are medians (and p95) in milliseconds; bulk figures are documents per second. Usage::

    uv run python bench/backends.py --uri mongodb://127.0.0.1:27017/ --label "FerretDB/SQLite"

The output is one Markdown table row per size and operation, ready for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne

Document = dict[str, Any]

NAMES = ["Nguyễn Thị Hương", "Trần Văn Nam", "Lê Thị Mai", "Phạm Minh Tuấn", "Hoàng Thu Trang"]


def record(n: int) -> Document:
    return {
        "_id": f"rec-{n:09d}-{uuid.UUID(int=n).hex[:12]}",
        "learner": f"L{n // 3:08d}",
        "provider": f"P{n % 40:03d}",
        "course": {"code": f"C{n % 500:04d}", "title": "Tin học văn phòng cơ bản", "hours": 60},
        "name": NAMES[n % len(NAMES)],
        "completed_on": "2026-06-30",
        "state": "accepted",
        "pending": None,
        "revision": 1,
    }


async def timed(samples: int, op: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for i in range(samples):
        start = time.perf_counter()
        await op(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def latency(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{statistics.median(ms):.2f} ms (p95 {p95:.2f})"


def rate(docs: int, ms: list[float]) -> str:
    return f"{docs * len(ms) / (sum(ms) / 1000):,.0f} docs/s"


async def fill(coll: Any, start: int, stop: int) -> None:
    for lo in range(start, stop, 5_000):
        await coll.insert_many([record(n) for n in range(lo, min(stop, lo + 5_000))], ordered=False)


async def measure(coll: Any, size: int, label: str, samples: int, skip: set[str]) -> None:
    step = max(1, size // samples)
    spread = [(i * step) % size for i in range(samples)]
    fresh = iter(range(10_000_000 + size * 10, 20_000_000))

    def show(operation: str, result: str) -> None:
        print(f"| {label} | {size:,} | {operation} | {result} |", flush=True)

    def rid(n: int) -> str:
        return str(record(n)["_id"])

    def ids(i: int) -> list[str]:
        return [rid((spread[i] + k * 997) % size) for k in range(1_000)]

    def upserts(i: int) -> list[UpdateOne]:
        ops = []
        for k in range(1_000):
            n = (spread[i] + k * 991) % size if k % 2 else next(fresh)
            change = {"$set": {"state": "accepted"}, "$setOnInsert": {"revision": 1}}
            ops.append(UpdateOne({"_id": rid(n)}, change, upsert=True))
        return ops

    async def find_one(i: int) -> object:
        return await coll.find_one({"_id": rid(spread[i])})

    async def find_by_key(i: int) -> object:
        return await coll.find({"learner": record(spread[i])["learner"]}).to_list()

    async def find_in(i: int) -> object:
        return await coll.find({"_id": {"$in": ids(i)}}).to_list()

    async def update_one(i: int) -> object:
        return await coll.update_one({"_id": rid(spread[i])}, {"$set": {"revision": 2}})

    async def update_many(i: int) -> object:
        return await coll.update_many({"_id": {"$in": ids(i)}}, {"$set": {"revision": 3}})

    async def bulk_upserts(i: int) -> object:
        return await coll.bulk_write(upserts(i), ordered=False)

    async def insert_many(i: int) -> object:
        docs = [record(next(fresh)) for _ in range(1_000)]
        return await coll.insert_many(docs, ordered=False)

    doomed = [next(fresh) for _ in range(1_000 * 3 + samples)]

    async def delete_many(i: int) -> object:
        gone = [rid(n) for n in doomed[i * 1_000 : (i + 1) * 1_000]]
        return await coll.delete_many({"_id": {"$in": gone}})

    async def delete_one(i: int) -> object:
        return await coll.delete_one({"_id": rid(doomed[3_000 + i])})

    show("find_one by _id", latency(await timed(samples, find_one)))
    show("find by indexed key", latency(await timed(samples, find_by_key)))
    show("find _id $in 1,000", rate(1_000, await timed(5, find_in)))
    show("update_one by _id", latency(await timed(samples, update_one)))
    show("update_many _id $in 1,000", rate(1_000, await timed(2, update_many)))
    if "bulk_write" not in skip:
        show("bulk_write 1,000 upserts", rate(1_000, await timed(2, bulk_upserts)))
    show("insert_many 1,000", rate(1_000, await timed(5, insert_many)))
    await coll.insert_many([record(n) for n in doomed], ordered=False)
    show("delete_many _id $in 1,000", rate(1_000, await timed(3, delete_many)))
    show("delete_one by _id", latency(await timed(samples, delete_one)))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uri", default="mongodb://127.0.0.1:27017/")
    parser.add_argument("--label", default="server")
    parser.add_argument("--sizes", default="1000,20000,200000")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--skip", default="", help="operations to leave out, e.g. bulk_write")
    args = parser.parse_args()
    client: AsyncMongoClient[Document] = AsyncMongoClient(args.uri, serverSelectionTimeoutMS=5_000)
    db = client[f"bench_backends_{uuid.uuid4().hex[:8]}"]
    coll = db["records"]
    await coll.create_index("learner")
    print("| backend | documents | operation | result |\n| --- | --- | --- | --- |")
    stored = 0
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            started = time.perf_counter()
            await fill(coll, stored, size)
            took = time.perf_counter() - started
            if size > stored:
                speed = f"{(size - stored) / took:,.0f} docs/s"
                print(f"| {args.label} | {size:,} | fill (insert_many 5,000) | {speed} |")
            stored = size
            await measure(coll, size, args.label, args.samples, set(args.skip.split(",")))
    finally:
        await client.drop_database(db.name)
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
