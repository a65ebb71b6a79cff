"""Reading a topic's whole history, for replays (``trail rebuild …``), and what a replay reports."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from pydantic import BaseModel

from contracts.catalogue import data_types_on
from contracts.envelope import ContractError, Envelope, from_kafka


@dataclass
class RebuildReport:
    """What a replay read, wrote and found different from the live projection."""

    events: int = 0
    skipped: int = 0  # records that are not valid events (they went to the dead-letter topic)
    collections: dict[str, int] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)


async def read_history(bootstrap: str, topics: Sequence[str]) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record now on ``topics``: each partition in order, partitions interleaved by time."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:  # stopped even when it cannot start (no 'Unclosed' warning)
        await consumer.start()
        # without a group, partitions are assigned once metadata arrives
        while not consumer.assignment():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        end = await consumer.end_offsets(partitions)
        per_partition: dict[Any, list[ConsumerRecord[bytes, bytes]]] = {p: [] for p in partitions}
        while [p for p in partitions if await consumer.position(p) < end[p]]:
            for tp, items in (await consumer.getmany(timeout_ms=1000, max_records=5000)).items():
                per_partition[tp].extend(r for r in items if r.offset < end[tp])
        return list(heapq.merge(*per_partition.values(), key=lambda r: r.timestamp))
    finally:
        await consumer.stop()


async def read_events(
    bootstrap: str, topics: Sequence[str], report: RebuildReport
) -> list[Envelope[BaseModel]]:
    """Every event now on ``topics`` (as :func:`read_history` orders them), decoded against the
    contracts; ``report`` counts them, and the records that are not valid events."""
    data_types = {t: m for topic in topics for t, m in data_types_on(topic).items()}
    events: list[Envelope[BaseModel]] = []
    for record in await read_history(bootstrap, topics):
        try:
            events.append(from_kafka(list(record.headers), record.value, data_types))
        except ContractError:
            report.skipped += 1
    report.events = len(events)
    return events
