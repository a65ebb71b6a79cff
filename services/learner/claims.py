"""Claim codes without I/O: how they look, are typed back and are stored.

A claim code is what a training centre hands a person whose card it checked: twelve symbols of
Crockford's base32 (no I, L, O or U, so nothing reads as another), 60 random bits, printed as
``ABCD-EFGH-JKMN``. Typed back, case, spaces and hyphens do not matter and the look-alikes
(O for 0, I or L for 1) are read as meant. Only a keyed hash (HMAC-SHA256 under the identity
key) is stored, so a copy of the database does not give the codes, nor lets them be found by
hashing guesses. Guessing on line is limited per account (5 a minute) and per address (30):
at 30 guesses a minute, finding one of a million live codes among 2^60 takes ~70,000 years.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
_READ_AS = {"O": "0", "I": "1", "L": "1"}


def new_claim_code() -> str:
    """A fresh code, grouped by four for reading aloud."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, LENGTH, 4))


def canonical_code(typed: str) -> str | None:
    """The code as stored is derived from, or None when ``typed`` cannot be a claim code."""
    text = "".join(typed.split()).replace("-", "").upper()
    text = "".join(_READ_AS.get(c, c) for c in text)
    if len(text) != LENGTH or any(c not in ALPHABET for c in text):
        return None
    return text


def claim_code_hash(key: bytes, canonical: str) -> str:
    """The stored, keyed form of a canonical code."""
    return hmac.new(key, b"claim-code\x1f" + canonical.encode("ascii"), hashlib.sha256).hexdigest()
