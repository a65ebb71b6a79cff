"""``trail import``: a training centre's CSV file into the learner service, in batches.

Safe to re-run after an interruption: every row carries the centre's own reference, so rows
already accepted are answered as replays and nothing is doubled.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from openpyxl import load_workbook
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from cli.csv_records import (
    COLUMN_NAMES,
    RowError,
    is_comment,
    is_template_example,
    row_to_submission,
    safe_cell,
)

CHUNK = 100  # rows a batch: the progress bar moves every 100 rows
ATTEMPTS = 6
IN_FLIGHT = 3  # batches sent at once
RETRIED = (429, 500, 502, 503, 504)  # a batch is safe to send again: rows carry their reference
DELIMITERS = ",;\t"
# Columns the error file adds to the original ones; an error file fixed in a spreadsheet is
# imported again as it is (these columns are ignored).
ROW_COLUMN = "dong"
REASON_COLUMN = "ly_do"
# What a clerk reads in the error file's reason column, by the row's outcome.
OUTCOME_VI = {
    "invalid": "Không hợp lệ",
    "conflict": "Mã hồ sơ đã dùng cho nội dung khác (hãy gửi đính chính, không nhập lại)",
    "held_for_review": "Chờ Sở xem xét (họ tên hoặc ngày sinh không khớp số định danh)",
    "unavailable": "Chưa nhận được, hãy nhập lại tệp này",
    "rejected": "Bị từ chối",
    "not_sent": "Chưa gửi (việc nhập bị dừng), hãy nhập lại tệp này",
}


class ImportFailed(RuntimeError):
    """The import cannot go on; the message says why and what to do. Raised after rows were
    read, it carries the summary so far and the error file written (the rows not sent too)."""

    error_file: Path | None = None
    summary: Summary | None = None


@dataclass
class Summary:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, ref, status, why
    sent: int = 0  # rows the service answered

    @property
    def rejected(self) -> int:
        """Rows that did not become records (and are in the error file)."""
        return len(self.errors)


@dataclass
class CsvTable:
    """A CSV file as read: its delimiter, its columns and its data rows by line number."""

    delimiter: str
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]


def _xlsx_as_csv(path: Path) -> str:
    """The first sheet of an Excel workbook as CSV text (dates as dd/mm/yyyy, numbers as
    written), so it is read like any other file."""
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ImportFailed(f"{path.name} cannot be read as an Excel workbook ({exc})") from exc
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # in memory only, read back at once: nothing is written out
    sheet = book.worksheets[0]
    for values in sheet.iter_rows(values_only=True):
        cells = []
        for value in values:
            if isinstance(value, datetime):
                value = value.date()
            if isinstance(value, date):
                cells.append(value.strftime("%d/%m/%Y"))
            elif isinstance(value, float) and value.is_integer():
                cells.append(str(int(value)))
            else:
                cells.append("" if value is None else str(value))
        writer.writerow(cells)
    book.close()
    return buffer.getvalue()


def read_table(path: Path) -> CsvTable:
    """The rows of a CSV file as Excel writes it: UTF-8 with or without a BOM, or UTF-16 with
    a BOM ("Unicode text"); comma, semicolon (Vietnamese regional settings) or tab — or of an
    Excel workbook (``.xlsx``, its first sheet)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _rows(_xlsx_as_csv(path), ",")
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                f"{path.name} is not UTF-8 or UTF-16 text (byte {exc.start}); in Excel save it "
                "as 'CSV UTF-8' or 'Unicode Text'"
            ) from exc
    header = text.split("\n", 1)[0]
    return _rows(text, max(DELIMITERS, key=header.count))


def _rows(text: str, delimiter: str) -> CsvTable:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = [c.strip() for c in reader.fieldnames or ()]
    unknown = set(columns) - set(COLUMN_NAMES) - {ROW_COLUMN, REASON_COLUMN, ""}
    if unknown:
        raise ImportFailed(
            f"unknown column(s) {sorted(unknown)}; the first row must name the template's "
            f"columns, separated by commas, semicolons or tabs (see: trail import --template)"
        )
    rows = []
    for row in reader:
        cells = {(k or "").strip(): v or "" for k, v in row.items() if k}
        if not is_comment(cells) and any(v.strip() for v in cells.values()):
            rows.append((reader.line_num, cells))
    return CsvTable(delimiter, columns, rows)


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
            if response.status_code not in RETRIED or attempt == ATTEMPTS:
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
        try:
            me = http.get(f"{learner_url}/v1/provider", headers={"X-API-Key": api_key})
        except httpx.TransportError as exc:
            raise ImportFailed(
                f"the learner service at {learner_url} cannot be reached ({type(exc).__name__}); "
                "is it running (trail dev status), and is LT_LEARNER_URL right?"
            ) from exc
        if me.status_code != 200:
            raise ImportFailed(
                f"the API key was refused ({me.status_code}): {me.json().get('detail')}"
            )
        if me.json()["id"] != provider_id:
            raise ImportFailed(
                f"the API key belongs to training centre {me.json()['id']} "
                f"({me.json()['name']}), not {provider_id}"
            )
        table = read_table(path)
        rows = table.rows
        summary = Summary()
        pending: list[tuple[int, str, dict[str, Any]]] = []
        for line, row in rows:
            try:
                if is_template_example(row):
                    raise RowError(
                        "this is the template's example row: delete it and enter your own rows"
                    )
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
                done = 0
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
                        summary.sent += len(chunk)
                        done += 1
                        progress.advance(task, len(chunk))
                except ImportFailed as exc:
                    pool.shutdown(cancel_futures=True)  # what was sent is safe to send again
                    for chunk in chunks[done:]:
                        for line, ref, _ in chunk:
                            summary.errors.append((line, ref, "not_sent", str(exc)))
                    exc.error_file = write_errors(path, table, summary)
                    exc.summary = summary
                    raise

    return summary, write_errors(path, table, summary)


def write_errors(path: Path, table: CsvTable, summary: Summary) -> Path | None:
    """``FILE.errors.csv``: the rows that did not become records, as they were (same columns,
    same separator), with their line number and the reason in Vietnamese added — fixed in a
    spreadsheet, it is imported again as it is. None when every row went in."""
    if not summary.errors:
        return None
    error_file = path.with_name(path.stem + ".errors.csv")
    original = dict(table.rows)
    columns = [c for c in table.columns if c not in (ROW_COLUMN, REASON_COLUMN)]
    with error_file.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=table.delimiter)
        # every cell through safe_cell: the file is opened in a spreadsheet
        writer.writerow([safe_cell(cell) for cell in [*columns, ROW_COLUMN, REASON_COLUMN]])
        for line, _, status, why in sorted(summary.errors):
            reason = f"{OUTCOME_VI.get(status, status)}: {why}" if why else OUTCOME_VI[status]
            cells = [original.get(line, {}).get(c, "") for c in columns]
            writer.writerow([safe_cell(cell) for cell in [*cells, line, reason]])
    return error_file


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
