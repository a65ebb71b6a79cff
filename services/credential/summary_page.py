"""The trail as a printable page, in Vietnamese or English, readable on a phone — no I/O
beyond reading the template shipped beside this module."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.credential.trail import PathwayGroup, Trail

Lang = Literal["vi", "en"]

PATHWAY_NAMES_EN = {
    "regular": "Regular (formal) education",
    "continuing": "Continuing education",
    "vocational": "Vocational education",
    "in_service": "In-service training",
    "literacy": "Literacy and universal education",
    "online": "Online and distance learning",
    "community": "Community learning",
    "recognition": "Recognition of learning",
}
RESULTS = {
    "vi": {"passed": "Đạt", "completed": "Hoàn thành", "failed": "Không đạt"},
    "en": {"passed": "Passed", "completed": "Completed", "failed": "Not passed"},
}
TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Hồ sơ học tập suốt đời",
        "issuer": "Sở Giáo dục và Đào tạo — Learning Trail",
        "learner_id": "Mã người học",
        "switch": "English version",
        "entries": "nội dung học tập",
        "credits": "Tín chỉ",
        "hours": "Giờ học",
        "highest": "Bậc cao nhất (KTĐQG)",
        "recognitions": "Liên thông, công nhận kết quả học tập",
        "rule": "Căn cứ quy tắc",
        "completed": "Hoàn thành",
        "provider": "Cơ sở đào tạo",
        "level": "Trình độ",
        "vqf": "Bậc",
        "result": "Kết quả",
        "certificate": "Số hiệu văn bằng/chứng chỉ",
        "empty": "Chưa có nội dung học tập nào.",
        "verify": "Kiểm tra tính xác thực",
        "verify_help": "Quét mã QR hoặc mở đường dẫn để kiểm tra chứng nhận điện tử "
        "(chữ ký số, thời hạn, tình trạng thu hồi).",
        "no_credential": "Chưa cấp chứng nhận điện tử. Người học có thể yêu cầu cấp "
        "(POST /v1/learners/{id}/credentials) để có đường dẫn và mã QR kiểm tra.",
        "generated": "Lập lúc",
    },
    "en": {
        "title": "Lifelong learning record",
        "issuer": "Department of Education and Training — Learning Trail",
        "learner_id": "Learner id",
        "switch": "Bản tiếng Việt",
        "entries": "learning entries",
        "credits": "Credits",
        "hours": "Hours",
        "highest": "Highest VQF level",
        "recognitions": "Articulation and recognition of learning",
        "rule": "Rule",
        "completed": "Completed",
        "provider": "Training centre",
        "level": "Level",
        "vqf": "VQF level",
        "result": "Result",
        "certificate": "Certificate number",
        "empty": "Nothing has been recorded yet.",
        "verify": "Verify this record",
        "verify_help": "Scan the QR code or open the link to check the digital credential "
        "(signatures, validity, revocation).",
        "no_credential": "No digital credential issued yet. The learner can request one "
        "(POST /v1/learners/{id}/credentials) to get a verification link and QR code.",
        "generated": "Generated",
    },
}

_env = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def render_trail(
    trail: Trail,
    lang: Lang,
    verify_url: str | None,
    generated: datetime,
) -> str:
    """The trail page; ``verify_url`` (the latest credential's verification link) is shown
    with its QR code."""

    def pathway_name(group: PathwayGroup) -> str:
        return group.name_vi if lang == "vi" else PATHWAY_NAMES_EN[group.pathway.value]

    def day(value: date) -> str:
        return value.strftime("%d/%m/%Y") if lang == "vi" else value.isoformat()

    def result(value: dict[str, Any]) -> str:
        status = RESULTS[lang].get(value.get("status", ""), value.get("status", ""))
        grade = " ".join(str(v) for v in (value.get("grade"), value.get("grade_scale")) if v)
        return f"{status} ({grade})" if grade else status

    qr = segno.make(verify_url, error="m").svg_inline(scale=4) if verify_url else ""
    return _env.get_template("trail.html").render(
        trail=trail,
        lang=lang,
        other_lang="en" if lang == "vi" else "vi",
        t=TEXT[lang],
        num=_num,
        day=day,
        result=result,
        pathway_name=pathway_name,
        verify_url=verify_url,
        qr=qr,
        generated=generated.strftime(
            "%d/%m/%Y %H:%M UTC" if lang == "vi" else "%Y-%m-%d %H:%M UTC"
        ),
    )
