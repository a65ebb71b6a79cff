"""Messages from templates, in Vietnamese and English (no I/O)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from contracts.credentials import CredentialIssued, RecognitionGranted
from contracts.programmes import ProgrammeAnnounced
from contracts.vocabulary import Language
from services.notify.messages import (
    Message,
    credential_message,
    digest_message,
    programme_message,
    recognition_message,
    sms_text,
    with_footer,
)

AT = datetime(2026, 11, 1, tzinfo=UTC)


def programme(**extra: Any) -> ProgrammeAnnounced:
    base: dict[str, Any] = {
        "programme_id": "PG1",
        "provider_id": "P",
        "title": "Kỹ thuật tưới nhỏ giọt",
        "pathway": "vocational",
        "place_codes": ["22735"],
        "starts_on": date(2027, 2, 1),
        "min_age": 18,
        "max_age": 55,
        "fee_vnd": 1500000,
        "vqf_level": 2,
        "how_to_enrol": "Đăng ký tại Trung tâm, ĐT 0259 3864 123",
        "announced_at": AT,
    }
    base.update(extra)
    return ProgrammeAnnounced.model_validate(base)


def test_a_programme_in_vietnamese_has_its_essentials_and_how_to_enrol() -> None:
    message = programme_message(programme(), Language.VI)
    assert message.title == "Chương trình học mới gần bạn: Kỹ thuật tưới nhỏ giọt"
    for line in (
        "Lĩnh vực: Giáo dục nghề nghiệp",
        "Trình độ: Bậc 2 — Sơ cấp II",
        "Khai giảng ngày 01/02/2027",
        "Độ tuổi: 18–55",
        "Học phí: 1.500.000 đ",
        "Cách đăng ký: Đăng ký tại Trung tâm, ĐT 0259 3864 123",
    ):
        assert line in message.body.splitlines()
    assert unicodedata.is_normalized("NFC", message.body)


def test_the_same_programme_in_english() -> None:
    message = programme_message(programme(fee_vnd=0, max_age=None), Language.EN)
    assert message.title == "New programme near you: Kỹ thuật tưới nhỏ giọt"
    lines = message.body.splitlines()
    assert "Starts 01/02/2027" in lines and "Fee: free" in lines and "Ages: 18 and over" in lines
    assert lines[-1] == "How to enrol: Đăng ký tại Trung tâm, ĐT 0259 3864 123"


def test_recognitions_and_credentials() -> None:
    granted = RecognitionGranted(
        recognition_id="R1",
        learner_id="L1",
        rule_id="vocational-to-college",
        rule_version="2026.1",
        record_ids=["r1"],
        outcome_vi="Miễn học phần Tin học cơ sở",
        outcome_en="Exempt from Basic IT",
        toward="Cao đẳng Công nghệ thông tin",
        credits=3,
        granted_at=AT,
    )
    vi = recognition_message(granted, Language.VI)
    assert vi.title == "Kết quả học tập của bạn đã được công nhận"
    assert "Miễn học phần Tin học cơ sở" in vi.body and "Số tín chỉ được công nhận: 3" in vi.body
    assert "Exempt from Basic IT" in recognition_message(granted, Language.EN).body
    no_english = granted.model_copy(update={"outcome_en": None})
    assert "Miễn học phần" in recognition_message(no_english, Language.EN).body
    issued = CredentialIssued(
        credential_id="urn:uuid:c1",
        learner_id="L1",
        record_ids=["r1", "r2"],
        verify_url="https://trail.example.vn/verify/c1",
        issued_at=AT,
    )
    message = credential_message(issued, Language.VI)
    assert "gồm 2 kết quả" in message.body and "https://trail.example.vn/verify/c1" in message.body


def test_a_digest_is_one_message_listing_each() -> None:
    items = [Message("A", "Khóa A"), Message("B", "Khóa B")]
    digest = digest_message(items, Language.VI)
    assert digest.title == "Bạn có 2 chương trình học mới phù hợp"
    assert digest.body.index("1. Khóa A") < digest.body.index("2. Khóa B")
    assert digest_message(items[:1], Language.VI) == items[0]


def test_every_pushed_message_ends_with_its_unsubscribe_link() -> None:
    message = programme_message(programme(), Language.VI)
    text = with_footer(message, "https://n.example/v1/unsubscribe?token=t", Language.VI)
    assert text.endswith("Hủy đăng ký: https://n.example/v1/unsubscribe?token=t")
    sms = sms_text(message, "https://n.example/u?t", Language.VI)
    assert sms.startswith("[Học tập suốt đời] Chương trình học mới") and "Cách đăng ký" in sms
    assert sms.endswith("https://n.example/u?t")
