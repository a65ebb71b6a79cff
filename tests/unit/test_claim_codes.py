"""Claim codes as people type them back, and as they are stored."""

from __future__ import annotations

from services.learner.claims import (
    ALPHABET,
    LENGTH,
    canonical_code,
    claim_code_hash,
    new_claim_code,
)
from services.learner.profiles import SelfRegistration

KEY = b"k" * 32


def test_a_new_code_is_twelve_unambiguous_symbols_in_groups_of_four() -> None:
    codes = {new_claim_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4]
        assert set("".join(groups)) <= set(ALPHABET) and not set("ILOU") & set(code)


def test_a_code_is_read_back_whatever_the_case_spacing_and_look_alikes() -> None:
    assert canonical_code("7kq4 m2xd 9prt") == "7KQ4M2XD9PRT"
    assert canonical_code(" 7KQ4-M2XD-9PRT ") == "7KQ4M2XD9PRT"
    assert canonical_code("O1IL-0000-0000") == "0111" + "0" * 8  # O is 0, I and L are 1
    assert canonical_code("7KQ4-M2XD-9PR") is None  # too short
    assert canonical_code("7KQ4-M2XD-9PRU") is None  # U is not in the alphabet
    assert canonical_code("7KQ4-M2XD-9PR!") is None
    assert len(ALPHABET) == 32 and LENGTH * 5 == 60  # 60 random bits


def test_only_a_keyed_hash_is_stored() -> None:
    code = new_claim_code()
    canonical = canonical_code(code)
    assert canonical is not None
    stored = claim_code_hash(KEY, canonical)
    assert canonical not in stored and len(stored) == 64
    assert claim_code_hash(b"another key" * 3, canonical) != stored
    assert claim_code_hash(KEY, canonical_code(code.lower()) or "") == stored


def test_opening_an_account_takes_no_national_id() -> None:
    try:
        SelfRegistration.model_validate(
            {"national_id": "079190001234", "full_name": "Lê An", "birth_date": "1990-01-01"}
        )
    except ValueError as exc:
        assert "claim code" in str(exc)
    else:  # pragma: no cover - the assertion below says what went wrong
        raise AssertionError("a national ID was taken at registration")
