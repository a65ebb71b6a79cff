"""Credentials without I/O: API keys for training centres, signed tokens for learners.

An API key is shown once and stored only as its SHA-256 (the key carries 256 bits of
randomness, so a plain hash is enough). A learner token is ``payload.signature``: the base64url
JSON claims and their HMAC-SHA256 under the token secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Literal

API_KEY_PREFIX = "ltk_"
Role = Literal["learner", "admin"]


class TokenError(ValueError):
    """The token is malformed, tampered with or expired; the message says which."""


@dataclass(frozen=True)
class Claims:
    """Who a token speaks for, and until when (UNIX seconds)."""

    subject: str
    role: Role
    expires_at: int


def new_api_key() -> str:
    """A fresh API key to show its owner once."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(key.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, subject: str, role: Role, expires_at: int) -> str:
    """Sign claims for ``subject`` valid until ``expires_at``."""
    payload = _b64(json.dumps({"sub": subject, "role": role, "exp": expires_at}).encode())
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(signature)}"


def verify_token(secret: str, token: str, now: int) -> Claims:
    """Return the claims of a genuine, unexpired token, or raise :class:`TokenError`."""
    try:
        payload, signature = token.split(".")
        given = _unb64(signature)
    except ValueError as exc:
        raise TokenError("token is not in the form payload.signature") from exc
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise TokenError("token signature does not match")
    try:
        raw = json.loads(_unb64(payload))
        claims = Claims(subject=str(raw["sub"]), role=raw["role"], expires_at=int(raw["exp"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("token payload is malformed") from exc
    if claims.role not in ("learner", "admin"):
        raise TokenError("token role is unknown")
    if claims.expires_at <= now:
        raise TokenError("token has expired")
    return claims
