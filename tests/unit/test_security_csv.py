"""CSV formula injection: text cells that a spreadsheet would run are refused on import, and
every CSV the project writes defuses its cells (no I/O but reading the source tree)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli.csv_records import (
    FORMULA_STARTS,
    TEXT_COLUMNS,
    RowError,
    parse_number,
    row_to_submission,
    safe_cell,
    template_rows,
)

ROOT = Path(__file__).resolve().parents[2]


def _row(**cells: str) -> dict[str, str]:
    return {
        "provider_record_ref": "NP-2025-0001",
        "national_id": "079190001234",
        "full_name": "Nguyễn Thị Hương",
        "birth_date": "14/05/1990",
        "pathway": "nghe",
        "kind": "certificate",
        "title": "Sơ cấp Kỹ thuật trồng nho",
        "result_status": "passed",
        "completed_on": "15/03/2025",
        **cells,
    }


PAYLOADS = [
    "=1+1",
    '=HYPERLINK("http://evil.example","Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",  # leading blanks are looked through
]


@pytest.mark.parametrize("column", TEXT_COLUMNS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_in_a_text_column_is_refused_with_the_reason(column: str, payload: str) -> None:
    with pytest.raises(RowError, match=f"^{column}: starts with") as exc:
        row_to_submission(_row(**{column: payload}))
    assert "formula" in str(exc.value)


def test_text_that_merely_contains_the_characters_is_kept() -> None:
    body = row_to_submission(
        _row(title="Tin học = kỹ năng + thực hành", grade="8.5", grade_scale="0-10")
    )
    assert body["record"]["title"] == "Tin học = kỹ năng + thực hành"
    assert body["record"]["result"]["grade_scale"] == "0-10"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("provider_record_ref", "-2025-0001"),
        ("code", "@SUM(1+1)"),
        ("grade", "=1+1"),
        ("grade_scale", "+0-10"),
        ("certificate_number", "\t=cmd"),
    ],
)
def test_codes_grades_and_references_that_start_like_a_formula_are_refused(
    column: str, value: str
) -> None:
    # every free-text column reaches spreadsheets (the department's lists, error files)
    with pytest.raises(RowError, match=column):
        row_to_submission(_row(**{column: value}))
    assert safe_cell(value).startswith("'")


def test_numbers_are_read_as_numbers_and_what_is_not_a_number_is_refused() -> None:
    body = row_to_submission(_row(hours="-1", credits="2,5"))
    assert body["record"]["hours"] == -1.0  # the service refuses it: hours are >= 0
    assert body["record"]["credits"] == 2.5
    assert body["learner"]["full_name"] == "Nguyễn Thị Hương"
    for value in ("=1+1", "nan", "inf", "-Infinity", "1e999"):
        with pytest.raises(RowError, match="not a number"):
            parse_number(value, "hours")


def test_a_phone_number_with_a_plus_is_not_a_formula_problem() -> None:
    # phone numbers are checked by the service's phone parser, and never exported as text
    body = row_to_submission(_row(phone="+84912345678"))
    assert body["learner"]["phone"] == "+84912345678"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_safe_cell_defuses_what_a_spreadsheet_would_run(payload: str) -> None:
    assert safe_cell(payload) == "'" + payload


@pytest.mark.parametrize("value", ["Nguyễn Thị Hương", "0-10", "12", 12, None, "a=b"])
def test_safe_cell_leaves_plain_text_alone(value: object) -> None:
    assert safe_cell(value) == ("" if value is None else str(value))


def test_the_template_is_written_with_safe_cells() -> None:
    for row in template_rows():
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA_STARTS), cell


# Every place that writes CSV, reviewed to pass each cell through safe_cell. A new writer
# fails this test until it is reviewed and added here.
REVIEWED_CSV_WRITERS = {
    "cli/importer.py": "the error file: every cell through safe_cell",
    "cli/main.py": "the template: template_rows() returns safe cells",
    "services/insights/workbook.py": "the figures: rows_of() and the row's own cells safe",
}


def test_every_csv_the_project_writes_goes_through_safe_cell() -> None:
    writers = set()
    for folder in ("cli", "services", "contracts"):
        for path in (ROOT / folder).rglob("*.py"):
            if re.search(r"csv\.(writer|DictWriter)\b", path.read_text(encoding="utf-8")):
                writers.add(path.relative_to(ROOT).as_posix())
    assert writers == set(REVIEWED_CSV_WRITERS), (
        "a CSV writer was added or removed: check it writes every cell through "
        "cli.csv_records.safe_cell, then update REVIEWED_CSV_WRITERS"
    )
    importer = (ROOT / "cli/importer.py").read_text(encoding="utf-8")
    assert "writer.writerow([safe_cell(cell) for cell in" in importer
    figures = (ROOT / "services/insights/workbook.py").read_text(encoding="utf-8")
    assert "return value if isinstance(value, int | float) else safe_cell(value)" in figures
    main = (ROOT / "cli/main.py").read_text(encoding="utf-8")
    assert "writerows(template_rows())" in main
