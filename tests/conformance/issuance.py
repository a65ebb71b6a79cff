"""A learner, three records and an issuer, as the credential service would pass them."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

from services.credential import badges
from services.credential.frameworks import level_alignments, load_frameworks
from services.credential.vc.credentials import (
    Address,
    IssuerProfile,
    Learner,
    LearningRecord,
    Provider,
    StatusPlan,
)
from services.credential.vc.keys import KeyRing, did_web, new_key_ring

ISSUED_AT = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)
STATUS_URL = "https://learningtrail.example/v1/status-lists/1"
CLR_ID = "urn:uuid:0195a0d2-3c4b-7d5e-8f60-718293a4b5c6"
# Written decomposed (NFD) on purpose: what is signed must be NFC.
LEARNER = Learner(
    id="urn:uuid:0195a0d2-0000-7000-8000-000000000001",
    name=unicodedata.normalize("NFD", "Nguyễn Thị Hương"),
)
CENTRE_NAME = "Trung tâm GDNN-GDTX Quận Hải Châu"
CENTRE = Provider(
    id="urn:uuid:0195a0d2-0000-7000-8000-0000000000c1",
    name=CENTRE_NAME,
    image=badges.centre_badge(CENTRE_NAME),
)
BASE_URL = "https://learningtrail.example"
FRAMEWORKS = load_frameworks()
RECORDS = (
    LearningRecord(
        record_id="rec-1",
        title="Tin học ứng dụng cơ bản",
        description="Sử dụng máy tính, soạn thảo văn bản và bảng tính.",
        achievement_type="Certificate",
        completion_date=date(2024, 6, 15),
        credits=3,
        hours=60,
        level="Trung học phổ thông",
        field_of_study="Công nghệ thông tin",
        provider=CENTRE,
        code="TH-CB-01",
        alignments=tuple(level_alignments(FRAMEWORKS, BASE_URL, None, "upper_secondary")),
        image=badges.achievement_badge("Tin học ứng dụng cơ bản", "continuing", "THPT"),
        grade="8,0",
        grade_scale="0-10",
        result_status="passed",
    ),
    LearningRecord(
        record_id="rec-2",
        title="Kỹ thuật chế biến món ăn",
        description="Sơ cấp nghề nấu ăn.",
        achievement_type="Course",
        completion_date=date(2024, 11, 2),
        hours=300,
        level="Bậc 1 — Sơ cấp I",
        field_of_study="Chế biến món ăn",
        provider=CENTRE,
        alignments=tuple(level_alignments(FRAMEWORKS, BASE_URL, 1, None)),
        image=badges.achievement_badge("Kỹ thuật chế biến món ăn", "vocational", "Bậc 1"),
        grade="Giỏi",
        result_status="passed",
    ),
    LearningRecord(
        record_id="rec-3",
        title="Bồi dưỡng thường xuyên giáo viên 2024",
        description="Module bồi dưỡng thường xuyên dành cho giáo viên.",
        achievement_type="ext:InServiceTraining",
        completion_date=date(2025, 1, 20),
        credits=1.5,
        grade="B",
        grade_scale="A-F",
        result_status="completed",
    ),
)
STATUS = StatusPlan.in_one_list(
    STATUS_URL, clr_index=10, record_indices={"rec-1": 11, "rec-2": 12, "rec-3": 13}
)


def issuer_for(ring: KeyRing) -> IssuerProfile:
    """The department's profile for a key ring's DID."""
    return IssuerProfile(
        id=ring.controller,
        name="Sở Giáo dục và Đào tạo thành phố Đà Nẵng",
        url="https://learningtrail.example",
        official="Nguyễn Văn An, Giám đốc",
        address=Address(region="Thành phố Đà Nẵng", street="15 Quang Trung, Hải Châu"),
        parent_org="Ủy ban nhân dân thành phố Đà Nẵng",
        image=badges.issuer_badge("Sở Giáo dục và Đào tạo thành phố Đà Nẵng"),
    )


def department_ring(domain: str = "learningtrail.example") -> KeyRing:
    """A fresh key ring for the department's did:web."""
    return new_key_ring(did_web(domain), datetime(2025, 1, 1, tzinfo=UTC))
