"""W3C Bitstring Status List v1.0: revocation entries, the status list credential, and
reading a credential's bit from it.

Bit ``i`` is bit ``7 - i % 8`` of byte ``i // 8`` (the first index is the leftmost bit), the
bitstring is GZIP-compressed and encoded as multibase base64url without padding. A list has
at least 131,072 bits (16 KiB) so that one revocation does not single out a credential.

An issuer keeps a *series* of lists of :data:`LIST_SIZE` bits each: position ``p`` of the
series is bit ``p % LIST_SIZE`` of list ``p // LIST_SIZE + 1`` (:func:`slot`), so the lists
never run out — a new one begins where the last is full.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.credential.vc.multibase import MultibaseError, decode_base64url, encode_base64url
from services.credential.vc.proofs import iso_datetime

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
MIN_BITS = 131_072
REVOCATION = "revocation"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusListCredential"
LIST_SIZE = MIN_BITS
"""The bits of each list of a series: the smallest list the spec allows."""


@dataclass(frozen=True)
class StatusSlot:
    """One credential's bit: which list of the series (``"1"``, ``"2"``, …) and which bit."""

    list_id: str
    index: int


def slot(position: int, size: int = LIST_SIZE) -> StatusSlot:
    """The list and bit of position ``position`` (0, 1, …) of a series of lists."""
    if position < 0:
        raise StatusListError("a position in the series is not negative")
    return StatusSlot(str(position // size + 1), position % size)


def position(where: StatusSlot, size: int = LIST_SIZE) -> int:
    """The position in the series of a list's bit (the inverse of :func:`slot`)."""
    number = int(where.list_id)
    if number < 1 or not 0 <= where.index < size:
        raise StatusListError(f"no bit {where.index} in list {where.list_id!r}")
    return (number - 1) * size + where.index


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
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` for a revocation list: sign it with
    :func:`services.credential.vc.proofs.sign` before publishing it at
    ``list_credential_url``. With ``valid_until`` a verifier may keep (cache) it until then,
    and an old copy cannot be replayed for longer."""
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_credential_url,
        "type": ["VerifiableCredential", LIST_TYPE],
        "issuer": issuer,
        "validFrom": iso_datetime(valid_from),
        "credentialSubject": {
            "id": f"{list_credential_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": REVOCATION,
            "encodedList": encode_bitstring(revoked_indices, size),
        },
    }
    if valid_until is not None:
        credential["validUntil"] = iso_datetime(valid_until)
    return credential


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


def is_set(entry: Mapping[str, Any], list_credential: Mapping[str, Any]) -> bool:
    """Whether the entry's bit is set in the list credential; the entry's ``statusPurpose``
    must be the list's (a revocation entry is not read from a suspension list)."""
    if entry.get("type") != ENTRY_TYPE:
        raise StatusListError(f"status type {entry.get('type')!r} is not {ENTRY_TYPE}")
    subject = list_subject(list_credential)
    if subject.get("type") not in ("BitstringStatusList", ["BitstringStatusList"]):
        raise StatusListError(f"the list's subject is a {subject.get('type')!r}")
    listed = subject.get("statusPurpose")
    purposes = listed if isinstance(listed, list) else [listed]
    if entry.get("statusPurpose") not in purposes:
        raise StatusListError(
            f"statusPurpose {entry.get('statusPurpose')!r} is not the list's ({listed!r})"
        )
    return read_bit(str(subject["encodedList"]), entry_index(entry))


def is_revoked(entry: Mapping[str, Any], list_credential: Mapping[str, Any]) -> bool:
    """Whether the entry's bit is set in the list credential (both must be for revocation)."""
    if entry.get("statusPurpose") != REVOCATION:
        raise StatusListError(f"statusPurpose {entry.get('statusPurpose')!r} is not {REVOCATION}")
    return is_set(entry, list_credential)
