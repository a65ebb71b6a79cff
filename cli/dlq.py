"""``trail dlq list|show|replay``: look into a consumer group's dead-letter topic and send
chosen messages back to where they came from, once they can be processed.

A replay re-publishes the message to its original topic with its original key and headers
(the ``dlq_*`` ones removed, ``dlq_replayed_from`` added), then appends a marker to the
dead-letter topic, so a message is replayed once unless ``--force`` says otherwise. Consumers
are idempotent, so even a forced second replay changes nothing downstream.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.catalogue import dead_letter_topic

REPLAY_MARKER = "dlq_replay_of"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message, where it is in the dead-letter topic and why it is there."""

    position: str  # "partition:offset" in the dead-letter topic
    key: bytes | None
    value: bytes
    headers: dict[str, str]
    replayed: bool = False

    @property
    def reason(self) -> str:
        return self.headers.get("dlq_reason", "")

    @property
    def origin(self) -> str:
        h = self.headers
        topic, partition = h.get("dlq_original_topic"), h.get("dlq_original_partition")
        return f"{topic}[{partition}]@{h.get('dlq_original_offset')}"


async def read_dead_letters(bootstrap: str, group: str) -> list[DeadLetter]:
    """Every message now in ``group``'s dead-letter topic, marking those already replayed."""
    topic = dead_letter_topic(group)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:  # stopped even when it cannot start (no 'Unclosed' warning)
        await consumer.start()
        # without a group, partitions are assigned once metadata arrives
        while not consumer.assignment():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        partitions = sorted(consumer.assignment())
        end = await consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        replayed: set[str] = set()
        while [p for p in partitions if await consumer.position(p) < end[p]]:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for r in records:
                    if r.offset >= end[tp]:
                        continue
                    headers = {k: v.decode("utf-8", "replace") for k, v in r.headers}
                    if REPLAY_MARKER in headers:
                        replayed.add(headers[REPLAY_MARKER])
                    else:
                        letters.append(
                            DeadLetter(f"{r.partition}:{r.offset}", r.key, r.value or b"", headers)
                        )
        return [
            DeadLetter(d.position, d.key, d.value, d.headers, d.position in replayed)
            for d in sorted(letters, key=lambda d: tuple(map(int, d.position.split(":"))))
        ]
    finally:
        await consumer.stop()


async def replay(
    bootstrap: str, group: str, positions: list[str], force: bool = False
) -> dict[str, str]:
    """Send the chosen dead letters back to their original topics; what happened to each."""
    letters = {d.position: d for d in await read_dead_letters(bootstrap, group)}
    outcome: dict[str, str] = {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    try:  # stopped even when it cannot start (no 'Unclosed' warning)
        await producer.start()
        for position in positions:
            letter = letters.get(position)
            if letter is None:
                outcome[position] = "not found"
                continue
            if letter.replayed and not force:
                outcome[position] = "already replayed (use --force to send it again)"
                continue
            original = letter.headers.get("dlq_original_topic")
            if not original:
                outcome[position] = "no original topic in its headers"
                continue
            headers: list[tuple[str, bytes]] = [
                (k, v.encode()) for k, v in letter.headers.items() if not k.startswith("dlq_")
            ]
            headers.append(("dlq_replayed_from", f"{dead_letter_topic(group)}/{position}".encode()))
            await producer.send_and_wait(original, letter.value, key=letter.key, headers=headers)
            partition = int(position.split(":")[0])
            await producer.send_and_wait(
                dead_letter_topic(group),
                b"",
                key=letter.key,
                partition=partition,
                headers=[(REPLAY_MARKER, position.encode())],
            )
            outcome[position] = f"replayed to {original}"
    finally:
        await producer.stop()
    return outcome


def describe(letter: DeadLetter) -> dict[str, Any]:
    """What ``trail dlq show`` prints."""
    try:
        value: Any = letter.value.decode("utf-8")
    except UnicodeDecodeError:
        value = f"<{len(letter.value)} bytes, not UTF-8>"
    return {
        "position": letter.position,
        "key": letter.key.decode("utf-8", "replace") if letter.key else None,
        "replayed": letter.replayed,
        "headers": letter.headers,
        "value": value,
    }
