"""Learner tokens and API keys (no I/O)."""

from __future__ import annotations

import pytest

from services.common.tokens import (
    TokenError,
    api_key_hash,
    issue_token,
    new_api_key,
    new_secret_token,
    successor_secret_token,
    verify_token,
)


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


def test_an_access_token_names_its_session_and_a_minted_one_none() -> None:
    session = verify_token("s3cret", issue_token("s3cret", "L1", "learner", 2_000, "S1"), 1_000)
    assert (session.subject, session.session) == ("L1", "S1")
    assert (
        verify_token("s3cret", issue_token("s3cret", "L1", "learner", 2_000), 1_000).session is None
    )


def test_an_officer_credential_names_its_id_and_a_session_token_its_session() -> None:
    credential = verify_token(
        "s3cret", issue_token("s3cret", "22735", "officer", 2_000, credential="C1"), 1_000
    )
    assert (credential.role, credential.credential, credential.session) == ("officer", "C1", None)
    session = verify_token("s3cret", issue_token("s3cret", "22735", "officer", 2_000, "S1"), 1_000)
    assert (session.session, session.credential) == ("S1", None)
    old = verify_token("s3cret", issue_token("s3cret", "22735", "officer", 2_000), 1_000)
    assert (old.session, old.credential) == (None, None)  # issued before credentials had ids


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token("other", "L1", "admin", expires_at=2_000)
    with pytest.raises(TokenError, match="signature"):
        verify_token("s3cret", token, now=1_000)


def test_api_keys_are_random_and_stored_as_hashes() -> None:
    a, b = new_api_key(), new_api_key()
    assert a != b and a.startswith("ltk_") and len(a) > 40
    assert api_key_hash(a) != a and len(api_key_hash(a)) == 64


# strict encodings (issue 16): one token has one spelling


def _mutants(token: str) -> dict[str, str]:
    payload, signature = token.split(".")
    flip = {"A": "B", "B": "A"}.get(signature[-1], "A")
    return {
        "!! inserted in the signature": f"{payload}.{signature[:4]}!!{signature[4:]}",
        "!! inserted in the payload": f"{payload[:4]}!!{payload[4:]}.{signature}",
        "== appended": token + "==",
        "= appended": token + "=",
        "!! appended": token + "!!",
        "a newline appended": token + "\n",
        "a flipped last character": f"{payload}.{signature[:-1]}{flip}",
        "a non-canonical last character": f"{payload}.{signature[:-1]}"
        + chr(ord(signature[-1]) ^ 1),
        "standard base64 alphabet": f"{payload}.{signature[:-1]}+",
        "three parts": token + ".x",
    }


def test_mutated_tokens_are_refused() -> None:
    token = issue_token("s" * 32, "learner-1", "learner", 2_000_000_000)
    assert verify_token("s" * 32, token, now=1).subject == "learner-1"
    for name, mutant in _mutants(token).items():
        with pytest.raises(TokenError):
            verify_token("s" * 32, mutant, now=1)
        assert name


def test_only_canonical_unpadded_base64url_decodes() -> None:
    from services.common.tokens import b64url, unb64url

    for data in (b"", b"a", b"ab", b"abc", bytes(range(256))):
        assert unb64url(b64url(data)) == data
    for text in ("YQ==", "YQ=", "Y", "YR", "Y!Q", "YQ\n", "Y Q", "+/8", "YW Jj"):
        with pytest.raises(ValueError, match="canonical"):
            unb64url(text)


def test_tokens_issued_before_the_one_codec_still_verify() -> None:
    # the format of tokens already handed out: base64url JSON (default separators) and the
    # HMAC of that text, both unpadded
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = b64(json.dumps({"sub": "learner-1", "role": "learner", "exp": 2_000_000_000}).encode())
    signature = b64(hmac.new(b"s" * 32, claims.encode(), hashlib.sha256).digest())
    assert verify_token("s" * 32, f"{claims}.{signature}", now=1).subject == "learner-1"
    assert issue_token("s" * 32, "learner-1", "learner", 2_000_000_000) == f"{claims}.{signature}"


def test_a_refresh_tokens_successor_is_the_same_for_every_racer_and_unguessable() -> None:
    spent = new_secret_token("ltr_")
    successor = successor_secret_token("service key", spent, "ltr_")
    # two requests spending the same token at once hand out the same successor
    assert successor_secret_token("service key", spent, "ltr_") == successor
    assert successor.startswith("ltr_") and len(successor) == len(spent)
    assert successor != spent
    # without the service's key it cannot be derived, and each token has its own
    assert successor_secret_token("another key", spent, "ltr_") != successor
    assert successor_secret_token("service key", successor, "ltr_") not in (successor, spent)
