"""Recognition rules (liên thông) applied to trails — no I/O."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.credential.recognition import evaluate, load_rules, parse_rule

RULES = {r.id: r for r in load_rules()}
CT = RULES["credit-transfer/cao-dang-cntt"]
STACK = RULES["stackable/trong-nho-so-cap"]
PROG = RULES["progression/trung-cap-len-cao-dang"]


def entry(rid: str, pathway: str, completed: str, **extra: Any) -> dict[str, Any]:
    return {
        "_id": rid,
        "pathway": pathway,
        "kind": "course",
        "title": f"Khóa {rid}",
        "result": {"status": "passed"},
        "completed_on": completed,
        **extra,
    }


def test_equivalent_units_count_once_and_caps_hold() -> None:
    entries = [
        entry("a", "continuing", "2024-03-01", code="GDTX-TH-CB"),
        entry("b", "online", "2024-04-01", code="ONL-TIN-HOC-CO-BAN"),  # same target unit
        entry("c", "vocational", "2024-05-01", code="SC-LAPTRINH-WEB"),
        entry("d", "vocational", "2024-06-01", code="SC-CSDL"),  # 3+4+4 = 11 in 2024
        entry("e", "vocational", "2024-07-01", code="SC-MANG-MAY-TINH"),  # 15 > 12/year
        entry("f", "vocational", "2025-01-10", code="SC-MANG-MAY-TINH"),  # next year: fine
        entry("g", "vocational", "2025-02-10", code="SC-DO-HOA"),  # 19 in all
        entry("j", "vocational", "2025-02-20", code="NN-TA-A2"),  # 19+3 > 20 in all
        entry("h", "regular", "2025-03-01", code="GDTX-TA-A2"),  # not a source pathway
        entry("i", "continuing", "2025-03-01", code="GDTX-TA-A2", result={"status": "failed"}),
    ]
    decisions = evaluate([CT], "L1", entries)
    assert [d.record_ids for d in decisions] == [("a",), ("c",), ("d",), ("f",), ("g",)]
    assert sum(d.credits or 0 for d in decisions) == 19
    assert "Tin học ứng dụng cơ bản" in decisions[0].outcome_vi
    assert "«Khóa a»" in decisions[0].outcome_vi


def test_decisions_are_stable_and_follow_the_rule_version() -> None:
    entries = [entry("a", "continuing", "2024-03-01", code="GDTX-TH-CB")]
    first = evaluate([CT], "L1", entries)
    assert first == evaluate([CT], "L1", list(reversed(entries)))
    newer = CT.model_copy(update={"version": "2026.1"})
    assert evaluate([newer], "L1", entries)[0].recognition_id != first[0].recognition_id
    assert evaluate([CT], "L2", entries)[0].recognition_id != first[0].recognition_id


def test_short_courses_stack_up_to_a_certificate_level() -> None:
    entries = [
        entry("a", "vocational", "2023-01-01", code="NHO-01", hours=120),
        entry("b", "community", "2023-06-01", code="nho-02", hours=100),
        entry("c", "vocational", "2023-09-01", code="LUA-01", hours=200),  # other occupation
    ]
    assert evaluate([STACK], "L1", entries) == []
    entries.append(entry("d", "continuing", "2024-01-01", code="SC-NHO-03", hours=80))
    (decision,) = evaluate([STACK], "L1", entries)
    assert decision.record_ids == ("a", "b", "d")
    assert "300 giờ" in decision.outcome_vi and "sơ cấp" in decision.outcome_vi


def test_an_intermediate_diploma_and_continuing_upper_secondary_open_college() -> None:
    diploma = entry(
        "a",
        "vocational",
        "2022-06-01",
        kind="diploma",
        vqf_level=4,
        title="Trung cấp Điện công nghiệp",
    )
    gdtx = entry(
        "b",
        "continuing",
        "2022-05-31",
        kind="programme",
        general_education_level="upper_secondary",
        title="Văn hóa THPT hệ GDTX",
    )
    assert evaluate([PROG], "L1", [diploma]) == []
    (decision,) = evaluate([PROG], "L1", [diploma, gdtx])
    assert set(decision.record_ids) == {"a", "b"}
    assert "liên thông lên trình độ cao đẳng" in decision.outcome_vi
    assert "Trung cấp Điện công nghiệp" in decision.outcome_vi


def test_a_malformed_rule_file_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_rule('family = "stackable"\nid = "x"\nversion = "1"\n')
    with pytest.raises(ValidationError):
        parse_rule('family = "magic"\nid = "x"\nversion = "1"\ntitle_vi = "a"\ntitle_en = "b"\n')
