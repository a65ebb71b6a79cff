"""Verification of OB 3.0 and CLR 2.0 credentials, as a list of named checks.

Each check of each credential (the CLR and every credential embedded in it, told apart by
``path``) is reported as ``{check, result, detail, path}`` with ``result`` one of
``passed``, ``failed``, ``unknown`` (could not be decided, e.g. a status list that cannot be
obtained, or an issuer whose keys are not known) or ``skipped`` (does not apply). The checks,
in order:

``format``, ``context``, ``type``, ``jsonld``, ``schema``, ``proof``, ``valid_from``,
``valid_until``, ``status``, ``issuer``.

The verdict (:attr:`VerificationReport.status`, and :attr:`VerificationReport.exit_code` for
``trail verify``): ``valid`` (0) when every check that applies passed; ``invalid`` (1) when
any check failed; ``indeterminate`` (2) when none failed but something could not be checked.

Keys are never taken from what the credential hands over. A verification method's key comes
from: the method itself only for ``did:key`` (the identifier *is* the key), and only when the
``did:key`` is the issuer or its key is pinned for the issuer; for a ``did:web`` (or ``https``)
issuer, the trust list (pinned keys, offline) or — for ``did:web`` — the issuer's DID document
fetched over HTTPS (``did_source``), where the method must be listed under the issuer with
``assertionMethod``. A method that the issuer does not control fails the proof.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from services.credential.vc.jsonld import JsonLdStrictError, LocalDocumentLoader, expand_strict
from services.credential.vc.keys import KeyRingError, did_key_public_key
from services.credential.vc.multibase import (
    MultibaseError,
    decode_ed25519_public_key,
    encode_ed25519_public_key,
)
from services.credential.vc.proofs import (
    ASSERTION_METHOD,
    CRYPTOSUITE,
    PROOF_TYPE,
    ProofError,
    proofs_of,
    unsecured,
    verify_proof,
)
from services.credential.vc.schemas import SchemaSet, validate_document
from services.credential.vc.statuslist import (
    ENTRY_TYPE,
    LIST_TYPE,
    StatusListError,
    is_set,
)

Result = Literal["passed", "failed", "unknown", "skipped"]
Overall = Literal["valid", "invalid", "indeterminate"]
TrustList = Mapping[str, Sequence[str]]
"""Issuer id (DID or URL) → its pinned public keys as Ed25519 Multikeys (``z6Mk…``)."""
StatusListSource = Callable[[str], Mapping[str, Any] | None]
"""Returns the status list credential at a URL, or None when it cannot be obtained."""
DidDocumentSource = Callable[[str], Mapping[str, Any] | None]
"""Returns the DID document of a ``did:web`` DID (fetched over HTTPS), or None when it cannot
be obtained."""
EXIT_CODES: Mapping[str, int] = {"valid": 0, "invalid": 1, "indeterminate": 2}
# A proof made by a clock a little ahead of the verifier's is not "created in the future".
CLOCK_SKEW = timedelta(minutes=5)
STATUS_PURPOSES = ("revocation", "suspension")

VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_V1 = "https://www.w3.org/2018/credentials/v1"
OB_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"
CLR_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/clr/v2p0/context"
ACHIEVEMENT_TYPES = ("AchievementCredential", "OpenBadgeCredential")
SUBJECT_TYPES = {
    "AchievementCredential": "AchievementSubject",
    "OpenBadgeCredential": "AchievementSubject",
    "EndorsementCredential": "EndorsementSubject",
    "ClrCredential": "ClrSubject",
}


@dataclass(frozen=True)
class Check:
    """One named check of one credential."""

    check: str
    result: Result
    detail: str
    path: str = "$"

    def to_dict(self) -> dict[str, str]:
        """The check as JSON-ready data."""
        return {
            "check": self.check,
            "result": self.result,
            "detail": self.detail,
            "path": self.path,
        }


@dataclass(frozen=True)
class VerificationReport:
    """Every check made, and the overall status."""

    status: Overall
    checks: tuple[Check, ...]

    @property
    def valid(self) -> bool:
        """Whether the overall status is ``valid``."""
        return self.status == "valid"

    @property
    def exit_code(self) -> int:
        """``trail verify``'s exit code: 0 valid, 1 invalid, 2 indeterminate."""
        return EXIT_CODES[self.status]

    def unknown(self) -> list[Check]:
        """The checks that could not be made."""
        return [c for c in self.checks if c.result == "unknown"]

    def summary(self) -> str:
        """The verdict in words, naming what failed or could not be checked."""
        if self.status == "valid":
            return "Valid: every check passed."
        if self.status == "invalid":
            reasons = "; ".join(f"{c.path} {c.check}: {c.detail}" for c in self.failed()[:5])
            return f"Invalid: {len(self.failed())} check(s) failed — {reasons}"
        undecided = self.unknown()
        reasons = "; ".join(f"{c.path} {c.check}: {c.detail}" for c in undecided[:5])
        return (
            f"Cannot be confirmed: nothing failed, but {len(undecided)} check(s) could not be "
            f"made — {reasons}"
        )

    def verdict(self) -> dict[str, Any]:
        """The machine-readable verdict: status, exit code, summary, and the checks behind it."""
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "summary": self.summary(),
            "failed": [c.to_dict() for c in self.failed()],
            "unknown": [c.to_dict() for c in self.unknown()],
        }

    def results(self, check: str, path: str | None = None) -> list[Check]:
        """The reports of one check, for one credential path or all of them."""
        return [c for c in self.checks if c.check == check and (path is None or c.path == path)]

    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [c for c in self.checks if c.result == "failed"]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "status": self.status,
            "verdict": self.verdict(),
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class _Context:
    loader: LocalDocumentLoader
    schemas: SchemaSet
    trust_list: TrustList
    status_source: StatusListSource | None
    now: datetime
    trusted_only: bool
    did_source: DidDocumentSource | None = None
    status_lists: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    did_documents: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)
    # (list URL, credential issuer) -> why the list cannot be believed, None when it can:
    # a CLR's credentials share lists, and each list's proof is verified once.
    list_doubts: dict[tuple[str, str | None], tuple[Result, str] | None] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class _Key:
    public_key: bytes
    trusted: bool
    """Whether the key came from the trust list (pinned, or from the DID document of an
    issuer the trust list names)."""


class _KeyUnresolved(Exception):
    """The key cannot be found (not a failure of the credential)."""


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


# --- checks -----------------------------------------------------------------------------


def _check_context(document: Mapping[str, Any], kind: str | None) -> tuple[Result, str]:
    contexts = _as_list(document.get("@context"))
    if not contexts:
        return "failed", "the document has no @context"
    first = contexts[0]
    if first == VC_V1:
        return "unknown", "VC Data Model 1.1 credentials are not supported (only VC 2.0)"
    if first != VC_V2:
        return "failed", f"the first @context must be {VC_V2}, not {first!r}"
    # CLR 2.0 and OB 3.0 fix the second context too: the spec's own after the VC context.
    second = contexts[1] if len(contexts) > 1 else None
    wanted = (
        CLR_CONTEXT_PREFIX
        if kind == "ClrCredential"
        else OB_CONTEXT_PREFIX
        if kind in (*ACHIEVEMENT_TYPES, "EndorsementCredential")
        else None
    )
    if wanted is not None and not (isinstance(second, str) and second.startswith(wanted)):
        return (
            "failed",
            f"the second @context must be the {_spec_name(kind)} context, not {second!r}",
        )
    strings = [c for c in contexts if isinstance(c, str)]
    if kind == "ClrCredential" and not any(c.startswith(CLR_CONTEXT_PREFIX) for c in strings):
        return "failed", "a ClrCredential needs the CLR 2.0 context"
    if kind in (*ACHIEVEMENT_TYPES, "EndorsementCredential") and not any(
        c.startswith(OB_CONTEXT_PREFIX) for c in strings
    ):
        return "failed", "an Open Badges credential needs the OB 3.0 context"
    return "passed", "VC 2.0 with the " + (
        "CLR 2.0" if kind == "ClrCredential" else "OB 3.0"
    ) + " context"


def _spec_name(kind: str | None) -> str:
    return "CLR 2.0" if kind == "ClrCredential" else "OB 3.0"


def _typed_objects(document: Mapping[str, Any]) -> Iterator[tuple[str, Any, str]]:
    """(where, object, expected type) for the typed objects OB 3.0 and CLR 2.0 define."""
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        yield "issuer", issuer, "Profile"
        for i, entry in enumerate(_as_list(issuer.get("otherIdentifier"))):
            yield f"issuer.otherIdentifier[{i}]", entry, "IdentifierEntry"
        if isinstance(issuer.get("parentOrg"), Mapping):
            yield "issuer.parentOrg", issuer["parentOrg"], "Profile"
    for i, evidence in enumerate(_as_list(document.get("evidence"))):
        yield f"evidence[{i}]", evidence, "Evidence"
    for s, subject in enumerate(_as_list(document.get("credentialSubject"))):
        if not isinstance(subject, Mapping):
            continue
        where = (
            f"credentialSubject[{s}]"
            if isinstance(document.get("credentialSubject"), list)
            else "credentialSubject"
        )
        for i, ident in enumerate(_as_list(subject.get("identifier"))):
            yield f"{where}.identifier[{i}]", ident, "IdentityObject"
        for i, result in enumerate(_as_list(subject.get("result"))):
            yield f"{where}.result[{i}]", result, "Result"
        if isinstance(subject.get("source"), Mapping):
            yield f"{where}.source", subject["source"], "Profile"
        achievements = _as_list(subject.get("achievement"))
        for a, item in enumerate(achievements):
            if not isinstance(item, Mapping):
                continue
            at = f"{where}.achievement" + (
                f"[{a}]" if isinstance(subject.get("achievement"), list) else ""
            )
            yield at, item, "Achievement"
            for i, rd in enumerate(_as_list(item.get("resultDescription"))):
                yield f"{at}.resultDescription[{i}]", rd, "ResultDescription"
            for i, al in enumerate(_as_list(item.get("alignment"))):
                yield f"{at}.alignment[{i}]", al, "Alignment"
            if isinstance(item.get("creator"), Mapping):
                yield f"{at}.creator", item["creator"], "Profile"


def _check_types(document: Mapping[str, Any]) -> tuple[Result, str, str | None]:
    types = _types(document.get("type"))
    kind = next((t for t in types if t in SUBJECT_TYPES), None)
    if "VerifiableCredential" not in types or kind is None:
        return (
            "failed",
            f"type must contain VerifiableCredential and one of {sorted(SUBJECT_TYPES)}, "
            f"not {types}",
            kind,
        )
    problems = []
    for s, subject in enumerate(_as_list(document.get("credentialSubject"))):
        if not isinstance(subject, Mapping) or SUBJECT_TYPES[kind] not in _types(
            subject.get("type")
        ):
            problems.append(f"credentialSubject[{s}].type must contain {SUBJECT_TYPES[kind]}")
    for where, obj, expected in _typed_objects(document):
        if isinstance(obj, Mapping) and expected not in _types(obj.get("type")):
            problems.append(f"{where}.type must contain {expected}, not {_types(obj.get('type'))}")
    if problems:
        return "failed", "; ".join(problems), kind
    return "passed", f"{kind} and the objects it holds have their OB/CLR types", kind


def _check_schema(
    document: Mapping[str, Any], kind: str | None, ctx: _Context
) -> tuple[Result, str]:
    named = (
        ctx.schemas.clr_credential
        if kind == "ClrCredential"
        else ctx.schemas.achievement_credential
        if kind in ACHIEVEMENT_TYPES
        else None
    )
    if named is None:
        return "skipped", f"no JSON Schema for {kind or 'this credential'} is available"
    outcome = validate_document(document, named)
    adapted = (
        f" (adapted to VC 2.0: {', '.join(outcome.adaptations)})" if outcome.adaptations else ""
    )
    if outcome.errors:
        return "failed", f"{outcome.schema}{adapted}: " + "; ".join(outcome.errors[:10])
    return "passed", f"valid against {outcome.schema}{adapted}"


def _multikey(value: str) -> bytes | None:
    """The key a ``z…`` Multikey fragment holds; None for a fragment of another kind
    (``#key-1``); ProofError for one that looks like a Multikey and is not."""
    if not value.startswith("z"):
        return None
    try:
        return decode_ed25519_public_key(value)
    except MultibaseError as exc:
        raise ProofError(f"verification method fragment is not an Ed25519 Multikey: {exc}") from exc


def _did_document(did: str, ctx: _Context) -> Mapping[str, Any] | None:
    if did not in ctx.did_documents:
        try:
            ctx.did_documents[did] = ctx.did_source(did) if ctx.did_source else None
        except Exception:  # a failing resolver is reported as "cannot be obtained"
            ctx.did_documents[did] = None
    return ctx.did_documents[did]


def _assertion_key(document: Mapping[str, Any], did: str, method: str) -> bytes:
    """The key of ``method`` from the DID document of ``did``: the method must be one of the
    document's, controlled by ``did`` and listed under ``assertionMethod``."""
    if document.get("id") != did:
        raise ProofError(f"the DID document fetched for {did} is that of {document.get('id')!r}")
    embedded = [m for m in _as_list(document.get("assertionMethod")) if isinstance(m, Mapping)]
    referenced = {m for m in _as_list(document.get("assertionMethod")) if isinstance(m, str)}
    methods = [m for m in _as_list(document.get("verificationMethod")) if isinstance(m, Mapping)]

    def absolute(ref: str) -> str:
        return f"{did}{ref}" if ref.startswith("#") else ref

    found = [m for m in embedded if absolute(str(m.get("id", ""))) == method] or [
        m
        for m in methods
        if absolute(str(m.get("id", ""))) == method
        and (method in {absolute(r) for r in referenced})
    ]
    if not found:
        raise ProofError(
            f"{method} is not an assertionMethod in the DID document of {did}: the issuer "
            "does not vouch for this key"
        )
    entry = found[0]
    if entry.get("controller") not in (None, did):
        raise ProofError(f"{method} is controlled by {entry.get('controller')!r}, not {did}")
    if entry.get("type") not in ("Multikey", "Ed25519VerificationKey2020"):
        raise ProofError(f"{method} is a {entry.get('type')!r}, not an Ed25519 Multikey")
    try:
        return decode_ed25519_public_key(str(entry.get("publicKeyMultibase", "")))
    except MultibaseError as exc:
        raise ProofError(f"{method} in the DID document of {did}: {exc}") from exc


def _resolve_key(verification_method: Any, issuer: str | None, ctx: _Context) -> list[_Key]:
    """The candidate keys for a verification method, never taken from the method's own
    text except for ``did:key``. Raise ProofError when the method is wrong or not the
    issuer's, _KeyUnresolved when its key cannot be found (issuer not pinned, DID document
    not obtainable)."""
    if not isinstance(verification_method, str) or not verification_method:
        raise ProofError("the proof has no verificationMethod")
    scheme, colon, _ = verification_method.partition(":")
    if not colon or not scheme.isalpha():
        raise ProofError(f"verificationMethod {verification_method!r} is not a URI")
    if issuer is None:
        raise ProofError("the credential names no issuer, so no key can be the issuer's")
    pinned = [str(k) for k in ctx.trust_list.get(issuer, ())]
    controller, _, fragment = verification_method.partition("#")
    if verification_method.startswith("did:key:"):
        try:
            key = did_key_public_key(verification_method)
        except KeyRingError as exc:
            raise ProofError(str(exc)) from exc
        if encode_ed25519_public_key(key) in pinned:
            return [_Key(key, True)]
        if controller == issuer and not pinned:
            return [_Key(key, False)]
        raise ProofError(
            f"verification method {verification_method} is not controlled by the issuer "
            f"{issuer}: a did:key signs only for itself, or for an issuer that pinned it"
        )
    if scheme == "did" and not verification_method.startswith("did:web:"):
        method = verification_method.split(":")[1]
        raise ProofError(f"DID method {method!r} is not supported (did:key and did:web are)")
    if scheme not in ("did", "https", "http"):
        raise ProofError(f"verificationMethod scheme {scheme!r} is not supported")
    if controller != issuer:
        raise ProofError(
            f"verification method {verification_method} is not controlled by the issuer {issuer}"
        )
    if pinned:
        named = _multikey(fragment)
        if named is None:  # "#key-1": any key pinned for the issuer
            return [_Key(decode_ed25519_public_key(k), True) for k in pinned]
        if fragment not in pinned:
            raise ProofError(f"key {fragment} is not among the keys pinned for {issuer}")
        return [_Key(named, True)]
    if controller.startswith("did:web:") and ctx.did_source is not None:
        document = _did_document(controller, ctx)
        if document is None:
            raise _KeyUnresolved(f"the DID document of {controller} cannot be obtained")
        return [
            _Key(
                _assertion_key(document, controller, verification_method), issuer in ctx.trust_list
            )
        ]
    raise _KeyUnresolved(
        f"the keys of {issuer} are not known here: a key named in a {scheme} verification "
        "method proves nothing — pin the issuer (trail pin-issuer, --trust-list) or resolve "
        "its DID document online"
    )


def _check_proof_times(proof: Mapping[str, Any], now: datetime) -> None:
    """Data Integrity: a proof is not created in the future, and not used after it expires."""
    raw_created = proof.get("created")
    if raw_created is not None:
        created = _parse_time(raw_created)
        if created is None:
            raise ProofError(f"created {raw_created!r} is not a date-time with a time zone")
        if created > now + CLOCK_SKEW:
            raise ProofError(f"the proof was created in the future ({raw_created})")
    raw_expires = proof.get("expires")
    if raw_expires is not None:
        expires = _parse_time(raw_expires)
        if expires is None:
            raise ProofError(f"expires {raw_expires!r} is not a date-time with a time zone")
        if expires <= now:
            raise ProofError(f"the proof expired on {raw_expires}")


def _verify_proofs(document: Mapping[str, Any], ctx: _Context) -> tuple[Result, str, bool]:
    """(result, detail, whether the verifying key is trusted for the issuer)."""
    proofs = proofs_of(document)
    if not proofs:
        return "failed", "the credential has no proof", False
    issuer = _issuer_id(document)
    passed: list[str] = []
    failed: list[str] = []
    unknown: list[str] = []
    trusted = False
    for proof in proofs:
        label = f"{proof.get('type')}/{proof.get('cryptosuite')}"
        if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
            unknown.append(f"{label}: unsupported proof type (only {PROOF_TYPE}/{CRYPTOSUITE})")
            continue
        try:
            if proof.get("proofPurpose") != ASSERTION_METHOD:
                raise ProofError(
                    f"proofPurpose {proof.get('proofPurpose')!r} is not {ASSERTION_METHOD}"
                )
            _check_proof_times(proof, ctx.now)
            candidates = _resolve_key(proof.get("verificationMethod"), issuer, ctx)
            errors = []
            for candidate in candidates:
                try:
                    verify_proof(document, proof, candidate.public_key, ctx.loader)
                except ProofError as exc:
                    errors.append(str(exc))
                    continue
                trusted = trusted or candidate.trusted
                passed.append(f"{label} by {proof.get('verificationMethod')}")
                break
            else:
                failed.append(f"{label}: {errors[0] if errors else 'no key'}")
        except _KeyUnresolved as exc:
            unknown.append(f"{label}: {exc}")
        except (ProofError, MultibaseError) as exc:
            failed.append(f"{label}: {exc}")
    if failed:
        return "failed", "; ".join(failed), trusted
    if passed:
        extra = f" (ignored: {'; '.join(unknown)})" if unknown else ""
        return "passed", "verified " + "; ".join(passed) + extra, trusted
    return "unknown", "; ".join(unknown), trusted


def _check_valid_from(document: Mapping[str, Any], now: datetime) -> tuple[Result, str]:
    raw = document.get("validFrom")
    if raw is None:
        return "failed", "a VC 2.0 credential needs validFrom"
    moment = _parse_time(raw)
    if moment is None:
        return "failed", f"validFrom {raw!r} is not a date-time with a time zone"
    if moment > now:
        return "failed", f"not valid before {raw}"
    return "passed", f"valid from {raw}"


def _check_valid_until(document: Mapping[str, Any], now: datetime) -> tuple[Result, str]:
    raw = document.get("validUntil")
    if raw is None:
        return "skipped", "no validUntil"
    moment = _parse_time(raw)
    if moment is None:
        return "failed", f"validUntil {raw!r} is not a date-time with a time zone"
    if moment <= now:
        return "failed", f"expired on {raw}"
    return "passed", f"valid until {raw}"


def _status_list(url: str, ctx: _Context) -> Mapping[str, Any] | None:
    if url not in ctx.status_lists:
        try:
            ctx.status_lists[url] = ctx.status_source(url) if ctx.status_source else None
        except Exception:  # a failing source is reported as "cannot be obtained"
            ctx.status_lists[url] = None
    return ctx.status_lists[url]


def _check_status_list(
    url: str, status_list: Mapping[str, Any], document: Mapping[str, Any], ctx: _Context
) -> tuple[Result, str] | None:
    """Whether a status list can be believed: None when it can, else why not. Its
    proof is verified like a credential's, against the same issuer's keys."""
    if VC_V2 not in _as_list(status_list.get("@context"))[:1]:
        return "failed", f"the status list {url} is not a VC 2.0 credential"
    if LIST_TYPE not in _types(status_list.get("type")):
        return "failed", f"{url} is not a {LIST_TYPE}"
    if _issuer_id(status_list) != _issuer_id(document):
        return "failed", (
            f"the status list {url} is issued by {_issuer_id(status_list)!r}, not by the "
            "credential's issuer"
        )
    proof_result, proof_detail, _ = _verify_proofs(status_list, ctx)
    if proof_result == "failed":
        return "failed", f"the status list {url} does not verify: {proof_detail}"
    if proof_result != "passed":
        return "unknown", f"the status list {url} cannot be verified: {proof_detail}"
    since = _parse_time(status_list.get("validFrom"))
    if since is not None and since > ctx.now + CLOCK_SKEW:
        return "failed", f"the status list {url} is not valid before {status_list['validFrom']}"
    until = _parse_time(status_list.get("validUntil"))
    if until is not None and until <= ctx.now:
        return (
            "unknown",
            f"the status list {url} expired on {status_list['validUntil']}: fetch it again",
        )
    return None


def _check_status(document: Mapping[str, Any], ctx: _Context) -> tuple[Result, str]:
    entries = _as_list(document.get("credentialStatus"))
    if not entries:
        return "skipped", "no credentialStatus"
    outcomes: list[tuple[Result, str]] = []
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("type") != ENTRY_TYPE:
            kind = entry.get("type") if isinstance(entry, Mapping) else entry
            outcomes.append(("unknown", f"status type {kind!r} is not supported ({ENTRY_TYPE} is)"))
            continue
        url = entry.get("statusListCredential")
        if not isinstance(url, str):
            outcomes.append(("failed", "the status entry has no statusListCredential"))
            continue
        purpose = entry.get("statusPurpose")
        if purpose not in STATUS_PURPOSES:
            outcomes.append(("unknown", f"status purpose {purpose!r} is not checked"))
            continue
        status_list = _status_list(url, ctx)
        if status_list is None:
            outcomes.append(("unknown", f"the status list {url} cannot be obtained"))
            continue
        believed = (url, _issuer_id(document))
        if believed not in ctx.list_doubts:
            ctx.list_doubts[believed] = _check_status_list(url, status_list, document, ctx)
        doubt = ctx.list_doubts[believed]
        if doubt is not None:
            outcomes.append(doubt)
            continue
        try:
            is_on = is_set(entry, status_list)
        except StatusListError as exc:
            outcomes.append(("failed", f"status entry or list is malformed: {exc}"))
            continue
        where = f"bit {entry.get('statusListIndex')} of {url}"
        if is_on:
            word = "revoked" if purpose == "revocation" else "suspended"
            outcomes.append(("failed", f"{word} ({where})"))
        else:
            word = "not revoked" if purpose == "revocation" else "not suspended"
            outcomes.append(("passed", f"{word} ({where})"))
    for wanted in ("failed", "unknown", "passed"):
        picked = [d for r, d in outcomes if r == wanted]
        if picked:
            return wanted, "; ".join(picked)
    return "skipped", "no status entry"


def _check_issuer(
    document: Mapping[str, Any], proof_result: Result, trusted_key: bool, ctx: _Context
) -> tuple[Result, str]:
    issuer = _issuer_id(document)
    if issuer is None:
        return "failed", "the credential names no issuer"
    if issuer in ctx.trust_list:
        if trusted_key:
            return "passed", f"{issuer} is in the trust list and signed with one of its keys"
        if proof_result == "unknown":
            return "unknown", f"{issuer} is in the trust list but its key could not be found"
        return "failed", f"{issuer} is in the trust list but did not sign with one of its keys"
    result: Result = "failed" if ctx.trusted_only else "unknown"
    return result, (
        f"{issuer} is not in the trust list: nothing says this issuer is who it claims to be"
    )


def _verify_one(document: Any, path: str, ctx: _Context) -> tuple[list[Check], bool]:
    """The checks of one credential and whether its proof verified."""
    checks: list[Check] = []

    def add(name: str, result: Result, detail: str) -> None:
        checks.append(Check(name, result, detail, path))

    if isinstance(document, str):
        add(
            "format",
            "unknown",
            "a VC-JWT (compact JWS) credential: not supported, only JSON-LD credentials with "
            f"{PROOF_TYPE}/{CRYPTOSUITE} proofs are",
        )
        return checks, False
    if not isinstance(document, Mapping):
        add("format", "failed", "a credential is a JSON object")
        return checks, False
    add("format", "passed", "JSON-LD credential")
    type_result, type_detail, kind = _check_types(document)
    context_result, context_detail = _check_context(document, kind)
    add("context", context_result, context_detail)
    if context_result == "unknown":
        for name in (
            "type",
            "jsonld",
            "schema",
            "proof",
            "valid_from",
            "valid_until",
            "status",
            "issuer",
        ):
            add(name, "skipped", "the data model is not supported")
        return checks, False
    add("type", type_result, type_detail)
    try:
        # The proofs are checked by the proof check: a proof of a kind this verifier does
        # not know may use terms only its own suite defines.
        expand_strict(unsecured(document), ctx.loader)
        add("jsonld", "passed", "every term is defined by the credential's contexts")
    except JsonLdStrictError as exc:
        add("jsonld", "failed", str(exc))
    schema_result, schema_detail = _check_schema(document, kind, ctx)
    add("schema", schema_result, schema_detail)
    proof_result, proof_detail, trusted = _verify_proofs(document, ctx)
    add("proof", proof_result, proof_detail)
    add("valid_from", *_check_valid_from(document, ctx.now))
    add("valid_until", *_check_valid_until(document, ctx.now))
    add("status", *_check_status(document, ctx))
    add("issuer", *_check_issuer(document, proof_result, trusted, ctx))
    proof_ok = proof_result == "passed"
    if kind == "ClrCredential":
        subject = document.get("credentialSubject")
        embedded = (
            _as_list(subject.get("verifiableCredential")) if isinstance(subject, Mapping) else []
        )
        for index, item in enumerate(embedded):
            sub_checks, sub_ok = _verify_one(
                item, f"{path}.credentialSubject.verifiableCredential[{index}]", ctx
            )
            checks.extend(sub_checks)
            proof_ok = proof_ok and sub_ok
    return checks, proof_ok


def verify_credential(
    document: Mapping[str, Any] | str,
    *,
    loader: LocalDocumentLoader,
    schemas: SchemaSet,
    trust_list: TrustList,
    now: datetime,
    status_source: StatusListSource | None = None,
    trusted_only: bool = False,
    did_source: DidDocumentSource | None = None,
) -> VerificationReport:
    """Verify an OB 3.0 AchievementCredential, an EndorsementCredential or a CLR 2.0
    ClrCredential (with every credential it embeds), and report each check. Status lists
    come from ``status_source`` and ``did:web`` DID documents from ``did_source`` (both
    by URL or DID, each asked once per verification); without them those checks are
    ``unknown``."""
    ctx = _Context(loader, schemas, trust_list, status_source, now, trusted_only, did_source)
    checks, proofs_ok = _verify_one(document, "$", ctx)
    status: Overall
    if any(c.result == "failed" for c in checks):
        status = "invalid"
    elif proofs_ok and not any(c.result == "unknown" for c in checks):
        status = "valid"
    else:
        status = "indeterminate"
    return VerificationReport(status=status, checks=tuple(checks))
