"""W3C Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite (VC DI EdDSA §3.3).

To sign: canonicalize the document without its proof and the proof options (with the
document's ``@context``) with RDFC-1.0, hash each with SHA-256, sign
``proofHash || documentHash`` with Ed25519, and put the signature in ``proofValue`` as
base58btc multibase.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.credential.vc.jsonld import JsonLdStrictError, LocalDocumentLoader, canonicalize
from services.credential.vc.keys import SigningKey
from services.credential.vc.multibase import MultibaseError, decode_base58btc, encode_base58btc

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
ASSERTION_METHOD = "assertionMethod"


class ProofError(ValueError):
    """A proof cannot be created or does not verify; the message says why."""


@dataclass(frozen=True)
class HashData:
    """The intermediate values of the cryptosuite, as the test vectors publish them."""

    canonical_document: str
    canonical_proof_config: str
    document_hash: bytes
    proof_hash: bytes

    @property
    def combined(self) -> bytes:
        """The data signed: ``proofHash || documentHash``."""
        return self.proof_hash + self.document_hash


def iso_datetime(moment: datetime) -> str:
    """An XML Schema dateTime in UTC with a ``Z`` and whole seconds."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def proofs_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The document's proofs as a list (a single proof object or a proof set)."""
    proof = document.get("proof")
    if proof is None:
        return []
    return [p for p in (proof if isinstance(proof, list) else [proof]) if isinstance(p, dict)]


def unsecured(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the document without its ``proof``."""
    return {k: copy.deepcopy(v) for k, v in document.items() if k != "proof"}


def hash_data(
    unsecured_document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
    loader: LocalDocumentLoader,
) -> HashData:
    """Canonicalize and hash the document and the proof configuration (the proof options
    without ``proofValue``, with the document's ``@context``)."""
    config = {k: copy.deepcopy(v) for k, v in proof_options.items() if k != "proofValue"}
    config["@context"] = copy.deepcopy(unsecured_document.get("@context"))
    canonical_config = canonicalize(config, loader)
    canonical_document = canonicalize(unsecured_document, loader)
    return HashData(
        canonical_document=canonical_document,
        canonical_proof_config=canonical_config,
        document_hash=hashlib.sha256(canonical_document.encode("utf-8")).digest(),
        proof_hash=hashlib.sha256(canonical_config.encode("utf-8")).digest(),
    )


def create_proof(
    document: Mapping[str, Any],
    key: SigningKey,
    verification_method: str,
    created: datetime,
    loader: LocalDocumentLoader,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """An ``eddsa-rdfc-2022`` proof over ``document`` (its existing proofs excluded)."""
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": iso_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    try:
        data = hash_data(unsecured(document), options, loader)
    except JsonLdStrictError as exc:
        raise ProofError(f"cannot canonicalize the document: {exc}") from exc
    options["proofValue"] = encode_base58btc(key.sign(data.combined))
    return options


def sign(
    document: Mapping[str, Any],
    key: SigningKey,
    verification_method: str,
    created: datetime,
    loader: LocalDocumentLoader,
) -> dict[str, Any]:
    """A copy of ``document`` secured with one ``eddsa-rdfc-2022`` proof. A document that
    already has a proof is refused (proof sets are not issued here)."""
    if "proof" in document:
        raise ProofError("the document already has a proof")
    signed = copy.deepcopy(dict(document))
    signed["proof"] = create_proof(document, key, verification_method, created, loader)
    return signed


def verify_proof(
    document: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_key: bytes,
    loader: LocalDocumentLoader,
) -> None:
    """Verify one ``eddsa-rdfc-2022`` proof of ``document`` with a raw Ed25519 public key.
    Return nothing when it verifies; raise :class:`ProofError` saying why when it does not."""
    if proof.get("type") != PROOF_TYPE:
        raise ProofError(f"proof type {proof.get('type')!r} is not {PROOF_TYPE}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"cryptosuite {proof.get('cryptosuite')!r} is not {CRYPTOSUITE}")
    if proof.get("proofPurpose") != ASSERTION_METHOD:
        raise ProofError(f"proofPurpose {proof.get('proofPurpose')!r} is not assertionMethod")
    created = proof.get("created")
    if created is not None:
        try:
            datetime.fromisoformat(str(created).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ProofError(f"created {created!r} is not a dateTime") from exc
    proof_context = proof.get("@context")
    if proof_context is not None:
        doc_context = document.get("@context")
        doc_list = doc_context if isinstance(doc_context, list) else [doc_context]
        proof_list = proof_context if isinstance(proof_context, list) else [proof_context]
        if doc_list[: len(proof_list)] != proof_list:
            raise ProofError("the proof's @context is not a prefix of the document's @context")
    try:
        signature = decode_base58btc(str(proof.get("proofValue", "")))
    except MultibaseError as exc:
        raise ProofError(f"proofValue: {exc}") from exc
    if len(signature) != 64:
        raise ProofError(f"an Ed25519 signature has 64 bytes, not {len(signature)}")
    options = {k: v for k, v in proof.items() if k not in ("proofValue", "@context")}
    try:
        data = hash_data(unsecured(document), options, loader)
    except JsonLdStrictError as exc:
        raise ProofError(f"cannot canonicalize the document: {exc}") from exc
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data.combined)
    except (InvalidSignature, ValueError) as exc:
        raise ProofError("the signature does not match the document and key") from exc
