"""A credential's verification as a page, in Vietnamese or English: the verdict in words
(the same three as ``trail verify``'s exit codes and ``POST /v1/verify``'s ``verdict``) and
every check. No I/O beyond reading the template shipped beside this module."""

from __future__ import annotations

from services.credential.summary_page import Lang, environment
from services.credential.vc.verify import VerificationReport

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Kiểm tra chứng nhận điện tử",
        "valid": "HỢP LỆ",
        "valid_help": "Mọi bước kiểm tra đều đạt: chữ ký số của đơn vị cấp, thời hạn, "
        "tình trạng thu hồi.",
        "invalid": "KHÔNG HỢP LỆ",
        "invalid_help": "Có bước kiểm tra không đạt (giả mạo, bị sửa, đã thu hồi hoặc hết "
        "hạn). Không được chấp nhận chứng nhận này.",
        "indeterminate": "CHƯA XÁC NHẬN ĐƯỢC",
        "indeterminate_help": "Không có bước nào sai, nhưng có bước chưa kiểm tra được (khóa "
        "của đơn vị cấp chưa biết, không lấy được danh sách thu hồi). Chưa nên chấp nhận.",
        "credential": "Chứng nhận",
        "check": "Bước kiểm tra",
        "result": "Kết quả",
        "detail": "Chi tiết",
        "passed": "đạt",
        "failed": "không đạt",
        "unknown": "chưa kiểm tra được",
        "skipped": "không áp dụng",
    },
    "en": {
        "title": "Digital credential verification",
        "valid": "VALID",
        "valid_help": "Every check passed: the issuer's signatures, validity dates, "
        "revocation status.",
        "invalid": "NOT VALID",
        "invalid_help": "A check failed (forged, altered, revoked or expired). Do not accept "
        "this credential.",
        "indeterminate": "CANNOT BE CONFIRMED",
        "indeterminate_help": "Nothing failed, but something could not be checked (the "
        "issuer's keys are unknown, the status list cannot be obtained). Do not accept it yet.",
        "credential": "Credential",
        "check": "Check",
        "result": "Result",
        "detail": "Detail",
        "passed": "passed",
        "failed": "failed",
        "unknown": "could not be checked",
        "skipped": "does not apply",
    },
}


def render_verification(credential_id: str, report: VerificationReport, lang: Lang) -> str:
    """The verification page of one credential."""
    return environment.get_template("verification.html").render(
        credential_id=credential_id, report=report, lang=lang, t=TEXT[lang]
    )
