"""A service process settles its garbage collector before serving (no I/O; a child process,
since the collector's settings belong to the whole process)."""

from __future__ import annotations

import subprocess
import sys

from services.common.runtime import YOUNG_GENERATION_THRESHOLD


def test_start_up_objects_are_frozen_and_young_objects_looked_at_less_often() -> None:
    probe = (
        "import gc\n"
        "from services.common.runtime import settle_garbage_collector\n"
        "before = gc.get_freeze_count()\n"
        "settle_garbage_collector()\n"
        "print(before, gc.get_freeze_count(), *gc.get_threshold())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    before, frozen, young, middle, old = map(int, out)
    assert before == 0
    # the modules, classes and models imported so far: tens of thousands of objects
    assert frozen > 10_000
    assert (young, middle, old) == (YOUNG_GENERATION_THRESHOLD, 10, 10)
