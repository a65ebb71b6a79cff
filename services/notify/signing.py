"""Signatures without I/O: one-click unsubscribe tokens and signed webhooks.

An unsubscribe token is ``payload.signature``: the base64url JSON ``{"sub", "ch"}`` and its
HMAC-SHA256 (the one token codec, services/common/tokens.py: strict base64url, constant-time
comparison) under a key *derived* from the token secret (``HMAC(secret, "notify-unsubscribe")``)
so that an unsubscribe token is never a learner token and a learner token never unsubscribes.
It does not expire: an unsubscribe link in an old message must still work, and using it twice
changes nothing.

A webhook carries ``X-LT-Timestamp`` (UNIX seconds) and ``X-LT-Signature: sha256=<hex>``, the
HMAC-SHA256 of ``timestamp + "." + body`` under the subscription's secret. Receivers recompute
it over the raw body, compare in constant time and refuse stale timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from services.common.tokens import TokenError, seal, unseal

TIMESTAMP_HEADER = "X-LT-Timestamp"
SIGNATURE_HEADER = "X-LT-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A token or signature is malformed or does not verify; the message says which."""


def _unsubscribe_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"notify-unsubscribe", hashlib.sha256).digest()


def unsubscribe_token(secret: str, learner_id: str, channel: str) -> str:
    """The token of the one-click link that stops ``channel`` for ``learner_id``."""
    payload = json.dumps({"sub": learner_id, "ch": channel}, separators=(",", ":")).encode()
    return seal(_unsubscribe_key(secret), payload)


def read_unsubscribe_token(secret: str, token: str) -> tuple[str, str]:
    """``(learner_id, channel)`` of a genuine token, or :class:`SignatureError`."""
    try:
        payload = unseal(_unsubscribe_key(secret), token)
    except TokenError as exc:
        raise SignatureError(
            "the link is not a complete unsubscribe link, or its signature does not match"
        ) from exc
    try:
        raw = json.loads(payload)
        return str(raw["sub"]), str(raw["ch"])
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureError("the unsubscribe link is malformed") from exc


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-LT-Signature`` value of ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The signature headers a webhook request carries."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_signature(secret, timestamp, body),
    }


def verify_webhook(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """What a receiver does: raise :class:`SignatureError` unless genuine and fresh."""
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise SignatureError("the timestamp is not UNIX seconds") from exc
    if abs(now - sent_at) > tolerance:
        raise SignatureError("the timestamp is too far from now (a replay?)")
    if not hmac.compare_digest(signature, webhook_signature(secret, sent_at, body)):
        raise SignatureError("the signature does not match the body")
