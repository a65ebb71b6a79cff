"""The reference validator's fixtures (1EdTech digital-credentials-public-validator): every
valid ``eddsa-rdfc-2022`` credential verifies once its issuer's key is pinned (a key named in
an ``https`` verification method proves nothing by itself), every ``simple-err-*`` one is
rejected by the check its name points at, and the rest are reported as unsupported — never
as valid."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.schemas import SchemaSet
from services.credential.vc.verify import VerificationReport, verify_credential
from tests.conformance.conftest import CLR20_FIXTURES, OB30_FIXTURES, read_json

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STATUS_LIST = OB30_FIXTURES / "bit-string-list" / "testlist"

VALID = [
    OB30_FIXTURES / "simple.json",
    OB30_FIXTURES / "simple-did-web-method.json",
    OB30_FIXTURES / "simple-did-key-method.json",
    OB30_FIXTURES / "complete.json",
    OB30_FIXTURES / "simple-context-alias.json",
    OB30_FIXTURES / "simple-context-version.json",
    OB30_FIXTURES / "simple-multiple-proofs.json",
    OB30_FIXTURES / "endorsement-valid.json",
    CLR20_FIXTURES / "simple.json",
]
REVOKED = [
    OB30_FIXTURES / "bit-string-list" / "credential-status-revoked.json",
    OB30_FIXTURES / "bit-string-list" / "credential-status-revoked-blank-nodes.json",
]
# file -> (the check that reports it, why)
UNSUPPORTED = {
    OB30_FIXTURES / "simple.jwt": ("format", "VC-JWT"),
    OB30_FIXTURES / "velocity.jwt": ("format", "VC-JWT"),
    CLR20_FIXTURES / "simple.jwt": ("format", "VC-JWT"),
    OB30_FIXTURES / "sd" / "derivedcredential.json": ("proof", "ecdsa-sd-2023"),
    OB30_FIXTURES / "simple-eddsa-2022.json": ("context", "VC Data Model 1.1"),
    OB30_FIXTURES / "simple_v1.json": ("context", "VC Data Model 1.1"),
    OB30_FIXTURES / "complete_v1.json": ("context", "VC Data Model 1.1"),
    OB30_FIXTURES / "simple-noproof.json": ("context", "VC Data Model 1.1"),
    OB30_FIXTURES / "credential-status-revoked.json": ("context", "VC Data Model 1.1"),
    OB30_FIXTURES / "endorsement-err-schema-status-refresh.json": ("context", "VC Data Model 1.1"),
    CLR20_FIXTURES / "complex.json": ("context", "VC Data Model 1.1"),
    CLR20_FIXTURES / "simple_v1.json": ("context", "VC Data Model 1.1"),
    CLR20_FIXTURES / "simple-noproof.json": ("context", "VC Data Model 1.1"),
    CLR20_FIXTURES / "simple_old_safesigned.json": ("context", "VC Data Model 1.1"),
}
# simple-err-* -> (the check that must fail, a phrase its detail must hold)
ERRORS = {
    "simple-err-context.json": ("context", "first @context must be"),
    "simple-err-credential-subject-achievement-result-description-type.json": (
        "type",
        "achievement.resultDescription[2].type must contain ResultDescription",
    ),
    "simple-err-credential-subject-identifier-type.json": (
        "type",
        "credentialSubject.identifier[0].type must contain IdentityObject",
    ),
    "simple-err-credential-subject-profile-type.json": (
        "type",
        "credentialSubject.source.type must contain Profile",
    ),
    "simple-err-credential-subject-result-type.json": (
        "type",
        "credentialSubject.result[1].type must contain Result",
    ),
    "simple-err-credential-subject-type.json": ("type", "must contain AchievementSubject"),
    "simple-err-evidence-type.json": ("type", "evidence[1].type must contain Evidence"),
    "simple-err-expired.json": ("valid_until", "expired on 2010-01-01T00:00:00Z"),
    "simple-err-issued.json": ("valid_from", "not valid before 2040-01-01T00:00:00Z"),
    "simple-err-issuer.json": ("issuer", "names no issuer"),
    "simple-err-issuer-otheridentifier-type.json": (
        "type",
        "issuer.otherIdentifier[1].type must contain IdentifierEntry",
    ),
    "simple-err-issuer-parentorg-type.json": ("type", "issuer.parentOrg.type must contain Profile"),
    "simple-err-issuer-type.json": ("type", "issuer.type must contain Profile"),
    "simple-err-proof-method.json": ("proof", "not an Ed25519 public Multikey"),
    "simple-err-proof-method-no-scheme.json": ("proof", "is not a URI"),
    "simple-err-proof-method-unknown-did-method.json": ("proof", "DID method 'example'"),
    "simple-err-proof-method-unknown-scheme.json": ("proof", "scheme 'xxx'"),
    "simple-err-proof-value.json": ("proof", "signature does not match"),
    "simple-err-type.json": ("type", "type must contain VerifiableCredential and one of"),
}


def _pins(document: Any) -> dict[str, tuple[str, ...]]:
    """The trust list of a verifier that pinned the fixture issuers' published test keys:
    each issuer of the document (and of what it embeds) with the key its proof names."""
    pins: dict[str, tuple[str, ...]] = {}
    if not isinstance(document, dict):
        return pins
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    proofs = document.get("proof")
    for proof in proofs if isinstance(proofs, list) else [proofs]:
        method = proof.get("verificationMethod") if isinstance(proof, dict) else None
        if isinstance(issuer_id, str) and isinstance(method, str) and "#" in method:
            pins[issuer_id] = (*pins.get(issuer_id, ()), method.rpartition("#")[2])
        elif (
            isinstance(issuer_id, str) and isinstance(method, str) and method.startswith("did:key:")
        ):
            pins[issuer_id] = (method.removeprefix("did:key:"),)
    subject = document.get("credentialSubject")
    if isinstance(subject, dict):
        for embedded in subject.get("verifiableCredential", []):
            pins.update(_pins(embedded))
    return pins


def _load(path: Path) -> Any:
    return path.read_text("utf-8").strip() if path.suffix == ".jwt" else read_json(path)


def _verify(
    document: Any,
    loader: LocalDocumentLoader,
    schemas: SchemaSet,
    trust_list: dict[str, tuple[str, ...]] | None = None,
    trusted_only: bool = False,
) -> VerificationReport:
    """Verified by a verifier that pinned the fixture's issuers unless ``trust_list`` says
    otherwise."""
    status_list = read_json(STATUS_LIST)
    return verify_credential(
        document,
        loader=loader,
        schemas=schemas,
        trust_list=_pins(document) if trust_list is None else trust_list,
        now=NOW,
        status_source=lambda url: status_list,
        trusted_only=trusted_only,
    )


def _summary(report: VerificationReport) -> str:
    return json.dumps(report.to_dict(), indent=1, ensure_ascii=False)


def test_every_fixture_is_classified() -> None:
    known = {*VALID, *REVOKED, *UNSUPPORTED, *(OB30_FIXTURES / name for name in ERRORS)}
    present = {
        p
        for folder in (OB30_FIXTURES, CLR20_FIXTURES)
        for p in folder.rglob("*")
        if p.suffix in (".json", ".jwt")
    }
    assert present == known


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_fixture_verifies(
    path: Path, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    report = _verify(_load(path), loader, schemas)
    proofs = report.results("proof")
    assert proofs and all(c.result == "passed" for c in proofs), _summary(report)
    assert all(c.result == "passed" for c in report.results("jsonld"))
    assert {c.result for c in report.results("issuer")} == {"passed"}
    if path.name == "complete.json":  # its 1EdTechRevocationList cannot be checked
        assert report.status == "indeterminate", _summary(report)
        assert report.results("status")[0].result == "unknown"
    else:
        assert report.status == "valid", _summary(report)


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_fixture_with_its_issuer_not_pinned_cannot_be_confirmed(
    path: Path, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    """The key in an https (or did:web) method's fragment is never used: unpinned, the proof
    cannot be checked (indeterminate, exit 2); a did:key method not the issuer's fails."""
    report = _verify(_load(path), loader, schemas, trust_list={})
    proof = report.results("proof")[0]
    if path.name == "simple-did-key-method.json":
        assert report.status == "invalid" and proof.result == "failed"
        assert "not controlled by the issuer" in proof.detail
    else:
        assert report.status == "indeterminate", _summary(report)
        assert proof.result == "unknown" and "proves nothing" in proof.detail
    assert report.exit_code == {"invalid": 1, "indeterminate": 2}[report.status]


def test_valid_fixtures_schema_checks_ran(loader: LocalDocumentLoader, schemas: SchemaSet) -> None:
    simple = _verify(_load(OB30_FIXTURES / "simple.json"), loader, schemas)
    assert simple.results("schema")[0].result == "passed"
    clr = _verify(_load(CLR20_FIXTURES / "simple.json"), loader, schemas)
    assert [c.path for c in clr.results("proof")] == [
        "$",
        "$.credentialSubject.verifiableCredential[0]",
    ]
    assert {c.result for c in clr.results("schema")} == {"passed"}


def test_pinned_issuer_of_a_fixture_is_trusted(
    loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    document = _load(OB30_FIXTURES / "simple-did-web-method.json")
    issuer = document["issuer"]["id"]
    key = document["proof"]["verificationMethod"].partition("#")[2]
    pinned = _verify(document, loader, schemas, {issuer: (key,)}, trusted_only=True)
    assert pinned.status == "valid", _summary(pinned)
    assert pinned.results("issuer")[0].result == "passed"
    strict = _verify(document, loader, schemas, {}, trusted_only=True)
    assert strict.status == "invalid"
    assert strict.results("issuer")[0].result == "failed"
    assert strict.results("proof")[0].result == "unknown"
    # An issuer pinned with other keys must not be accepted on the fragment's say-so.
    other = _verify(
        document,
        loader,
        schemas,
        {issuer: ("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",)},
    )
    assert other.results("proof")[0].result == "failed"


@pytest.mark.parametrize("path", REVOKED, ids=lambda p: p.name)
def test_revoked_fixture_is_reported_revoked(
    path: Path, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    report = _verify(_load(path), loader, schemas)
    assert report.results("proof")[0].result == "passed", _summary(report)
    status = report.results("status")[0]
    assert status.result == "failed"
    assert "revoked (bit 23" in status.detail
    assert report.status == "invalid"


def test_status_unknown_when_the_list_cannot_be_obtained(
    loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    document = _load(REVOKED[0])
    report = verify_credential(
        document,
        loader=loader,
        schemas=schemas,
        trust_list=_pins(document),
        now=NOW,
        status_source=lambda url: None,
    )
    assert report.results("status")[0].result == "unknown"
    assert report.results("proof")[0].result == "passed"
    assert report.status == "indeterminate" and report.exit_code == 2


@pytest.mark.parametrize("path", list(UNSUPPORTED), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_unsupported_fixture_is_reported_unsupported(
    path: Path, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    check, reason = UNSUPPORTED[path]
    report = _verify(_load(path), loader, schemas)
    assert report.status == "indeterminate", _summary(report)
    found = report.results(check)[0]
    assert found.result == "unknown"
    assert reason in found.detail


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_fixture_is_rejected_for_its_reason(
    name: str, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    check, phrase = ERRORS[name]
    report = _verify(_load(OB30_FIXTURES / name), loader, schemas)
    assert report.status == "invalid"
    failing = [c for c in report.results(check) if c.result == "failed"]
    assert failing, _summary(report)
    assert phrase in failing[0].detail, _summary(report)
