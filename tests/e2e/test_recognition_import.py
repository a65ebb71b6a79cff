"""Liên thông across issuers: a CLR signed by a second, separately keyed issuer (another
school) is imported for a learner of this system, its structured results feed the recognition
rules, and the trail shows it; untrusted, tampered, revoked, unconfirmable and someone else's
CLRs are refused, saying which check failed."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts.credentials import RECOGNITION_GRANTED
from contracts.prior_learning import PRIOR_LEARNING_IMPORTED
from services.credential import badges
from services.credential.frameworks import level_alignments, load_frameworks
from services.credential.rebuild import rebuild
from services.credential.vc.contexts import ensure_assets, runtime_loader
from services.credential.vc.credentials import (
    IssuerProfile,
    Learner,
    LearningRecord,
    Provider,
    StatusPlan,
    issue_clr,
)
from services.credential.vc.keys import KeyRing, did_document, did_web, new_key_ring
from services.credential.vc.proofs import sign
from services.credential.vc.statuslist import build_status_list_credential
from tests.conftest import Stack, eventually, read_topic
from tests.e2e.test_credentials import cred, learner_with_records
from tests.e2e.test_record_path import trail_of

SCHOOL = "truong-cao-dang-b.example"
LIST_URL = f"https://{SCHOOL}/status/1"
PROBLEM = "application/problem+json"


def _records() -> list[LearningRecord]:
    centre = Provider(id=f"https://{SCHOOL}/", name="Trường Cao đẳng B")
    frameworks = load_frameworks()
    common: dict[str, Any] = {
        "achievement_type": "Course",
        "completion_date": date(2025, 5, 20),
        "provider": centre,
        "grade_scale": "0-10",
        "result_status": "passed",
    }
    return [
        LearningRecord(
            record_id="b-1",
            title="Lập trình web cơ bản",
            description="Học phần lập trình web.",
            credits=4,
            hours=60,
            code="SC-LAPTRINH-WEB",
            grade="8,5",
            **common,
        ),
        LearningRecord(
            record_id="b-2",
            title="Cơ sở dữ liệu",
            description="Học phần cơ sở dữ liệu.",
            credits=4,
            hours=75,
            code="SC-CSDL",
            grade="7,0",
            level="Bậc 3 — Sơ cấp III",
            alignments=tuple(level_alignments(frameworks, f"https://{SCHOOL}", 3, None)),
            image=badges.achievement_badge("Cơ sở dữ liệu", "vocational", "Bậc 3"),
            **common,
        ),
    ]


class School:
    """The second issuer: its own did:web and keys, its own status list."""

    def __init__(self, domain: str = SCHOOL) -> None:
        self.now = datetime.now(UTC) - timedelta(seconds=5)
        self.ring: KeyRing = new_key_ring(did_web(domain), self.now)
        self.loader = runtime_loader(ensure_assets())
        self.profile = IssuerProfile(id=self.ring.controller, name="Trường Cao đẳng B")

    def clr(self, name: str = "Nguyễn Thị Hương") -> dict[str, Any]:
        return issue_clr(
            Learner(id=f"urn:uuid:{uuid.uuid4()}", name=name),
            _records(),
            self.profile,
            self.ring,
            self.loader,
            f"urn:uuid:{uuid.uuid4()}",
            self.now,
            status=StatusPlan.in_one_list(LIST_URL, 0, {"b-1": 1, "b-2": 2}),
        )

    def status_list(self, revoked: set[int] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
        unsigned = build_status_list_credential(
            LIST_URL,
            self.ring.controller,
            revoked,
            self.now,
            valid_until=self.now + timedelta(hours=1),
        )
        return sign(
            unsigned, self.ring.current, self.ring.verification_method(), self.now, self.loader
        )


async def _import(
    http: httpx.AsyncClient,
    stack: Stack,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post(
        cred(stack, "/v1/recognitions:import"),
        json=body,
        headers=stack.admin if headers is None else headers,
    )


def _refused(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, Any] = response.json()
    for word in words:
        assert word in problem["detail"], problem["detail"]
    return problem


async def test_a_clr_of_another_school_is_imported_and_recognised(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    learner_id, _, _ = await learner_with_records(http, stack, count=1)
    school = School()
    clr = school.clr()
    good = {
        "learner_id": learner_id,
        "pathway": "vocational",
        "credential": clr,
        "status_lists": [school.status_list()],
    }

    # not yet on the trust list: refused, naming the issuer check
    problem = _refused(await _import(http, stack, good), 422, "issuer", school.ring.controller)
    assert {c["check"] for c in problem["checks"]} >= {"issuer"}
    assert problem["verdict"]["exit_code"] == 1

    # the department adds the school, with the DID document the school gave it
    added = await http.put(
        cred(stack, "/v1/admin/trusted-issuers"),
        json={"name": "Trường Cao đẳng B", "did_document": did_document(school.ring)},
        headers=stack.admin,
    )
    assert added.status_code == 200, added.text
    assert added.json()["keys"] == list(school.ring.public_keys())
    listed = await http.get(cred(stack, "/v1/admin/trusted-issuers"), headers=stack.admin)
    assert school.ring.controller in {i["issuer"] for i in listed.json()["issuers"]}

    # its status list not handed in: cannot be confirmed, so not imported
    problem = _refused(
        await _import(http, stack, {**good, "status_lists": []}), 422, "indeterminate", "status"
    )
    assert problem["verdict"]["exit_code"] == 2
    # a grade changed after signing
    forged = copy.deepcopy(clr)
    forged["credentialSubject"]["verifiableCredential"][0]["credentialSubject"]["result"][0][
        "value"
    ] = "10"
    problem = _refused(await _import(http, stack, {**good, "credential": forged}), 422, "proof")
    assert any(c["check"] == "proof" and c["result"] == "failed" for c in problem["checks"])
    # one of its achievements revoked by the school
    revoked = {**good, "status_lists": [school.status_list({2})]}
    problem = _refused(await _import(http, stack, revoked), 422, "status", "revoked")
    # signed by a key of another "school" claiming the same DID (an attacker's own ring)
    impostor = School()
    problem = _refused(
        await _import(
            http,
            stack,
            {**good, "credential": impostor.clr(), "status_lists": [impostor.status_list()]},
        ),
        422,
        "proof",
    )
    # a valid CLR of someone else
    _refused(
        await _import(http, stack, {**good, "credential": school.clr(name="Trần Văn Bình")}),
        422,
        "does not match",
    )
    # nobody in this system by that id; our own credential; not a department token
    _refused(
        await _import(http, stack, {**good, "learner_id": str(uuid.uuid4())}), 404, "No learner"
    )
    ours = await http.post(
        cred(stack, f"/v1/learners/{learner_id}/credentials"), headers=stack.admin
    )
    assert ours.status_code == 201
    _refused(await _import(http, stack, {**good, "credential": ours.json()}), 409, "issued by this")
    assert (await _import(http, stack, good, headers={})).status_code == 401

    # the real thing: verified, read by its structured data, on the log
    answer = await _import(http, stack, good)
    assert answer.status_code == 202, answer.text
    imported = answer.json()
    web, database = imported["records"]
    assert (web["code"], web["credits"], web["hours"]) == ("SC-LAPTRINH-WEB", 4.0, 60.0)
    assert web["result"] == {"status": "passed", "grade": "8.5", "grade_scale": "0-10"}
    assert web["kind"] == "course" and web["completed_on"] == "2025-05-20"
    assert (database["code"], database["vqf_level"], database["hours"]) == ("SC-CSDL", 3, 75.0)
    again = await _import(http, stack, good)  # the same CLR twice: the same entries
    assert again.json()["import_id"] == imported["import_id"]

    # the rules fire on the imported learning, and the trail shows both
    trail = await eventually(
        lambda: trail_of(http, stack, learner_id),
        lambda t: len(t.get("recognitions", [])) == 2,
    )
    assert trail["entry_count"] == 3
    shown = {
        e["record_id"]: e for g in trail["pathways"] for e in g["entries"] if e.get("imported")
    }
    assert set(shown) == {web["record_id"], database["record_id"]}
    assert shown[web["record_id"]]["imported"]["issuer_id"] == school.ring.controller
    assert shown[web["record_id"]]["provider_name"] == "Trường Cao đẳng B"
    page = await http.get(
        cred(stack, f"/v1/learners/{learner_id}/trail"),
        params={"format": "html"},
        headers=stack.admin,
    )
    assert "Từ hồ sơ (CLR) của" in page.text
    assert "Thiết kế web" in page.text  # the recognition it earned, in words
    by_record = {tuple(r["record_ids"]): r for r in trail["recognitions"]}
    assert by_record[(web["record_id"],)]["rule_id"] == "credit-transfer/cao-dang-cntt"
    assert "Thiết kế web" in by_record[(web["record_id"],)]["outcome_vi"]
    assert by_record[(database["record_id"],)]["credits"] == 4

    # both are events: the import on prior-learning.v1, the decisions on credentials.v1
    imports = [
        json.loads(r.value)
        for r in await read_topic(stack.kafka, "prior-learning.v1")
        if r.key == learner_id.encode()
        and dict(r.headers)["ce_type"].decode() == PRIOR_LEARNING_IMPORTED
    ]
    assert {i["import_id"] for i in imports} == {imported["import_id"]}
    granted = [
        json.loads(r.value)
        for r in await read_topic(stack.kafka, "credentials.v1")
        if r.key == learner_id.encode()
        and dict(r.headers)["ce_type"].decode() == RECOGNITION_GRANTED
    ]
    assert {tuple(g["record_ids"]) for g in granted} == {
        (web["record_id"],),
        (database["record_id"],),
    }

    # the department re-issues nothing another issuer asserted
    reissued = await http.post(
        cred(stack, f"/v1/learners/{learner_id}/credentials"), headers=stack.admin
    )
    assert len(reissued.json()["credentialSubject"]["verifiableCredential"]) == 1

    # a trail rebuilt from the log alone has the imported entries and their recognitions
    report = await rebuild(
        stack.kafka, stack.mongodb_uri, "lt_credential", "lt_credential_rebuild_import"
    )
    assert report.differences == []

    # taken off the trust list: its CLRs are refused again, what was imported stays
    gone = await http.delete(
        cred(stack, f"/v1/admin/trusted-issuers/{school.ring.controller}"), headers=stack.admin
    )
    assert gone.status_code == 204
    _refused(await _import(http, stack, good), 422, "issuer")


@pytest.mark.parametrize(
    "document",
    [
        {"id": "not-a-did", "assertionMethod": []},
        {"id": "did:web:nokeys.example", "verificationMethod": [], "assertionMethod": []},
        {
            "id": "did:web:badkey.example",
            "verificationMethod": [
                {"id": "did:web:badkey.example#k", "type": "Multikey", "publicKeyMultibase": "zXYZ"}
            ],
            "assertionMethod": ["did:web:badkey.example#k"],
        },
        {"id": "did:web:junk.example", "verificationMethod": [1, "x"], "assertionMethod": [2]},
    ],
)
async def test_a_trusted_issuer_needs_a_did_and_keys(
    stack: Stack, http: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    response = await http.put(
        cred(stack, "/v1/admin/trusted-issuers"),
        json={"name": "Trường X", "did_document": document},
        headers=stack.admin,
    )
    assert response.status_code == 422 and response.headers["content-type"].startswith(PROBLEM)
