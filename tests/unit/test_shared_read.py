"""Gauges refreshed together share one read of their source (no I/O)."""

from __future__ import annotations

import asyncio

from services.common.runtime import SharedRead


async def test_callers_within_the_window_share_one_read_and_a_later_caller_reads_again() -> None:
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.05)
        return reads

    shared = SharedRead(read, fresh_for=0.2)
    assert await asyncio.gather(shared(), shared(), shared()) == [1, 1, 1]
    assert await shared() == 1  # done, still fresh
    await asyncio.sleep(0.25)
    assert await shared() == 2
    assert reads == 2


async def test_a_caller_that_gives_up_leaves_the_read_to_the_others() -> None:
    async def read() -> str:
        await asyncio.sleep(0.1)
        return "backlog"

    shared = SharedRead(read, fresh_for=1.0)
    impatient = asyncio.ensure_future(shared())
    patient = asyncio.ensure_future(shared())
    await asyncio.sleep(0.01)
    impatient.cancel()
    assert await patient == "backlog"
