"""Forgeries the verifier must never call valid: keys it was handed (a ``did:web`` fragment, a
``did:key`` under a ``did:web`` issuer), an issuer nobody vouches for, a swapped ``@context``,
an unreachable or forged status list, and the Data Integrity details (purpose, creation time,
expiry, the proof's context, the DID document's ``assertionMethod``). Exit codes: 1 when a
check failed, 2 when something could not be checked."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.credential.vc.credentials import issue_clr
from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.keys import (
    KeyRing,
    did_document,
    did_key,
    new_key_ring,
    trust_list_entry,
)
from services.credential.vc.multibase import encode_base58btc
from services.credential.vc.proofs import create_proof, hash_data, sign, unsecured
from services.credential.vc.schemas import SchemaSet
from services.credential.vc.statuslist import build_status_list_credential
from services.credential.vc.verify import (
    DidDocumentSource,
    TrustList,
    VerificationReport,
    verify_credential,
)
from tests.conformance.issuance import (
    CLR_ID,
    ISSUED_AT,
    LEARNER,
    NOW,
    RECORDS,
    STATUS,
    STATUS_URL,
    department_ring,
    issuer_for,
)


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return department_ring()


@pytest.fixture(scope="module")
def attacker() -> KeyRing:
    """The attacker's own key, claiming the department's DID."""
    return new_key_ring(department_ring().controller, datetime(2025, 2, 1, tzinfo=UTC))


def _issue(ring: KeyRing, loader: LocalDocumentLoader, signer: KeyRing | None = None) -> Any:
    """A CLR naming ``ring``'s DID as issuer, signed by ``signer`` (default: ``ring``)."""
    signer = signer or ring
    forged_ring = KeyRing(controller=ring.controller, keys=signer.keys)
    return issue_clr(
        LEARNER, RECORDS, issuer_for(ring), forged_ring, loader, CLR_ID, ISSUED_AT, status=STATUS
    )


def _list(ring: KeyRing, loader: LocalDocumentLoader, issuer: str | None = None) -> Any:
    unsigned = build_status_list_credential(STATUS_URL, issuer or ring.controller, set(), ISSUED_AT)
    return sign(unsigned, ring.current, ring.verification_method(), ISSUED_AT, loader)


def _verify(
    document: Mapping[str, Any],
    loader: LocalDocumentLoader,
    schemas: SchemaSet,
    trust: TrustList,
    status_list: Mapping[str, Any] | None,
    did_source: DidDocumentSource | None = None,
    trusted_only: bool = False,
) -> VerificationReport:
    return verify_credential(
        document,
        loader=loader,
        schemas=schemas,
        trust_list=trust,
        now=NOW,
        status_source=lambda url: status_list if url == STATUS_URL else None,
        trusted_only=trusted_only,
        did_source=did_source,
    )


def _resign(
    document: Mapping[str, Any], ring: KeyRing, loader: LocalDocumentLoader, **proof: Any
) -> Any:
    """``document`` signed again by ``ring`` with these proof options changed."""
    bare = unsecured(document)
    options = create_proof(bare, ring.current, ring.verification_method(), ISSUED_AT, loader)
    wanted = {**options, **proof}
    wanted.pop("proofValue")
    data = hash_data(bare, wanted, loader)
    return {
        **bare,
        "proof": {**wanted, "proofValue": encode_base58btc(ring.current.sign(data.combined))},
    }


def _proof(report: VerificationReport) -> str:
    return report.results("proof", "$")[0].result


def test_the_genuine_credential_is_valid_pinned_and_online(
    ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    clr = _issue(ring, loader)
    status_list = _list(ring, loader)
    pinned = _verify(clr, loader, schemas, trust_list_entry(ring), status_list)
    assert pinned.status == "valid" and pinned.exit_code == 0, pinned.summary()
    # Online: the key from the DID document of an issuer the trust list names without keys.
    online = _verify(
        clr,
        loader,
        schemas,
        {ring.controller: ()},
        status_list,
        {ring.controller: did_document(ring)}.get,
    )
    assert online.status == "valid", online.summary()
    # Online, not in the trust list: the DID document authenticates, nobody vouches (2).
    stranger = _verify(
        clr, loader, schemas, {}, status_list, {ring.controller: did_document(ring)}.get
    )
    assert _proof(stranger) == "passed"
    assert stranger.results("issuer", "$")[0].result == "unknown"
    assert stranger.exit_code == 2


def test_attacker_key_in_a_did_web_fragment(
    ring: KeyRing, attacker: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    forged = _issue(ring, loader, signer=attacker)
    method = forged["proof"]["verificationMethod"]
    assert method == f"{ring.controller}#{attacker.current.public_key_multibase}"
    status_list = _list(ring, loader)
    pinned = _verify(forged, loader, schemas, trust_list_entry(ring), status_list)
    assert pinned.exit_code == 1 and _proof(pinned) == "failed"
    assert "not among the keys pinned" in pinned.results("proof", "$")[0].detail
    # Offline and not pinned: the fragment is not taken as the key — cannot be checked.
    offline = _verify(forged, loader, schemas, {}, status_list)
    assert offline.exit_code == 2 and _proof(offline) == "unknown"
    # Online: the DID document does not list the attacker's key.
    online = _verify(
        forged, loader, schemas, {}, status_list, {ring.controller: did_document(ring)}.get
    )
    assert online.exit_code == 1 and _proof(online) == "failed"
    assert "not an assertionMethod" in online.results("proof", "$")[0].detail


def test_did_key_under_a_did_web_issuer(
    ring: KeyRing, attacker: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    genuine = _issue(ring, loader)
    vm = did_key(attacker.current.public_key)
    forged = _resign(
        genuine, attacker, loader, verificationMethod=f"{vm}#{vm.removeprefix('did:key:')}"
    )
    for trust in (trust_list_entry(ring), {}):
        report = _verify(forged, loader, schemas, trust, _list(ring, loader))
        assert report.exit_code == 1 and _proof(report) == "failed"
        assert "not controlled by the issuer" in report.results("proof", "$")[0].detail


def test_unknown_issuer_did_web_evil_example(
    ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    evil = department_ring("evil.example")
    forged = _issue(evil, loader)
    assert forged["issuer"]["id"] == "did:web:evil.example"
    evil_list = _list(evil, loader)
    offline = _verify(forged, loader, schemas, trust_list_entry(ring), evil_list)
    assert offline.exit_code == 2 and offline.status == "indeterminate"
    assert _proof(offline) == "unknown"
    online = _verify(
        forged,
        loader,
        schemas,
        trust_list_entry(ring),
        evil_list,
        {evil.controller: did_document(evil)}.get,
    )
    assert _proof(online) == "passed" and online.exit_code == 2
    assert "not in the trust list" in online.results("issuer", "$")[0].detail
    strict = _verify(
        forged,
        loader,
        schemas,
        trust_list_entry(ring),
        evil_list,
        {evil.controller: did_document(evil)}.get,
        trusted_only=True,
    )
    assert strict.exit_code == 1 and strict.results("issuer", "$")[0].result == "failed"


@pytest.mark.parametrize("swap", [(0, 1), (1, 2)], ids=["vc-context-not-first", "clr-ob-swapped"])
def test_context_order_swapped(
    swap: tuple[int, int], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    genuine = _issue(ring, loader)
    bare = unsecured(genuine)
    contexts = list(bare["@context"])
    a, b = swap
    contexts[a], contexts[b] = contexts[b], contexts[a]
    bare["@context"] = contexts
    # Signed again by the department's own key: the order alone must fail it.
    forged = sign(bare, ring.current, ring.verification_method(), ISSUED_AT, loader)
    report = _verify(forged, loader, schemas, trust_list_entry(ring), _list(ring, loader))
    assert report.exit_code == 1
    context = report.results("context", "$")[0]
    assert context.result == "failed" and "@context must be" in context.detail


def test_status_list_unreachable_is_exit_2(
    ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    report = _verify(_issue(ring, loader), loader, schemas, trust_list_entry(ring), None)
    assert report.exit_code == 2 and report.status == "indeterminate"
    assert report.verdict()["unknown"] and not report.verdict()["failed"]


def test_status_list_with_a_forged_proof(
    ring: KeyRing, attacker: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    clr = _issue(ring, loader)
    by_attacker = _list(attacker, loader, issuer=ring.controller)
    report = _verify(clr, loader, schemas, trust_list_entry(ring), by_attacker)
    assert report.exit_code == 1
    assert "does not verify" in report.results("status", "$")[0].detail
    someone_elses = _list(department_ring("evil.example"), loader)
    other = _verify(clr, loader, schemas, trust_list_entry(ring), someone_elses)
    assert other.exit_code == 1
    assert "not by the credential's issuer" in other.results("status", "$")[0].detail


def test_status_purpose_must_match_the_list(
    ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    unsigned = build_status_list_credential(STATUS_URL, ring.controller, set(), ISSUED_AT)
    unsigned["credentialSubject"]["statusPurpose"] = "suspension"
    suspension = sign(unsigned, ring.current, ring.verification_method(), ISSUED_AT, loader)
    report = _verify(_issue(ring, loader), loader, schemas, trust_list_entry(ring), suspension)
    assert report.exit_code == 1
    assert "is not the list's" in report.results("status", "$")[0].detail


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        ({"proofPurpose": "authentication"}, "is not assertionMethod"),
        ({"created": "2025-06-02T00:00:00Z"}, "created in the future"),
        ({"expires": "2025-05-01T00:00:00Z"}, "the proof expired"),
        (
            {"@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/other"]},
            "not a prefix",
        ),
    ],
    ids=["purpose", "created-in-future", "expired-proof", "proof-context-not-prefix"],
)
def test_data_integrity_details(
    change: dict[str, Any],
    phrase: str,
    ring: KeyRing,
    loader: LocalDocumentLoader,
    schemas: SchemaSet,
) -> None:
    forged = _resign(_issue(ring, loader), ring, loader, **change)
    report = _verify(forged, loader, schemas, trust_list_entry(ring), _list(ring, loader))
    assert report.exit_code == 1, report.summary()
    assert phrase in report.results("proof", "$")[0].detail


def test_a_key_in_the_did_document_but_not_an_assertion_method_fails(
    ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    clr = _issue(ring, loader)
    document = copy.deepcopy(did_document(ring))
    document["assertionMethod"] = []
    report = _verify(clr, loader, schemas, {}, _list(ring, loader), {ring.controller: document}.get)
    assert (
        report.exit_code == 1 and "not an assertionMethod" in report.results("proof", "$")[0].detail
    )
    impostor = {**did_document(ring), "id": "did:web:evil.example"}
    other = _verify(clr, loader, schemas, {}, _list(ring, loader), lambda did: impostor)
    assert other.exit_code == 1 and "is that of" in other.results("proof", "$")[0].detail


def test_valid_from_and_until(
    ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    clr = _issue(ring, loader)
    early = verify_credential(
        clr,
        loader=loader,
        schemas=schemas,
        trust_list=trust_list_entry(ring),
        now=ISSUED_AT - timedelta(days=1),
        status_source=lambda url: _list(ring, loader),
    )
    assert early.exit_code == 1
    assert early.results("valid_from", "$")[0].result == "failed"
