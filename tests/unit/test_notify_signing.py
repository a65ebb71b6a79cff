"""Unsubscribe tokens and webhook signatures (no I/O)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.common.tokens import issue_token
from services.notify.signing import (
    SignatureError,
    read_unsubscribe_token,
    unsubscribe_token,
    verify_webhook,
    webhook_headers,
    webhook_signature,
)

SECRET = "s3cret-for-tests-only"


def test_an_unsubscribe_token_names_the_learner_and_the_channel() -> None:
    token = unsubscribe_token(SECRET, "L1", "email")
    assert read_unsubscribe_token(SECRET, token) == ("L1", "email")


@pytest.mark.parametrize(
    "token",
    [
        unsubscribe_token("another secret", "L1", "email"),
        unsubscribe_token(SECRET, "L1", "email")[:-2] + "xx",
        unsubscribe_token(SECRET, "L2", "email").split(".")[0]
        + "."
        + unsubscribe_token(SECRET, "L1", "email").split(".")[1],
        "not-a-token",
        # A learner token, signed with the same secret, is not an unsubscribe token.
        issue_token(SECRET, "L1", "learner", 2**40),
    ],
)
def test_a_forged_or_foreign_token_is_refused(token: str) -> None:
    with pytest.raises(SignatureError):
        read_unsubscribe_token(SECRET, token)


def test_the_webhook_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = '{"title":"Chương trình học mới"}'.encode()
    expected = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhook_signature("k" * 16, 1_700_000_000, body) == f"sha256={expected}"
    headers = webhook_headers("k" * 16, 1_700_000_000, body)
    assert headers == {"X-LT-Timestamp": "1700000000", "X-LT-Signature": f"sha256={expected}"}


def test_a_receiver_accepts_genuine_fresh_webhooks_only() -> None:
    body = b'{"a":1}'
    signature = webhook_signature(SECRET, 1000, body)
    verify_webhook(SECRET, "1000", body, signature, now=1100)
    with pytest.raises(SignatureError, match="too far"):
        verify_webhook(SECRET, "1000", body, signature, now=2000)
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook(SECRET, "1000", b'{"a":2}', signature, now=1000)
    with pytest.raises(SignatureError, match="does not match"):
        verify_webhook(SECRET, "1001", body, signature, now=1000)
    with pytest.raises(SignatureError, match="UNIX"):
        verify_webhook(SECRET, "yesterday", body, signature, now=1000)


def test_mutated_unsubscribe_tokens_are_refused_and_both_codecs_are_one() -> None:
    from services.common.tokens import unseal

    token = unsubscribe_token("s" * 32, "learner-1", "email")
    payload, signature = token.split(".")
    for mutant in (
        token + "!!",
        token + "==",
        f"{payload}.{signature[:4]}!!{signature[4:]}",
        f"{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
    ):
        with pytest.raises(SignatureError):
            read_unsubscribe_token("s" * 32, mutant)
    # the same sealed form as learner tokens, under a key of its own
    assert b'"sub":"learner-1"' in unseal(
        hmac.new(b"s" * 32, b"notify-unsubscribe", hashlib.sha256).digest(), token
    )
