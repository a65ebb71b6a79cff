"""`trail import` against a real HTTP server on this machine that misbehaves as a busy learner
service does — 503 with Retry-After, 500, an answer that never comes, a batch whose rows the
event log did not confirm — and the clerk's view of it: every row in once, a progress line that
moves without flooding, and the reasons of the error file in Vietnamese."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from cli.csv_records import COLUMN_NAMES
from cli.import_reasons import field_reason, row_reason
from cli.importer import ImportFailed, import_csv

PROVIDER = "3f6d2a9e-1b7c-4e58-a0d4-6c9b8e2f1a37"
Script = Callable[[int, list[dict[str, Any]]], tuple[int, dict[str, str], Any] | None]


class Service:
    """A learner service stand-in on a real socket: ``/v1/provider`` names the centre, and each
    ``/v1/records:batch`` call is answered by ``script`` (status, headers, body), or hangs past
    the client's time-out when the script says None."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[list[dict[str, Any]]] = []
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def _answer(self, status: int, headers: dict[str, str], body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer(200, {}, {"id": PROVIDER, "name": "Trung tâm GDNN-GDTX Ninh Phước"})

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                records = json.loads(self.rfile.read(length))["records"]
                with service.lock:
                    service.calls.append(records)
                    number = len(service.calls)
                answer = service.script(number, records)
                if answer is None:
                    time.sleep(1.5)  # longer than the client waits
                    return
                self._answer(*answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], Service]]:
    started: list[Service] = []

    def start(script: Script) -> Service:
        started.append(Service(script))
        return started[-1]

    yield start
    for service in started:
        service.close()


def accepted(records: list[dict[str, Any]], status: str = "accepted") -> tuple[int, dict, Any]:
    results = [
        {
            "index": i,
            "provider_record_ref": r["provider_record_ref"],
            "status": status,
            "replayed": False,
        }
        for i, r in enumerate(records)
    ]
    return (
        200,
        {},
        {"accepted": len(records), "held_for_review": 0, "failed": 0, "results": results},
    )


def write_rows(path: Path, count: int) -> None:
    rows = []
    for n in range(count):
        cells = {
            "provider_record_ref": f"R-{n:05d}",
            "national_id": f"{58190000000 + n:012d}",
            "full_name": "Lê Thị Mai",
            "birth_date": "02/09/1985",
            "pathway": "nghe",
            "kind": "course",
            "title": "Kỹ thuật chăn nuôi",
            "result_status": "passed",
            "completed_on": "10/10/2025",
        }
        rows.append([cells.get(c, "") for c in COLUMN_NAMES])
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([list(COLUMN_NAMES), *rows])


def run(service: Service, path: Path, waits: list[float]) -> tuple[Any, Path | None, str]:
    out = io.StringIO()
    console = Console(file=out, width=120)  # a file, not a terminal: progress as lines
    summary, errors = import_csv(
        path, PROVIDER, "ltk_test", service.url, console, timeout=0.5, pause=waits.append
    )
    return summary, errors, out.getvalue()


def test_503_500_and_a_time_out_are_waited_out_and_every_row_goes_in_once(
    serve: Callable[[Script], Service], tmp_path: Path
) -> None:
    def script(number: int, records: list[dict[str, Any]]) -> Any:
        if number == 1:
            return 503, {"Retry-After": "3"}, {"title": "Service unavailable"}
        if number == 2:
            return 500, {}, {"title": "Internal Server Error"}
        if number == 3:
            return None  # no answer within the client's time-out
        return accepted(records)

    service = serve(script)
    source = tmp_path / "hoso.csv"
    write_rows(source, 1)
    summary, errors, shown = run(service, source, waits := [])
    assert summary.counts["accepted"] == 1 and errors is None
    assert len(service.calls) == 4  # the same batch, sent until it was taken
    assert waits[:3] == [3.0, 6.0, 12.0]  # Retry-After, then doubled back-off
    assert "1/1 rows: 1 in, 0 left out" in shown
    assert "Traceback" not in shown


def test_a_service_that_stays_down_stops_the_import_with_every_row_in_the_error_file(
    serve: Callable[[Script], Service], tmp_path: Path
) -> None:
    service = serve(lambda number, records: (503, {"Retry-After": "1"}, {"title": "Busy"}))
    source = tmp_path / "hoso.csv"
    write_rows(source, 250)
    with pytest.raises(ImportFailed, match="after 6 attempts") as failed:
        run(service, source, [])
    assert failed.value.error_file is not None
    left = list(csv.DictReader(failed.value.error_file.open(encoding="utf-8-sig")))
    assert len(left) == 250
    assert {r["ly_do"] for r in left} == {"Chưa gửi (việc nhập bị dừng), hãy nhập lại tệp này"}


def test_rows_the_event_log_did_not_confirm_are_sent_again(
    serve: Callable[[Script], Service], tmp_path: Path
) -> None:
    def script(number: int, records: list[dict[str, Any]]) -> Any:
        return accepted(records, "unavailable" if number == 1 else "accepted")

    service = serve(script)
    source = tmp_path / "hoso.csv"
    write_rows(source, 3)
    summary, errors, _ = run(service, source, waits := [])
    assert (summary.counts["accepted"], summary.counts["unavailable"]) == (3, 0)
    assert errors is None and len(service.calls) == 2 and waits == [5.0]


def test_rows_never_confirmed_end_in_the_error_file_after_the_last_wait(
    serve: Callable[[Script], Service], tmp_path: Path
) -> None:
    service = serve(lambda number, records: accepted(records, "unavailable"))
    source = tmp_path / "hoso.csv"
    write_rows(source, 3)
    summary, errors, shown = run(service, source, waits := [])
    assert summary.counts["unavailable"] == 3 and summary.counts["accepted"] == 0
    assert waits == [5.0, 10.0, 20.0, 30.0, 30.0] and len(service.calls) == 6
    assert errors is not None
    left = list(csv.DictReader(errors.open(encoding="utf-8-sig")))
    assert [r["ly_do"] for r in left] == [
        "Hệ thống chưa ghi nhận dòng này, hãy nhập lại tệp này"
    ] * 3
    assert shown.splitlines()[-1] == "3/3 rows: 0 in, 3 left out"


def test_a_large_file_shows_a_few_progress_lines_not_one_per_row(
    serve: Callable[[Script], Service], tmp_path: Path
) -> None:
    service = serve(lambda number, records: accepted(records))
    source = tmp_path / "hoso.csv"
    write_rows(source, 2_000)
    summary, _, shown = run(service, source, [])
    assert summary.counts["accepted"] == 2_000
    lines = re.findall(r"^(\d+)/2000 rows: \d+ in, 0 left out$", shown, re.MULTILINE)
    assert 5 <= len(lines) <= 11 and lines[-1] == "2000"
    assert [int(n) for n in lines] == sorted(int(n) for n in lines)


def test_every_reason_of_the_error_file_is_vietnamese(
    serve: Callable[[Script], Service], tmp_path: Path
) -> None:
    """The service's English problems — a pattern, a rule of the domain, the text policy, and
    outcomes — become Vietnamese; their words stay in the detail column."""
    problems = [
        ("learner.national_id", "String should match pattern '^[0-9]{12}$'"),
        ("record.completed_on", "cannot be before the learner's birth"),
        ("record.pathway", "this training centre may not record the 'online' pathway"),
        (
            "learner.full_name",
            "character 2 'е' (U+0435 CYRILLIC SMALL LETTER IE) is not a letter "
            "of the Vietnamese alphabet; retype it with a Vietnamese keyboard",
        ),
        ("record.result.status", "Input should be 'passed', 'completed' or 'failed'"),
        ("record.something_new", "a rule this catalogue does not know"),
    ]

    def script(number: int, records: list[dict[str, Any]]) -> Any:
        status, headers, body = accepted(records)
        for item, (field, message) in zip(body["results"], problems, strict=False):
            item.update(status="invalid", errors=[{"field": field, "message": message}])
            item["detail"] = f"{field}: {message}"
        body["results"][len(problems)].update(status="conflict", detail="used before")
        body["results"][len(problems) + 1].update(status="held_for_review", detail="held")
        return status, headers, body

    service = serve(script)
    source = tmp_path / "hoso.csv"
    write_rows(source, len(problems) + 2)
    _, errors, _ = run(service, source, [])
    assert errors is not None
    left = list(csv.DictReader(errors.open(encoding="utf-8-sig")))
    reasons = [r["ly_do"] for r in left]
    assert reasons[0] == (
        "Không hợp lệ: cột national_id không hợp lệ (cần: Số định danh cá nhân (CCCD) 12 chữ số)"
    )
    assert (
        reasons[1] == "Không hợp lệ: cột completed_on: ngày hoàn thành không được trước ngày sinh"
    )
    assert "đề nghị Sở bổ sung" in reasons[2]
    assert reasons[3].startswith("Không hợp lệ: cột full_name (ký tự thứ 2): ")
    assert reasons[4].startswith("Không hợp lệ: cột result_status không hợp lệ (cần: Kết quả")
    assert reasons[5] == "Không hợp lệ: record.something_new không hợp lệ"
    assert reasons[6].startswith("Mã hồ sơ đã dùng") and reasons[7].startswith("Chờ Sở xem xét")
    assert [r["chi_tiet"] for r in left[:2]] == [f"{f}: {m}" for f, m in problems[:2]]
    for reason in reasons:  # no English sentence of the service is left in the reason
        assert not re.search(r"\b(should|cannot|must|may not|the|is not)\b", reason), reason


def test_the_checks_of_the_import_itself_say_why_in_vietnamese() -> None:
    assert field_reason("birth_date", "'31/02/1985' is not a real date") == (
        "cột birth_date: ngày không có thật (kiểm tra ngày và tháng)"
    )
    assert field_reason("hours", "'x' is not a number").startswith("cột hours: không phải là số")
    assert row_reason(
        "invalid", [{"field": "title", "message": "required: the cell is empty"}]
    ) == ("Không hợp lệ: cột title: còn để trống")
    assert row_reason("not_sent").startswith("Chưa gửi")
    assert row_reason("something_else") == "Không được nhận (something_else)"
