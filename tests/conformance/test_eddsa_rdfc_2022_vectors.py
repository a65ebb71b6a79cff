"""The W3C ``eddsa-rdfc-2022`` test vectors (vc-di-eddsa/TestVectors), reproduced bit for
bit from the published key pair."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.keys import SigningKey, did_key_public_key
from services.credential.vc.multibase import (
    decode_ed25519_private_key,
    encode_base58btc,
)
from services.credential.vc.proofs import create_proof, hash_data, unsecured, verify_proof
from tests.conformance.conftest import W3C, read_json

VECTORS = W3C / "TestVectors"
RDFC = VECTORS / "eddsa-rdfc-2022"


def _text(name: str) -> str:
    return (RDFC / name).read_text("utf-8")


def _key() -> SigningKey:
    pair = read_json(VECTORS / "keyPair.json")
    key = SigningKey(
        seed=decode_ed25519_private_key(pair["privateKeyMultibase"]),
        created=datetime(2023, 2, 24, tzinfo=UTC),
    )
    assert key.public_key_multibase == pair["publicKeyMultibase"]
    return key


def test_canonical_forms_and_hashes(w3c_loader: LocalDocumentLoader) -> None:
    data = hash_data(
        read_json(VECTORS / "unsigned.json"),
        read_json(RDFC / "proofConfigDataInt.json"),
        w3c_loader,
    )
    assert data.canonical_document == _text("canonDocDataInt.txt")
    assert data.canonical_proof_config == _text("proofCanonDataInt.txt")
    assert data.document_hash.hex() == _text("docHashDataInt.txt").strip()
    assert data.proof_hash.hex() == _text("proofHashDataInt.txt").strip()
    assert data.combined.hex() == _text("combinedHashDataInt.txt").strip()


def test_signature_and_proof_value(w3c_loader: LocalDocumentLoader) -> None:
    key = _key()
    config = read_json(RDFC / "proofConfigDataInt.json")
    data = hash_data(read_json(VECTORS / "unsigned.json"), config, w3c_loader)
    signature = key.sign(data.combined)
    assert signature.hex() == _text("sigHexDataInt.txt").strip()
    assert encode_base58btc(signature) == _text("sigBTC58DataInt.txt").strip()

    proof = create_proof(
        read_json(VECTORS / "unsigned.json"),
        key,
        config["verificationMethod"],
        datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC),
        w3c_loader,
    )
    assert proof == read_json(RDFC / "signedDataInt.json")["proof"]


def test_signed_vector_verifies_and_tampering_is_caught(w3c_loader: LocalDocumentLoader) -> None:
    signed = read_json(RDFC / "signedDataInt.json")
    proof = signed["proof"]
    public_key = did_key_public_key(proof["verificationMethod"])
    verify_proof(signed, proof, public_key, w3c_loader)

    tampered = unsecured(signed)
    tampered["credentialSubject"]["alumniOf"] = "Another School"
    try:
        verify_proof(tampered, proof, public_key, w3c_loader)
    except ValueError as exc:
        assert "does not match" in str(exc)
    else:
        raise AssertionError("a changed document must not verify")


def test_employment_vector_hashes_and_signature() -> None:
    # Its context (w3id.org/citizenship/v4rc1) is not among the published material, so this
    # vector starts from the published canonical forms: hashing and signing only.
    folder = RDFC / "employ"
    document = (folder / "canonDocDataInt.txt").read_text("utf-8")
    config = (folder / "proofCanonDataInt.txt").read_text("utf-8")
    doc_hash = hashlib.sha256(document.encode()).digest()
    proof_hash = hashlib.sha256(config.encode()).digest()
    assert doc_hash.hex() == (folder / "docHashDataInt.txt").read_text().strip()
    assert proof_hash.hex() == (folder / "proofHashDataInt.txt").read_text().strip()
    assert (proof_hash + doc_hash).hex() == (folder / "combinedHashDataInt.txt").read_text().strip()
    signature = _key().sign(proof_hash + doc_hash)
    assert signature.hex() == (folder / "sigHexDataInt.txt").read_text().strip()
    assert encode_base58btc(signature) == (folder / "sigBTC58DataInt.txt").read_text().strip()
    assert read_json(folder / "signedDataInt.json")["proof"]["proofValue"] == encode_base58btc(
        signature
    )
