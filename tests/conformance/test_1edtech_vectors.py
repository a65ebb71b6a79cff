"""The 1EdTech canonicalisation test vectors for Open Badges 3.0 and CLR 2.0
(``ob_v3p0/impl/test-vectors/{obv3p0,clrv2p0}/{document,proof}-canon.txt``).

Their input documents, proof options and key pair are published in the "Linked Data Proof
Test Vector" chapters of the Open Badges 3.0 Implementation Guide
(1EdTech/openbadges-specification, ``ob_v3p0/impl/index.md``), transcribed below; the
hashes, signatures and proof values asserted are the ones that guide publishes. The
contexts are the runtime ones (fetched from PyPI), so this also proves them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.keys import SigningKey
from services.credential.vc.multibase import encode_base58btc
from services.credential.vc.proofs import create_proof, hash_data, verify_proof
from tests.conformance.conftest import OB3

VECTORS = OB3 / "impl" / "test-vectors"
SECRET_KEY_HEX = (
    "6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"
    "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
)
PUBLIC_KEY_MULTIBASE = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
VERIFICATION_METHOD = f"https://example.edu/issuers/565049#{PUBLIC_KEY_MULTIBASE}"
CREATED = datetime(2010, 1, 1, 19, 23, 24, tzinfo=UTC)
PROOF_OPTIONS = {
    "type": "DataIntegrityProof",
    "created": "2010-01-01T19:23:24Z",
    "verificationMethod": VERIFICATION_METHOD,
    "cryptosuite": "eddsa-rdfc-2022",
    "proofPurpose": "assertionMethod",
}

OB_DOCUMENT: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "http://example.com/credentials/3527",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {
        "id": "https://example.edu/issuers/565049",
        "type": ["Profile"],
        "url": "https://www.imsglobal.org",
        "name": "Example Corp",
    },
    "validFrom": "2010-01-01T00:00:00Z",
    "name": "Teamwork Badge",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://example.com/achievements/21st-century-skills/teamwork",
            "type": ["Achievement"],
            "criteria": {
                "narrative": "Team members are nominated for this badge by their peers and "
                "recognized upon review by Example Corp management."
            },
            "description": "This badge recognizes the development of the capacity to "
            "collaborate within a group environment.",
            "name": "Teamwork",
        },
    },
}


def _clr_achievement(uuid: str, name: str) -> dict[str, Any]:
    return {
        "id": f"urn:uuid:{uuid}",
        "type": "Achievement",
        "creator": {"id": "https://example.edu/issuers/565049", "type": "Profile"},
        "name": name,
        "criteria": {"id": f"https://example.edu/achievements/{uuid}/criteria"},
        "description": name,
        "image": {"id": "https://example.edu/achievements/sample.png", "type": "Image"},
    }


A1 = "a7467ef6-56cb-11ec-bf63-0242ac130002"
A2 = "dd887f0a-56cb-11ec-bf63-0242ac130002"
CLR_EMBEDDED_PROOF_VALUE = (
    "z45QnLySMt2mWuW787G6cf3SLkP97ZkMZxLeXH5yaaTQPCtTup4GCV95tU8HEnQJSyGCokSj3AvUhmJtvveTmN4Vu"
)
CLR_DOCUMENT: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    ],
    "id": "http://example.edu/credentials/3732",
    "type": ["VerifiableCredential", "ClrCredential"],
    "issuer": {
        "id": "https://example.edu/issuers/565049",
        "type": "Profile",
        "name": "Example University",
    },
    "validFrom": "2010-01-01T00:00:00Z",
    "name": "Sample Transcript",
    "credentialSubject": {
        "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
        "type": "ClrSubject",
        "verifiableCredential": [
            {
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
                ],
                "id": "urn:uuid:91537dba-56cb-11ec-bf63-0242ac130002",
                "type": ["VerifiableCredential", "AchievementCredential"],
                "issuer": {
                    "id": "https://example.edu/issuers/565049",
                    "type": "Profile",
                    "name": "Example University",
                },
                "validFrom": "2010-01-01T00:00:00Z",
                "name": "Example University Degree",
                "credentialSubject": {
                    "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
                    "type": "AchievementSubject",
                    "achievement": _clr_achievement(A1, "Achievement 1"),
                },
                "credentialSchema": [
                    {
                        "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
                        "ob_v3p0_achievementcredential_schema.json",
                        "type": "1EdTechJsonSchemaValidator2019",
                    }
                ],
                "proof": [{**PROOF_OPTIONS, "proofValue": CLR_EMBEDDED_PROOF_VALUE}],
            }
        ],
        "achievement": [
            _clr_achievement(A1, "Achievement 1"),
            _clr_achievement(A2, "Achievement 2"),
        ],
        "association": [
            {
                "type": "Association",
                "associationType": "isParentOf",
                "sourceId": f"urn:uuid:{A1}",
                "targetId": f"urn:uuid:{A2}",
            }
        ],
    },
    "credentialSchema": [
        {
            "id": "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/"
            "clr_v2p0_clrcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ],
}

# (folder, document, document hash, proof hash, signature, proofValue) as the guide gives them.
CASES = [
    (
        "obv3p0",
        OB_DOCUMENT,
        "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773",
        "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19",
        "f7a017acf7d27983267ec362657c0fb08e955549f49dac5bf36a03c4f2c3a4f1"
        "e3738a6c5ecd7ffba7135cb9cd754e6196f4b73082ea8df8e703c8ecd4333503",
        "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr",
    ),
    (
        "clrv2p0",
        CLR_DOCUMENT,
        "768d7015ae69e0210e1c2a45194d9c1d15d7a6022e52b946574a2a27f6fa85fe",
        "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19",
        "0c220dadbcfcaa64ab8a8c5002dbe258e6c7746ca71c25e2ea3b7fbffd665684"
        "13f53b1d34f5655f3057864bd372bbf0d1e74ea2f8c72e2f4b5790f21a22b70a",
        "zF52sU1nfPAjcwCqtgxPNSor6SJnAzRBwZW5VNQXPt8xXCHkd39sgqj32DnMjhFCzbyHsLkhQ8HpBqQTkMgXy329",
    ),
]


def _key() -> SigningKey:
    secret = bytes.fromhex(SECRET_KEY_HEX)
    key = SigningKey(seed=secret[:32], created=CREATED)
    assert key.public_key == secret[32:]
    assert key.public_key_multibase == PUBLIC_KEY_MULTIBASE
    return key


@pytest.mark.parametrize(("folder", "document", "doc_hash", "proof_hash", "sig", "value"), CASES)
def test_canonical_document_and_proof(
    loader: LocalDocumentLoader,
    folder: str,
    document: dict[str, Any],
    doc_hash: str,
    proof_hash: str,
    sig: str,
    value: str,
) -> None:
    data = hash_data(document, PROOF_OPTIONS, loader)
    assert data.canonical_document == (VECTORS / folder / "document-canon.txt").read_text("utf-8")
    assert data.canonical_proof_config == (VECTORS / folder / "proof-canon.txt").read_text("utf-8")
    assert data.document_hash.hex() == doc_hash
    assert data.proof_hash.hex() == proof_hash


@pytest.mark.parametrize(("folder", "document", "doc_hash", "proof_hash", "sig", "value"), CASES)
def test_signature_and_proof_value(
    loader: LocalDocumentLoader,
    folder: str,
    document: dict[str, Any],
    doc_hash: str,
    proof_hash: str,
    sig: str,
    value: str,
) -> None:
    key = _key()
    proof = create_proof(document, key, VERIFICATION_METHOD, CREATED, loader)
    assert encode_base58btc(bytes.fromhex(sig)) == value
    assert proof == {**PROOF_OPTIONS, "proofValue": value}
    verify_proof(document, proof, key.public_key, loader)


def test_embedded_proof_of_the_clr_vector_verifies(loader: LocalDocumentLoader) -> None:
    embedded = copy.deepcopy(CLR_DOCUMENT["credentialSubject"]["verifiableCredential"][0])
    verify_proof(embedded, embedded["proof"][0], _key().public_key, loader)
