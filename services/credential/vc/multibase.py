"""Multibase and Multikey encodings used by Data Integrity proofs and DID documents.

Only what the project needs: base58btc (prefix ``z``) for signatures and Ed25519 keys, and
base64url without padding (prefix ``u``) for the status list bitstring.
"""

from __future__ import annotations

import base64

import base58

ED25519_PUBLIC_PREFIX = b"\xed\x01"
"""Multicodec ``ed25519-pub`` (0xed), varint-encoded."""
ED25519_PRIVATE_PREFIX = b"\x80\x26"
"""Multicodec ``ed25519-priv`` (0x1300), varint-encoded."""
ED25519_KEY_LENGTH = 32


class MultibaseError(ValueError):
    """A value is not the multibase or Multikey encoding it claims to be."""


def encode_base58btc(data: bytes) -> str:
    """Encode bytes as multibase base58btc (``z`` followed by the Bitcoin alphabet)."""
    return "z" + base58.b58encode(data).decode("ascii")


def decode_base58btc(value: str) -> bytes:
    """Decode a multibase base58btc string; raise :class:`MultibaseError` if it is not one."""
    if not value.startswith("z") or len(value) < 2:
        raise MultibaseError(f"not a base58btc multibase value: {value[:16]!r}")
    try:
        return base58.b58decode(value[1:].encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise MultibaseError(f"invalid base58btc characters in {value[:16]!r}") from exc


def encode_base64url(data: bytes) -> str:
    """Encode bytes as multibase base64url without padding (prefix ``u``)."""
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_base64url(value: str) -> bytes:
    """Decode a multibase base64url string (prefix ``u``, padding optional)."""
    if not value.startswith("u"):
        raise MultibaseError(f"not a base64url multibase value: {value[:16]!r}")
    body = value[1:]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise MultibaseError("invalid base64url data") from exc


def encode_ed25519_public_key(raw: bytes) -> str:
    """Encode a raw 32-byte Ed25519 public key as a Multikey ``publicKeyMultibase``."""
    if len(raw) != ED25519_KEY_LENGTH:
        raise MultibaseError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return encode_base58btc(ED25519_PUBLIC_PREFIX + raw)


def decode_ed25519_public_key(multikey: str) -> bytes:
    """Decode a Multikey ``z6Mk…`` value into the raw 32-byte Ed25519 public key."""
    data = decode_base58btc(multikey)
    if not data.startswith(ED25519_PUBLIC_PREFIX):
        raise MultibaseError("not an Ed25519 public Multikey (multicodec 0xed)")
    raw = data[len(ED25519_PUBLIC_PREFIX) :]
    if len(raw) != ED25519_KEY_LENGTH:
        raise MultibaseError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return raw


def encode_ed25519_private_key(seed: bytes) -> str:
    """Encode a raw 32-byte Ed25519 private key (seed) as a Multikey ``secretKeyMultibase``."""
    if len(seed) != ED25519_KEY_LENGTH:
        raise MultibaseError(f"an Ed25519 private key has 32 bytes, not {len(seed)}")
    return encode_base58btc(ED25519_PRIVATE_PREFIX + seed)


def decode_ed25519_private_key(multikey: str) -> bytes:
    """Decode a Multikey ``z3u2…`` private key into the raw 32-byte Ed25519 seed."""
    data = decode_base58btc(multikey)
    if not data.startswith(ED25519_PRIVATE_PREFIX):
        raise MultibaseError("not an Ed25519 private Multikey (multicodec 0x1300)")
    seed = data[len(ED25519_PRIVATE_PREFIX) :]
    if len(seed) != ED25519_KEY_LENGTH:
        raise MultibaseError(f"an Ed25519 private key has 32 bytes, not {len(seed)}")
    return seed


def is_ed25519_public_multikey(value: str) -> bool:
    """Whether ``value`` decodes as an Ed25519 public Multikey."""
    try:
        decode_ed25519_public_key(value)
    except MultibaseError:
        return False
    return True
