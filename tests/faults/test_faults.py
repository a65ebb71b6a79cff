"""Faults injected for real; every accepted record must end up in the trail exactly once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from cli import localstack
from services.common.mongo import Document
from tests.conftest import Stack, eventually, national_id, new_provider, read_topic, submission
from tests.e2e.test_record_path import trail_of
from tests.faults.conftest import Ledger, another_instance

LEARNERS = 6


class Load:
    """A training centre submitting records without pause, counting every answer."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient, key: str, tag: str) -> None:
        self.stack, self.http, self.key, self.tag = stack, http, key, tag
        self.credential_url = stack.endpoints.credential  # where the trails are read
        self.nids = [national_id() for _ in range(LEARNERS)]
        self.accepted: dict[str, str] = {}  # provider_record_ref -> learner_id
        self.refused: list[httpx.Response] = []
        self.throttled = 0  # 429s: the centre's rate limit, honoured as a real client would
        self.other: list[str] = []
        self.sent = 0

    async def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ref = f"{self.tag}-{self.sent}"
            body = submission(self.nids[self.sent % LEARNERS], ref, title=f"Khóa {self.sent}")
            self.sent += 1
            try:
                answer = await self.http.post(
                    f"{self.stack.endpoints.learner}/v1/records",
                    json=body,
                    headers={"X-API-Key": self.key},
                    timeout=30,
                )
            except httpx.TransportError as exc:
                self.other.append(f"{ref}: {type(exc).__name__}")
                continue
            if answer.status_code == 202:
                self.accepted[ref] = answer.json()["learner_id"]
            elif answer.status_code == 503:
                self.refused.append(answer)
                await asyncio.sleep(0.2)
            elif answer.status_code == 429:
                self.throttled += 1
                await asyncio.sleep(float(answer.headers["Retry-After"]))
            else:
                self.other.append(f"{ref}: {answer.status_code} {answer.text[:200]}")

    async def outcome(
        self, within: float = 120, stored: dict[str, str] | None = None
    ) -> dict[str, int]:
        """Wait until every accepted record (or every one in ``stored``: reference -> learner)
        is in a trail; count lost and doubled ones."""
        expected = self.accepted if stored is None else stored
        learners = set(expected.values())

        async def refs() -> Counter[str]:
            found: Counter[str] = Counter()
            for learner_id in learners:
                answer = await self.http.get(
                    f"{self.credential_url}/v1/learners/{learner_id}/trail",
                    headers=self.stack.admin,
                )
                trail = answer.json() if answer.status_code == 200 else {}
                for group in trail.get("pathways", []):
                    for entry in group["entries"]:
                        found[entry.get("title", "")] += 1
            return found

        def titles() -> set[str]:
            return {f"Khóa {ref.rsplit('-', 1)[1]}" for ref in expected}

        found = await eventually(refs, lambda f: titles() <= set(f), within=within)
        return {
            "sent": self.sent,
            "accepted_202": len(self.accepted),
            "refused_503": len(self.refused),
            "throttled_429": self.throttled,
            "other_answers": len(self.other),
            "lost": len(titles() - set(found)),
            "duplicated": sum(n - 1 for n in found.values() if n > 1),
        }


async def _outage(component: str, after: float, lasting: float) -> None:
    target = localstack.component(component)
    await asyncio.sleep(after)
    await asyncio.to_thread(localstack.stop, target)
    await asyncio.sleep(lasting)
    await asyncio.to_thread(localstack.start, target)


async def test_kafka_restarted_while_a_centre_keeps_submitting(
    stack: Stack, http: httpx.AsyncClient, ledger: Ledger, mongo: AsyncMongoClient[Document]
) -> None:
    """Records answered 503 during the outage are never retried by this centre; those the
    learner service had stored reach the trail anyway (the outbox relay), once each."""
    centre = await new_provider(http, stack)
    load = Load(stack, http, centre["api_key"], "KAFKA")
    started = time.monotonic()
    await asyncio.gather(load.run(30), _outage("kafka", after=4, lasting=12))
    figures = await load.outcome()
    cursor = mongo["lt_learner"]["records"].find(
        {"provider_id": centre["provider"]["id"], "state": "accepted"}
    )
    stored = {d["provider_record_ref"]: d["learner_id"] async for d in cursor}
    assert set(load.accepted) <= set(stored)
    relayed = await load.outcome(within=30, stored=stored)
    assert relayed["lost"] == 0 and relayed["duplicated"] == 0
    ledger.record(
        fault="Kafka broker stopped 12 s and restarted under load",
        **figures,
        stored=len(stored),
        stored_after_503=len(stored) - len(load.accepted),
        announced=len(stored) - relayed["lost"],
        seconds=round(time.monotonic() - started, 1),
    )
    assert load.other == [], load.other
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["refused_503"] > 0, "the outage must have been felt"
    assert all(
        r.headers["Retry-After"] and r.headers["content-type"] == "application/problem+json"
        for r in load.refused
    )


async def test_the_database_restarted_under_load(
    stack: Stack, http: httpx.AsyncClient, ledger: Ledger
) -> None:
    if "ferretdb" not in {c.name for c in localstack.components(localstack.Ports.from_env())}:
        pytest.skip("MONGODB_URI points at a MongoDB this test does not control")
    centre = await new_provider(http, stack)
    load = Load(stack, http, centre["api_key"], "MONGO")
    started = time.monotonic()
    await asyncio.gather(load.run(25), _outage("ferretdb", after=4, lasting=8))
    figures = await load.outcome()
    ledger.record(
        fault="MongoDB-protocol server stopped 8 s and restarted under load",
        **figures,
        seconds=round(time.monotonic() - started, 1),
    )
    assert load.other == [], load.other
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert figures["refused_503"] > 0


@pytest.mark.parametrize("service", ["credential", "notify"])
async def test_a_consumer_killed_mid_batch_loses_and_doubles_nothing(
    service: str, stack: Stack, http: httpx.AsyncClient, ledger: Ledger
) -> None:
    centre = await new_provider(http, stack)
    commune = national_id()[-5:]
    nids = [national_id() for _ in range(40)]
    items = [
        submission(nids[n % 40], f"K9-{n}", commune=commune, title=f"Khóa {n}") for n in range(400)
    ]
    batch = asyncio.create_task(
        http.post(
            f"{stack.endpoints.learner}/v1/records:batch",
            json={"records": items},
            headers={"X-API-Key": centre["api_key"]},
            timeout=120,
        )
    )
    await asyncio.sleep(1.0)
    target = localstack.component(service)
    assert await asyncio.to_thread(localstack.stop, target, True)  # kill -9, mid-stream
    answer = await batch
    programme = await http.post(
        f"{stack.endpoints.learner}/v1/programmes",
        json={
            "title": "Tin học cơ bản",
            "pathway": "continuing",
            "place_codes": [commune],
            "how_to_enrol": "Gọi 0259 3864 123",
        },
        headers={"X-API-Key": centre["api_key"]},
    )
    await asyncio.to_thread(localstack.start, target)
    results = answer.json()["results"]
    assert answer.status_code == 200 and answer.json()["accepted"] == 400
    learners = sorted({r["learner_id"] for r in results})

    async def entries() -> int:
        counts = [
            len(
                [
                    e
                    for g in (await trail_of(http, stack, lid)).get("pathways", [])
                    for e in g["entries"]
                ]
            )
            for lid in learners
        ]
        return sum(counts)

    async def inbox() -> list[int]:
        sizes = []
        for lid in learners:
            notes = await http.get(
                f"{stack.endpoints.notify}/v1/learners/{lid}/notifications", headers=stack.admin
            )
            sizes.append(
                len(
                    [
                        n
                        for n in notes.json().get("notifications", [])
                        if n.get("programme_id") == programme.json()["programme_id"]
                    ]
                )
            )
        return sizes

    in_trail = await eventually(entries, lambda n: n >= 400, within=120)
    notified = await eventually(inbox, lambda sizes: all(s >= 1 for s in sizes), within=120)
    await asyncio.sleep(2)
    assert await entries() == in_trail == 400
    assert await inbox() == notified == [1] * len(learners)
    ledger.record(
        fault=f"kill -9 of {service} mid-batch, then restart",
        sent=400,
        accepted_202=400,
        lost=400 - in_trail,
        duplicated=in_trail - 400,
        inbox_notifications=sum(notified),
        learners=len(learners),
    )


async def test_a_poison_message_in_each_topic_is_dead_lettered_and_the_stream_goes_on(
    stack: Stack, http: httpx.AsyncClient, ledger: Ledger
) -> None:
    consumers = {
        "learners.v1": ("credential", "notify", "insights"),
        "learning-records.v1": ("credential", "notify", "insights"),
        "programmes.v1": ("notify", "insights"),
        "credentials.v1": ("notify", "insights"),
        "notifications.v1": ("insights",),
    }
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    keys = {}
    try:
        for topic in consumers:
            key = f"poison-{topic}-{national_id()}".encode()
            keys[topic] = key
            await producer.send_and_wait(
                topic,
                b"\xff\xfe not an event",
                key=key,
                headers=[("ce_type", b"vn.learningtrail.x.y.z.v1")],
            )
    finally:
        await producer.stop()
    centre = await new_provider(http, stack)
    good = await http.post(
        f"{stack.endpoints.learner}/v1/records",
        json=submission(national_id(), "AFTER-POISON"),
        headers={"X-API-Key": centre["api_key"]},
    )
    learner_id = good.json()["learner_id"]
    await eventually(lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 1)
    caught = 0
    for group in ("credential", "notify", "insights"):

        async def letters(g: str = group) -> set[bytes]:
            return {r.key for r in await read_topic(stack.kafka, f"{g}.dlq")}

        expected = {keys[t] for t, groups in consumers.items() if group in groups}
        found = await eventually(letters, lambda f, e=expected: e <= f)  # type: ignore[misc]
        caught += len(expected & found)
    ledger.record(
        fault="a poison message in each of 5 topics",
        poison_messages=5,
        dead_lettered=caught,
        consumers_blocked=0,
    )


async def test_two_credential_instances_share_the_work_and_survive_one_killed(
    stack: Stack, http: httpx.AsyncClient, ledger: Ledger
) -> None:
    first = localstack.component("credential")
    second = another_instance("credential", "credential-2", public_base_url=first.address)
    await asyncio.to_thread(localstack.start, second)
    try:
        centre = await new_provider(http, stack)
        load = Load(stack, http, centre["api_key"], "TWO")
        load.credential_url = second.address  # the first instance is killed

        async def kill_first() -> None:
            await asyncio.sleep(3)
            await asyncio.to_thread(localstack.stop, first, True)

        await asyncio.gather(load.run(10), kill_first())
        figures = await load.outcome()
        assert figures["lost"] == 0 and figures["duplicated"] == 0 and load.other == []
        ledger.record(
            fault="two credential instances in one group, one killed with kill -9", **figures
        )
    finally:
        await asyncio.to_thread(localstack.stop, second)
        await asyncio.to_thread(localstack.start, first)
