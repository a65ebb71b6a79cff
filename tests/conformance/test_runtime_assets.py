"""The contexts the service loads at run time (fetched from PyPI into ``.cache/``, VC 2.0
from pyld) are the ones the reference validator bundles; nothing is fetched while
processing; the status list and DID helpers behave as the specifications say."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pyld import jsonld

from services.credential.vc.contexts import CONTEXT_FILES, VC_V2
from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.keys import (
    KeyRing,
    KeyRingError,
    did_key,
    did_key_public_key,
    did_web,
    did_web_document_url,
    new_key_ring,
)
from services.credential.vc.statuslist import (
    MIN_BITS,
    StatusListError,
    decode_bitstring,
    encode_bitstring,
    read_bit,
)
from tests.conformance.conftest import OB30_FIXTURES, VALIDATOR_CONTEXTS, read_json

VALIDATOR_COPIES = {
    VC_V2: "credentials-v2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-v3p0-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-v3p0-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": "ob-v3p0-extensions.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json": "clr-v2p0-2.0.1.json",
}


@pytest.mark.parametrize("url", list(VALIDATOR_COPIES))
def test_runtime_context_is_the_reference_validators(loader: LocalDocumentLoader, url: str) -> None:
    assert loader(url)["document"] == read_json(VALIDATOR_CONTEXTS / VALIDATOR_COPIES[url])


def test_every_pinned_context_is_served(loader: LocalDocumentLoader) -> None:
    assert set(CONTEXT_FILES) | {VC_V2} <= loader.urls


def test_loader_never_fetches(loader: LocalDocumentLoader) -> None:
    with pytest.raises(jsonld.JsonLdError):
        loader("https://purl.imsglobal.org/spec/ob/v3p0/context.json")
    document = {"@context": ["https://example.org/not-local/v1"], "name": "x"}
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand(document, loader.options())


def test_status_list_bits_and_size() -> None:
    encoded = encode_bitstring({0, 7, 8, 131_071})
    bits = decode_bitstring(encoded)
    assert len(bits) * 8 == MIN_BITS
    assert bits[0] == 0b1000_0001 and bits[1] == 0b1000_0000 and bits[-1] == 1
    assert [i for i in (0, 1, 7, 8, 9, 131_071) if read_bit(encoded, i)] == [0, 7, 8, 131_071]
    assert encoded.startswith("u") and "=" not in encoded
    assert encode_bitstring({5}) == encode_bitstring({5})  # deterministic
    with pytest.raises(StatusListError):
        encode_bitstring(set(), size=1024)
    with pytest.raises(StatusListError):
        read_bit(encoded, MIN_BITS)


def test_status_list_reads_the_validators_list() -> None:
    encoded = read_json(OB30_FIXTURES / "bit-string-list" / "testlist")["credentialSubject"][
        "encodedList"
    ]
    bits = decode_bitstring(encoded)
    set_bits = [i for i in range(len(bits) * 8) if bits[i // 8] & (0x80 >> (i % 8))]
    assert set_bits == [23]
    assert read_bit(encoded, 23) and not read_bit(encoded, 22) and not read_bit(encoded, 24)


def test_did_web_and_did_key() -> None:
    assert did_web("learningtrail.example") == "did:web:learningtrail.example"
    assert did_web("localhost:8082", "issuers", "so-gd") == "did:web:localhost%3A8082:issuers:so-gd"
    assert (
        did_web_document_url("did:web:learningtrail.example")
        == "https://learningtrail.example/.well-known/did.json"
    )
    assert (
        did_web_document_url("did:web:localhost%3A8082:issuers:so-gd")
        == "https://localhost:8082/issuers/so-gd/did.json"
    )
    ring = new_key_ring(did_web("learningtrail.example"), datetime(2025, 1, 1, tzinfo=UTC))
    assert did_key_public_key(did_key(ring.current.public_key)) == ring.current.public_key
    with pytest.raises(KeyRingError):
        did_key_public_key("did:key:z6MkjZRsdasZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi")


def test_key_ring_storage_round_trip_checks_keys() -> None:
    ring = new_key_ring(did_web("learningtrail.example"), datetime(2025, 1, 1, tzinfo=UTC))
    stored = json.loads(json.dumps(ring.to_dict()))
    assert KeyRing.from_dict(stored) == ring
    stored["keys"][0]["publicKeyMultibase"] = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    with pytest.raises(KeyRingError):
        KeyRing.from_dict(stored)
