"""How a trail entry becomes an OB 3.0 achievement: its type by kind and level, its level
aligned to the VQF, the AQRF and general education, read back the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.credential.badges import initials
from services.credential.frameworks import (
    framework_document,
    level_alignments,
    levels_from_alignments,
    load_frameworks,
)
from services.credential.issuing import achievement_type, learning_record

FRAMEWORKS = load_frameworks()


@pytest.mark.parametrize(
    ("kind", "vqf", "general", "expected"),
    [
        ("course", None, None, "Course"),
        ("module", None, None, "Course"),
        ("programme", None, "upper_secondary", "LearningProgram"),
        ("certificate", 1, None, "Certificate"),
        ("diploma", 3, None, "Certificate"),
        ("diploma", 4, None, "Diploma"),
        ("diploma", 5, None, "AssociateDegree"),
        ("diploma", 6, None, "BachelorDegree"),
        ("diploma", 7, None, "MasterDegree"),
        ("diploma", 8, None, "DoctoralDegree"),
        ("diploma", None, "upper_secondary", "SecondarySchoolDiploma"),
        ("diploma", None, "lower_secondary", "Diploma"),
        ("exam", None, None, "Assessment"),
        ("recognised_unit", None, None, "Competency"),
    ],
)
def test_achievement_type_by_kind_and_level(
    kind: str, vqf: int | None, general: str | None, expected: str
) -> None:
    assert achievement_type(kind, vqf, general) == expected


def test_every_vqf_level_maps_to_an_aqrf_level_and_back() -> None:
    for level in range(1, 9):
        found = level_alignments(FRAMEWORKS, "https://x.example", level, None)
        assert [a["targetType"] for a in found] == ["ext:VQFLevel", "ext:AQRFLevel"]
        assert levels_from_alignments(FRAMEWORKS, found) == (level, None)
        # a foreign credential aligned only to the AQRF is read as the VQF level it maps from
        assert levels_from_alignments(FRAMEWORKS, found[1:]) == (level, None)
    general = level_alignments(FRAMEWORKS, "https://x.example", None, "lower_secondary")
    assert levels_from_alignments(FRAMEWORKS, general) == (None, "lower_secondary")
    assert levels_from_alignments(
        FRAMEWORKS, [{"targetType": "ext:VQFLevel", "targetCode": "9"}]
    ) == (
        None,
        None,
    )


def test_the_mapping_is_data_with_its_source(tmp_path: Path) -> None:
    aqrf = framework_document(FRAMEWORKS, FRAMEWORKS.aqrf)
    assert "1982/QĐ-TTg" in aqrf["source"] and aqrf["levels"][3]["vqf_levels"] == [4]
    vqf = framework_document(FRAMEWORKS, FRAMEWORKS.vqf)
    assert vqf["levels"][4] == {
        "id": "level-5",
        "code": "5",
        "name_vi": "Bậc 5 — Cao đẳng",
        "name_en": "Level 5 — College",
        "aqrf_level": 5,
    }
    broken = tmp_path / "frameworks.toml"
    text = (
        Path(__file__).parents[2] / "services/credential/frameworks/qualification-frameworks.toml"
    )
    broken.write_text(text.read_text(encoding="utf-8").replace('"8" = 8', '"8" = 9'), "utf-8")
    with pytest.raises(ValueError, match="unknown level"):
        load_frameworks(broken)


def test_an_entry_becomes_a_record_with_level_field_and_badges() -> None:
    entry = {
        "_id": "rec-1",
        "pathway": "vocational",
        "kind": "diploma",
        "title": "Trung cấp Điện công nghiệp",
        "code": "TC-DIEN",
        "vqf_level": 4,
        "field_of_study": "Điện công nghiệp",
        "result": {"status": "passed", "grade": "7,5", "grade_scale": "0-10"},
        "completed_on": "2024-06-30",
        "provider_id": "0195a0d2-0000-7000-8000-0000000000c1",
        "provider_name": "Trường Trung cấp nghề Ninh Sơn",
    }
    record = learning_record(entry, FRAMEWORKS, "https://lt.example")
    assert record.achievement_type == "Diploma"
    assert record.field_of_study == "Điện công nghiệp"
    assert [a["targetCode"] for a in record.alignments] == ["4", "4"]
    assert record.image is not None and record.image.startswith("data:image/svg+xml;base64,")
    assert record.provider is not None and record.provider.image is not None
    assert initials("Trường Trung cấp nghề Ninh Sơn") == "TTC"
    assert initials("Sở Giáo dục và Đào tạo tỉnh Khánh Hòa", 5) == "SGDĐT"
