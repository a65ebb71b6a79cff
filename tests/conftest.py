"""Shared fixtures. Integration and end-to-end tests run against the real local stack —
Kafka 4.4 and FerretDB started by ``cli.localstack`` — never a mock. A stack that is already
running is reused; one started here is stopped at the end."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from cli import localstack
from cli.config import Endpoints
from services.common.mongo import Document
from services.common.tokens import issue_token

T = TypeVar("T")


@dataclass(frozen=True)
class Stack:
    endpoints: Endpoints
    secrets: dict[str, str]
    kafka: str
    mongodb_uri: str

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets['LT_ADMIN_TOKEN']}"}

    def learner_token(self, learner_id: str, ttl: int = 600) -> dict[str, str]:
        token = issue_token(
            self.secrets["LT_TOKEN_SECRET"], learner_id, "learner", int(time.time()) + ttl
        )
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    was_running = any(pid for _, pid, _, _ in localstack.status())
    localstack.up()
    ports = localstack.Ports.from_env()
    yield Stack(
        endpoints=Endpoints.from_env(),
        secrets=localstack.dev_secrets(),
        kafka=f"127.0.0.1:{ports.kafka}",
        mongodb_uri=localstack.mongodb_uri(ports),
    )
    if not was_running:
        localstack.down()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def national_id() -> str:
    """A random, well-formed 12-digit number: each test has its own learners."""
    return "0" + "".join(random.choices("0123456789", k=11))


def record(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pathway": "vocational",
        "kind": "certificate",
        "title": "Sơ cấp Kỹ thuật trồng nho",
        "vqf_level": 1,
        "hours": 300,
        "result": {"status": "passed", "grade": "8.0", "grade_scale": "0-10"},
        "completed_on": "2025-03-15",
    }
    base.update(changes)
    return base


def submission(nid: str, ref: str, commune: str | None = "22735", **changes: Any) -> dict[str, Any]:
    return {
        "provider_record_ref": ref,
        "learner": {
            "national_id": nid,
            "full_name": "Nguyễn Thị Hương",
            "birth_date": "1990-05-14",
            "commune_code": commune,
        },
        "record": record(**changes),
    }


async def new_provider(
    http: httpx.AsyncClient, stack: Stack, pathways: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    body = {
        "name": "Trung tâm GDNN-GDTX Ninh Phước",
        "kind": "vocational_continuing_centre",
        "unit_code": "22735",
        "pathways": pathways or ["continuing", "vocational", "regular", "online"],
        **extra,
    }
    response = await http.post(
        f"{stack.endpoints.learner}/v1/admin/providers", json=body, headers=stack.admin
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float = 60
) -> T:
    """Poll ``probe`` until ``done`` holds; fail with the last value after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not reached within {within}s; last value: {value!r}")
        await asyncio.sleep(0.25)


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record now on ``topic``, from the beginning (no consumer group)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        end = await consumer.end_offsets(partitions)
        records: list[Any] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=1000)
            for items in batch.values():
                records.extend(items)
        return records
    finally:
        await consumer.stop()


@pytest.fixture
async def mongo(stack: Stack) -> AsyncIterator[AsyncMongoClient[Document]]:
    """A client of the stack's MongoDB-protocol server, to look at what services stored."""
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    yield client
    await client.close()
