"""Reading a topic's whole history, for replays (``trail rebuild …``)."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord


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
