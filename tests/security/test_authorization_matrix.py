"""Who may call what, over every operation of the four running services.

``TABLE`` classifies each operation (method and path). A test compares it with the services'
own OpenAPI documents, so an endpoint nobody classified — or a classified one that is gone —
fails. Then every operation is called by every kind of wrong caller (no credentials, garbage,
an expired, tampered or forged token, a revoked, rotated-away or inactive centre's key,
another learner, another centre, a learner where the department is needed, a key without the
scope) and must be refused the right way, as problem+json: 401 for who-are-you, 403 for
not-allowed, 404 for another centre's record or programme (the learner service does not say
whether it exists). Finally the rightful caller must get the operation's success status.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from services.common.portal import form_token
from services.common.tokens import issue_token, secret_hash, verify_token
from services.credential.vc.keys import did_document
from services.insights.units import catalogue
from services.notify.signing import unsubscribe_token
from tests.conftest import Stack, eventually, national_id, new_provider, record, submission
from tests.e2e.test_oidc_sign_in import sign_in
from tests.e2e.test_recognition_import import School
from tests.e2e.test_record_path import submit, trail_of

Service = Literal["learner", "credential", "notify", "insights"]
Access = Literal[
    "public",  # anyone; credentials sent along change nothing
    "operator",  # /metrics: a caller on this host, or the metrics or admin token
    "provider",  # a live API key of a training centre, with the scope named
    "provider_self",  # any live API key; acts on the key's own training centre
    "own_record",  # the centre that posted the record; another centre gets 404
    "own_programme",  # the centre that announced the programme; another centre gets 404
    "learner_or_admin",  # the learner named in the path, or the department
    "session",  # a learner's own live sign-in session (its access token), nobody else
    "admin",  # the department only
    "capability",  # whoever holds an unguessable id or a signed link
    "figures",  # the department, or an officer of the unit asked for (or of a unit holding it)
    # the portal's browser session: the access token in the lt_access cookie (never a header);
    # a form also needs the session's form token and an Origin of the portal's services
    "portal",
    "xapi",  # HTTP Basic: a centre's id (or the key's id) and its live key, records:write
    # an officer's browser session on the insights pages: the lt_officer cookie (never a
    # header), of the unit asked for; a form also needs its form token and the pages' Origin
    "officer_page",
    # the officers' sign-in form: an officer credential (not the admin's), from the pages' Origin
    "officer_sign_in",
]
PROBLEM = "application/problem+json"
OWNER = {"full_name": "Nguyễn Thị Hương", "birth_date": "1990-05-14"}  # as submission() posts


@dataclass(frozen=True)
class Call:
    """One request: a path (ids filled in), and optionally a JSON body and query."""

    path: str
    json: Any = None
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None  # e.g. the cookie of the browser that started
    form: dict[str, str] | None = None  # a portal form's fields (its form token added per caller)


@dataclass
class World:
    """Two training centres, two learners and everything they own, made through the APIs."""

    stack: Stack
    key_a: str = ""
    key_a_id: str = ""
    key_b: str = ""
    provider_a: str = ""
    provider_b: str = ""
    key_records_only: str = ""
    key_programmes_only: str = ""
    key_revoked: str = ""
    key_rotated_away: str = ""
    key_inactive: str = ""
    key_to_rotate: str = ""
    spare_provider: str = ""
    spare_key_id: str = ""
    learner: str = ""
    other_learner: str = ""
    record_read: str = ""
    record_correct: str = ""
    record_revoke: str = ""
    statement_with_record: str = ""
    held_record: str = ""
    programme_update: str = ""
    programme_withdraw: str = ""
    merge_from: str = ""
    merge_into: str = ""
    credential_id: str = ""
    credential: dict[str, Any] = field(default_factory=dict)
    clr_import: dict[str, Any] = field(default_factory=dict)
    spare_trusted_issuer: str = ""
    notification_id: str = ""
    session_token: str = ""  # an account's access token, for the session operations
    sign_out_token: str = ""  # another account's, for signing out
    everywhere_token: str = ""  # and another's, for signing out everywhere
    signed_out_token: str = ""  # the access token of a session signed out
    claim_code: str = ""
    binding_id: str = ""
    refresh_tokens: list[str] = field(default_factory=list)  # each good once
    # answers of the e-ID provider, each with the cookie of the browser that asked: good once
    oidc_answers: list[tuple[dict[str, str], str]] = field(default_factory=list)
    oidc_spent: tuple[dict[str, str], str] = ({}, "")
    spent_refresh_token: str = ""
    officer_unit: str = ""  # a commune; the world's officer serves it
    other_unit: str = ""  # another commune of the same province
    report_period: str = ""  # a periodic report the insights service has stored
    officer_session: str = ""  # the unit's officer signed in on the pages (the cookie's token)
    officer_sign_out_session: str = ""  # another of theirs, to sign out
    other_officer_session: str = ""  # another commune's officer's
    officer_signed_out: str = ""  # a session signed out
    # officer credentials the department issued (POST /v1/admin/officers), by unit
    officer_credentials: dict[str, str] = field(default_factory=dict)
    revoked_officer: str = ""  # an officer credential of officer_unit the department revoked
    revoked_officer_session: str = ""  # a session started with it before it was revoked
    officer_to_revoke: str = ""  # the id of a credential of other_unit, for the revocation

    def officer(self, unit: str | None = None) -> dict[str, str]:
        """An officer credential the department issued, for ``unit``."""
        return {"Authorization": f"Bearer {self.officer_credentials[unit or self.officer_unit]}"}

    def id_less_officer(self) -> str:
        """An officer credential as issued before credentials had ids (signed, no ``cid``)."""
        return self.signed(self.officer_unit, "officer", 600)

    # the portal: a session bound to `learner` (records, a credential, an inbox), sessions to
    # sign out, an unbound one with a claim code to redeem, and share links of `learner`
    portal_token: str = ""
    portal_sign_out_token: str = ""
    portal_everywhere_token: str = ""
    portal_claim_token: str = ""
    portal_claim_code: str = ""
    share_id: str = ""
    share_token: str = ""
    revoked_share_token: str = ""

    def bearer(self, learner_id: str) -> dict[str, str]:
        return self.stack.learner_token(learner_id)

    def signed(self, subject: str, role: str, expires_in: int, secret: str | None = None) -> str:
        return issue_token(
            secret or self.stack.secrets["LT_TOKEN_SECRET"],
            subject,
            role,  # type: ignore[arg-type]
            int(time.time()) + expires_in,
        )

    def expired(self, subject: str, role: str = "learner") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.signed(subject, role, -60)}"}

    def tampered(self, subject: str, role: str) -> dict[str, str]:
        """Another learner's genuine token with its claims rewritten (signature kept)."""
        genuine = self.signed(self.other_learner, "learner", 600)
        claims = {"sub": subject, "role": role, "exp": int(time.time()) + 600}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return {"Authorization": f"Bearer {payload}.{genuine.split('.')[1]}"}

    def forged(self, subject: str, role: str) -> dict[str, str]:
        """A well-formed token signed with a secret that is not the service's."""
        return {"Authorization": f"Bearer {self.signed(subject, role, 600, 'not-the-secret')}"}

    def unsubscribe(self, learner_id: str, channel: str = "email") -> str:
        return unsubscribe_token(self.stack.secrets["LT_TOKEN_SECRET"], learner_id, channel)


@dataclass(frozen=True)
class Rule:
    """How an operation is protected, and what its rightful caller sends and gets."""

    access: Access
    ok: int
    call: Callable[[World], Call]
    scope: Literal["records:write", "programmes:write"] | None = None
    key: Callable[[World], str] | None = None  # the rightful key, if not centre A's main key
    session: Callable[[World], str] | None = None  # the rightful session, if not the world's
    # for capabilities: calls without the capability, and the refusal each gets
    guesses: Callable[[World], list[tuple[str, Call, int]]] | None = None


def _programme(title: str = "Kỹ thuật trồng nho an toàn") -> dict[str, Any]:
    return {
        "title": title,
        "pathway": "vocational",
        "place_codes": ["22735"],
        "how_to_enrol": "Đăng ký tại Trung tâm GDNN-GDTX Ninh Phước",
    }


def _ref() -> str:
    return f"SEC-{uuid.uuid4().hex[:12]}"


def _registration() -> dict[str, Any]:
    return {"full_name": "Lê Hoàng Yến", "birth_date": "1995-02-03"}


def _card() -> dict[str, Any]:
    """What a centre checked on a person's card, to issue a claim code."""
    return {"learner": {"national_id": national_id(), **_registration()}}


def _refresh_guesses(w: World) -> list[tuple[str, Call, int]]:
    return [
        ("no body", Call("/v1/sessions:refresh"), 422),
        (
            "an unknown refresh token",
            Call("/v1/sessions:refresh", {"refresh_token": "ltr_" + "x" * 43}),
            401,
        ),
        (
            "a spent refresh token",
            Call("/v1/sessions:refresh", {"refresh_token": w.spent_refresh_token}),
            401,
        ),
        (
            "an access token as the refresh token",
            Call("/v1/sessions:refresh", {"refresh_token": w.session_token}),
            401,
        ),
    ]


def _credential_guesses(suffix: str) -> Callable[[World], list[tuple[str, Call, int]]]:
    return lambda w: [
        ("an unknown credential id", Call(f"/v1/credentials/urn:uuid:{uuid.uuid4()}{suffix}"), 404)
    ]


def _unsubscribe_guesses(w: World) -> list[tuple[str, Call, int]]:
    genuine = w.unsubscribe(w.learner)
    claims = json.dumps({"sub": w.other_learner, "ch": "email"}, separators=(",", ":"))
    payload = base64.urlsafe_b64encode(claims.encode()).rstrip(b"=").decode()
    learner_token = w.signed(w.learner, "learner", 600)
    return [
        ("no token", Call("/v1/unsubscribe"), 422),
        ("a garbage token", Call("/v1/unsubscribe", params={"token": "garbage.garbage"}), 400),
        (
            "a link re-pointed at another learner",
            Call("/v1/unsubscribe", params={"token": f"{payload}.{genuine.split('.')[1]}"}),
            400,
        ),
        (
            "a learner token as the link",
            Call("/v1/unsubscribe", params={"token": learner_token}),
            400,
        ),
    ]


def _share_guesses(w: World) -> list[tuple[str, Call, int]]:
    return [
        ("no token", Call("/shared"), 404),
        ("a made-up token", Call("/shared", params={"token": "lts_" + "x" * 43}), 404),
        ("a revoked link", Call("/shared", params={"token": w.revoked_share_token}), 404),
        ("the hash of a link", Call("/shared", params={"token": secret_hash(w.share_token)}), 404),
    ]


def _oidc_answer(w: World) -> Call:
    params, cookie = w.oidc_answers.pop() if w.oidc_answers else ({"state": "none"}, "")
    return Call("/v1/sign-in/oidc/callback", params=params, headers={"Cookie": cookie})


def _oidc_guesses(w: World) -> list[tuple[str, Call, int]]:
    params, cookie = w.oidc_spent
    path = "/v1/sign-in/oidc/callback"
    return [
        ("no state", Call(path), 422),
        ("an unknown state", Call(path, params={"state": "made-up", "code": "x"}), 400),
        ("another browser's answer", Call(path, params=params), 400),
        ("a replayed answer", Call(path, params=params, headers={"Cookie": cookie}), 400),
    ]


XAPI_VERSION = {"X-Experience-API-Version": "2.0.0"}


def _xapi_mapping() -> dict[str, Any]:
    return {
        "rules": [
            {
                "verbs": ["http://adlnet.gov/expapi/verbs/completed"],
                "pathway": "online",
                "kind": "course",
            }
        ]
    }


def _statement() -> dict[str, Any]:
    return {
        "actor": {"mbox": f"mailto:{uuid.uuid4().hex}@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://example.org/activities/security"},
    }


def _xapi(path: str, json: Any = None, **params: str) -> Call:
    return Call(path, json, params or None, XAPI_VERSION)


def _xapi_operations() -> dict[str, Rule]:
    """The LRS's resources: HTTP Basic with a centre's key (records:write) and the version
    header; /xapi/about is anyone's."""
    agent = json.dumps({"mbox": "mailto:security@example.org"})
    activity = "https://example.org/activities/security"
    scopes = {
        "/xapi/activities/state": {"activityId": activity, "agent": agent},
        "/xapi/activities/profile": {"activityId": activity},
        "/xapi/agents/profile": {"agent": agent},
    }
    operations: dict[str, Rule] = {
        "GET /xapi/about": Rule("public", 200, lambda w: Call("/xapi/about")),
        "HEAD /xapi/about": Rule("public", 200, lambda w: Call("/xapi/about")),
        "GET /xapi/statements": Rule("xapi", 200, lambda w: _xapi("/xapi/statements")),
        "HEAD /xapi/statements": Rule("xapi", 200, lambda w: _xapi("/xapi/statements")),
        "POST /xapi/statements": Rule(
            "xapi", 200, lambda w: _xapi("/xapi/statements", _statement())
        ),
        "PUT /xapi/statements": Rule(
            "xapi",
            204,
            lambda w: _xapi("/xapi/statements", _statement(), statementId=str(uuid.uuid4())),
        ),
        "GET /xapi/activities": Rule(
            "xapi", 200, lambda w: _xapi("/xapi/activities", activityId=activity)
        ),
        "HEAD /xapi/activities": Rule(
            "xapi", 200, lambda w: _xapi("/xapi/activities", activityId=activity)
        ),
        "GET /xapi/agents": Rule("xapi", 200, lambda w: _xapi("/xapi/agents", agent=agent)),
        "HEAD /xapi/agents": Rule("xapi", 200, lambda w: _xapi("/xapi/agents", agent=agent)),
        "PUT /v1/xapi/agent-links": Rule(
            "provider",
            200,
            lambda w: Call(
                "/v1/xapi/agent-links",
                {"agent": {"mbox": "mailto:linked@example.org"}, **_card()},
            ),
            scope="records:write",
        ),
        "GET /v1/xapi/statements/{statement_id}/record": Rule(
            "own_record",
            200,
            lambda w: Call(f"/v1/xapi/statements/{w.statement_with_record}/record"),
            "records:write",
        ),
        "GET /v1/xapi/mapping": Rule(
            "provider", 200, lambda w: Call("/v1/xapi/mapping"), scope="records:write"
        ),
        "PUT /v1/xapi/mapping": Rule(
            "provider",
            200,
            lambda w: Call("/v1/xapi/mapping", _xapi_mapping()),
            scope="records:write",
        ),
    }
    for path, params in scopes.items():
        doc_id = "stateId" if path.endswith("state") else "profileId"
        for method, ok in (("GET", 200), ("HEAD", 200)):
            operations[f"{method} {path}"] = Rule(
                "xapi", ok, lambda w, p=path, q=params: _xapi(p, **q)
            )
        for method in ("PUT", "POST", "DELETE"):
            operations[f"{method} {path}"] = Rule(
                "xapi",
                204,
                lambda w, p=path, q=params, d=doc_id: _xapi(
                    p, {"page": 1}, **q, **{d: uuid.uuid4().hex}
                ),
            )
    return operations


def _operations() -> dict[tuple[Service, str], Rule]:
    health = {"GET /healthz": Rule("public", 200, lambda w: Call("/healthz"))}
    health["GET /readyz"] = Rule("public", 200, lambda w: Call("/readyz"))
    health["GET /metrics"] = Rule("operator", 200, lambda w: Call("/metrics"))
    learner: dict[str, Rule] = {
        **health,
        "POST /v1/records": Rule(
            "provider",
            202,
            lambda w: Call("/v1/records", submission(national_id(), _ref())),
            scope="records:write",
        ),
        "POST /v1/records:batch": Rule(
            "provider",
            200,
            lambda w: Call("/v1/records:batch", {"records": [submission(national_id(), _ref())]}),
            scope="records:write",
        ),
        "GET /v1/records/{record_id}": Rule(
            "own_record", 200, lambda w: Call(f"/v1/records/{w.record_read}"), "records:write"
        ),
        "POST /v1/records/{record_id}/corrections": Rule(
            "own_record",
            202,
            lambda w: Call(
                f"/v1/records/{w.record_correct}/corrections",
                {"reason": "Sai số giờ học", "record": record(hours=301)},
            ),
            "records:write",
        ),
        "POST /v1/records/{record_id}/revocation": Rule(
            "own_record",
            202,
            lambda w: Call(f"/v1/records/{w.record_revoke}/revocation", {"reason": "Cấp nhầm"}),
            "records:write",
        ),
        "GET /v1/programmes": Rule(
            "provider", 200, lambda w: Call("/v1/programmes"), "programmes:write"
        ),
        "POST /v1/programmes": Rule(
            "provider", 202, lambda w: Call("/v1/programmes", _programme()), "programmes:write"
        ),
        "PUT /v1/programmes/{programme_id}": Rule(
            "own_programme",
            202,
            lambda w: Call(f"/v1/programmes/{w.programme_update}", _programme("Trồng nho sạch")),
            "programmes:write",
        ),
        "POST /v1/programmes/{programme_id}/withdrawal": Rule(
            "own_programme",
            202,
            lambda w: Call(
                f"/v1/programmes/{w.programme_withdraw}/withdrawal", {"reason": "Không đủ học viên"}
            ),
            "programmes:write",
        ),
        "POST /v1/learners": Rule("public", 201, lambda w: Call("/v1/learners", _registration())),
        "GET /v1/learners/{learner_id}": Rule(
            "learner_or_admin", 200, lambda w: Call(f"/v1/learners/{w.learner}")
        ),
        "PATCH /v1/learners/{learner_id}": Rule(
            "learner_or_admin",
            200,
            lambda w: Call(f"/v1/learners/{w.learner}", {"preferred_language": "vi"}),
        ),
        "POST /v1/claim-codes": Rule(
            "provider", 201, lambda w: Call("/v1/claim-codes", _card()), scope="records:write"
        ),
        "POST /v1/account/claims": Rule(
            "session", 201, lambda w: Call("/v1/account/claims", {"code": w.claim_code})
        ),
        "GET /v1/account": Rule("session", 200, lambda w: Call("/v1/account")),
        "POST /v1/sessions:refresh": Rule(
            "capability",
            200,
            lambda w: Call(
                "/v1/sessions:refresh",
                {"refresh_token": w.refresh_tokens.pop() if w.refresh_tokens else "ltr_none"},
            ),
            guesses=_refresh_guesses,
        ),
        "POST /v1/sessions:sign-out": Rule(
            "session",
            204,
            lambda w: Call("/v1/sessions:sign-out"),
            session=lambda w: w.sign_out_token,
        ),
        "POST /v1/sessions:sign-out-everywhere": Rule(
            "session",
            204,
            lambda w: Call("/v1/sessions:sign-out-everywhere"),
            session=lambda w: w.everywhere_token,
        ),
        "GET /v1/sign-in/oidc": Rule("public", 302, lambda w: Call("/v1/sign-in/oidc")),
        "POST /v1/account/oidc": Rule("session", 200, lambda w: Call("/v1/account/oidc")),
        "GET /v1/sign-in/oidc/callback": Rule(
            "capability", 200, _oidc_answer, guesses=_oidc_guesses
        ),
        "GET /portal": Rule("public", 200, lambda w: Call("/portal")),
        "GET /portal/session": Rule("public", 303, lambda w: Call("/portal/session")),
        "POST /portal/sign-out": Rule(
            "portal",
            303,
            lambda w: Call("/portal/sign-out", form={}),
            session=lambda w: w.portal_sign_out_token,
        ),
        "POST /portal/sign-out-everywhere": Rule(
            "portal",
            303,
            lambda w: Call("/portal/sign-out-everywhere", form={}),
            session=lambda w: w.portal_everywhere_token,
        ),
        "POST /portal/profile": Rule(
            "portal", 303, lambda w: Call("/portal/profile", form={"preferred_language": "vi"})
        ),
        "POST /portal/claims": Rule(
            "portal",
            303,
            lambda w: Call("/portal/claims", form={"code": w.portal_claim_code}),
            session=lambda w: w.portal_claim_token,
        ),
        "GET /v1/admin/bindings": Rule("admin", 200, lambda w: Call("/v1/admin/bindings")),
        "POST /v1/admin/bindings/{binding_id}/undo": Rule(
            "admin",
            202,
            lambda w: Call(f"/v1/admin/bindings/{w.binding_id}/undo", {"reason": "Cấp nhầm người"}),
        ),
        "GET /v1/admin/providers": Rule("admin", 200, lambda w: Call("/v1/admin/providers")),
        "POST /v1/admin/providers": Rule(
            "admin",
            201,
            lambda w: Call(
                "/v1/admin/providers",
                {
                    "name": "Trung tâm học tập cộng đồng xã Phước Hậu",
                    "kind": "community_learning_centre",
                    "unit_code": "22735",
                    "pathways": ["community"],
                },
            ),
        ),
        "GET /v1/admin/providers/{provider_id}": Rule(
            "admin", 200, lambda w: Call(f"/v1/admin/providers/{w.provider_a}")
        ),
        "PATCH /v1/admin/providers/{provider_id}": Rule(
            "admin",
            200,
            lambda w: Call(f"/v1/admin/providers/{w.spare_provider}", {"name": "Trung tâm mới"}),
        ),
        "GET /v1/admin/providers/{provider_id}/keys": Rule(
            "admin", 200, lambda w: Call(f"/v1/admin/providers/{w.provider_a}/keys")
        ),
        "POST /v1/admin/providers/{provider_id}/keys": Rule(
            "admin",
            201,
            lambda w: Call(
                f"/v1/admin/providers/{w.spare_provider}/keys", {"scopes": ["records:write"]}
            ),
        ),
        "DELETE /v1/admin/providers/{provider_id}/keys/{key_id}": Rule(
            "admin",
            204,
            lambda w: Call(f"/v1/admin/providers/{w.spare_provider}/keys/{w.spare_key_id}"),
        ),
        "GET /v1/provider": Rule("provider_self", 200, lambda w: Call("/v1/provider")),
        "POST /v1/keys:rotate": Rule(
            "provider_self", 201, lambda w: Call("/v1/keys:rotate"), key=lambda w: w.key_to_rotate
        ),
        "GET /v1/admin/reviews": Rule("admin", 200, lambda w: Call("/v1/admin/reviews")),
        "POST /v1/admin/reviews/{record_id}": Rule(
            "admin",
            202,
            lambda w: Call(
                f"/v1/admin/reviews/{w.held_record}", {"accept": False, "note": "Không cùng người"}
            ),
        ),
        **_xapi_operations(),
        "POST /v1/admin/learners/{learner_id}/merge": Rule(
            "admin",
            202,
            lambda w: Call(
                f"/v1/admin/learners/{w.merge_from}/merge",
                {"merged_into": w.merge_into, "reason": "Hai hồ sơ của cùng một người"},
            ),
        ),
    }
    credential: dict[str, Rule] = {
        **health,
        "GET /v1/learners/{learner_id}/trail": Rule(
            "learner_or_admin", 200, lambda w: Call(f"/v1/learners/{w.learner}/trail")
        ),
        "POST /v1/learners/{learner_id}/credentials": Rule(
            "learner_or_admin", 201, lambda w: Call(f"/v1/learners/{w.learner}/credentials")
        ),
        "GET /v1/credentials/{credential_id}": Rule(
            "capability",
            200,
            lambda w: Call(f"/v1/credentials/{w.credential_id}"),
            guesses=_credential_guesses(""),
        ),
        "GET /v1/credentials/{credential_id}/verification": Rule(
            "capability",
            200,
            lambda w: Call(f"/v1/credentials/{w.credential_id}/verification"),
            guesses=lambda w: [
                (
                    "an unknown credential id",
                    Call(f"/v1/credentials/urn:uuid:{uuid.uuid4()}/verification"),
                    404,
                )
            ],
        ),
        "POST /v1/verify": Rule("public", 200, lambda w: Call("/v1/verify", w.credential)),
        "GET /verify": Rule("public", 200, lambda w: Call("/verify")),
        "POST /verify": Rule(
            "public", 200, lambda w: Call("/verify", form={"credential": json.dumps(w.credential)})
        ),
        "GET /v1/status-lists/{list_id}": Rule("public", 200, lambda w: Call("/v1/status-lists/1")),
        "GET /.well-known/did.json": Rule("public", 200, lambda w: Call("/.well-known/did.json")),
        "PUT /v1/admin/trusted-issuers": Rule(
            "admin",
            200,
            lambda w: Call(
                "/v1/admin/trusted-issuers",
                {"name": "Trường Y", "did_document": did_document(School("y.example").ring)},
            ),
        ),
        "GET /v1/admin/trusted-issuers": Rule(
            "admin", 200, lambda w: Call("/v1/admin/trusted-issuers")
        ),
        "DELETE /v1/admin/trusted-issuers/{issuer_id}": Rule(
            "admin",
            204,
            lambda w: Call(f"/v1/admin/trusted-issuers/{w.spare_trusted_issuer}"),
        ),
        "POST /v1/recognitions:import": Rule(
            "admin", 202, lambda w: Call("/v1/recognitions:import", w.clr_import)
        ),
        "GET /v1/frameworks/{framework}": Rule("public", 200, lambda w: Call("/v1/frameworks/vqf")),
        "POST /v1/admin/issuer-keys:rotate": Rule(
            "admin", 200, lambda w: Call("/v1/admin/issuer-keys:rotate")
        ),
        "GET /portal/trail": Rule("portal", 200, lambda w: Call("/portal/trail")),
        "GET /portal/trail.pdf": Rule("portal", 200, lambda w: Call("/portal/trail.pdf")),
        "POST /portal/credentials": Rule(
            "portal", 303, lambda w: Call("/portal/credentials", form={})
        ),
        "GET /portal/credentials/{credential_id}/download": Rule(
            "portal", 200, lambda w: Call(f"/portal/credentials/{w.credential_id}/download")
        ),
        "POST /portal/shares": Rule(
            "portal", 201, lambda w: Call("/portal/shares", form={"what": "whole", "days": "7"})
        ),
        "POST /portal/shares/{share_id}/revoke": Rule(
            "portal", 303, lambda w: Call(f"/portal/shares/{w.share_id}/revoke", form={})
        ),
        "GET /shared": Rule(
            "capability",
            200,
            lambda w: Call("/shared", params={"token": w.share_token}),
            guesses=_share_guesses,
        ),
    }
    notify: dict[str, Rule] = {
        **health,
        "GET /v1/learners/{learner_id}/notifications": Rule(
            "learner_or_admin", 200, lambda w: Call(f"/v1/learners/{w.learner}/notifications")
        ),
        "POST /v1/learners/{learner_id}/notifications/{notification_id}/read": Rule(
            "learner_or_admin",
            200,
            lambda w: Call(f"/v1/learners/{w.learner}/notifications/{w.notification_id}/read"),
        ),
        "POST /v1/learners/{learner_id}/notifications/{notification_id}/unread": Rule(
            "learner_or_admin",
            200,
            lambda w: Call(f"/v1/learners/{w.learner}/notifications/{w.notification_id}/unread"),
        ),
        "GET /v1/learners/{learner_id}/preferences": Rule(
            "learner_or_admin", 200, lambda w: Call(f"/v1/learners/{w.learner}/preferences")
        ),
        "PUT /v1/learners/{learner_id}/preferences": Rule(
            "learner_or_admin",
            200,
            lambda w: Call(f"/v1/learners/{w.learner}/preferences", {"channels": ["inbox"]}),
        ),
        "GET /v1/unsubscribe": Rule(
            "capability",
            200,
            lambda w: Call("/v1/unsubscribe", params={"token": w.unsubscribe(w.learner)}),
            guesses=_unsubscribe_guesses,
        ),
        "POST /v1/unsubscribe": Rule(
            "capability",
            200,
            lambda w: Call("/v1/unsubscribe", params={"token": w.unsubscribe(w.learner)}),
            guesses=_unsubscribe_guesses,
        ),
        "GET /v1/admin/notifications": Rule(
            "admin", 200, lambda w: Call("/v1/admin/notifications")
        ),
        "GET /portal/inbox": Rule("portal", 200, lambda w: Call("/portal/inbox")),
        "POST /portal/inbox/read": Rule(
            "portal",
            303,
            lambda w: Call("/portal/inbox/read", form={"id": w.notification_id, "read": "1"}),
        ),
        "GET /portal/preferences": Rule("portal", 200, lambda w: Call("/portal/preferences")),
        "POST /portal/preferences": Rule(
            "portal",
            303,
            lambda w: Call(
                "/portal/preferences", form={"channel": "inbox", "delivery": "immediate"}
            ),
        ),
    }
    insights: dict[str, Rule] = {
        **health,
        "GET /v1/figures": Rule(
            "figures",
            200,
            lambda w: Call("/v1/figures", params={"period": "2026", "unit": w.officer_unit}),
        ),
        "POST /v1/admin/officers": Rule(
            "admin",
            201,
            lambda w: Call("/v1/admin/officers", {"unit_code": w.officer_unit, "days": 1}),
        ),
        "PUT /v1/admin/populations/{unit_code}/{year}": Rule(
            "admin",
            200,
            lambda w: Call(f"/v1/admin/populations/{w.officer_unit}/2026", {"adults": 1200}),
        ),
        "GET /v1/admin/officers": Rule("admin", 200, lambda w: Call("/v1/admin/officers")),
        "POST /v1/admin/officers/{credential_id}/revocation": Rule(
            "admin",
            200,
            lambda w: Call(
                f"/v1/admin/officers/{w.officer_to_revoke}/revocation",
                {"reason": "Cán bộ chuyển công tác"},
            ),
        ),
        "GET /v1/admin/populations": Rule("admin", 200, lambda w: Call("/v1/admin/populations")),
        "GET /v1/reports": Rule("admin", 200, lambda w: Call("/v1/reports")),
        "GET /v1/reports/{period}": Rule(
            "admin", 200, lambda w: Call(f"/v1/reports/{w.report_period}")
        ),
        "GET /figures/sign-in": Rule("public", 200, lambda w: Call("/figures/sign-in")),
        "POST /figures/sign-in": Rule(
            "officer_sign_in",
            303,
            lambda w: Call(
                "/figures/sign-in",
                form={"credential": _sealed(w.officer())},
            ),
        ),
        "GET /figures": Rule(
            "officer_page",
            200,
            lambda w: Call("/figures", params={"period": "2026", "unit": w.officer_unit}),
        ),
        "POST /figures/subscriptions": Rule(
            "officer_page",
            303,
            lambda w: Call(
                "/figures/subscriptions",
                form={"email": "can-bo@xa.example", "kinds": "month", "unit": w.officer_unit},
            ),
        ),
        "POST /figures/sign-out": Rule(
            "officer_page",
            303,
            lambda w: Call("/figures/sign-out", form={}),
            session=lambda w: w.officer_sign_out_session,
        ),
    }
    table: dict[tuple[Service, str], Rule] = {}
    for service, rules in (
        ("learner", learner),
        ("credential", credential),
        ("notify", notify),
        ("insights", insights),
    ):
        for operation, rule in rules.items():
            table[(service, operation)] = rule  # type: ignore[index]
    return table


TABLE = _operations()


def _base(stack: Stack, service: Service) -> str:
    base: str = getattr(stack.endpoints, service)
    return base


# the world every operation is tried against


async def _post(http: httpx.AsyncClient, url: str, headers: dict[str, str], body: Any) -> Any:
    response = await http.post(url, json=body, headers=headers)
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


@pytest.fixture(scope="module")
async def world(stack: Stack) -> AsyncIterator[World]:
    w = World(stack)
    units = catalogue()
    w.officer_unit = units.commune("22735") or ""
    w.other_unit = next(c for c in units.communes_in("56") if c != w.officer_unit)
    learner_url = stack.endpoints.learner
    admin = stack.admin
    async with httpx.AsyncClient(timeout=60) as http:
        a = await new_provider(http, stack)
        b = await new_provider(http, stack, name="Trường Cao đẳng Kỹ thuật", kind="school")
        w.provider_a, w.key_a, w.key_a_id = a["provider"]["id"], a["api_key"], a["key_id"]
        w.provider_b, w.key_b = b["provider"]["id"], b["api_key"]
        keys = f"{learner_url}/v1/admin/providers/{w.provider_a}/keys"

        async def key(scopes: list[str]) -> dict[str, Any]:
            issued: dict[str, Any] = await _post(http, keys, admin, {"scopes": scopes})
            return issued

        w.key_records_only = (await key(["records:write"]))["api_key"]
        w.key_programmes_only = (await key(["programmes:write"]))["api_key"]
        w.key_to_rotate = (await key(["records:write", "programmes:write"]))["api_key"]
        revoked = await key(["records:write", "programmes:write"])
        gone = await http.delete(f"{keys}/{revoked['key_id']}", headers=admin)
        assert gone.status_code == 204, gone.text
        w.key_revoked = revoked["api_key"]
        w.key_rotated_away = (await key(["records:write", "programmes:write"]))["api_key"]
        await _post(http, f"{learner_url}/v1/keys:rotate", {"X-API-Key": w.key_rotated_away}, None)
        inactive = await new_provider(http, stack, name="Trung tâm đã giải thể")
        off = await http.patch(
            f"{learner_url}/v1/admin/providers/{inactive['provider']['id']}",
            json={"active": False},
            headers=admin,
        )
        assert off.status_code == 200, off.text
        w.key_inactive = inactive["api_key"]
        spare = await new_provider(http, stack, name="Trung tâm dự phòng")
        w.spare_provider, w.spare_key_id = spare["provider"]["id"], spare["key_id"]

        nid = national_id()
        answers = [
            await submit(http, stack, w.key_a, submission(nid, _ref(), title=f"Học phần {n}"))
            for n in range(3)
        ]
        assert all(r.status_code == 202 for r in answers), [r.text for r in answers]
        w.learner = answers[0].json()["learner_id"]
        w.record_read, w.record_correct, w.record_revoke = (r.json()["record_id"] for r in answers)
        other = await submit(http, stack, w.key_b, submission(national_id(), _ref()))
        assert other.status_code == 202, other.text
        w.other_learner = other.json()["learner_id"]
        held = submission(nid, _ref())
        held["learner"]["full_name"] = "Trần Văn Đức"
        held_answer = (await submit(http, stack, w.key_a, held)).json()
        assert held_answer["status"] == "held_for_review", held_answer
        w.held_record = held_answer["record_id"]
        programmes = f"{learner_url}/v1/programmes"
        a_key = {"X-API-Key": w.key_a}
        mapping = await http.put(
            f"{learner_url}/v1/xapi/mapping", json=_xapi_mapping(), headers=a_key
        )
        assert mapping.status_code == 200, mapping.text
        actor = {"mbox": f"mailto:{uuid.uuid4().hex}@example.org"}
        linked = await http.put(
            f"{learner_url}/v1/xapi/agent-links", json={"agent": actor, **_card()}, headers=a_key
        )
        assert linked.status_code == 200, linked.text
        completed = {
            **_statement(),
            "actor": actor,
            "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {
                "id": "https://example.org/courses/security",
                "definition": {"name": {"vi": "Khoá học trực tuyến"}},
            },
        }
        basic = base64.b64encode(f"{w.provider_a}:{w.key_a}".encode()).decode()
        posted = await http.post(
            f"{learner_url}/xapi/statements",
            json=completed,
            headers={"Authorization": f"Basic {basic}", **XAPI_VERSION},
        )
        assert posted.status_code == 200, posted.text
        w.statement_with_record = posted.json()[0]
        w.programme_update = (await _post(http, programmes, a_key, _programme()))["programme_id"]
        w.programme_withdraw = (await _post(http, programmes, a_key, _programme()))["programme_id"]
        registrations = f"{learner_url}/v1/learners"
        w.merge_from = (await _post(http, registrations, {}, _registration()))["learner"][
            "learner_id"
        ]
        w.merge_into = (await _post(http, registrations, {}, _registration()))["learner"][
            "learner_id"
        ]

        async def session() -> dict[str, Any]:
            opened: dict[str, Any] = await _post(http, registrations, {}, _registration())
            tokens: dict[str, Any] = opened["session"]
            return tokens

        async def code() -> str:
            issued: dict[str, Any] = await _post(
                http, f"{learner_url}/v1/claim-codes", a_key, _card()
            )
            return str(issued["code"])

        w.session_token = (await session())["access_token"]
        w.sign_out_token = (await session())["access_token"]
        w.everywhere_token = (await session())["access_token"]
        signed_out = await session()
        out = await http.post(
            f"{learner_url}/v1/sessions:sign-out",
            headers={"Authorization": f"Bearer {signed_out['access_token']}"},
        )
        assert out.status_code == 204, out.text
        w.signed_out_token = signed_out["access_token"]
        w.claim_code = await code()
        w.refresh_tokens = [(await session())["refresh_token"] for _ in range(6)]
        spent = await session()
        await _post(
            http,
            f"{learner_url}/v1/sessions:refresh",
            {},
            {"refresh_token": spent["refresh_token"]},
        )
        w.spent_refresh_token = spent["refresh_token"]
        bound = await _post(
            http,
            f"{learner_url}/v1/account/claims",
            {"Authorization": f"Bearer {(await session())['access_token']}"},
            {"code": await code()},
        )
        w.binding_id = bound["binding"]["binding_id"]

        # the portal: a browser session acting for `learner` (a claim code for its national ID)
        owner_code = await _post(
            http,
            f"{learner_url}/v1/claim-codes",
            a_key,
            {"learner": {"national_id": nid, **OWNER}},
        )
        portal = await session()
        claimed = await _post(
            http,
            f"{learner_url}/v1/account/claims",
            _bearer(portal["access_token"]),
            {"code": owner_code["code"]},
        )
        w.portal_token = claimed["access_token"]
        w.portal_sign_out_token = (await session())["access_token"]
        w.portal_everywhere_token = (await session())["access_token"]
        w.portal_claim_token = (await session())["access_token"]
        w.portal_claim_code = await code()

        async def oidc_answer() -> tuple[dict[str, str], str]:
            async with httpx.AsyncClient(follow_redirects=False, timeout=30) as b:
                url = await sign_in(stack, b, national_id())
                cookie = f"lt_oidc_flow={b.cookies.get('lt_oidc_flow', path='/v1/sign-in/oidc')}"
            return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}, cookie

        w.oidc_answers = [await oidc_answer() for _ in range(5)]
        w.oidc_spent = await oidc_answer()
        spent = await http.get(
            f"{learner_url}/v1/sign-in/oidc/callback",
            params=w.oidc_spent[0],
            headers={"Cookie": w.oidc_spent[1]},
        )
        assert spent.status_code == 200, spent.text

        await eventually(
            lambda: trail_of(http, stack, w.learner), lambda t: t.get("entry_count") == 3
        )
        issued = await http.post(
            f"{stack.endpoints.credential}/v1/learners/{w.learner}/credentials", headers=admin
        )
        assert issued.status_code == 201, issued.text
        w.credential_id = issued.headers["Location"].removeprefix("/v1/credentials/")
        w.credential = issued.json()
        school, spare = School(), School("spare.example")
        for trusted in (school, spare):
            await http.put(
                f"{stack.endpoints.credential}/v1/admin/trusted-issuers",
                json={"name": "Trường B", "did_document": did_document(trusted.ring)},
                headers=admin,
            )
        w.spare_trusted_issuer = spare.ring.controller
        w.clr_import = {
            "learner_id": w.learner,
            "pathway": "vocational",
            "credential": school.clr(),
            "status_lists": [school.status_list()],
        }

        async def inbox() -> list[dict[str, Any]]:
            response = await http.get(
                f"{stack.endpoints.notify}/v1/learners/{w.learner}/notifications", headers=admin
            )
            notes: list[dict[str, Any]] = (
                response.json()["notifications"] if response.status_code == 200 else []
            )
            return notes

        w.notification_id = (await eventually(inbox, bool))[0]["id"]

        async def reports() -> list[dict[str, Any]]:
            response = await http.get(f"{stack.endpoints.insights}/v1/reports", headers=admin)
            found: list[dict[str, Any]] = response.json() if response.status_code == 200 else []
            return found

        w.report_period = (await eventually(reports, bool))[0]["period"]

        officers = f"{stack.endpoints.insights}/v1/admin/officers"

        async def officer_credential(unit: str) -> dict[str, Any]:
            """An officer credential, as the department issues it: its token and its id."""
            issued: dict[str, Any] = await _post(
                http, officers, admin, {"unit_code": unit, "days": 1, "label": "Cán bộ thống kê"}
            )
            return issued

        for unit in (w.officer_unit, w.other_unit, "56"):
            w.officer_credentials[unit] = (await officer_credential(unit))["token"]
        w.officer_to_revoke = (await officer_credential(w.other_unit))["id"]

        async def officer_session(unit: str, credential: str | None = None) -> str:
            """An officer signed in on the pages, as the sign-in form does it: the cookie."""
            signed = await http.post(
                f"{stack.endpoints.insights}/figures/sign-in",
                data={"credential": credential or w.officer_credentials[unit]},
                headers={"Origin": stack.endpoints.insights},
            )
            assert signed.status_code == 303, signed.text
            token = signed.cookies["lt_officer"]
            http.cookies.clear()
            return token

        w.officer_session = await officer_session(w.officer_unit)
        w.officer_sign_out_session = await officer_session(w.officer_unit)
        w.other_officer_session = await officer_session(w.other_unit)
        w.officer_signed_out = await officer_session(w.officer_unit)
        revoked_officer = await officer_credential(w.officer_unit)
        w.revoked_officer = revoked_officer["token"]
        w.revoked_officer_session = await officer_session(w.officer_unit, w.revoked_officer)
        await _post(
            http, f"{officers}/{revoked_officer['id']}/revocation", admin, {"reason": "Lộ mã"}
        )
        ended = await http.post(
            f"{stack.endpoints.insights}/figures/sign-out",
            data={"csrf": _form_token(w, w.officer_signed_out)},
            headers={**_officer_cookie(w.officer_signed_out), "Origin": stack.endpoints.insights},
        )
        assert ended.status_code == 303, ended.text

        async def share() -> tuple[str, str]:
            """A share link of the whole trail, made through the portal's form: its token
            (from the page that shows it once) and its id (from the trail page's list)."""
            browser = {
                **_cookie(w.portal_token),
                "Origin": stack.endpoints.credential,
            }
            made = await http.post(
                f"{stack.endpoints.credential}/portal/shares",
                data={"what": "whole", "days": "7", "csrf": _form_token(w, w.portal_token)},
                headers=browser,
            )
            assert made.status_code == 201, made.text
            token = re.search(r"token=(lts_[A-Za-z0-9_-]+)", made.text)
            page = await http.get(f"{stack.endpoints.credential}/portal/trail", headers=browser)
            ids = re.findall(r"/portal/shares/([0-9a-f-]{36})/revoke", page.text)
            assert token and ids, page.text[:500]
            return token.group(1), ids[0]  # the newest first

        w.revoked_share_token, revoked_id = await share()
        revoked = await http.post(
            f"{stack.endpoints.credential}/portal/shares/{revoked_id}/revoke",
            data={"csrf": _form_token(w, w.portal_token)},
            headers={**_cookie(w.portal_token), "Origin": stack.endpoints.credential},
        )
        assert revoked.status_code == 303, revoked.text
        w.share_token, w.share_id = await share()
        yield w


# the table matches the services


@pytest.mark.parametrize("service", ["learner", "credential", "notify", "insights"])
async def test_every_operation_is_classified(
    stack: Stack, http: httpx.AsyncClient, service: Service
) -> None:
    response = await http.get(f"{_base(stack, service)}/openapi.json")
    assert response.status_code == 200
    live = {
        f"{method.upper()} {path}"
        for path, operations in response.json()["paths"].items()
        for method in operations
        if method in ("get", "put", "post", "delete", "patch", "head", "options")
    }
    classified = {operation for (s, operation) in TABLE if s == service}
    assert live - classified == set(), (
        f"{service} has operations nobody classified; add them to TABLE with who may call them"
    )
    assert classified - live == set(), f"TABLE names {service} operations that no longer exist"


# every operation, every wrong caller, then the right one


def _wrong_callers(
    rule: Rule, w: World, method: str = "GET"
) -> list[tuple[str, dict[str, str], int]]:
    """Each wrong caller of an operation protected as ``rule`` says, and the refusal it gets."""

    def key(value: str) -> dict[str, str]:
        return {"X-API-Key": value}

    if rule.access in ("provider", "provider_self", "own_record", "own_programme"):
        callers = [
            ("no credentials", {}, 401),
            ("a garbage API key", key("ltk_" + "x" * 43), 401),
            ("a revoked API key", key(w.key_revoked), 401),
            ("a key rotated away", key(w.key_rotated_away), 401),
            ("an inactive centre's key", key(w.key_inactive), 401),
            ("a learner token instead of a key", w.bearer(w.learner), 401),
            ("the admin token instead of a key", w.stack.admin, 401),
        ]
        if rule.scope is not None:
            narrow = w.key_programmes_only if rule.scope == "records:write" else w.key_records_only
            callers.append((f"a key without {rule.scope}", key(narrow), 403))
        if rule.access in ("own_record", "own_programme"):
            callers.append(("another centre's key", key(w.key_b), 404))
        return callers
    if rule.access == "xapi":

        def basic(username: str, password: str) -> dict[str, str]:
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}

        return [
            ("no credentials", {}, 401),
            ("garbage Basic credentials", {"Authorization": "Basic !!!"}, 401),
            ("a garbage key", basic(w.provider_a, "ltk_" + "x" * 43), 401),
            ("a revoked key", basic(w.provider_a, w.key_revoked), 401),
            ("a key rotated away", basic(w.provider_a, w.key_rotated_away), 401),
            ("an inactive centre's key", basic(w.provider_a, w.key_inactive), 401),
            ("the key under another centre's id", basic(w.provider_b, w.key_a), 401),
            ("the key in X-API-Key, not Basic", key(w.key_a), 401),
            ("a learner token", w.bearer(w.learner), 401),
            ("the admin token", w.stack.admin, 401),
            ("a key without records:write", basic(w.provider_a, w.key_programmes_only), 403),
        ]
    if rule.access == "learner_or_admin":
        return [
            ("no credentials", {}, 401),
            ("a garbage token", {"Authorization": "Bearer garbage"}, 401),
            ("the learner's expired token", w.expired(w.learner), 401),
            ("a tampered token", w.tampered(w.learner, "learner"), 401),
            ("a token signed with another secret", w.forged(w.learner, "learner"), 401),
            ("another learner's token", w.bearer(w.other_learner), 403),
            ("an officer's credential", w.officer(), 403),
            ("a centre's API key", key(w.key_a), 401),
        ]
    if rule.access == "session":
        return [
            ("no credentials", {}, 401),
            ("a garbage token", {"Authorization": "Bearer garbage"}, 401),
            ("an expired token", w.expired(w.learner), 401),
            ("a tampered token", w.tampered(w.learner, "learner"), 401),
            ("a token signed with another secret", w.forged(w.learner, "learner"), 401),
            ("a signed-out session's access token", _bearer(w.signed_out_token), 401),
            ("a learner token of no session", w.bearer(w.learner), 403),
            ("the admin token", w.stack.admin, 403),
            ("a centre's API key", key(w.key_a), 401),
        ]
    if rule.access == "portal":
        return _portal_wrong_callers(w, method, rule)
    if rule.access == "admin":
        return [
            ("no credentials", {}, 401),
            ("a garbage token", {"Authorization": "Bearer garbage"}, 401),
            ("an expired admin token", w.expired("department", "admin"), 401),
            ("a learner token altered to claim admin", w.tampered(w.learner, "admin"), 401),
            ("an admin token signed with another secret", w.forged("department", "admin"), 401),
            ("a learner token", w.bearer(w.learner), 403),
            ("an officer's credential", w.officer(), 403),
            ("a centre's API key", key(w.key_a), 401),
        ]
    if rule.access == "officer_page":
        return _officer_page_wrong_callers(w, method, rule)
    if rule.access == "officer_sign_in":
        here = {"Origin": w.stack.endpoints.insights}
        return [
            ("a form from another site", {"Origin": "https://evil.example"}, 403),
            ("a form with no Origin", {}, 403),
            (
                "an expired officer credential",
                {**here, FORM: _sealed(w.expired(w.officer_unit, "officer"))},
                401,
            ),
            (
                "a forged officer credential",
                {**here, FORM: _sealed(w.forged(w.officer_unit, "officer"))},
                401,
            ),
            ("a revoked officer credential", {**here, FORM: w.revoked_officer}, 401),
            ("an officer credential without an id", {**here, FORM: w.id_less_officer()}, 401),
            ("the admin token", {**here, FORM: w.stack.secrets["LT_ADMIN_TOKEN"]}, 403),
            ("a learner token", {**here, FORM: _sealed(w.bearer(w.learner))}, 403),
            ("a session's token", {**here, FORM: w.officer_session}, 403),
            ("a centre's API key", {**here, FORM: w.key_a}, 401),
        ]
    if rule.access == "figures":
        return [
            ("no credentials", {}, 401),
            ("a garbage token", {"Authorization": "Bearer garbage"}, 401),
            ("the officer's expired credential", w.expired(w.officer_unit, "officer"), 401),
            ("a learner token altered to an officer's", w.tampered(w.officer_unit, "officer"), 401),
            (
                "an officer credential signed with another secret",
                w.forged(w.officer_unit, "officer"),
                401,
            ),
            ("a revoked officer credential", _bearer(w.revoked_officer), 401),
            ("an officer credential without an id", _bearer(w.id_less_officer()), 401),
            (
                "the token of a session whose credential was revoked",
                _bearer(w.revoked_officer_session),
                401,
            ),
            ("a learner token", w.bearer(w.learner), 403),
            ("another commune's officer", w.officer(w.other_unit), 403),
            ("a centre's API key", key(w.key_a), 401),
        ]
    return []


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _sealed(header: dict[str, str]) -> str:
    return header["Authorization"].removeprefix("Bearer ")


FORM = "x-test-credential"  # not sent: _send puts it in the form as its `credential` field


def _officer_cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"lt_officer={token}"}


def _officer_page_wrong_callers(
    w: World, method: str, rule: Rule
) -> list[tuple[str, dict[str, str], int]]:
    """Without a live officer session in the cookie, the dashboard sends the browser to sign
    in (303) and a form is refused (401); another commune's officer is refused the unit (403);
    a form without the session's form token, or from another site, is refused (403)."""
    gone = 303 if method == "GET" else 401
    mine = rule.session(w) if rule.session else w.officer_session
    unit = w.officer_unit
    callers = [
        ("no cookie", {}, gone),
        ("the session's token in the Authorization header", _bearer(mine), gone),
        (
            "an officer credential (no session) in the cookie",
            _officer_cookie(_sealed(w.officer())),
            gone,
        ),
        (
            "a session whose credential was revoked, in the cookie",
            _officer_cookie(w.revoked_officer_session),
            gone,
        ),
        (
            "an expired token in the cookie",
            _officer_cookie(_sealed(w.expired(unit, "officer"))),
            gone,
        ),
        (
            "a tampered token in the cookie",
            _officer_cookie(_sealed(w.tampered(unit, "officer"))),
            gone,
        ),
        ("a forged token in the cookie", _officer_cookie(_sealed(w.forged(unit, "officer"))), gone),
        ("a signed-out session's cookie", _officer_cookie(w.officer_signed_out), gone),
        ("the admin token in the cookie", _officer_cookie(w.stack.secrets["LT_ADMIN_TOKEN"]), gone),
        ("a learner's portal session in its cookie", _cookie(w.portal_token), gone),
    ]
    if method == "GET":
        callers.append(("another commune's officer", _officer_cookie(w.other_officer_session), 403))
    else:
        origin = {"Origin": w.stack.endpoints.insights}
        callers += [
            ("the cookie without the form token", {**_officer_cookie(mine), **origin}, 403),
            (
                "another session's form token",
                {**_officer_cookie(mine), **origin, CSRF: _form_token(w, w.other_officer_session)},
                403,
            ),
            (
                "a form from another site",
                {
                    **_officer_cookie(mine),
                    "Origin": "https://evil.example",
                    CSRF: _form_token(w, mine),
                },
                403,
            ),
            (
                "a form from the learner portal",
                {
                    **_officer_cookie(mine),
                    "Origin": w.stack.endpoints.learner,
                    CSRF: _form_token(w, mine),
                },
                403,
            ),
        ]
    return callers


CSRF = "x-test-form-token"  # not sent: _send puts it in the form as its `csrf` field


def _cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"lt_access={token}"}


def _form_token(w: World, token: str) -> str:
    secret = w.stack.secrets["LT_TOKEN_SECRET"]
    session = verify_token(secret, token, int(time.time())).session
    assert session is not None
    return form_token(secret, session)


def _portal_wrong_callers(
    w: World, method: str, rule: Rule
) -> list[tuple[str, dict[str, str], int]]:
    """Without a live session in the cookie, a page sends the browser to renew it or sign in
    (303), a form is refused (401); with one, a form without its form token, with another
    session's, or from another site is refused (403)."""
    gone = 303 if method == "GET" else 401
    mine = rule.session(w) if rule.session else w.portal_token
    tampered = w.tampered(w.learner, "learner")["Authorization"].removeprefix("Bearer ")
    forged = w.forged(w.learner, "learner")["Authorization"].removeprefix("Bearer ")
    callers = [
        ("no cookie", {}, gone),
        ("the session's token in the Authorization header", _bearer(mine), gone),
        ("an expired token in the cookie", _cookie(w.signed(w.learner, "learner", -60)), gone),
        ("a tampered token in the cookie", _cookie(tampered), gone),
        ("a forged token in the cookie", _cookie(forged), gone),
        ("a signed-out session's cookie", _cookie(w.signed_out_token), gone),
        ("a token of no session in the cookie", _cookie(w.signed(w.learner, "learner", 600)), gone),
        ("the admin token in the cookie", _cookie(w.stack.secrets["LT_ADMIN_TOKEN"]), gone),
    ]
    if method != "GET":
        origin = {"Origin": _base(w.stack, "learner")}
        callers += [
            ("the cookie without the form token", {**_cookie(mine), **origin}, 403),
            (
                "another session's form token",
                {**_cookie(mine), **origin, CSRF: _form_token(w, w.session_token)},
                403,
            ),
            (
                "a form from another site",
                {**_cookie(mine), "Origin": "https://evil.example", CSRF: _form_token(w, mine)},
                403,
            ),
            ("a form with no Origin", {**_cookie(mine), CSRF: _form_token(w, mine)}, 403),
        ]
    return callers


def _rightful_callers(rule: Rule, w: World) -> list[tuple[str, dict[str, str]]]:
    if rule.access in ("provider", "provider_self", "own_record", "own_programme"):
        return [("the centre", {"X-API-Key": rule.key(w) if rule.key else w.key_a})]
    if rule.access == "xapi":
        return [
            (
                f"the centre, as {username}",
                {
                    "Authorization": "Basic "
                    + base64.b64encode(f"{username}:{w.key_a}".encode()).decode()
                },
            )
            for username in (w.provider_a, w.key_a_id)
        ]
    if rule.access == "learner_or_admin":
        return [("the learner", w.bearer(w.learner)), ("the department", w.stack.admin)]
    if rule.access == "session":
        return [
            ("the signed-in learner", _bearer(rule.session(w) if rule.session else w.session_token))
        ]
    if rule.access == "admin":
        return [("the department", w.stack.admin)]
    if rule.access == "officer_page":
        mine = rule.session(w) if rule.session else w.officer_session
        origin = {"Origin": w.stack.endpoints.insights}
        return [
            (
                "the signed-in officer",
                {**_officer_cookie(mine), **origin, CSRF: _form_token(w, mine)},
            )
        ]
    if rule.access == "officer_sign_in":
        return [("the officer, from the sign-in page", {"Origin": w.stack.endpoints.insights})]
    if rule.access == "figures":
        return [
            ("the department", w.stack.admin),
            ("the unit's officer", w.officer()),
            ("the province's officer", w.officer("56")),
        ]
    if rule.access == "portal":
        mine = rule.session(w) if rule.session else w.portal_token
        # a page of one service may post to another's: any of the three origins will do
        origin = {"Origin": _base(w.stack, "notify")}
        return [("the signed-in browser", {**_cookie(mine), **origin, CSRF: _form_token(w, mine)})]
    if rule.access == "operator":
        return [("a caller on this host", {}), ("the department", w.stack.admin)]
    # public and capability: whatever credentials come along, valid or not, change nothing
    return [
        ("nobody", {}),
        ("garbage credentials", {"Authorization": "Bearer garbage", "X-API-Key": "ltk_x"}),
        ("an expired token", w.expired(w.learner)),
        ("a learner", w.bearer(w.learner)),
        ("a centre", {"X-API-Key": w.key_a}),
    ]


async def _send(
    http: httpx.AsyncClient,
    w: World,
    service: Service,
    method: str,
    call: Call,
    headers: dict[str, str],
) -> httpx.Response:
    headers = {**headers, **(call.headers or {})}
    csrf = headers.pop(CSRF, None)
    credential = headers.pop(FORM, None)
    form = None if call.form is None else {**call.form, **({"csrf": csrf} if csrf else {})}
    if form is not None and credential is not None:
        form["credential"] = credential
    return await http.request(
        method,
        _base(w.stack, service) + call.path,
        json=call.json,
        data=form,
        params=call.params,
        headers=headers,
    )


def _assert_refused(response: httpx.Response, expected: int, who: str, stack: Stack) -> None:
    if expected == 303:  # a portal page: off to renew the session or sign in, nothing shown
        assert response.status_code == 303, f"{who}: got {response.status_code}"
        to = response.headers["location"]
        if response.request.url.path.startswith("/figures"):  # the officers' sign-in
            assert to == "/figures/sign-in", f"{who}: to {to}"
            return
        assert to.startswith(f"{stack.endpoints.learner}/portal/session"), f"{who}: to {to}"
        return
    assert response.status_code == expected, (
        f"{who}: expected {expected}, got {response.status_code}: {response.text[:300]}"
    )
    assert response.headers["content-type"].startswith(PROBLEM), f"{who}: not problem+json"
    if response.request.method != "HEAD":  # an answer to HEAD has no body
        assert response.json()["status"] == expected, who
    if expected == 401 and "cookie" not in who and "Authorization header" not in who:
        assert "WWW-Authenticate" in response.headers, f"{who}: a 401 names its scheme"


@pytest.mark.parametrize(("service", "operation"), sorted(TABLE), ids=lambda v: str(v))
async def test_wrong_callers_are_refused_and_the_rightful_caller_is_not(
    world: World, http: httpx.AsyncClient, service: Service, operation: str
) -> None:
    rule = TABLE[(service, operation)]
    method = operation.split(" ", 1)[0]
    for who, headers, expected in _wrong_callers(rule, world, method):
        response = await _send(http, world, service, method, rule.call(world), headers)
        _assert_refused(response, expected, f"{operation} by {who}", world.stack)
    if rule.guesses is not None:
        for who, call, expected in rule.guesses(world):
            response = await _send(http, world, service, method, call, {})
            _assert_refused(response, expected, f"{operation} with {who}", world.stack)
    for who, headers in _rightful_callers(rule, world):
        response = await _send(http, world, service, method, rule.call(world), headers)
        assert response.status_code == rule.ok, (
            f"{operation} by {who}: expected {rule.ok}, got {response.status_code}: "
            f"{response.text[:300]}"
        )


# what "acts for its own centre" means for operations any live key may call


async def test_a_centre_sees_only_itself_and_its_own_programmes(
    world: World, http: httpx.AsyncClient
) -> None:
    base = world.stack.endpoints.learner
    me = await http.get(f"{base}/v1/provider", headers={"X-API-Key": world.key_b})
    assert me.status_code == 200 and me.json()["id"] == world.provider_b
    listed = await http.get(f"{base}/v1/programmes", headers={"X-API-Key": world.key_b})
    assert listed.status_code == 200
    ids = {p["programme_id"] for p in listed.json()}
    assert world.programme_update not in ids and world.programme_withdraw not in ids
    mine = await http.get(f"{base}/v1/programmes", headers={"X-API-Key": world.key_a})
    assert world.programme_update in {p["programme_id"] for p in mine.json()}


async def test_the_printable_page_takes_no_token_from_the_url(
    world: World, http: httpx.AsyncClient
) -> None:
    """A token in a URL is kept in histories, proxies' logs and Referer headers: the page
    refuses one there (400), genuine or not, and answers the header like every endpoint."""
    page = f"{world.stack.endpoints.credential}/v1/learners/{world.learner}/trail"

    def token(headers: dict[str, str]) -> str:
        return headers["Authorization"].removeprefix("Bearer ")

    for who, headers in [
        ("the learner", world.bearer(world.learner)),
        ("another learner", world.bearer(world.other_learner)),
        ("the department", world.stack.admin),
        ("garbage", {"Authorization": "Bearer garbage"}),
    ]:
        response = await http.get(page, params={"format": "html", "access_token": token(headers)})
        _assert_refused(response, 400, f"the page with {who}'s token in the URL", world.stack)
    response = await http.get(page, params={"format": "html"}, headers=world.bearer(world.learner))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "access_token" not in response.text
