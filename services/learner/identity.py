"""Learner identity without I/O: the keyed hash of a national ID number, and name matching.

The 12-digit personal identification number (CCCD) is sensitive: it is hashed with HMAC-SHA256
under a secret key as soon as it arrives, and only the hash is stored. It never appears in an
event, a log line or a trace.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from datetime import date

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


def folded_name(name: str) -> str:
    """A name for comparison only: no diacritics (đ as d), no case, single spaces.

    "Nguyễn Thị Hương" and "NGUYEN THI HUONG" fold to the same text; stored names keep their
    diacritics.
    """
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def same_person(stored_name: str, stored_birth: date, given_name: str, given_birth: date) -> bool:
    """Whether a submission's name and birth date agree with the learner found by national ID.

    Diacritics, case and spacing may differ (centres type names differently); the birth date
    must be the same.
    """
    return stored_birth == given_birth and folded_name(stored_name) == folded_name(given_name)
