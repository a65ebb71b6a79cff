"""The issuer's signing keys at rest: sealed with a key derived from a secret — no I/O."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SealError(ValueError):
    """The sealed keys cannot be opened with this secret."""


def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(b"learningtrail/issuer-keys/v1|" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data: dict[str, Any], secret: str) -> str:
    """Encrypt and authenticate ``data`` (AES-128-CBC + HMAC-SHA256, Fernet)."""
    return _fernet(secret).encrypt(json.dumps(data, sort_keys=True).encode()).decode()


def unseal(token: str, secret: str) -> dict[str, Any]:
    """Open what :func:`seal` sealed; :class:`SealError` if the secret is wrong or it was
    tampered with."""
    try:
        opened: dict[str, Any] = json.loads(_fernet(secret).decrypt(token.encode()))
    except InvalidToken as exc:
        raise SealError("the issuer keys cannot be opened with LT_KEY_ENCRYPTION_KEY") from exc
    return opened
