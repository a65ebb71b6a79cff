"""``trail import``: a training centre's CSV file into the learner service, in batches.

Safe to re-run after an interruption: every row carries the centre's own reference, so rows
already accepted are answered as replays and nothing is doubled.
"""

from __future__ import annotations

import contextlib
import csv
import io
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from openpyxl import load_workbook
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from cli.csv_records import (
    COLUMN_NAMES,
    RowError,
    is_comment,
    is_template_example,
    row_to_submission,
    safe_cell,
)
from cli.import_reasons import row_reason

CHUNK = 100  # rows a batch
ATTEMPTS = 6  # a batch is sent at most this often: waits of 1, 2, 4, 8, 16 s (or Retry-After)
MAX_WAIT = 30.0
IN_FLIGHT = 3  # batches sent at once
RETRIED = (429, 500, 502, 503, 504)  # a batch is safe to send again: rows carry their reference
DELIMITERS = ",;\t"
# Columns the error file adds to the original ones; an error file fixed in a spreadsheet is
# imported again as it is (these columns are ignored).
ROW_COLUMN = "dong"
REASON_COLUMN = "ly_do"  # why, in Vietnamese (cli/import_reasons.py)
DETAIL_COLUMN = "chi_tiet"  # the service's (or the check's) own words, for whoever helps
ADDED_COLUMNS = (ROW_COLUMN, REASON_COLUMN, DETAIL_COLUMN)
# Rows the service answered "unavailable" (the event log did not confirm them in time) are sent
# again at the end, after each of these pauses (seconds) in turn while some remain.
UNAVAILABLE_PAUSES = (5.0, 10.0, 20.0, 30.0, 30.0)
TEMPLATE_EXAMPLE = "this is the template's example row: delete it and enter your own rows"


class ImportFailed(RuntimeError):
    """The import cannot go on; the message says why and what to do. Raised after rows were
    read, it carries the summary so far and the error file written (the rows not sent too)."""

    error_file: Path | None = None
    summary: Summary | None = None


@dataclass(frozen=True, order=True)
class LeftOut:
    """A row that did not become a record: its line, reference, outcome, the reason in
    Vietnamese and the detail (the service's or the check's own words)."""

    line: int
    ref: str
    status: str
    reason: str
    detail: str = ""


@dataclass
class Summary:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[LeftOut] = field(default_factory=list)
    sent: int = 0  # rows the service answered
    taken: set[int] = field(default_factory=set)  # the lines that went in

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
    unknown = set(columns) - set(COLUMN_NAMES) - {*ADDED_COLUMNS, ""}
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


class NoAnswer(ImportFailed):
    """The learner service did not answer, or stayed busy, through every attempt."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the learner service did not take the rows after {ATTEMPTS} attempts ({what}); "
            "is it running (trail dev status)? Re-run the import later"
        )
        self.what = what


class Waiting:
    """What the clerk is told while a batch waits for a busy or unreachable service."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.note = ""

    def set(self, note: str) -> None:
        with self._lock:
            self.note = note


def _detail(response: httpx.Response) -> str:
    """The problem's detail of an error answer, or its first words if it is not JSON."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


def _send(
    http: httpx.Client,
    method: str,
    url: str,
    key: str,
    body: dict[str, Any] | None = None,
    waiting: Waiting | None = None,
    pause: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """Send, waiting out what passes — a time-out, a lost connection, 429 and 5xx answers —
    with back-off (Retry-After when the service gives one, else 1, 2, 4… s, at most 30 s); any
    other answer is returned. Safe for batches: every row carries its reference."""
    delay = 1.0
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = http.request(method, url, json=body, headers={"X-API-Key": key})
        except httpx.TimeoutException:
            what = "no answer in time"
        except httpx.TransportError as exc:
            what = f"cannot connect ({type(exc).__name__})"
        else:
            if response.status_code not in RETRIED:
                if waiting is not None:
                    waiting.set("")
                return response
            what = f"it answered {response.status_code}"
            with contextlib.suppress(ValueError):  # Retry-After may also be an HTTP date
                delay = float(response.headers.get("Retry-After", delay))
        if attempt == ATTEMPTS:
            raise NoAnswer(what)
        wait_for = min(max(delay, 0.0), MAX_WAIT)
        if waiting is not None:
            waiting.set(f"waiting for the service ({what}), again in {wait_for:g} s")
        pause(wait_for)
        delay = min(max(delay, 1.0) * 2, MAX_WAIT)
    raise AssertionError("unreachable")  # pragma: no cover


def _post_batch(
    http: httpx.Client,
    url: str,
    key: str,
    items: list[dict[str, Any]],
    waiting: Waiting | None = None,
    pause: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    response = _send(http, "POST", url, key, {"records": items}, waiting, pause)
    if response.status_code != 200:
        raise ImportFailed(
            f"the learner service answered {response.status_code}: {_detail(response)}"
        )
    body: dict[str, Any] = response.json()
    return body


class Progress:
    """One progress line for the clerk: rows done of all, how many went in and how many were
    left out, and what the import waits for. On a terminal the line is redrawn in place; into a
    file or a pipe a line is written at each tenth of the file, never one per row."""

    def __init__(self, console: Console, name: str, total: int, waiting: Waiting) -> None:
        self.console, self.total, self.waiting = console, total, waiting
        self.done = self.taken = self.left_out = self.again = 0
        self._tenth = 0
        self._said = ""  # the last note written out (into a file: only when it changes)
        self._last = ""  # the last line written out
        self._bar: RichProgress | None = None
        if console.is_terminal:
            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[outcome]}"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
                refresh_per_second=4,
            )
            self._task = self._bar.add_task(f"Importing {name}", total=total, outcome="")
        else:
            console.print(f"Importing {name}: {total} row(s)", markup=False)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        else:
            self._write()  # where it ended, if the last line said otherwise

    def advance(self, rows: int, taken: int, again: int = 0) -> None:
        """``rows`` answered: ``taken`` went in, ``again`` are to be sent again, the rest were
        left out."""
        self.done += rows
        self.taken += taken
        self.again += again
        self.left_out += rows - taken - again
        self.refresh()
        if self._bar is None and rows:
            tenth = self.done * 10 // max(self.total, 1)
            if tenth > self._tenth or self.done == self.total:
                self._tenth = tenth
                self._write()

    def take_back(self, rows: int) -> None:
        """Rows to send again, being sent: not done yet."""
        self.done -= rows
        self.again -= rows

    def give_up(self, rows: int) -> None:
        """Rows to send again that will not be: left out after all."""
        self.again -= rows
        self.left_out += rows
        self.refresh()

    def outcome(self) -> str:
        again = f", {self.again} to send again" if self.again else ""
        note = f" — {self.waiting.note}" if self.waiting.note else ""
        return f"{self.taken} in, {self.left_out} left out{again}{note}"

    def refresh(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, outcome=self.outcome())
        elif self.waiting.note and self.waiting.note != self._said:
            self._said = self.waiting.note  # what the import waits for, once each time
            self._write()

    def _write(self) -> None:
        line = f"{self.done}/{self.total} rows: {self.outcome()}"
        if line != self._last:
            self._last = line
            self.console.print(line, markup=False)


def _check_key(http: httpx.Client, learner_url: str, provider_id: str, api_key: str) -> None:
    """The key belongs to the training centre the clerk named."""
    try:
        me = _send(http, "GET", f"{learner_url}/v1/provider", api_key)
    except NoAnswer as exc:
        raise ImportFailed(
            f"the learner service at {learner_url} cannot be reached ({exc.what}, {ATTEMPTS} "
            "attempts); is it running (trail dev status), and is LT_LEARNER_URL right?"
        ) from exc
    if me.status_code != 200:
        raise ImportFailed(f"the API key was refused ({me.status_code}): {_detail(me)}")
    if me.json()["id"] != provider_id:
        raise ImportFailed(
            f"the API key belongs to training centre {me.json()['id']} "
            f"({me.json()['name']}), not {provider_id}"
        )


Pending = list[tuple[int, str, dict[str, Any]]]  # line, reference, submission


def import_csv(
    path: Path,
    provider_id: str,
    api_key: str,
    learner_url: str,
    console: Console,
    *,
    timeout: float = 120,
    pause: Callable[[float], None] = time.sleep,
) -> tuple[Summary, Path | None]:
    """Import ``path``; returns the summary and the error file written (if any row failed)."""
    with httpx.Client(timeout=timeout) as http:
        _check_key(http, learner_url, provider_id, api_key)
        table = read_table(path)
        summary = Summary()
        pending: Pending = []
        for line, row in table.rows:
            ref = row.get("provider_record_ref", "")
            try:
                if is_template_example(row):
                    raise RowError(("provider_record_ref", TEMPLATE_EXAMPLE))
                pending.append((line, ref, row_to_submission(row)))
            except RowError as exc:
                summary.counts["invalid"] += 1
                summary.errors.append(
                    LeftOut(line, ref, "invalid", row_reason("invalid", exc.errors), str(exc))
                )
        waiting = Waiting()
        with Progress(console, path.name, len(table.rows), waiting) as progress:
            progress.advance(len(table.rows) - len(pending), 0)
            try:
                again = _send_all(http, learner_url, api_key, pending, summary, progress, pause)
                for wait_for in UNAVAILABLE_PAUSES:
                    if not again:
                        break
                    # the event log did not confirm these rows: wait, then send them again
                    busy = f"{len(again)} row(s) again in {wait_for:g} s (the service was busy)"
                    waiting.set(busy)
                    progress.refresh()
                    pause(wait_for)
                    waiting.set("")
                    lines = {line for line, _, _ in again}
                    summary.errors = [e for e in summary.errors if e.line not in lines]
                    summary.counts["unavailable"] -= len(again)
                    summary.sent -= len(again)
                    progress.take_back(len(again))
                    again = _send_all(
                        http, learner_url, api_key, again, summary, progress, pause, resent=True
                    )
                progress.give_up(len(again))  # still not confirmed: in the error file
            except ImportFailed as exc:
                answered = {e.line for e in summary.errors} | summary.taken
                for line, ref, _ in pending:
                    if line not in answered:
                        summary.errors.append(
                            LeftOut(line, ref, "not_sent", row_reason("not_sent"), str(exc))
                        )
                exc.error_file = write_errors(path, table, summary)
                exc.summary = summary
                raise
    return summary, write_errors(path, table, summary)


def _send_all(
    http: httpx.Client,
    learner_url: str,
    api_key: str,
    pending: Pending,
    summary: Summary,
    progress: Progress,
    pause: Callable[[float], None],
    resent: bool = False,
) -> Pending:
    """Send ``pending`` in batches, a few at once, counting each batch as soon as it is
    answered; returns the rows the service answered "unavailable" (safe to send again).
    ``resent``: rows this import sent before, so a replay is still a new record."""
    url = f"{learner_url}/v1/records:batch"
    chunks = iter([pending[i : i + CHUNK] for i in range(0, len(pending), CHUNK)])
    unavailable: Pending = []
    # several batches in flight: the service answers a batch in a constant number of database
    # round trips, so a second and third batch overlap the first's waits
    with ThreadPoolExecutor(max_workers=IN_FLIGHT) as pool:
        running: dict[Future[dict[str, Any]], Pending] = {}

        def send_next() -> None:
            chunk = next(chunks, None)
            if chunk is not None:
                items = [c[2] for c in chunk]
                sent = pool.submit(_post_batch, http, url, api_key, items, progress.waiting, pause)
                running[sent] = chunk

        for _ in range(IN_FLIGHT):
            send_next()
        try:
            while running:
                finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                progress.refresh()  # the note changes while a batch waits for the service
                for future in finished:
                    chunk = running.pop(future)
                    before = len(unavailable)
                    taken = _count(chunk, future.result(), summary, unavailable, resent)
                    summary.sent += len(chunk)
                    progress.advance(len(chunk), taken, len(unavailable) - before)
                    send_next()
        except ImportFailed:
            pool.shutdown(cancel_futures=True)  # what was sent is safe to send again
            raise
    return unavailable


def _count(
    chunk: Pending,
    result: dict[str, Any],
    summary: Summary,
    unavailable: Pending,
    resent: bool = False,
) -> int:
    """Count a batch's answers into the summary; returns how many of its rows went in."""
    taken = 0
    for (line, ref, body), item in zip(chunk, result["results"], strict=True):
        status = item["status"]
        if status == "accepted" and item["replayed"] and not resent:
            status = "already_imported"
        summary.counts[status] += 1
        if status in ("accepted", "already_imported"):
            taken += 1
            summary.taken.add(line)
            continue
        if status == "unavailable":
            unavailable.append((line, ref, body))
        reason = row_reason(status, item.get("errors") or ())
        summary.errors.append(LeftOut(line, ref, status, reason, item.get("detail") or ""))
    return taken


def write_errors(path: Path, table: CsvTable, summary: Summary) -> Path | None:
    """``FILE.errors.csv``: the rows that did not become records, as they were (same columns,
    same separator), with their line number, the reason in Vietnamese and the detail added —
    fixed in a spreadsheet, it is imported again as it is. None when every row went in."""
    if not summary.errors:
        return None
    error_file = path.with_name(path.stem + ".errors.csv")
    original = dict(table.rows)
    columns = [c for c in table.columns if c not in ADDED_COLUMNS]
    with error_file.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=table.delimiter)
        # every cell through safe_cell: the file is opened in a spreadsheet
        writer.writerow([safe_cell(cell) for cell in [*columns, *ADDED_COLUMNS]])
        for left in sorted(summary.errors):
            cells = [original.get(left.line, {}).get(c, "") for c in columns]
            added = [left.line, left.reason, left.detail]
            writer.writerow([safe_cell(cell) for cell in [*cells, *added]])
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
        console.print("Rows that need attention, with the reason (fix them there, import again):")
        print(error_file)  # whole, on a line of its own
