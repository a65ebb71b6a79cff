"""Learner tokens and API keys (no I/O)."""

from __future__ import annotations

import pytest

from services.common.tokens import TokenError, api_key_hash, issue_token, new_api_key, verify_token


def test_a_genuine_token_verifies() -> None:
    token = issue_token("s3cret", "L1", "learner", expires_at=2_000)
    claims = verify_token("s3cret", token, now=1_000)
    assert (claims.subject, claims.role) == ("L1", "learner")


@pytest.mark.parametrize(
    ("token_of", "reason"),
    [
        (lambda t: t, "expired"),
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), "signature"),
        (lambda t: "x" + t, "signature"),
        (lambda t: "no-dot", "payload.signature"),
    ],
)
def test_bad_tokens_are_refused(token_of, reason) -> None:  # type: ignore[no-untyped-def]
    token = issue_token("s3cret", "L1", "learner", expires_at=1_000)
    with pytest.raises(TokenError, match=reason):
        verify_token("s3cret", token_of(token), now=1_000)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token("other", "L1", "admin", expires_at=2_000)
    with pytest.raises(TokenError, match="signature"):
        verify_token("s3cret", token, now=1_000)


def test_api_keys_are_random_and_stored_as_hashes() -> None:
    a, b = new_api_key(), new_api_key()
    assert a != b and a.startswith("ltk_") and len(a) > 40
    assert api_key_hash(a) != a and len(api_key_hash(a)) == 64
