"""The printable trail as a PDF (no service): read back with pdftotext, and its QR code decoded
with zbarimg from the rendered page (poppler-utils, zbar-tools)."""

from __future__ import annotations

import subprocess
import tempfile
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from services.credential.trail import build_trail
from services.credential.trail_pdf import trail_pdf

VERIFY = "https://trail.example.vn/v1/credentials/urn:uuid:0191e3a4-7b2c-7d10-9a55-1c2d3e4f5a6b"
ENTRIES = [
    {
        "_id": "a",
        "learner_id": "L1",
        "provider_id": "P",
        "provider_name": "Trung tâm GDNN-GDTX Ninh Phước",
        "pathway": "vocational",
        "kind": "certificate",
        "title": "Sơ cấp Kỹ thuật trồng nho",
        "vqf_level": 1,
        "hours": 300,
        "result": {"status": "passed", "grade": "8.0", "grade_scale": "0-10"},
        "completed_on": "2025-03-15",
    },
    {
        "_id": "b",
        "learner_id": "L1",
        "provider_id": "P",
        "pathway": "continuing",
        "kind": "programme",
        "title": "Chương trình GDTX cấp THPT — Ngữ văn, Lịch sử, Địa lý",
        "general_education_level": "upper_secondary",
        "hours": 1200,
        "result": {"status": "completed"},
        "completed_on": "2022-05-31",
    },
]
# 17:30 UTC on New Year's Eve is already the next day in Vietnam
MADE = datetime(2025, 12, 31, 17, 30, tzinfo=UTC)


def text_of(pdf: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return unicodedata.normalize("NFC", done.stdout.decode("utf-8"))


def qr_codes(pdf: bytes) -> list[str]:
    """The QR codes zbarimg reads on the PDF's first page, rendered at 150 dpi."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "trail.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "trail.pdf", "page"],
            cwd=folder,
            check=True,
        )
        page = next(Path(folder).glob("page*.png"))
        read = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(page)],
            capture_output=True,
            check=False,
        )
    return read.stdout.decode().split()


def test_the_trail_pdf_says_what_the_page_says_in_vietnamese_with_its_qr_code() -> None:
    trail = build_trail("L1", "Nguyễn Thị Hương", ENTRIES)
    pdf = trail_pdf(trail, "vi", VERIFY, MADE)
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for said in (
        "Hồ sơ học tập suốt đời",
        "Nguyễn Thị Hương",
        "Sơ cấp Kỹ thuật trồng nho",
        "Chương trình GDTX cấp THPT — Ngữ văn, Lịch sử, Địa lý",
        "Trung tâm GDNN-GDTX Ninh Phước",
        "15/03/2025",
        "01/01/2026 00:30",  # Asia/Ho_Chi_Minh
        "Kiểm tra tính xác thực",
    ):
        assert said in text, said
    assert qr_codes(pdf) == [VERIFY]


def test_the_trail_pdf_in_english_and_without_a_credential() -> None:
    trail = build_trail("L1", "Nguyễn Thị Hương", ENTRIES)
    text = text_of(trail_pdf(trail, "en", None, MADE))
    assert "Lifelong learning record" in text and "Nguyễn Thị Hương" in text
    assert "Sơ cấp Kỹ thuật trồng nho" in text  # titles stay as the centre wrote them
    assert "Kiểm tra" not in text
    assert "01/01/2026 00:30" in text
    assert qr_codes(trail_pdf(trail, "en", None, MADE)) == []
    empty = text_of(trail_pdf(build_trail("L2", None, []), "vi", None, MADE))
    assert "Hồ sơ học tập suốt đời" in empty
