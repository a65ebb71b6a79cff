"""Ed25519 signing keys, the issuer's key ring, its ``did:web`` DID document, and
``did:key`` resolution.

The issuer is identified by ``did:web:<domain>``. Its key ring keeps every key it ever used,
oldest first: the newest key signs, the older ones stay in the DID document (and in the trust
list a verifier pins) so that credentials signed before a rotation still verify. A
verification method is ``<did>#<publicKeyMultibase>``: the fragment is the Multikey itself,
as the 1EdTech reference validator expects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from services.credential.vc.multibase import (
    MultibaseError,
    decode_ed25519_private_key,
    decode_ed25519_public_key,
    encode_ed25519_private_key,
    encode_ed25519_public_key,
)

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"


class KeyRingError(ValueError):
    """A key, key ring or DID cannot be used as given."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key of the issuer: its private seed, when it was created and, once a newer
    key replaced it, when it stopped signing."""

    seed: bytes = field(repr=False)
    created: datetime
    retired: datetime | None = None

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise KeyRingError("an Ed25519 private key has 32 bytes")

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte Ed25519 public key."""
        private = Ed25519PrivateKey.from_private_bytes(self.seed)
        return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_key_multibase(self) -> str:
        """The public key as a Multikey (``z6Mk…``)."""
        return encode_ed25519_public_key(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """Sign ``data`` with Ed25519 (RFC 8032, pure EdDSA)."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(data)


def generate_signing_key(now: datetime) -> SigningKey:
    """A fresh Ed25519 key created at ``now``."""
    return SigningKey(seed=os.urandom(32), created=now)


@dataclass(frozen=True)
class KeyRing:
    """The issuer's keys, oldest first. The newest key signs; all of them verify."""

    controller: str
    keys: tuple[SigningKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("a key ring holds at least one key")
        if not self.controller.startswith("did:"):
            raise KeyRingError(f"the key ring's controller must be a DID, not {self.controller!r}")

    @property
    def current(self) -> SigningKey:
        """The key that signs new credentials (the newest one)."""
        return self.keys[-1]

    def verification_method(self, key: SigningKey | None = None) -> str:
        """The verification method id of ``key`` (default: the current key):
        ``<did>#<publicKeyMultibase>``."""
        return f"{self.controller}#{(key or self.current).public_key_multibase}"

    def public_keys(self) -> tuple[str, ...]:
        """Every public key of the ring as a Multikey, oldest first."""
        return tuple(key.public_key_multibase for key in self.keys)

    def to_dict(self) -> dict[str, Any]:
        """The ring as a plain dict for storage (e.g. one MongoDB document). It holds the
        private keys in clear: store it encrypted or in a secrets store, never in a log."""
        return {
            "controller": self.controller,
            "keys": [
                {
                    "id": self.verification_method(key),
                    "type": "Multikey",
                    "publicKeyMultibase": key.public_key_multibase,
                    "secretKeyMultibase": encode_ed25519_private_key(key.seed),
                    "created": _iso(key.created),
                    "retired": _iso(key.retired) if key.retired else None,
                }
                for key in self.keys
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyRing:
        """Rebuild a ring stored with :meth:`to_dict`; each stored public key must match
        its private key."""
        keys: list[SigningKey] = []
        for item in data["keys"]:
            try:
                seed = decode_ed25519_private_key(str(item["secretKeyMultibase"]))
            except MultibaseError as exc:
                raise KeyRingError(f"stored key {item.get('id')!r}: {exc}") from exc
            retired = item.get("retired")
            key = SigningKey(
                seed=seed,
                created=_parse_iso(str(item["created"])),
                retired=_parse_iso(str(retired)) if retired else None,
            )
            if item.get("publicKeyMultibase") not in (None, key.public_key_multibase):
                raise KeyRingError(f"stored key {item.get('id')!r}: public and private keys differ")
            keys.append(key)
        return cls(controller=str(data["controller"]), keys=tuple(keys))


def new_key_ring(controller: str, now: datetime, seed: bytes | None = None) -> KeyRing:
    """A ring with one key (generated unless ``seed`` is given) for the DID ``controller``."""
    key = SigningKey(seed=seed, created=now) if seed else generate_signing_key(now)
    return KeyRing(controller=controller, keys=(key,))


def rotate_key_ring(ring: KeyRing, now: datetime, seed: bytes | None = None) -> KeyRing:
    """A new ring whose newest key (generated unless ``seed`` is given) signs from now on.
    The previous key is marked retired at ``now`` but kept, so what it signed still
    verifies."""
    new_key = SigningKey(seed=seed, created=now) if seed else generate_signing_key(now)
    if new_key.public_key_multibase in ring.public_keys():
        raise KeyRingError("the new key is already in the ring")
    previous = tuple(key if key.retired else replace(key, retired=now) for key in ring.keys)
    return KeyRing(controller=ring.controller, keys=(*previous, new_key))


def remove_key(ring: KeyRing, public_key_multibase: str) -> KeyRing:
    """A new ring without the given key — for a compromised key, whose credentials must stop
    verifying. The current key cannot be removed: rotate first."""
    if public_key_multibase == ring.current.public_key_multibase:
        raise KeyRingError("rotate before removing the current key")
    kept = tuple(k for k in ring.keys if k.public_key_multibase != public_key_multibase)
    if len(kept) == len(ring.keys):
        raise KeyRingError("no such key in the ring")
    return KeyRing(controller=ring.controller, keys=kept)


def did_web(domain: str, *path: str) -> str:
    """The ``did:web`` DID for a domain (a port is percent-encoded, as the method says) and
    optional path segments: ``did_web("learningtrail.example")`` →
    ``did:web:learningtrail.example``."""
    host = domain.strip().lower()
    if not host or "/" in host:
        raise KeyRingError(f"not a domain name: {domain!r}")
    return ":".join(["did", "web", quote(host, safe=".-"), *(quote(p, safe="") for p in path)])


def did_web_document_url(did: str) -> str:
    """Where a ``did:web`` DID document is served: ``https://<domain>/.well-known/did.json``,
    or ``https://<domain>/<path>/did.json`` when the DID has path segments."""
    if not did.startswith("did:web:"):
        raise KeyRingError(f"not a did:web DID: {did!r}")
    parts = did.removeprefix("did:web:").split(":")
    host = unquote(parts[0])
    if len(parts) == 1:
        return f"https://{host}/.well-known/did.json"
    return f"https://{host}/{'/'.join(unquote(p) for p in parts[1:])}/did.json"


def did_document(ring: KeyRing) -> dict[str, Any]:
    """The DID document to serve for the ring's ``did:web``: every key as a ``Multikey``
    verification method, each usable as an ``assertionMethod`` (so credentials signed before
    a rotation still verify)."""
    methods = [
        {
            "id": ring.verification_method(key),
            "type": "Multikey",
            "controller": ring.controller,
            "publicKeyMultibase": key.public_key_multibase,
        }
        for key in ring.keys
    ]
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": ring.controller,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
        "authentication": [ring.verification_method()],
    }


def trust_list_entry(ring: KeyRing) -> dict[str, tuple[str, ...]]:
    """The ring as a trust-list entry: ``{issuer DID: public Multikeys}``."""
    return {ring.controller: ring.public_keys()}


def trust_list_from_did_document(document: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """A trust-list entry from a DID document: its ``Multikey`` verification methods that
    may assert credentials."""

    def listed(name: str) -> list[Any]:
        found = document.get(name)
        return found if isinstance(found, list) else []

    # a DID document given by someone else: anything malformed in it is simply not a key
    assertion = {
        m if isinstance(m, str) else m.get("id")
        for m in listed("assertionMethod")
        if isinstance(m, str | Mapping)
    }
    keys = tuple(
        m["publicKeyMultibase"]
        for m in listed("verificationMethod")
        if isinstance(m, Mapping)
        and m.get("type") == "Multikey"
        and isinstance(m.get("publicKeyMultibase"), str)
        and isinstance(m.get("id"), str)
        and m.get("id") in assertion
    )
    return {str(document["id"]): keys}


def did_key_public_key(did_url: str) -> bytes:
    """The raw Ed25519 public key of a ``did:key`` DID or DID URL, resolved offline from the
    key itself (a fragment, if any, must name the same key)."""
    if not did_url.startswith("did:key:"):
        raise KeyRingError(f"not a did:key: {did_url!r}")
    identifier, _, fragment = did_url.removeprefix("did:key:").partition("#")
    if fragment and fragment != identifier:
        raise KeyRingError("the did:key fragment names another key")
    try:
        return decode_ed25519_public_key(identifier)
    except MultibaseError as exc:
        raise KeyRingError(f"did:key is not an Ed25519 Multikey: {exc}") from exc


def did_key(public_key: bytes) -> str:
    """The ``did:key`` DID of a raw Ed25519 public key."""
    return "did:key:" + encode_ed25519_public_key(public_key)
