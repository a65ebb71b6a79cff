"""CSV rows to record submissions, and safe CSV cells — no I/O.

The column set is the template training centres fill in (``docs/records-template.csv``);
``COLUMNS`` documents each column in Vietnamese for the template's help.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from contracts.text import FORMULA_STARTS, formula_problem
from contracts.text import safe_cell as safe_cell  # the one way to defuse a cell, here too

__all__ = ["FORMULA_STARTS", "formula_problem"]

SEX_ALIASES = {"nu": "female", "nữ": "female", "nam": "male"}

# (column, required, Vietnamese help)
COLUMNS: tuple[tuple[str, bool, str], ...] = (
    ("provider_record_ref", True, "Mã hồ sơ của trung tâm, duy nhất; nhập lại không bị trùng"),
    ("national_id", True, "Số định danh cá nhân (CCCD) 12 chữ số"),
    ("full_name", True, "Họ và tên, có dấu"),
    ("birth_date", True, "Ngày sinh: 14/05/1990 hoặc 1990-05-14"),
    ("sex", False, "Giới tính theo giấy tờ: nu/female hoặc nam/male (để trống nếu không rõ)"),
    ("commune_code", False, "Mã đơn vị hành chính cấp xã nơi cư trú"),
    ("email", False, "Thư điện tử của người học"),
    ("phone", False, "Số điện thoại, ví dụ 0912345678"),
    (
        "pathway",
        True,
        "Loại hình: chinh_quy/regular, thuong_xuyen/continuing, nghe/vocational, "
        "boi_duong/in_service, xoa_mu_chu/literacy, truc_tuyen/online, cong_dong/community, "
        "cong_nhan/recognition",
    ),
    ("kind", True, "Loại: course, programme, module, certificate, diploma, exam, recognised_unit"),
    ("title", True, "Tên khóa học / chương trình / học phần"),
    ("code", False, "Mã khóa học của trung tâm"),
    ("vqf_level", False, "Bậc Khung trình độ quốc gia 1–8 (1–3 sơ cấp, 4 trung cấp, 5 cao đẳng…)"),
    ("general_education_level", False, "Cấp phổ thông: primary, lower_secondary, upper_secondary"),
    ("field_of_study", False, "Ngành / lĩnh vực, ví dụ Công nghệ thông tin"),
    ("credits", False, "Số tín chỉ, ví dụ 3 hoặc 2,5"),
    ("hours", False, "Số giờ học"),
    ("result_status", True, "Kết quả: passed (đạt), completed (hoàn thành), failed (không đạt)"),
    ("grade", False, "Điểm hoặc xếp loại, ví dụ 8.5 hoặc Giỏi"),
    ("grade_scale", False, "Thang điểm, ví dụ 0-10"),
    ("started_on", False, "Ngày bắt đầu"),
    ("completed_on", True, "Ngày hoàn thành"),
    ("awarded_on", False, "Ngày cấp chứng chỉ / văn bằng"),
    ("certificate_number", False, "Số hiệu chứng chỉ / văn bằng"),
    ("evidence_url", False, "Đường dẫn minh chứng (https://…)"),
    ("recognises", False, "Với công nhận kết quả: nội dung được công nhận"),
    ("toward_programme", False, "Với công nhận kết quả: chương trình được tính vào"),
)
COLUMN_NAMES = tuple(c for c, _, _ in COLUMNS)
REQUIRED = tuple(c for c, required, _ in COLUMNS if required)

PATHWAY_ALIASES = {
    "chinh_quy": "regular",
    "thuong_xuyen": "continuing",
    "nghe": "vocational",
    "boi_duong": "in_service",
    "xoa_mu_chu": "literacy",
    "truc_tuyen": "online",
    "cong_dong": "community",
    "cong_nhan": "recognition",
}
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
# The free-text columns, refused when they start like a formula (the one text policy,
# contracts/text.py): they are shown and exported as text everywhere (trail, credentials, the
# department's lists). Checked here before blanks are trimmed, so a leading tab is caught too;
# the service applies the rest of the policy. Numbers and dates are read by their own parsers,
# phone numbers ("+84…") and e-mail addresses by the service's validators, and any cell the
# project writes back goes through safe_cell.
TEXT_COLUMNS = (
    "provider_record_ref",
    "full_name",
    "title",
    "code",
    "grade",
    "grade_scale",
    "certificate_number",
    "recognises",
    "toward_programme",
)


class RowError(ValueError):
    """Cells that cannot be read: each column and why (in English; the error file says it in
    Vietnamese, cli/import_reasons.py)."""

    def __init__(self, *problems: tuple[str, str]) -> None:
        super().__init__("; ".join(f"{column}: {why}" for column, why in problems))
        self.problems = problems

    @property
    def errors(self) -> list[dict[str, str]]:
        """The problems as the learner service states them: a field and a message each."""
        return [{"field": column, "message": why} for column, why in self.problems]


# The template's example row: a comment (its first cell starts with '#'), and refused anyway
# when a clerk removes the '#' but keeps the example's reference or national ID.
EXAMPLE_REF = "# VÍ DỤ (xóa dòng này) NP-2025-0001"
EXAMPLE_NATIONAL_ID = "079190001234"


def is_template_example(row: dict[str, str]) -> bool:
    """The template's example row, even with its '#' removed."""
    ref = (row.get("provider_record_ref") or "").strip()
    return (row.get("national_id") or "").strip() == EXAMPLE_NATIONAL_ID or (
        ref.lstrip("# ").startswith("VÍ DỤ")
    )


def template_rows() -> list[list[str]]:
    """The template: a header row, a help row and one example row (both comments)."""
    example = {
        "provider_record_ref": EXAMPLE_REF,
        "national_id": EXAMPLE_NATIONAL_ID,
        "full_name": "Nguyễn Thị Hương",
        "birth_date": "14/05/1990",
        "commune_code": "22735",
        "pathway": "nghe",
        "kind": "certificate",
        "title": "Sơ cấp Kỹ thuật trồng nho",
        "code": "SC-NHO-01",
        "vqf_level": "1",
        "field_of_study": "Trồng trọt",
        "hours": "300",
        "result_status": "passed",
        "grade": "8,0",
        "grade_scale": "0-10",
        "completed_on": "15/03/2025",
        "certificate_number": "NP-SC-2025-0042",
    }
    help_row = [
        ("# " if i == 0 else "") + f"{'(bắt buộc) ' if req else ''}{text}"
        for i, (_, req, text) in enumerate(COLUMNS)
    ]
    rows = [list(COLUMN_NAMES), help_row, [example.get(c, "") for c in COLUMN_NAMES]]
    return [[safe_cell(cell) for cell in row] for row in rows]


def is_comment(row: dict[str, str]) -> bool:
    """The template's help row (and any row starting with '#') is not data."""
    first = (row.get(COLUMN_NAMES[0]) or "").lstrip()
    return first.startswith("#")


def parse_date(value: str, column: str) -> str:
    value = value.strip()
    if match := _DMY.match(value):
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError as exc:
            raise RowError((column, f"{value!r} is not a real date")) from exc
    try:
        return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except ValueError as exc:
        raise RowError((column, f"{value!r} is not a date (use 14/05/1990 or 1990-05-14)")) from exc


def parse_number(value: str, column: str) -> float:
    try:
        number = float(value.strip().replace(",", "."))
    except ValueError as exc:
        raise RowError((column, f"{value!r} is not a number")) from exc
    if not math.isfinite(number):  # float() also reads "nan" and "inf"
        raise RowError((column, f"{value!r} is not a number"))
    return number


def row_to_submission(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row (column -> text) as the body of ``POST /v1/records``."""
    raw = {k.strip(): v or "" for k, v in row.items() if k}
    for column in TEXT_COLUMNS:  # before blanks are trimmed: a leading tab is refused too
        if problem := formula_problem(raw.get(column, "")):
            raise RowError((column, problem))
    cells = {k: v.strip() for k, v in raw.items()}
    missing = [c for c in REQUIRED if not cells.get(c)]
    if missing:
        raise RowError(*((column, "required: the cell is empty") for column in missing))

    def optional(column: str) -> str | None:
        return cells.get(column) or None

    learner: dict[str, Any] = {
        "national_id": cells["national_id"],
        "full_name": cells["full_name"],
        "birth_date": parse_date(cells["birth_date"], "birth_date"),
    }
    for column in ("commune_code", "email", "phone"):
        if value := optional(column):
            learner[column] = value
    if sex := optional("sex"):
        learner["sex"] = SEX_ALIASES.get(sex.lower(), sex.lower())
    pathway = cells["pathway"].lower()
    record: dict[str, Any] = {
        "pathway": PATHWAY_ALIASES.get(pathway, pathway),
        "kind": cells["kind"].lower(),
        "title": cells["title"],
        "result": {"status": cells["result_status"].lower()},
        "completed_on": parse_date(cells["completed_on"], "completed_on"),
    }
    for column in (
        "code",
        "general_education_level",
        "field_of_study",
        "certificate_number",
        "evidence_url",
    ):
        if value := optional(column):
            record[column] = value
    if value := optional("vqf_level"):
        record["vqf_level"] = int(parse_number(value, "vqf_level"))
    for column in ("credits", "hours"):
        if value := optional(column):
            record[column] = parse_number(value, column)
    for column in ("started_on", "awarded_on"):
        if value := optional(column):
            record[column] = parse_date(value, column)
    for column in ("grade", "grade_scale"):
        if value := optional(column):
            record["result"][column] = value
    if value := optional("recognises"):
        record["recognition"] = {"recognises": value}
        if toward := optional("toward_programme"):
            record["recognition"]["toward_programme"] = toward
    return {
        "provider_record_ref": cells["provider_record_ref"],
        "learner": learner,
        "record": record,
    }
