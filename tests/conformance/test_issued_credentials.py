"""Credentials issued by the library: valid against the 1EdTech JSON Schemas, and a full
issue → verify round trip with tampering, revocation, expiry, trust, undefined terms and
key rotation."""

from __future__ import annotations

import copy
import json
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.credential.vc.credentials import identity_hash, issue_clr
from services.credential.vc.jsonld import JsonLdStrictError, LocalDocumentLoader, expand_strict
from services.credential.vc.keys import KeyRing, did_document, rotate_key_ring, trust_list_entry
from services.credential.vc.proofs import ProofError, sign
from services.credential.vc.schemas import (
    SchemaSet,
    runtime_schemas,
    schema_problems,
    validate_document,
)
from services.credential.vc.statuslist import build_status_list_credential
from services.credential.vc.verify import VerificationReport, verify_credential
from tests.conformance.conftest import OB30_FIXTURES, read_json
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

EMBEDDED = "$.credentialSubject.verifiableCredential[{}]"


def _issue(ring: KeyRing, loader: LocalDocumentLoader, **kwargs: Any) -> dict[str, Any]:
    return issue_clr(
        LEARNER,
        RECORDS,
        issuer_for(ring),
        ring,
        loader,
        CLR_ID,
        ISSUED_AT,
        status=kwargs.pop("status", STATUS),
        **kwargs,
    )


def _status_list(ring: KeyRing, loader: LocalDocumentLoader, revoked: set[int]) -> dict[str, Any]:
    unsigned = build_status_list_credential(STATUS_URL, ring.controller, revoked, ISSUED_AT)
    return sign(unsigned, ring.current, ring.verification_method(), ISSUED_AT, loader)


def _verify(
    document: Mapping[str, Any],
    ring: KeyRing,
    loader: LocalDocumentLoader,
    schemas: SchemaSet,
    *,
    revoked: set[int] | None = None,
    trust: Mapping[str, tuple[str, ...]] | None = None,
    trusted_only: bool = False,
    now: datetime = NOW,
) -> VerificationReport:
    status_list = _status_list(ring, loader, revoked or set())
    return verify_credential(
        document,
        loader=loader,
        schemas=schemas,
        trust_list=trust_list_entry(ring) if trust is None else trust,
        now=now,
        status_source=lambda url: status_list if url == STATUS_URL else None,
        trusted_only=trusted_only,
    )


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return department_ring()


@pytest.fixture(scope="module")
def clr(ring: KeyRing, loader: LocalDocumentLoader) -> dict[str, Any]:
    return _issue(ring, loader)


# --- JSON Schemas -----------------------------------------------------------------------


def test_issued_credentials_validate_against_the_runtime_ob_schema(
    clr: dict[str, Any], schemas: SchemaSet
) -> None:
    assert schemas.achievement_credential is not None
    for embedded in clr["credentialSubject"]["verifiableCredential"]:
        outcome = validate_document(embedded, schemas.achievement_credential)
        assert outcome.errors == ()
        assert outcome.adaptations == ()  # the VC 2.0-era schema applies as published


def test_issued_credentials_validate_against_the_validators_draft4_schemas(
    clr: dict[str, Any], draft4_schemas: SchemaSet
) -> None:
    assert draft4_schemas.clr_credential and draft4_schemas.achievement_credential
    outcome = validate_document(clr, draft4_schemas.clr_credential)
    assert outcome.errors == ()
    for embedded in clr["credentialSubject"]["verifiableCredential"]:
        outcome = validate_document(embedded, draft4_schemas.achievement_credential)
        assert outcome.errors == ()
        assert set(outcome.adaptations) == {
            "issuanceDate → validFrom",
            "CredentialStatus open to the status method's properties",
            "identityType 'name' (added by the VC 2.0-era schema)",
        }


def test_draft4_schemas_unadapted_fail_only_on_the_vc2_differences(
    clr: dict[str, Any], draft4_schemas: SchemaSet
) -> None:
    """The draft-04 copies are VC 1.1-era: even the validator's own VC 2.0 fixture fails them
    on issuanceDate, and ours fail on exactly the differences the adaptation covers."""
    from jsonschema import Draft4Validator

    assert draft4_schemas.achievement_credential is not None
    raw = Draft4Validator(draft4_schemas.achievement_credential.schema)
    fixture_errors = {e.message for e in raw.iter_errors(read_json(OB30_FIXTURES / "simple.json"))}
    assert "'issuanceDate' is a required property" in fixture_errors
    embedded = clr["credentialSubject"]["verifiableCredential"][0]
    errors = list(raw.iter_errors(embedded))
    where = {"/".join(str(p) for p in e.absolute_path) for e in errors}
    assert where == {"", "credentialStatus", "credentialSubject/identifier/0/identityType"}
    messages = {e.message for e in errors}
    assert "'issuanceDate' is a required property" in messages


# --- round trip -------------------------------------------------------------------------


def test_issued_clr_verifies(
    clr: dict[str, Any], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    assert len(clr["credentialSubject"]["verifiableCredential"]) == 3
    report = _verify(clr, ring, loader, schemas, trusted_only=True)
    assert report.status == "valid", report.to_dict()
    assert {c.path for c in report.results("proof")} == {
        "$",
        *(EMBEDDED.format(i) for i in range(3)),
    }
    assert all(c.result in ("passed", "skipped") for c in report.checks), report.to_dict()
    assert {c.result for c in report.results("status")} == {"passed"}


def test_vietnamese_text_is_nfc_and_survives(
    clr: dict[str, Any], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    identifier = clr["credentialSubject"]["identifier"][0]
    # the name is hashed with the credential's salt, from its NFC form whatever was given
    nfc_name = unicodedata.normalize("NFC", "Nguyễn Thị Hương")
    assert identifier["identityHash"] == identity_hash(nfc_name, identifier["salt"])
    assert identifier["identityHash"] == identity_hash(
        unicodedata.normalize("NFD", nfc_name), identifier["salt"]
    )
    embedded = clr["credentialSubject"]["verifiableCredential"][1]
    assert embedded["name"] == "Kỹ thuật chế biến món ăn"
    assert embedded["issuer"]["name"] == "Sở Giáo dục và Đào tạo thành phố Đà Nẵng"
    # Decomposing a text after signing is a change the proof must notice.
    tampered = copy.deepcopy(clr)
    tampered["issuer"]["name"] = unicodedata.normalize("NFD", clr["issuer"]["name"])
    report = _verify(tampered, ring, loader, schemas)
    assert report.results("proof", "$")[0].result == "failed"


def test_tampered_embedded_credential_fails_its_proof(
    clr: dict[str, Any], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    tampered = copy.deepcopy(clr)
    subject = tampered["credentialSubject"]["verifiableCredential"][1]["credentialSubject"]
    subject["achievement"]["name"] = "Kỹ thuật chế biến món ăn (nâng cao)"
    report = _verify(tampered, ring, loader, schemas)
    assert report.status == "invalid"
    assert report.results("proof", EMBEDDED.format(1))[0].result == "failed"
    assert report.results("proof", EMBEDDED.format(0))[0].result == "passed"
    assert report.results("proof", EMBEDDED.format(2))[0].result == "passed"


def test_revoked_embedded_credential_fails_status(
    clr: dict[str, Any], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    report = _verify(clr, ring, loader, schemas, revoked={STATUS.records["rec-2"][1]})
    assert report.status == "invalid"
    assert report.results("status", EMBEDDED.format(1))[0].result == "failed"
    assert report.results("status", "$")[0].result == "passed"
    revoked_clr = _verify(clr, ring, loader, schemas, revoked={10})
    assert revoked_clr.results("status", "$")[0].result == "failed"


def test_status_list_not_obtainable_cannot_be_confirmed(
    clr: dict[str, Any], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    report = verify_credential(
        clr,
        loader=loader,
        schemas=schemas,
        trust_list=trust_list_entry(ring),
        now=NOW,
        status_source=lambda url: None,
    )
    assert {c.result for c in report.results("status")} == {"unknown"}
    assert report.status == "indeterminate" and report.exit_code == 2
    assert "cannot be obtained" in report.summary()


def test_forged_status_list_fails(
    clr: dict[str, Any], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    forged = _status_list(ring, loader, {10})
    forged["credentialSubject"]["encodedList"] = _status_list(ring, loader, set())[
        "credentialSubject"
    ]["encodedList"]
    report = verify_credential(
        clr,
        loader=loader,
        schemas=schemas,
        trust_list=trust_list_entry(ring),
        now=NOW,
        status_source=lambda url: forged,
    )
    status = report.results("status", "$")[0]
    assert status.result == "failed" and "does not verify" in status.detail
    assert report.status == "invalid" and report.exit_code == 1


def test_expired_credential_fails(
    ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    expiring = _issue(ring, loader, valid_until=ISSUED_AT + timedelta(days=30))
    assert _verify(expiring, ring, loader, schemas, now=ISSUED_AT + timedelta(days=1)).valid
    report = _verify(expiring, ring, loader, schemas, now=ISSUED_AT + timedelta(days=31))
    assert report.status == "invalid"
    assert {c.result for c in report.results("valid_until")} == {"failed"}


def test_unknown_issuer_is_reported_and_fails_only_when_trusted_only(
    clr: dict[str, Any], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    other = department_ring("other.example")
    lenient = _verify(clr, ring, loader, schemas, trust=trust_list_entry(other))
    assert lenient.status == "indeterminate" and lenient.exit_code == 2
    assert {c.result for c in lenient.results("issuer")} == {"unknown"}
    assert "not in the trust list" in lenient.results("issuer")[0].detail
    strict = _verify(clr, ring, loader, schemas, trust=trust_list_entry(other), trusted_only=True)
    assert strict.status == "invalid"
    assert {c.result for c in strict.results("issuer")} == {"failed"}


def test_did_web_issuer_not_pinned_cannot_be_resolved_offline(
    clr: dict[str, Any], ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    # The verification method's fragment is the Multikey, but a did:web fragment proves
    # nothing: offline, without the issuer pinned, the key is not known.
    report = _verify(clr, ring, loader, schemas, trust={})
    assert report.results("proof", "$")[0].result == "unknown"
    assert report.results("issuer", "$")[0].result == "unknown"
    assert report.status == "indeterminate" and report.exit_code == 2


def test_undefined_term_is_an_error(
    ring: KeyRing, loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    clr = _issue(ring, loader, status=None)
    unsigned = {k: v for k, v in clr.items() if k != "proof"}
    unsigned["credentialSubject"] = {**unsigned["credentialSubject"], "favouriteColour": "xanh"}
    with pytest.raises(JsonLdStrictError, match="favouriteColour"):
        expand_strict(unsigned, loader)
    with pytest.raises(ProofError, match="favouriteColour"):
        sign(unsigned, ring.current, ring.verification_method(), ISSUED_AT, loader)
    # Added after signing: the verifier names the term.
    tampered = copy.deepcopy(clr)
    tampered["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["hobby"] = "x"
    report = _verify(tampered, ring, loader, schemas)
    jsonld = report.results("jsonld", EMBEDDED.format(0))[0]
    assert jsonld.result == "failed"
    assert "'hobby'" in jsonld.detail
    # An undefined type is caught too.
    typed = copy.deepcopy(unsigned)
    typed["type"] = ["VerifiableCredential", "ClrCredential", "TrailCredential"]
    del typed["credentialSubject"]["favouriteColour"]
    with pytest.raises(JsonLdStrictError, match="TrailCredential"):
        expand_strict(typed, loader)


def test_key_rotation_keeps_old_credentials_verifiable(
    loader: LocalDocumentLoader, schemas: SchemaSet
) -> None:
    ring = department_ring()
    old_clr = _issue(ring, loader)
    rotated = rotate_key_ring(ring, datetime(2025, 4, 1, tzinfo=UTC))
    assert rotated.current.public_key_multibase != ring.current.public_key_multibase
    assert rotated.keys[0].retired == datetime(2025, 4, 1, tzinfo=UTC)
    new_clr = _issue(rotated, loader)
    assert new_clr["proof"]["verificationMethod"] == rotated.verification_method()
    assert old_clr["proof"]["verificationMethod"] == rotated.verification_method(rotated.keys[0])
    stored = rotated.to_dict()
    restored = KeyRing.from_dict(stored)
    assert restored == rotated
    for document in (old_clr, new_clr):
        report = _verify(document, restored, loader, schemas, trusted_only=True)
        assert report.status == "valid", report.to_dict()
    # Before the rotation was published, a verifier pinning only the old ring rejects the
    # new key for this issuer.
    report = _verify(new_clr, ring, loader, schemas, trust=trust_list_entry(ring))
    assert report.results("proof", "$")[0].result == "failed"
    document = did_document(restored)
    assert [m["publicKeyMultibase"] for m in document["verificationMethod"]] == list(
        restored.public_keys()
    )
    assert document["assertionMethod"] == [m["id"] for m in document["verificationMethod"]]


# --- what a receiving school reads by machine ----------------------------------------------


def test_the_learner_is_a_salted_hash_never_the_name(clr: dict[str, Any]) -> None:
    text = json.dumps(clr, ensure_ascii=False)
    for form in ("NFC", "NFD"):
        assert unicodedata.normalize(form, "Nguyễn Thị Hương") not in text
    identifiers = [clr["credentialSubject"]["identifier"][0]] + [
        vc["credentialSubject"]["identifier"][0]
        for vc in clr["credentialSubject"]["verifiableCredential"]
    ]
    assert all(i["hashed"] is True and i["identityType"] == "name" for i in identifiers)
    assert all(i["identityHash"].startswith("sha256$") for i in identifiers)
    assert len({i["salt"] for i in identifiers}) == 1  # one CLR names its learner one way
    assert len(identifiers[0]["salt"]) == 32


def _read_back(credential: dict[str, Any]) -> dict[str, Any]:
    """What a second system takes from an achievement credential: each result joined to
    its description by id."""
    subject = credential["credentialSubject"]
    described = {d["id"]: d for d in subject["achievement"].get("resultDescription", [])}
    return {
        "code": subject["achievement"].get("humanCode"),
        "language": subject["achievement"].get("inLanguage"),
        "credits": (
            subject["achievement"].get("creditsAvailable"),
            subject.get("creditsEarned"),
        ),
        "results": {
            described[r["resultDescription"]]["resultType"]: (
                r["value"],
                r.get("status"),
                {
                    k: described[r["resultDescription"]][k]
                    for k in ("valueMin", "valueMax", "requiredValue", "allowedValue")
                    if k in described[r["resultDescription"]]
                },
            )
            for r in subject.get("result", [])
        },
    }


def test_results_are_structured_for_credit_transfer(clr: dict[str, Any]) -> None:
    first, second, third = (
        _read_back(vc) for vc in clr["credentialSubject"]["verifiableCredential"]
    )
    assert first["code"] == "TH-CB-01" and first["language"] == "vi"
    assert first["credits"] == (3.0, 3.0)
    assert first["results"]["ScaledScore"] == (
        "8.0",
        "Completed",
        {"valueMin": "0", "valueMax": "10", "requiredValue": "5"},
    )
    assert first["results"]["ext:LearningHours"][0] == "60"
    assert second["results"]["PerformanceLevel"][0] == "Giỏi"
    assert "Giỏi" in second["results"]["PerformanceLevel"][2]["allowedValue"]
    assert second["credits"] == (None, None)
    letters = third["results"]["LetterGrade"]
    assert letters[0] == "B" and letters[2]["allowedValue"] == ["A", "B", "C", "D", "F"]
    assert clr["awardedDate"] == clr["validFrom"]


def test_issued_credentials_are_checked_against_the_shipped_schemas(clr: dict[str, Any]) -> None:
    """The service validates each credential before issuing it, with the schemas it has at
    run time: the OB 3.0 one from PyPI and the CLR 2.0 one shipped with the package."""
    shipped = runtime_schemas()
    assert shipped.clr_credential is not None and shipped.achievement_credential is not None
    assert shipped.clr_credential.name == "clr_v2p0_clrcredential_schema_draft4.json"
    assert schema_problems(clr, shipped) == []
    broken = copy.deepcopy(clr)
    del broken["credentialSubject"]["verifiableCredential"][2]["credentialSubject"]["achievement"][
        "criteria"
    ]
    problems = schema_problems(broken, shipped)
    # (the CLR lists the same achievement object, so it is missing there too)
    assert any(p.startswith("$.credentialSubject.verifiableCredential[2]: ") for p in problems)
    assert all("'criteria' is a required property" in p for p in problems)
    nothing = schema_problems(clr, SchemaSet(achievement_credential=None, clr_credential=None))
    assert len(nothing) == 4 and "no CLR 2.0 ClrCredential schema" in nothing[0]


def test_the_issuer_profile_says_who_issues(clr: dict[str, Any]) -> None:
    issuer = clr["issuer"]
    assert issuer["official"] == "Nguyễn Văn An, Giám đốc"
    assert issuer["address"] == {
        "type": ["Address"],
        "addressCountry": "Việt Nam",
        "addressCountryCode": "VN",
        "addressRegion": "Thành phố Đà Nẵng",
        "streetAddress": "15 Quang Trung, Hải Châu",
    }
    assert issuer["parentOrg"]["name"] == "Ủy ban nhân dân thành phố Đà Nẵng"
    assert issuer["parentOrg"]["type"] == ["Profile"]


def test_levels_align_to_the_vqf_the_aqrf_and_general_education(clr: dict[str, Any]) -> None:
    """A receiving school reads the level by framework type and code, in Vietnamese with an
    English description, and follows targetUrl to the framework (served by the service)."""
    first, second, third = (
        vc["credentialSubject"]["achievement"]
        for vc in clr["credentialSubject"]["verifiableCredential"]
    )
    vqf, aqrf = second["alignment"]
    assert (vqf["targetType"], vqf["targetCode"]) == ("ext:VQFLevel", "1")
    assert vqf["targetName"] == "Bậc 1 — Sơ cấp I"
    assert vqf["targetDescription"] == "VQF Level 1 — Elementary I"
    assert vqf["targetUrl"] == "https://learningtrail.example/v1/frameworks/vqf#level-1"
    assert (aqrf["targetType"], aqrf["targetCode"]) == ("ext:AQRFLevel", "1")
    assert "ASEAN Qualifications Reference Framework" in aqrf["targetFramework"]
    (general,) = first["alignment"]
    assert (general["targetType"], general["targetCode"]) == (
        "ext:GeneralEducationLevel",
        "upper_secondary",
    )
    assert general["targetDescription"] == "Upper secondary education (ISCED 2011 level 3)"
    assert first["fieldOfStudy"] == "Công nghệ thông tin"
    assert "alignment" not in third


def test_issuer_centre_and_achievements_carry_offline_badges(clr: dict[str, Any]) -> None:
    """Images are SVG data: URIs: nothing to fetch, and covered by the proof."""
    import base64

    images = [clr["issuer"]["image"]]
    for vc in clr["credentialSubject"]["verifiableCredential"]:
        item = vc["credentialSubject"]["achievement"]
        images.append(vc["issuer"]["image"])
        if "creator" in item:
            images.append(item["creator"]["image"])
        if "image" in item:
            images.append(item["image"])
    assert len(images) == 8  # the CLR's issuer, 3 embedded issuers, 2 creators, 2 badges
    for found in images:
        assert found["type"] == "Image" and found["caption"]
        assert found["id"].startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(found["id"].split(",", 1)[1]).decode("utf-8")
        assert svg.startswith("<svg") and "http://www.w3.org/2000/svg" in svg
        assert "href" not in svg  # nothing linked: shown offline
    assert "Sở Giáo dục" in base64.b64decode(images[0]["id"].split(",", 1)[1]).decode()
