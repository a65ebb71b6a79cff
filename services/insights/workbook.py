"""The figures as a workbook (one sheet per indicator group, Vietnamese headers, numbers as
numbers) and as CSV — built from the published figures alone, so every output carries the
same numbers and the same suppressed cells as the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from contracts.text import safe_cell
from services.insights.figures import DIMENSIONS, GROUPS

HEADERS = ("Mã chỉ tiêu", "Chỉ tiêu", "Phân tổ", "Mã", "Tên", "Giá trị")
TOTAL = "Tổng"


def _text(value: Any) -> Any:
    """Numbers stay numbers; text goes through safe_cell, so that a name starting like a
    formula (a training centre's, say) is shown, never run, in a spreadsheet."""
    return value if isinstance(value, int | float) else safe_cell(value)


def rows_of(indicator: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """An indicator's rows: its total, then each breakdown's cells (every text cell safe)."""
    yield tuple(
        _text(v) for v in (indicator["id"], indicator["name_vi"], TOTAL, "", "", indicator["total"])
    )
    for dimension, cells in indicator["breakdowns"].items():
        for cell in cells:
            yield tuple(
                _text(v)
                for v in (
                    indicator["id"],
                    indicator["name_vi"],
                    DIMENSIONS[dimension][0],
                    cell["key"],
                    cell["label"],
                    cell["value"],
                )
            )


def heading(found: Mapping[str, Any]) -> list[tuple[str, str]]:
    unit = found["unit"]
    return [
        ("Kỳ báo cáo", f"{found['period']} ({found['from']} – {found['to']})"),
        ("Đơn vị", f"{unit['name']} ({unit['code']})" if unit else "Toàn bộ"),
        ("Ô dưới 5 người", f"ghi <{found['smallest_cell']} ở cấp dưới tỉnh"),
    ]


def workbook_bytes(found: Mapping[str, Any]) -> bytes:
    """The .xlsx of the figures: a sheet saying what each indicator counts, then one per group."""
    book = Workbook()
    about = book.active
    assert about is not None
    about.title = "Giải thích"
    for row in heading(found):
        about.append(tuple(safe_cell(v) for v in row))
    about.append(())
    about.append(("Mã chỉ tiêu", "Chỉ tiêu", "Indicator", "Cách tính", "How it is counted"))
    for cell in about[about.max_row]:
        cell.font = Font(bold=True)
    for indicator in found["indicators"]:
        about.append(
            tuple(
                safe_cell(indicator[k])
                for k in ("id", "name_vi", "name_en", "counting_vi", "counting_en")
            )
        )
    about.column_dimensions["A"].width = 26
    about.column_dimensions["B"].width = 40
    about.column_dimensions["D"].width = 80
    for group, (name_vi, _) in GROUPS.items():
        sheet = book.create_sheet(name_vi[:31])
        sheet.append((name_vi, f"Kỳ {found['period']}"))
        sheet.append(HEADERS)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True)
        for indicator in found["indicators"]:
            if indicator["group"] == group:
                for row in rows_of(indicator):
                    sheet.append(row)
        for column, width in zip("ABCDEF", (26, 40, 24, 12, 40, 12), strict=True):
            sheet.column_dimensions[column].width = width
        sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(found: Mapping[str, Any]) -> bytes:
    """The figures as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the
    diacritics): one row per cell, with the period and unit on every row."""
    out = io.StringIO()
    writer = csv.writer(out)
    unit = found["unit"]
    writer.writerow(("Kỳ", "Mã đơn vị", "Nhóm", *HEADERS))
    for indicator in found["indicators"]:
        for row in rows_of(indicator):  # rows_of: every text cell through safe_cell
            writer.writerow(
                (
                    safe_cell(found["period"]),
                    safe_cell(unit["code"] if unit else ""),
                    safe_cell(GROUPS[indicator["group"]][0]),
                    *row,
                )
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
