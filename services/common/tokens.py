"""Credentials without I/O: API keys for training centres, signed tokens for learners.

An API key is shown once and stored only as its SHA-256 (the key carries 256 bits of
randomness, so a plain hash is enough). A learner token is ``payload.signature``: the base64url
JSON claims and their HMAC-SHA256 under the token secret.

This is the one codec of signed tokens (notify's unsubscribe tokens use it under a key of their
own): base64url is read strictly — the alphabet ``A-Z a-z 0-9 - _`` only, no padding, no stray
characters, and only the canonical encoding of its bytes (decoded and encoded again, it must be
the same text) — so one token has exactly one spelling; signatures are compared in constant
time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from typing import Literal

API_KEY_PREFIX = "ltk_"
# an officer token speaks for an administrative unit (its subject is the unit code), issued by
# the department for reading that unit's figures only
Role = Literal["learner", "admin", "officer"]


class TokenError(ValueError):
    """The token is malformed, tampered with or expired; the message says which."""


@dataclass(frozen=True)
class Claims:
    """Who a token speaks for, and until when (UNIX seconds)."""

    subject: str
    role: Role
    expires_at: int
    session: str | None = None  # the sign-in session an access token belongs to, if any
    # the officer credential a token is (its id, ``cid``): the department can revoke it
    credential: str | None = None


def new_api_key() -> str:
    """A fresh API key to show its owner once."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    """The stored form of an API key."""
    return secret_hash(key)


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url(data: bytes) -> str:
    """Canonical unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The bytes of canonical unpadded base64url, or ``ValueError`` for anything else
    (padding, characters outside the alphabet, an impossible length, non-zero spare bits)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:  # e.g. spare bits set in the last character
        raise ValueError("not canonical base64url")
    return data


def seal(key: bytes, payload: bytes) -> str:
    """``payload`` signed: ``base64url(payload).base64url(HMAC-SHA256(key, that text))``."""
    encoded = b64url(payload)
    return f"{encoded}.{b64url(hmac.new(key, encoded.encode(), hashlib.sha256).digest())}"


def unseal(key: bytes, token: str) -> bytes:
    """The payload of a genuine sealed token, or :class:`TokenError` saying what is wrong."""
    try:
        payload, signature = token.split(".")
        given = unb64url(signature)
        unb64url(payload)
    except ValueError as exc:
        raise TokenError("token is not in the form payload.signature (base64url)") from exc
    expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        raise TokenError("token signature does not match")
    return unb64url(payload)


def issue_token(
    secret: str,
    subject: str,
    role: Role,
    expires_at: int,
    session: str | None = None,
    credential: str | None = None,
) -> str:
    """Sign claims for ``subject`` valid until ``expires_at``; an access token of a sign-in
    session names it (``sid``), so the learner service can refuse it once signed out; an
    officer credential names its own id (``cid``), so insights can refuse it once revoked."""
    raw: dict[str, object] = {"sub": subject, "role": role, "exp": expires_at}
    if session is not None:
        raw["sid"] = session
    if credential is not None:
        raw["cid"] = credential
    return seal(secret.encode(), json.dumps(raw).encode())


def new_secret_token(prefix: str) -> str:
    """A fresh random bearer secret (256 bits) to hand over once and store only hashed."""
    return prefix + secrets.token_urlsafe(32)


def successor_secret_token(secret: str, token: str, prefix: str) -> str:
    """The secret that follows ``token`` (a refresh token's successor): derived from it with a
    key only the service holds, so every request that spends the same token at the same moment
    hands out the same successor — nothing but its hash is stored — and it is as unguessable
    as a random one to anyone without the key."""
    key = hmac.new(secret.encode(), b"learningtrail refresh-token successor", hashlib.sha256)
    return prefix + b64url(hmac.new(key.digest(), token.encode(), hashlib.sha256).digest())


def secret_hash(token: str) -> str:
    """The stored form of a random bearer secret (refresh token, claim code): SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def verify_token(secret: str, token: str, now: int) -> Claims:
    """Return the claims of a genuine, unexpired token, or raise :class:`TokenError`."""
    payload = unseal(secret.encode(), token)
    try:
        raw = json.loads(payload)
        sid, cid = raw.get("sid"), raw.get("cid")
        claims = Claims(
            subject=str(raw["sub"]),
            role=raw["role"],
            expires_at=int(raw["exp"]),
            session=None if sid is None else str(sid),
            credential=None if cid is None else str(cid),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("token payload is malformed") from exc
    if claims.role not in ("learner", "admin", "officer"):
        raise TokenError("token role is unknown")
    if claims.expires_at <= now:
        raise TokenError("token has expired")
    return claims
