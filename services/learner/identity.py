"""Learner identity without I/O: the keyed hash of a national ID number, and its checks.

The 12-digit personal identification number (CCCD) is sensitive: it is hashed with HMAC-SHA256
under a secret key as soon as it arrives, and only the hash is stored. It never appears in an
event, a log line or a trace.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_NATIONAL_ID = re.compile(r"^[0-9]{12}$")


def is_national_id(value: str) -> bool:
    """Whether ``value`` has the form of a personal identification number (12 digits)."""
    return bool(_NATIONAL_ID.match(value))


def national_id_hash(key: bytes, national_id: str) -> str:
    """The lookup hash of a national ID number under the service's identity key."""
    return hmac.new(key, national_id.encode("ascii"), hashlib.sha256).hexdigest()


def normalise_name(name: str) -> str:
    """A name as stored: NFC, single spaces, diacritics kept."""
    return " ".join(unicodedata.normalize("NFC", name).split())
