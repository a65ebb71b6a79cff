"""`trail import` while Kafka is down: the learner service answers 503 (or "unavailable" for
rows the event log did not confirm); the import waits with back-off and sends again, and when
Kafka is back every row is in — once — with nothing left in the error file."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from pathlib import Path

import httpx
from rich.console import Console

from cli import localstack
from cli.csv_records import COLUMN_NAMES
from cli.importer import import_csv
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.faults.conftest import Ledger

ROWS = 300


async def test_an_import_waits_out_a_kafka_outage_and_every_row_goes_in_once(
    stack: Stack, http: httpx.AsyncClient, ledger: Ledger, tmp_path: Path
) -> None:
    centre = await new_provider(http, stack)
    nid, tag = national_id(), uuid.uuid4().hex[:6]
    source = tmp_path / "hoso.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMN_NAMES)
        for n in range(ROWS):
            cells = {
                "provider_record_ref": f"{tag}-{n}",
                "national_id": nid,
                "full_name": "Nguyễn Thị Hương",  # as tests.conftest.submission names her
                "birth_date": "14/05/1990",
                "pathway": "nghe",
                "kind": "course",
                "title": f"Khóa {n}",
                "hours": "8",
                "result_status": "completed",
                "completed_on": "10/10/2025",
            }
            writer.writerow([cells.get(c, "") for c in COLUMN_NAMES])

    kafka = localstack.component("kafka")
    await asyncio.to_thread(localstack.stop, kafka)  # down before the first batch
    shown = io.StringIO()
    started = time.monotonic()
    importing = asyncio.create_task(
        asyncio.to_thread(
            import_csv,
            source,
            centre["provider"]["id"],
            centre["api_key"],
            stack.endpoints.learner,
            Console(file=shown, width=120),
        )
    )
    await asyncio.sleep(10)
    await asyncio.to_thread(localstack.start, kafka)
    summary, errors = await importing
    seconds = round(time.monotonic() - started, 1)

    assert summary.counts["accepted"] == ROWS, (seconds, dict(summary.counts), shown.getvalue())
    assert errors is None
    # the clerk was told what the import waited for, and not row by row
    said = shown.getvalue().splitlines()
    assert any("waiting for the service" in line or "to send again" in line for line in said)
    assert len(said) < 40, said

    # every row once on the learner's trail (a row sent twice is one record: same reference)
    probe = await http.post(
        f"{stack.endpoints.learner}/v1/records",
        json=submission(nid, f"{tag}-probe"),
        headers={"X-API-Key": centre["api_key"]},
    )
    assert probe.status_code in (201, 202), probe.text
    learner_id = probe.json()["learner_id"]

    async def entries() -> int:
        found = await http.get(
            f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail", headers=stack.admin
        )
        return int(found.json().get("entry_count", 0)) if found.status_code == 200 else 0

    assert await eventually(entries, lambda n: n >= ROWS + 1, within=120) == ROWS + 1
    ledger.record(
        fault="Kafka stopped 10 s while a 300-row CSV import ran",
        rows=ROWS,
        accepted=summary.counts["accepted"],
        seconds=seconds,
    )
