"""Why a row of a CSV import did not become a record, in Vietnamese — the import's own
catalogue, no I/O.

The learner service explains a refused row in English (its problem details: a field path and a
message). The clerk reads the error file in Vietnamese: each field the service names is turned
into the template's column, and each rule it states into a Vietnamese sentence; a rule this
catalogue does not know is told by the column's own help from the template (never left in
English). The service's words go to the error file's detail column, for whoever helps the clerk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from cli.csv_records import COLUMNS

# What happened to a row, by the outcome the service (or the import) gives it.
OUTCOME_VI = {
    "invalid": "Không hợp lệ",
    "conflict": "Mã hồ sơ đã dùng cho nội dung khác (hãy gửi đính chính, không nhập lại)",
    "held_for_review": "Chờ Sở xem xét (họ tên hoặc ngày sinh không khớp số định danh)",
    "unavailable": "Hệ thống chưa ghi nhận dòng này, hãy nhập lại tệp này",
    "rejected": "Bị từ chối",
    "not_sent": "Chưa gửi (việc nhập bị dừng), hãy nhập lại tệp này",
}
UNKNOWN_OUTCOME = "Không được nhận"
COLUMN_HELP = {column: text for column, _, text in COLUMNS}
_POSITION = re.compile(r"\bcharacter (\d+)\b")
# The service's field paths whose column is not simply the last part of the path.
FIELD_COLUMNS = {
    "record.result.status": "result_status",
    "record.result.grade": "grade",
    "record.result.grade_scale": "grade_scale",
    "record.recognition": "recognises",
    "record.recognition.recognises": "recognises",
    "record.recognition.toward_programme": "toward_programme",
}
# (field, words of the service's message, what the clerk reads). The first match wins.
RULES: tuple[tuple[str, str, str], ...] = (
    ("learner.birth_date", "must be in the past", "ngày sinh phải là một ngày đã qua"),
    ("learner.birth_date", "not in the future", "ngày sinh không được ở tương lai"),
    ("learner.birth_date", "not before", "ngày sinh quá xa, hãy kiểm tra lại năm sinh"),
    (
        "record.pathway",
        "may not record",
        "trung tâm chưa được đăng ký ghi loại hình này; đề nghị Sở bổ sung đăng ký",
    ),
    ("record.completed_on", "future", "ngày hoàn thành không được ở tương lai"),
    ("record.completed_on", "birth", "ngày hoàn thành không được trước ngày sinh"),
    ("record.started_on", "on or before", "ngày bắt đầu phải trước hoặc trùng ngày hoàn thành"),
    ("record.awarded_on", "on or after", "ngày cấp phải sau hoặc trùng ngày hoàn thành"),
    ("record.awarded_on", "future", "ngày cấp không được ở tương lai"),
    (
        "record.general_education_level",
        "not both",
        "chỉ ghi một trong hai cột: vqf_level hoặc general_education_level",
    ),
    (
        "record.general_education_level",
        "does not fit",
        "cấp phổ thông không phù hợp với loại hình (pathway) này",
    ),
    (
        "record.vqf_level",
        "awards no",
        "loại hình này không cấp bậc Khung trình độ quốc gia; để trống vqf_level",
    ),
    (
        "record.vqf_level",
        "diploma",
        "văn bằng phải ghi bậc (vqf_level) hoặc cấp phổ thông (general_education_level)",
    ),
    (
        "record.result.status",
        "only awarded on success",
        "chứng chỉ, văn bằng chỉ cấp khi đạt; nếu không đạt hãy ghi kết quả kỳ thi (exam)",
    ),
    (
        "record.recognition",
        "must say what",
        "hồ sơ công nhận kết quả phải ghi nội dung được công nhận",
    ),
    (
        "record.recognition",
        "only a record",
        "chỉ hồ sơ loại hình cong_nhan (công nhận) mới ghi cột recognises",
    ),
    (
        "",
        "template's example row",
        "đây là dòng ví dụ của tệp mẫu: hãy xóa dòng này và nhập các dòng của trung tâm",
    ),
    ("", "not a real date", "ngày không có thật (kiểm tra ngày và tháng)"),
    ("", "is not a date", "không đọc được ngày; hãy viết 14/05/1990 hoặc 1990-05-14"),
    ("", "is not a number", "không phải là số; hãy viết ví dụ 3 hoặc 2,5"),
    ("", "a spreadsheet runs as a formula", "ô bắt đầu bằng dấu công thức (=, +, -, @); hãy bỏ"),
    ("", "hides a formula", "ô bắt đầu bằng dấu tab hoặc xuống dòng; hãy bỏ"),
    ("", "text-direction control", "có ký tự điều khiển hướng chữ ẩn; hãy gõ lại"),
    ("", "invisible formatting character", "có ký tự ẩn; hãy gõ lại"),
    ("", "control character", "có ký tự điều khiển ẩn; hãy gõ lại"),
    ("", "line or paragraph separator", "có ký tự xuống dòng; hãy viết trên một dòng"),
    ("", "unassigned or for private use", "có ký tự lạ; hãy gõ lại"),
    ("", "shows as a blank", "có ký tự trông như dấu cách nhưng không phải; hãy gõ lại"),
    (
        "",
        "Vietnamese alphabet",
        "có chữ không thuộc bảng chữ cái tiếng Việt (dù trông giống); hãy gõ lại bằng bàn phím "
        "tiếng Việt",
    ),
    ("", "stands on no letter", "có dấu không đi với chữ nào; hãy bỏ"),
    ("", "needs letters", "còn để trống"),
    ("", "phone number", "số điện thoại không đúng, ví dụ 0912345678 hoặc +84912345678"),
    ("", "email", "địa chỉ thư điện tử không đúng"),
    ("", "required", "còn để trống"),
)


def column_of(field: str) -> str:
    """The template's column for a field path of the service (``learner.national_id`` →
    ``national_id``); the path itself when no column holds it."""
    if field in FIELD_COLUMNS:
        return FIELD_COLUMNS[field]
    last = field.rsplit(".", 1)[-1]
    return last if last in COLUMN_HELP else field


def field_reason(field: str, message: str) -> str:
    """One refused field, in Vietnamese: the column, then what is wrong or what it takes."""
    column = column_of(field)
    at = _POSITION.search(message)
    where = f" (ký tự thứ {at.group(1)})" if at else ""
    for rule_field, words, vietnamese in RULES:
        if (not rule_field or rule_field == field) and words.lower() in message.lower():
            return f"cột {column}{where}: {vietnamese}"
    if column in COLUMN_HELP:
        return f"cột {column} không hợp lệ (cần: {COLUMN_HELP[column]})"
    return f"{column} không hợp lệ"


def row_reason(status: str, errors: Iterable[Mapping[str, str]] = ()) -> str:
    """The reason column of a row the service did not take: the outcome, and for an invalid
    row each refused column."""
    outcome = OUTCOME_VI.get(status, f"{UNKNOWN_OUTCOME} ({status})")
    fields = [field_reason(e.get("field", ""), e.get("message", "")) for e in errors]
    return f"{outcome}: {'; '.join(fields)}" if fields else outcome
