"""Record intake rules, identity hashing and fingerprints (no I/O)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.vocabulary import Pathway
from services.learner.identity import national_id_hash, normalise_name
from services.learner.intake import RecordSubmission, check_submission, fingerprint
from tests.conftest import record

TODAY = date(2026, 11, 27)
ALL = frozenset(Pathway)


def submission(**changes: Any) -> RecordSubmission:
    return RecordSubmission.model_validate(
        {
            "provider_record_ref": "R-1",
            "learner": {
                "national_id": "079190001234",
                "full_name": "Nguyễn Thị Hương",
                "birth_date": "1990-05-14",
            },
            "record": record(**changes),
        }
    )


def fields(errors: list[Any]) -> list[str]:
    return [e.field for e in errors]


def test_a_sound_record_passes() -> None:
    assert check_submission(submission(), ALL, TODAY) == []


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"completed_on": "2027-01-01"}, "record.completed_on"),
        ({"completed_on": "1980-01-01"}, "record.completed_on"),
        ({"started_on": "2025-04-01"}, "record.started_on"),
        ({"awarded_on": "2025-03-01"}, "record.awarded_on"),
        (
            {"general_education_level": "primary", "vqf_level": None},
            "record.general_education_level",
        ),
        (
            {"pathway": "continuing", "general_education_level": "upper_secondary"},
            "record.general_education_level",
        ),
        (
            {
                "pathway": "regular",
                "vqf_level": None,
                "general_education_level": "primary",
                "kind": "programme",
            },
            None,
        ),
        ({"pathway": "recognition", "kind": "recognised_unit"}, "record.recognition"),
    ],
)
def test_impossible_records_name_the_field(record: dict[str, Any], field: str | None) -> None:
    errors = check_submission(submission(**record), ALL, TODAY)
    assert fields(errors) == ([field] if field else [])


def test_a_centre_may_record_only_its_pathways() -> None:
    errors = check_submission(submission(), frozenset({Pathway.CONTINUING}), TODAY)
    assert fields(errors) == ["record.pathway"]
    assert "continuing" in errors[0].message


@pytest.mark.parametrize(
    "change",
    [
        {"vqf_level": 9},
        {"credits": -1},
        {"hours": 20_000},
        {"pathway": "astrology"},
        {"completed_on": "2025-02-30"},
        {"unknown_field": 1},
    ],
)
def test_out_of_range_values_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        submission(**change)


@pytest.mark.parametrize("nid", ["12345", "07919000123A", "0791900012345"])
def test_national_id_must_be_12_digits(nid: str) -> None:
    with pytest.raises(ValidationError, match="12-digit"):
        RecordSubmission.model_validate(
            {
                "provider_record_ref": "R",
                "record": submission().record.model_dump(mode="json"),
                "learner": {"national_id": nid, "full_name": "A", "birth_date": "1990-01-01"},
            }
        )


def test_national_id_hash_is_keyed_and_stable() -> None:
    a = national_id_hash(b"key-1", "079190001234")
    assert a == national_id_hash(b"key-1", "079190001234")
    assert a != national_id_hash(b"key-2", "079190001234")
    assert "079190001234" not in a and len(a) == 64


def test_names_keep_diacritics_in_nfc() -> None:
    assert normalise_name("  Nguye\u0302\u0303n   Thị  Hương ") == "Nguyễn Thị Hương"


def test_fingerprint_tells_a_retry_from_a_different_record() -> None:
    first = fingerprint("h", submission().record)
    assert first == fingerprint("h", submission().record)
    assert first != fingerprint("h", submission(hours=301).record)
    assert first != fingerprint("other-learner", submission().record)
