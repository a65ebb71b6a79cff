"""``trail import``: a training centre's CSV file into the learner service, in batches.

Safe to re-run after an interruption: every row carries the centre's own reference, so rows
already accepted are answered as replays and nothing is doubled.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cli.csv_records import COLUMN_NAMES, RowError, is_comment, row_to_submission, safe_cell

CHUNK = 500
ATTEMPTS = 6
IN_FLIGHT = 3  # batches sent at once


class ImportFailed(RuntimeError):
    """The import cannot go on; the message says why and what to do."""


@dataclass
class Summary:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, ref, status, why


def _post_batch(
    http: httpx.Client, url: str, key: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    delay = 1.0
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = http.post(url, json={"records": items}, headers={"X-API-Key": key})
        except httpx.TransportError as exc:
            if attempt == ATTEMPTS:
                raise ImportFailed(
                    f"the learner service is unreachable ({exc}); re-run later"
                ) from exc
        else:
            if response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            if response.status_code not in (429, 502, 503, 504) or attempt == ATTEMPTS:
                detail = response.json().get("detail", response.text) if response.content else ""
                raise ImportFailed(f"the learner service answered {response.status_code}: {detail}")
            delay = float(response.headers.get("Retry-After", delay))
        time.sleep(delay)
        delay = min(delay * 2, 30)
    raise ImportFailed("unreachable")  # pragma: no cover


def import_csv(
    path: Path, provider_id: str, api_key: str, learner_url: str, console: Console
) -> tuple[Summary, Path | None]:
    """Import ``path``; returns the summary and the error file written (if any row failed)."""
    with httpx.Client(timeout=120) as http:
        me = http.get(f"{learner_url}/v1/provider", headers={"X-API-Key": api_key})
        if me.status_code != 200:
            raise ImportFailed(
                f"the API key was refused ({me.status_code}): {me.json().get('detail')}"
            )
        if me.json()["id"] != provider_id:
            raise ImportFailed(
                f"the API key belongs to training centre {me.json()['id']} "
                f"({me.json()['name']}), not {provider_id}"
            )
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            unknown = set(reader.fieldnames or ()) - set(COLUMN_NAMES)
            if unknown:
                raise ImportFailed(
                    f"unknown column(s) {sorted(unknown)}; see: trail import --template"
                )
            rows = [(reader.line_num, row) for row in reader if not is_comment(row)]

        summary = Summary()
        pending: list[tuple[int, str, dict[str, Any]]] = []
        for line, row in rows:
            try:
                pending.append((line, row.get("provider_record_ref", ""), row_to_submission(row)))
            except RowError as exc:
                summary.counts["invalid"] += 1
                summary.errors.append(
                    (line, row.get("provider_record_ref", ""), "invalid", str(exc))
                )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(f"Importing {path.name}", total=len(rows))
            progress.advance(task, len(rows) - len(pending))
            url = f"{learner_url}/v1/records:batch"
            chunks = [pending[i : i + CHUNK] for i in range(0, len(pending), CHUNK)]
            # several batches in flight: the service answers a batch in a constant number of
            # database round trips, so a second and third batch overlap the first's waits
            with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
                answers = [
                    pool.submit(_post_batch, http, url, api_key, [c[2] for c in chunk])
                    for chunk in chunks
                ]
                try:
                    for chunk, answer in zip(chunks, answers, strict=True):
                        result = answer.result()
                        for (line, ref, _), item in zip(chunk, result["results"], strict=True):
                            status = item["status"]
                            if status == "accepted" and item["replayed"]:
                                status = "already_imported"
                            summary.counts[status] += 1
                            if status not in ("accepted", "already_imported"):
                                summary.errors.append((line, ref, status, item.get("detail") or ""))
                        progress.advance(task, len(chunk))
                except ImportFailed:
                    pool.shutdown(cancel_futures=True)  # what was sent is safe to send again
                    raise

    error_file = None
    if summary.errors:
        error_file = path.with_name(path.stem + ".errors.csv")
        with error_file.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            # every cell through safe_cell: the file is opened in a spreadsheet
            writer.writerow(["row", "provider_record_ref", "status", "reason"])
            for line, ref, status, why in sorted(summary.errors):
                writer.writerow([safe_cell(cell) for cell in (line, ref, status, why)])
    return summary, error_file


def print_summary(console: Console, summary: Summary, error_file: Path | None) -> None:
    table = Table("result", "rows", title="Import summary")
    labels = {
        "accepted": "accepted (new)",
        "already_imported": "already imported (unchanged)",
        "held_for_review": "held for the department's review",
        "invalid": "rejected: invalid",
        "conflict": "rejected: reference used for other content",
        "unavailable": "not accepted: retry",
    }
    for status, label in labels.items():
        if summary.counts[status]:
            table.add_row(label, str(summary.counts[status]))
    console.print(table)
    if error_file:
        console.print(f"Rows that need attention, with the reason: [bold]{error_file}[/]")
