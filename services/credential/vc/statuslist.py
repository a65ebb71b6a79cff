"""W3C Bitstring Status List v1.0: revocation entries, the status list credential, and
reading a credential's bit from it.

Bit ``i`` is bit ``7 - i % 8`` of byte ``i // 8`` (the first index is the leftmost bit), the
bitstring is GZIP-compressed and encoded as multibase base64url without padding. A list has
at least 131,072 bits (16 KiB) so that one revocation does not single out a credential.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from services.credential.vc.multibase import MultibaseError, decode_base64url, encode_base64url
from services.credential.vc.proofs import iso_datetime

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
MIN_BITS = 131_072
REVOCATION = "revocation"
ENTRY_TYPE = "BitstringStatusListEntry"


class StatusListError(ValueError):
    """A status list or status entry is malformed."""


def encode_bitstring(set_indices: Iterable[int], size: int = MIN_BITS) -> str:
    """The ``encodedList`` for a bitstring of ``size`` bits with the given indices set."""
    if size < MIN_BITS or size % 8:
        raise StatusListError(f"a status list has at least {MIN_BITS} bits, a multiple of 8")
    bits = bytearray(size // 8)
    for index in set_indices:
        if not 0 <= index < size:
            raise StatusListError(f"index {index} is outside the list of {size} bits")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0 keeps the encoding a pure function of the bits.
    return encode_base64url(gzip.compress(bytes(bits), compresslevel=9, mtime=0))


def decode_bitstring(encoded_list: str) -> bytes:
    """The raw bitstring of an ``encodedList``."""
    try:
        return gzip.decompress(decode_base64url(encoded_list))
    except (MultibaseError, OSError, EOFError, zlib.error) as exc:
        raise StatusListError(f"encodedList is not GZIP base64url multibase: {exc}") from exc


def read_bit(encoded_list: str, index: int) -> bool:
    """Whether bit ``index`` of an ``encodedList`` is set."""
    bits = decode_bitstring(encoded_list)
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside the list of {len(bits) * 8} bits")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_entry(list_credential_url: str, index: int) -> dict[str, Any]:
    """The ``credentialStatus`` entry pointing at bit ``index`` of a revocation list."""
    if index < 0:
        raise StatusListError("a status list index is not negative")
    return {
        "id": f"{list_credential_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": REVOCATION,
        "statusListIndex": str(index),
        "statusListCredential": list_credential_url,
    }


def build_status_list_credential(
    list_credential_url: str,
    issuer: str,
    revoked_indices: Iterable[int],
    valid_from: datetime,
    size: int = MIN_BITS,
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` for a revocation list: sign it with
    :func:`services.credential.vc.proofs.sign` before publishing it at
    ``list_credential_url``."""
    return {
        "@context": [VC_V2_CONTEXT],
        "id": list_credential_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": iso_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_credential_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": REVOCATION,
            "encodedList": encode_bitstring(revoked_indices, size),
        },
    }


def entry_index(entry: Mapping[str, Any]) -> int:
    """The ``statusListIndex`` of an entry as an integer (the spec makes it a string; some
    issuers write a number)."""
    raw = entry.get("statusListIndex")
    try:
        index = int(str(raw))
    except ValueError as exc:
        raise StatusListError(f"statusListIndex {raw!r} is not an integer") from exc
    if index < 0:
        raise StatusListError("statusListIndex is negative")
    return index


def list_subject(list_credential: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``BitstringStatusList`` subject of a status list credential."""
    subject = list_credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, Mapping) or "encodedList" not in subject:
        raise StatusListError("the status list credential has no BitstringStatusList subject")
    return subject


def is_revoked(entry: Mapping[str, Any], list_credential: Mapping[str, Any]) -> bool:
    """Whether the entry's bit is set in the list credential (both must be for revocation)."""
    if entry.get("type") != ENTRY_TYPE:
        raise StatusListError(f"status type {entry.get('type')!r} is not {ENTRY_TYPE}")
    subject = list_subject(list_credential)
    for purpose in (entry.get("statusPurpose"), subject.get("statusPurpose")):
        if purpose != REVOCATION:
            raise StatusListError(f"statusPurpose {purpose!r} is not {REVOCATION}")
    return read_bit(str(subject["encodedList"]), entry_index(entry))
