"""Volume on the real stack: 5,000 records from two training centres at once, through the batch
endpoint, all reach the trail exactly once, and no consumer dead-letters any of them.

Outcomes only, no speed: the waits are generous so that a slow machine passes too. It runs
last (its own folder, after tests/unit): the 5,000 records and their recognitions leave notify
minutes of delivery work on FerretDB, whose delivery-worker queries still read the whole
notifications collection (BENCHMARKS.md), and later tests that wait for an inbox would wait
behind it. The records
are submitted once (a module fixture); one test checks the trail, the other that notify, the
slower consumer, has seen everything too.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from contracts import credentials, learners, records
from services.common.mongo import Document
from tests.conftest import Stack, eventually, national_id, new_provider, read_topic, submission

RECORDS = 5_000
BATCH = 500
PER_LEARNER = 3
TRAIL_SAMPLE = 200  # learners whose trail is read through the API
WAIT = 600  # seconds for each consumer to catch up: generous, for slow machines

NAMES = [
    ("Nguyễn Thị Hương", "1990-05-14"),
    ("Trần Văn Đức", "1988-11-02"),
    ("Lê Hoàng Yến", "1995-02-20"),
    ("Phạm Minh Khôi", "2001-08-30"),
    ("Đàng Năng Thọ", "1979-07-07"),
    ("Huỳnh Ngọc Ánh", "1999-12-31"),
]
COURSES: list[dict[str, Any]] = [
    {},  # the default: Sơ cấp Kỹ thuật trồng nho, vocational, 300 hours
    {
        "pathway": "continuing",
        "kind": "course",
        "title": "Tiếng Anh trình độ A2",
        "vqf_level": None,
        "hours": 120,
        "completed_on": "2023-06-30",
    },
    {
        "pathway": "online",
        "kind": "course",
        "title": "Kỹ năng số cho người lao động",
        "vqf_level": None,
        "hours": 20,
        "result": {"status": "completed"},
        "completed_on": "2024-10-05",
    },
]
# every tenth learner also earns a recognition (credit transfer by course code), so that the
# credential service emits events and notify tells learners about them
RECOGNISED = {
    "pathway": "continuing",
    "kind": "course",
    "title": "Tin học cơ bản",
    "code": "GDTX-TH-CB",
    "vqf_level": None,
    "hours": 60,
    "completed_on": "2024-01-20",
}


@dataclass
class Submitted:
    """What the two centres were answered."""

    centres: list[dict[str, Any]]
    http: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # by provider_record_ref
    owner: dict[str, str] = field(default_factory=dict)  # ref → the centre's API key
    national_ids: dict[str, str] = field(default_factory=dict)  # ref → national ID
    end_offsets: dict[TopicPartition, int] = field(default_factory=dict)

    def expected(self) -> dict[str, set[str]]:
        """Each learner's accepted record ids."""
        found: dict[str, set[str]] = defaultdict(set)
        for item in self.items.values():
            if item["status"] == "accepted":
                found[item["learner_id"]].add(item["record_id"])
        return found


def bodies(run: str) -> tuple[list[list[dict[str, Any]]], dict[str, str]]:
    """Each centre's submissions: learner n has records 3n, 3n+1 and 3n+2, which alternate
    between the two centres, so both post for the same new learners at the same time."""
    per_centre: list[list[dict[str, Any]]] = [[], []]
    national_ids: dict[str, str] = {}
    nids = [national_id() for _ in range((RECORDS + PER_LEARNER - 1) // PER_LEARNER)]
    for n in range(RECORDS):
        learner = n // PER_LEARNER
        name, born = NAMES[learner % len(NAMES)]
        course = dict(COURSES[n % PER_LEARNER])
        if learner % 10 == 0 and n % PER_LEARNER == 1:
            course = dict(RECOGNISED)
        ref = f"VOL-{run}-{n:05d}"
        body = submission(nids[learner], ref, **course)
        body["learner"].update(full_name=name, birth_date=born)
        per_centre[n % 2].append(body)
        national_ids[ref] = nids[learner]
    return per_centre, national_ids


async def post_batches(
    http: httpx.AsyncClient, stack: Stack, key: str, batch: list[dict[str, Any]], out: Submitted
) -> None:
    """Post ``batch`` as a careful client does: after a 503 or 429 wait Retry-After and send
    again, send again after a lost connection (it is idempotent), resubmit the items answered
    ``unavailable``. A 500 is kept, never retried."""
    todo = list(batch)
    for _ in range(100):
        try:
            response = await http.post(
                f"{stack.endpoints.learner}/v1/records:batch",
                json={"records": todo},
                headers={"X-API-Key": key},
                timeout=300,
            )
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.TimeoutException) as exc:
            out.problems.append(f"batch sent again after {exc!r}")
            await asyncio.sleep(1)
            continue
        out.http[response.status_code] += 1
        if response.status_code in (429, 503):
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        if response.status_code != 200:
            out.problems.append(f"HTTP {response.status_code}: {response.text[:500]}")
            return
        again = []
        for body, item in zip(todo, response.json()["results"], strict=True):
            if item["status"] == "unavailable":
                again.append(body)
            else:
                out.items[body["provider_record_ref"]] = item
                out.owner[body["provider_record_ref"]] = key
        if not again:
            return
        todo = again
        await asyncio.sleep(1)
    out.problems.append(f"gave up on {len(todo)} records")


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topics`` now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
    ]
    assert {tp.topic for tp in partitions} == set(topics), described
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        found: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return found
    finally:
        await consumer.stop()


async def behind(bootstrap: str, group: str, until: dict[TopicPartition, int]) -> int:
    """How many records of ``until`` (end offsets to reach) ``group`` has not committed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    left = 0
    for tp, end in until.items():
        meta = committed.get(tp)
        left += max(0, end - (meta.offset if meta is not None and meta.offset >= 0 else 0))
    return left


async def dead_letters(stack: Stack, group: str, keys: set[bytes]) -> list[str]:
    return [
        f"{dict(r.headers).get('dlq_reason', b'').decode()} ({r.topic} key {r.key!r})"
        for r in await read_topic(stack.kafka, f"{group}.dlq")
        if r.key in keys
    ]


@pytest.fixture(scope="module")
async def submitted(stack: Stack) -> AsyncIterator[Submitted]:
    async with httpx.AsyncClient(timeout=60) as http:
        centres = [
            await new_provider(http, stack),
            await new_provider(http, stack, name="Trường Cao đẳng Nghề Ninh Thuận", kind="school"),
        ]
        out = Submitted(centres)
        per_centre, out.national_ids = bodies(str(time.time_ns()))

        async def centre(key: str, mine: list[dict[str, Any]]) -> None:
            for start in range(0, len(mine), BATCH):
                await post_batches(http, stack, key, mine[start : start + BATCH], out)

        await asyncio.gather(
            *(centre(c["api_key"], mine) for c, mine in zip(centres, per_centre, strict=True))
        )
    out.end_offsets = await end_offsets(stack.kafka, [records.TOPIC, learners.TOPIC])
    yield out


@pytest.mark.timeout(1500)
async def test_every_record_is_accepted_and_in_the_trail_exactly_once(
    stack: Stack, submitted: Submitted, http: httpx.AsyncClient
) -> None:
    assert submitted.http[500] == 0, submitted.problems
    assert not [p for p in submitted.problems if p.startswith(("HTTP", "gave up"))]
    statuses = Counter(item["status"] for item in submitted.items.values())
    assert statuses == {"accepted": RECORDS}, (
        statuses,
        [i for i in submitted.items.values() if i["status"] != "accepted"][:5],
    )
    record_ids = {item["record_id"] for item in submitted.items.values()}
    assert len(record_ids) == RECORDS, "each reference is its own record"
    learner_of: dict[str, set[str]] = defaultdict(set)
    for ref, item in submitted.items.items():
        learner_of[submitted.national_ids[ref]].add(item["learner_id"])
    assert all(len(ids) == 1 for ids in learner_of.values()), (
        "one national ID is one learner, even when two centres post for a new one at once"
    )
    expected = submitted.expected()
    assert len(expected) == len(learner_of)

    # wait, cheaply, until the credential service has every record (looked up by id, which
    # every backend serves from its key) and its consumer group has committed past them
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri)
    entries = mongo["lt_credential"]["trail_entries"]
    ids = sorted(record_ids)

    async def stored() -> int:
        found = 0
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            found += len([d async for d in entries.find({"_id": {"$in": chunk}}, {"_id": 1})])
        return found

    try:
        await eventually(stored, lambda n: n == RECORDS, within=WAIT)
        await eventually(
            lambda: behind(stack.kafka, "credential", submitted.end_offsets),
            lambda n: n == 0,
            within=WAIT,
        )
        # every learner: the live entries their trail is built from are exactly the records
        # submitted for them (one query for all of them: one trail read each is slow on
        # FerretDB, which scans the collection for a learner_id)
        held: dict[str, list[str]] = defaultdict(list)
        async for entry in entries.find(
            {"learner_id": {"$in": sorted(expected)}, "revoked": {"$ne": True}},
            {"_id": 1, "learner_id": 1},
        ):
            held[entry["learner_id"]].append(entry["_id"])
    finally:
        await mongo.close()
    differ = [
        f"{lid}: {sorted(held.get(lid, []))} != {sorted(want)}"
        for lid, want in expected.items()
        if sorted(held.get(lid, [])) != sorted(want)
    ]
    assert not differ, (len(differ), differ[:5])

    # and a large sample of trails through the API: exactly the records submitted, once each
    gate = asyncio.Semaphore(8)
    wrong: list[str] = []

    async def check(learner_id: str, want: set[str]) -> None:
        async with gate:
            response = await http.get(
                f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail",
                headers=stack.learner_token(learner_id),
                timeout=120,
            )
        if response.status_code != 200:
            wrong.append(f"{learner_id}: HTTP {response.status_code}")
            return
        trail = response.json()
        got = [e["record_id"] for g in trail["pathways"] for e in g["entries"]]
        if sorted(got) != sorted(want) or trail["entry_count"] != len(want):
            wrong.append(f"{learner_id}: {sorted(got)} != {sorted(want)}")

    sample = random.sample(sorted(expected), TRAIL_SAMPLE)
    await asyncio.gather(*(check(lid, expected[lid]) for lid in sample))
    assert not wrong, (len(wrong), wrong[:5])

    # each centre reads its own records back (a sample: reads count against its rate limit)
    refs = sorted(submitted.items)[::25]

    async def read_back(ref: str) -> None:
        item, key = submitted.items[ref], submitted.owner[ref]
        async with gate:
            for _ in range(30):
                response = await http.get(
                    f"{stack.endpoints.learner}/v1/records/{item['record_id']}",
                    headers={"X-API-Key": key},
                )
                if response.status_code != 429:
                    break
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
        body = response.json() if response.status_code == 200 else {}
        if (body.get("provider_record_ref"), body.get("status"), body.get("learner_id")) != (
            ref,
            "accepted",
            item["learner_id"],
        ):
            wrong.append(f"{ref}: HTTP {response.status_code} {response.text[:200]}")

    await asyncio.gather(*(read_back(ref) for ref in refs))
    assert not wrong, (len(wrong), wrong[:5])

    keys = {lid.encode() for lid in expected}
    assert await dead_letters(stack, "credential", keys) == []


@pytest.mark.timeout(1500)
async def test_notify_sees_every_record_and_dead_letters_none(
    stack: Stack, submitted: Submitted
) -> None:
    # the recognitions the credential service decided for these learners are on their way too
    until = {
        **submitted.end_offsets,
        **await end_offsets(stack.kafka, [credentials.TOPIC]),
    }
    await eventually(lambda: behind(stack.kafka, "notify", until), lambda n: n == 0, within=WAIT)
    keys = {lid.encode() for lid in submitted.expected()}
    assert await dead_letters(stack, "notify", keys) == []
