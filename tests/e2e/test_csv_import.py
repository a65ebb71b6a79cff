"""`trail import` as a centre clerk uses it: a file Excel wrote under Vietnamese regional
settings (semicolons) or as "Unicode text" (UTF-16, tabs), the template's example row left in,
an error file that is the original rows with the reason added — fixed and imported again —
and exit codes that say whether rows were left out."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from cli.csv_records import COLUMN_NAMES, template_rows
from tests.conftest import Stack, national_id, new_provider

ROOT = Path(__file__).resolve().parents[2]


def trail_import(path: Path, centre: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "import",
            str(path),
            "--provider",
            centre["provider"]["id"],
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "LT_API_KEY": centre["api_key"]},
        timeout=300,
        check=False,
    )


def row(ref: str, nid: str, **cells: str) -> list[str]:
    values = {
        "provider_record_ref": ref,
        "national_id": nid,
        "full_name": "Trần Văn Bình",
        "birth_date": "02/09/1985",
        "pathway": "nghe",
        "kind": "course",
        "title": "Sửa chữa máy nông nghiệp",
        "hours": "40",
        "result_status": "passed",
        "completed_on": "10/10/2025",
        **cells,
    }
    return [values.get(c, "") for c in COLUMN_NAMES]


def write(path: Path, rows: list[list[str]], delimiter: str, encoding: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


async def test_a_clerks_semicolon_file_with_the_example_left_in(
    stack: Stack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    centre = await new_provider(http, stack)
    nid, tag = national_id(), uuid.uuid4().hex[:6]
    template = template_rows()
    example_without_hash = [template[2][0].lstrip("# "), *template[2][1:]]
    rows = [
        *template,  # header, help row and example row, as the template came
        example_without_hash,  # the example with its '#' removed: still never a record
        row(f"{tag}-1", nid),
        row(f"{tag}-2", nid, birth_date="31/02/1985", title="Hàn điện cơ bản"),
        row(f"{tag}-3", nid, completed_on="10/10/1980"),  # refused by the service itself
    ]
    source = tmp_path / "hoso.csv"
    write(source, rows, ";", "utf-8")  # Excel's "CSV" under Vietnamese regional settings

    first = trail_import(source, centre)
    assert first.returncode == 2, first.stdout + first.stderr  # rows were left out
    errors = tmp_path / "hoso.errors.csv"
    text = errors.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("provider_record_ref;national_id;")
    left = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert len(left) == 3
    example, wrong, early = left
    assert "ví dụ" in example["ly_do"].lower() or "example" in example["ly_do"]
    assert example["ly_do"].startswith("Không hợp lệ")
    assert wrong["provider_record_ref"] == f"{tag}-2" and wrong["title"] == "Hàn điện cơ bản"
    assert wrong["ly_do"] == (
        "Không hợp lệ: cột birth_date: ngày không có thật (kiểm tra ngày và tháng)"
    )
    assert wrong["dong"] == "6" and "not a real date" in wrong["chi_tiet"]
    # the service's English problem, in Vietnamese; its words in the detail column
    assert early["ly_do"] == (
        "Không hợp lệ: cột completed_on: ngày hoàn thành không được trước ngày sinh"
    )
    assert "record.completed_on" in early["chi_tiet"]

    # the clerk fixes the date in the error file, drops the example, and imports that file
    wrong["birth_date"] = "02/09/1985"
    fixed = tmp_path / "hoso-sua.csv"
    with fixed.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(wrong), delimiter=";")
        writer.writeheader()
        writer.writerow(wrong)
    second = trail_import(fixed, centre)
    assert second.returncode == 0, second.stdout + second.stderr
    assert not (tmp_path / "hoso-sua.errors.csv").exists()

    # the whole file again, as "Unicode text": UTF-16 with tabs; nothing is doubled
    unicode_text = tmp_path / "hoso-unicode.txt"
    write(unicode_text, rows, "\t", "utf-16")
    third = trail_import(unicode_text, centre)
    assert third.returncode == 2  # the example is still refused
    assert "already imported" in third.stdout
    listed = list(
        csv.DictReader(
            io.StringIO((tmp_path / "hoso-unicode.errors.csv").read_text("utf-8-sig")),
            delimiter="\t",
        )
    )
    # the example and the two wrong rows the original file still holds; the rest is in
    assert [r["dong"] for r in listed] == ["4", "6", "7"]


async def test_an_excel_workbook_is_imported_directly(
    stack: Stack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    from datetime import date

    from openpyxl import Workbook

    centre = await new_provider(http, stack)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(COLUMN_NAMES))
    cells = row(f"X-{uuid.uuid4().hex[:6]}", national_id())
    typed: list[object] = list(cells)
    typed[COLUMN_NAMES.index("birth_date")] = date(1985, 9, 2)  # a real date cell
    typed[COLUMN_NAMES.index("hours")] = 40  # a number cell
    sheet.append(typed)
    source = tmp_path / "hoso.xlsx"
    book.save(source)
    done = trail_import(source, centre)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accepted" in done.stdout
