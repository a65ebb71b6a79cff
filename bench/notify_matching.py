"""How long matching one programme against 100,000 learner profiles takes.

Inserts N subscriptions (as notify keeps them) into a throwaway database on the running
MongoDB-protocol server, then times the real matching path — the store's indexed candidate
query (place codes, then the birth-date range the age limits imply) followed by the pure
decision on each candidate — against a naive baseline that reads every profile and decides
each one. Usage::

    uv run python bench/notify_matching.py [--learners 100000] [--uri mongodb://...]

The URI defaults to the local stack's (LT_DEV_MONGODB_PORT, or MONGODB_URI).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, date, datetime

from pymongo import AsyncMongoClient

from cli import localstack
from contracts.envelope import new_event_id
from contracts.programmes import ProgrammeAnnounced
from services.common.mongo import Document
from services.notify.matching import reasons_against
from services.notify.preferences import subscriber
from services.notify.settings import DeliverySettings
from services.notify.store import NotifyStore

COMMUNES = [f"{22000 + i:05d}" for i in range(500)]
PATHWAYS = ["vocational", "continuing", "online", "community"]


def profile(n: int, rng: random.Random) -> Document:
    home = rng.choice(COMMUNES)
    doc: Document = {
        "_id": f"L{n:07d}",
        "profile": {
            "full_name": "Nguyễn Thị Hương",
            "birth_date": date(
                rng.randint(1950, 2012), rng.randint(1, 12), rng.randint(1, 28)
            ).isoformat(),
            "commune_code": home,
            "email": f"learner{n}@example.vn",
            "language": "vi",
            "interests": rng.sample(PATHWAYS, rng.randint(0, 2)),
            "topics": [],
        },
    }
    if rng.random() < 0.1:  # some learners also follow a neighbouring place
        doc["preferences"] = {"places": [rng.choice(COMMUNES)]}
    return doc


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--uri", default=localstack.mongodb_uri(localstack.Ports.from_env()))
    args = parser.parse_args()
    client: AsyncMongoClient[Document] = AsyncMongoClient(args.uri, tz_aware=True)
    name = f"lt_bench_{new_event_id()[-12:]}"
    store = NotifyStore(client[name])
    settings = DeliverySettings()
    rng = random.Random(7)
    try:
        await store.ensure_indexes()
        started = time.perf_counter()
        docs = [profile(n, rng) for n in range(args.learners)]
        for start in range(0, len(docs), 5_000):
            await store.subscriptions.insert_many(docs[start : start + 5_000], ordered=False)
        print(f"inserted {args.learners:,} profiles in {time.perf_counter() - started:.1f} s")

        programme = ProgrammeAnnounced(
            programme_id="PG-bench",
            provider_id="P",
            title="Kỹ thuật tưới nhỏ giọt",
            pathway="vocational",
            place_codes=COMMUNES[:3],
            min_age=18,
            max_age=40,
            how_to_enrol="Gọi 0259 3864 123",
            announced_at=datetime.now(UTC),
        )
        today = date.today()

        def decide(found: list[Document]) -> int:
            return sum(
                1
                for d in found
                if not reasons_against(programme, subscriber(d, settings, sms=False), today)
            )

        timings: dict[str, tuple[float, int, int]] = {}
        for label, load in (("indexed", store.candidates(programme, today)), ("naive", None)):
            started = time.perf_counter()
            found = await load if load is not None else await store.everyone()
            matched = decide(found)
            timings[label] = (time.perf_counter() - started, len(found), matched)
        (fast, looked, matched), (slow, scanned, matched_naive) = (
            timings["indexed"],
            timings["naive"],
        )
        assert matched == matched_naive, "both ways must find the same learners"
        explain = await client[name].command(
            {"explain": {"find": "subscriptions", "filter": {"profile.commune_code": "22000"}}}
        )
        print(f"programme in {len(programme.place_codes)} of {len(COMMUNES)} communes, ages 18–40")
        print(f"indexed: {fast:.2f} s — {looked:,} candidates read, {matched:,} matched")
        print(f"naive:   {slow:.2f} s — {scanned:,} profiles read, {matched_naive:,} matched")
        print(f"ratio:   {slow / fast:.1f}× faster")
        print(
            f"server:  {explain.get('serverInfo', {}).get('ferretdbVersion', 'MongoDB')}, "
            f"filter pushdown: {explain.get('filterPushdown', 'n/a')}"
        )
    finally:
        await client.drop_database(name)
        await client.close()


if __name__ == "__main__":
    asyncio.run(main())
