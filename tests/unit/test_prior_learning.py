"""Reading another issuer's CLR as prior learning, without I/O: whose it is (the name
identity), and what it says by its structured data (including forms this system does not
issue: an AQRF alignment alone, a letter grade, a Failed result, a bare SHA-256 digest)."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from contracts.vocabulary import Pathway
from services.credential.frameworks import load_frameworks
from services.credential.prior_learning import (
    PriorLearningError,
    identity_matches,
    import_id_for,
    read_achievements,
    record_id_for,
)
from services.credential.vc.credentials import identity_hash

FRAMEWORKS = load_frameworks()
NAME = "Nguyễn Thị Hương"


def _credential(**achievement: Any) -> dict[str, Any]:
    item = {
        "id": "urn:uuid:a-1",
        "type": ["Achievement"],
        "achievementType": "Course",
        "name": "Cơ sở dữ liệu",
        "humanCode": "SC-CSDL",
        "creditsAvailable": 4.0,
        "resultDescription": [
            {
                "id": "urn:g",
                "type": ["ResultDescription"],
                "resultType": "LetterGrade",
                "allowedValue": ["A", "B", "C", "D", "F"],
            },
            {"id": "urn:h", "type": ["ResultDescription"], "resultType": "ext:LearningHours"},
        ],
        "alignment": [
            {
                "type": ["Alignment"],
                "targetType": "ext:AQRFLevel",
                "targetCode": "3",
                "targetName": "AQRF 3",
                "targetUrl": "https://aqrf.example/3",
            }
        ],
        **achievement,
    }
    return {
        "id": "urn:uuid:vc-1",
        "type": ["VerifiableCredential", "AchievementCredential"],
        "validFrom": "2025-01-02T00:00:00Z",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "achievement": item,
            "activityEndDate": "2024-12-20T00:00:00Z",
            "result": [
                {
                    "type": ["Result"],
                    "resultDescription": "urn:g",
                    "value": "B",
                    "status": "Completed",
                },
                {"type": ["Result"], "resultDescription": "urn:h", "value": "45"},
            ],
        },
    }


def _clr(*embedded: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "urn:uuid:clr-1",
        "type": ["VerifiableCredential", "ClrCredential"],
        "credentialSubject": {"type": ["ClrSubject"], "verifiableCredential": list(embedded)},
    }


def test_a_foreign_achievement_is_read_by_its_structured_data() -> None:
    (read,) = read_achievements(_clr(_credential()), "l-1", Pathway.VOCATIONAL, FRAMEWORKS)
    assert (read.code, read.credits, read.hours, read.vqf_level) == ("SC-CSDL", 4.0, 45.0, 3)
    assert read.result.model_dump(exclude_none=True) == {
        "status": "passed",
        "grade": "B",
        "grade_scale": "A-F",
    }
    assert (read.kind, str(read.completed_on), read.pathway) == (
        "course",
        "2024-12-20",
        "vocational",
    )
    assert read.record_id == record_id_for("l-1", "urn:uuid:clr-1", "urn:uuid:vc-1")
    assert read.record_id != record_id_for("l-2", "urn:uuid:clr-1", "urn:uuid:vc-1")
    assert import_id_for("l-1", "urn:uuid:clr-1") == import_id_for("l-1", "urn:uuid:clr-1")


def test_a_failed_result_a_diploma_and_a_missing_date() -> None:
    failed = _credential(achievementType="BachelorDegree", name={"en": "Databases", "vi": "CSDL"})
    failed["credentialSubject"]["result"][0]["status"] = "Failed"
    failed["credentialSubject"]["creditsEarned"] = 0
    (read,) = read_achievements(_clr(failed), "l-1", Pathway.REGULAR, FRAMEWORKS)
    assert (read.kind, read.title, read.result.status, read.credits) == (
        "diploma",
        "CSDL",
        "failed",
        0.0,
    )
    undated = copy.deepcopy(_credential())
    del undated["credentialSubject"]["activityEndDate"], undated["validFrom"]
    with pytest.raises(PriorLearningError, match=r"verifiableCredential\[1\].*completed_on"):
        read_achievements(_clr(_credential(), undated), "l-1", Pathway.REGULAR, FRAMEWORKS)
    with pytest.raises(PriorLearningError, match="only embedded JSON"):
        read_achievements(_clr("eyJhbGciOi.jwt.x"), "l-1", Pathway.REGULAR, FRAMEWORKS)  # type: ignore[arg-type]
    with pytest.raises(PriorLearningError, match="embeds no"):
        read_achievements(_clr(), "l-1", Pathway.REGULAR, FRAMEWORKS)


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        (
            {
                "identityType": "name",
                "hashed": True,
                "salt": "s1",
                "identityHash": identity_hash(NAME, "s1"),
            },
            True,
        ),
        (
            {
                "identityType": "name",
                "hashed": True,
                "salt": "s1",
                "identityHash": identity_hash("Trần Văn Bình", "s1"),
            },
            False,
        ),
        (
            {
                "identityType": "name",
                "hashed": True,
                "salt": "s2",
                "identityHash": hashlib.sha256((NAME + "s2").encode()).hexdigest(),
            },
            True,
        ),
        ({"identityType": "name", "hashed": True, "identityHash": "md5$00"}, False),
        ({"identityType": "name", "hashed": False, "identityHash": "nguyễn thị hương"}, True),
        ({"identityType": "emailAddress", "hashed": False, "identityHash": "a@b.vn"}, None),
    ],
)
def test_whose_learning_it_is(identifier: dict[str, Any], expected: bool | None) -> None:
    assert identity_matches({"identifier": [identifier]}, NAME) is expected


def test_one_contradicting_name_is_enough_to_refuse() -> None:
    good = {
        "identityType": "name",
        "hashed": True,
        "salt": "s",
        "identityHash": identity_hash(NAME, "s"),
    }
    bad = {"identityType": "name", "hashed": False, "identityHash": "Người khác"}
    assert identity_matches({"identifier": [good, bad]}, NAME) is False
    assert identity_matches({}, NAME) is None
