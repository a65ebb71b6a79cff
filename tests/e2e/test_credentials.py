"""Credentials anyone can verify, recognitions on the trail, and a rebuild that matches."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from contracts.credentials import RECOGNITION_GRANTED
from services.credential.rebuild import rebuild
from tests.conftest import Stack, eventually, national_id, new_provider, read_topic, submission
from tests.e2e.test_record_path import submit, trail_of

ROOT = Path(__file__).resolve().parents[2]


def cred(stack: Stack, path: str) -> str:
    return f"{stack.endpoints.credential}{path}"


async def learner_with_records(
    http: httpx.AsyncClient, stack: Stack, count: int = 3
) -> tuple[str, dict[str, Any], list[str]]:
    centre = await new_provider(http, stack)
    nid = national_id()
    record_ids = []
    for n in range(count):
        body = submission(nid, f"CR-{n}", title=f"Học phần {n}", hours=10 * (n + 1))
        record_ids.append((await submit(http, stack, centre["api_key"], body)).json()["record_id"])
    answer = await submit(
        http, stack, centre["api_key"], submission(nid, "CR-0", title="Học phần 0", hours=10)
    )
    learner_id = answer.json()["learner_id"]
    await eventually(
        lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == count
    )
    return learner_id, centre, record_ids


async def verify(
    http: httpx.AsyncClient, stack: Stack, document: Any, **params: Any
) -> dict[str, Any]:
    response = await http.post(cred(stack, "/v1/verify"), json=document, params=params)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def results(report: dict[str, Any], check: str) -> dict[str, str]:
    return {c["path"]: c["result"] for c in report["checks"] if c["check"] == check}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_a_learner_gets_a_credential_anyone_can_verify(
    stack: Stack, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    learner_id, _, _ = await learner_with_records(http, stack)
    issued = await http.post(
        cred(stack, f"/v1/learners/{learner_id}/credentials"),
        headers=stack.learner_token(learner_id),
    )
    assert issued.status_code == 201, issued.text
    assert issued.headers["content-type"].startswith("application/vc+ld+json")
    clr = issued.json()
    assert "ClrCredential" in clr["type"] and clr["issuer"]["id"].startswith("did:web:")
    embedded = clr["credentialSubject"]["verifiableCredential"]
    assert len(embedded) == 3 and all("proof" in vc for vc in embedded)
    assert all(vc["credentialStatus"]["type"] == "BitstringStatusListEntry" for vc in embedded)
    # what a receiving school reads by machine: the grade as a Result with its description,
    # the learner only as a salted hash
    achievement = embedded[0]["credentialSubject"]["achievement"]
    (grade,) = [d for d in achievement["resultDescription"] if d["resultType"] == "ScaledScore"]
    assert (grade["valueMin"], grade["valueMax"], grade["requiredValue"]) == ("0", "10", "5")
    (result,) = [
        r
        for r in embedded[0]["credentialSubject"]["result"]
        if r["resultDescription"] == grade["id"]
    ]
    assert (result["value"], result["status"]) == ("8.0", "Completed")
    assert achievement["inLanguage"] == "vi" and "awardedDate" in clr
    assert "Nguyễn Thị Hương" not in json.dumps(clr, ensure_ascii=False)
    assert clr["credentialSubject"]["identifier"][0]["hashed"] is True

    report = await verify(http, stack, clr, trusted_only="true")
    assert report["status"] == "valid", report
    assert (
        set(results(report, "proof").values()) == {"passed"} and len(results(report, "proof")) == 4
    )
    assert set(results(report, "status").values()) == {"passed"}

    tampered = json.loads(json.dumps(clr))
    tampered["credentialSubject"]["verifiableCredential"][1]["credentialSubject"]["achievement"][
        "name"
    ] = "Tiến sĩ"
    bad = await verify(http, stack, tampered)
    assert bad["status"] == "invalid"
    assert results(bad, "proof")["$.credentialSubject.verifiableCredential[1]"] == "failed"

    # offline, with the CLI: pinned issuer keys, then the same file tampered
    good_file, bad_file = tmp_path / "clr.json", tmp_path / "tampered.json"
    good_file.write_text(json.dumps(clr, ensure_ascii=False), encoding="utf-8")
    bad_file.write_text(json.dumps(tampered, ensure_ascii=False), encoding="utf-8")
    pinned = tmp_path / "did.json"
    pinned.write_text((await http.get(cred(stack, "/.well-known/did.json"))).text)
    # offline without the status list, the revocation status cannot be checked: exit 2
    ok = run_cli("verify", str(good_file), "--trusted-only", "--trust-list", str(pinned), "--json")
    assert ok.returncode == 2, ok.stdout + ok.stderr
    offline = json.loads(ok.stdout)
    assert {c["result"] for c in offline["checks"] if c["check"] == "status"} == {"unknown"}
    lists = tmp_path / "list.json"
    lists.write_text((await http.get(clr["credentialStatus"]["statusListCredential"])).text)
    with_list = ("--trust-list", str(pinned), "--status-list", str(lists))
    assert run_cli("verify", str(good_file), "--trusted-only", *with_list).returncode == 0
    assert run_cli("verify", str(bad_file), *with_list).returncode == 1
    empty = tmp_path / "nobody.json"
    empty.write_text("{}")
    nobody = ("--trust-list", str(empty), "--status-list", str(lists))
    assert run_cli("verify", str(good_file), *nobody).returncode == 2
    assert run_cli("verify", str(good_file), "--trusted-only", *nobody).returncode == 1


async def test_revoking_one_of_three_records_leaves_the_other_two_credentials_valid(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    learner_id, centre, record_ids = await learner_with_records(http, stack, count=3)
    issued = await http.post(
        cred(stack, f"/v1/learners/{learner_id}/credentials"), headers=stack.admin
    )
    clr = issued.json()
    embedded = clr["credentialSubject"]["verifiableCredential"]
    # the embedded credentials are in completion order; find the revoked record's by name
    revoked_name = "Học phần 0"
    revoked_at = next(i for i, vc in enumerate(embedded) if vc["name"] == revoked_name)
    answer = await http.post(
        f"{stack.endpoints.learner}/v1/records/{record_ids[0]}/revocation",
        json={"reason": "Cấp nhầm"},
        headers={"X-API-Key": centre["api_key"]},
    )
    assert answer.status_code < 300, answer.text

    async def status() -> dict[str, str]:
        return results(await verify(http, stack, clr), "status")

    revoked = await eventually(status, lambda r: "failed" in r.values())
    embedded_path = "$.credentialSubject.verifiableCredential[{}]"
    # the CLR asserts the revoked record, and so does that record's own credential; the
    # other two records' credentials keep their bits clear
    assert revoked == {
        "$": "failed",
        **{embedded_path.format(i): "failed" if i == revoked_at else "passed" for i in range(3)},
    }
    for i, credential in enumerate(embedded):
        alone = await verify(http, stack, credential, trusted_only="true")
        expected = "invalid" if i == revoked_at else "valid"
        assert alone["status"] == expected, alone["verdict"]
        assert alone["verdict"]["exit_code"] == (1 if i == revoked_at else 0)
    page = await http.get(
        cred(stack, f"/v1/credentials/{clr['id']}/verification"), params={"format": "html"}
    )
    assert 'data-exit-code="1"' in page.text and "Chứng nhận không hợp lệ" in page.text
    events = [
        r for r in await read_topic(stack.kafka, "credentials.v1") if r.key == learner_id.encode()
    ]
    types = [dict(r.headers)["ce_type"].decode() for r in events]
    assert "vn.learningtrail.credentials.credential.revoked.v1" in types
    assert "vn.learningtrail.credentials.credential.issued.v1" in types


async def test_old_credentials_still_verify_after_a_key_rotation(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    learner_id, _, _ = await learner_with_records(http, stack, count=1)
    url = cred(stack, f"/v1/learners/{learner_id}/credentials")
    before = (await http.post(url, headers=stack.admin)).json()
    rotated = await http.post(cred(stack, "/v1/admin/issuer-keys:rotate"), headers=stack.admin)
    assert rotated.status_code == 200
    after = (await http.post(url, headers=stack.admin)).json()
    assert before["proof"]["verificationMethod"] != after["proof"]["verificationMethod"]
    for document in (before, after):
        assert (await verify(http, stack, document, trusted_only="true"))["status"] == "valid"
    methods = (await http.get(cred(stack, "/.well-known/did.json"))).json()["verificationMethod"]
    assert len(methods) >= 2


async def test_who_may_issue_and_read(stack: Stack, http: httpx.AsyncClient) -> None:
    learner_id, _, _ = await learner_with_records(http, stack, count=1)
    url = cred(stack, f"/v1/learners/{learner_id}/credentials")
    assert (await http.post(url)).status_code == 401
    assert (await http.post(url, headers=stack.learner_token("someone-else"))).status_code == 403
    issued = await http.post(url, headers=stack.learner_token(learner_id))
    credential_id = issued.json()["id"]
    public = await http.get(cred(stack, f"/v1/credentials/{credential_id}/verification"))
    assert public.status_code == 200 and public.json()["status"] == "valid"

    mine = stack.learner_token(learner_id)
    page = await http.get(
        cred(stack, f"/v1/learners/{learner_id}/trail"), params={"format": "html"}, headers=mine
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Hồ sơ học tập suốt đời" in page.text and "Nguyễn Thị Hương" in page.text
    assert "<svg" in page.text and f"/v1/credentials/{credential_id}/verification" in page.text
    assert "access_token" not in page.text
    english = await http.get(
        cred(stack, f"/v1/learners/{learner_id}/trail"),
        params={"format": "html", "lang": "en"},
        headers=mine,
    )
    assert "Lifelong learning record" in english.text
    stranger = await http.get(
        cred(stack, f"/v1/learners/{learner_id}/trail"),
        params={"format": "html"},
        headers={"Authorization": "Bearer forged.token"},
    )
    assert stranger.status_code == 401
    # a token in the URL is refused, even a genuine one: URLs are kept in histories and logs
    in_url = await http.get(
        cred(stack, f"/v1/learners/{learner_id}/trail"),
        params={"format": "html", "access_token": mine["Authorization"].split()[1]},
    )
    assert in_url.status_code == 400 and "Authorization" in in_url.json()["detail"]


async def test_recognitions_reach_the_trail_and_the_log(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    diploma = submission(
        nid,
        "RC-1",
        kind="diploma",
        vqf_level=4,
        title="Trung cấp Điện công nghiệp",
        completed_on="2022-06-01",
    )
    gdtx = submission(
        nid,
        "RC-2",
        pathway="continuing",
        kind="programme",
        vqf_level=None,
        general_education_level="upper_secondary",
        title="Văn hóa THPT hệ GDTX",
        completed_on="2022-05-31",
    )
    await submit(http, stack, centre["api_key"], diploma)
    learner_id = (await submit(http, stack, centre["api_key"], gdtx)).json()["learner_id"]
    trail = await eventually(
        lambda: trail_of(http, stack, learner_id), lambda t: bool(t.get("recognitions"))
    )
    (recognition,) = trail["recognitions"]
    assert recognition["rule_id"] == "progression/trung-cap-len-cao-dang"
    assert "liên thông lên trình độ cao đẳng" in recognition["outcome_vi"]
    events = [
        r for r in await read_topic(stack.kafka, "credentials.v1") if r.key == learner_id.encode()
    ]
    granted = [
        json.loads(r.value)
        for r in events
        if dict(r.headers)["ce_type"].decode() == RECOGNITION_GRANTED
    ]
    assert [g["recognition_id"] for g in granted] == [recognition["recognition_id"]]
    assert granted[0]["rule_version"] == "2025.1" and len(granted[0]["record_ids"]) == 2


async def test_a_rebuild_from_the_log_matches_the_live_trail(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    await learner_with_records(http, stack, count=2)  # waits until the live side caught up
    report = await rebuild(
        stack.kafka, stack.mongodb_uri, "lt_credential", "lt_credential_rebuild_test"
    )
    assert report.events > 0 and report.collections["trail_entries"] > 0
    assert report.differences == []
    cli = await asyncio.to_thread(
        run_cli, "rebuild", "credential", "--into", "lt_credential_rebuild_cli"
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr


async def test_issued_achievements_carry_level_alignments_field_and_badges(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """What a receiving school reads by machine, through the running service: the diploma's
    type by its level, its VQF and AQRF alignments (whose targetUrl the service serves), the
    field of study, and offline badges for the department, the centre and the achievement."""
    centre = await new_provider(http, stack)
    nid = national_id()
    body = submission(
        nid,
        "AL-1",
        kind="diploma",
        vqf_level=5,
        title="Cao đẳng Công nghệ thông tin",
        code="CD-CNTT",
        field_of_study="Công nghệ thông tin",
        credits=90,
    )
    learner_id = (await submit(http, stack, centre["api_key"], body)).json()["learner_id"]
    await eventually(lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 1)
    issued = await http.post(
        cred(stack, f"/v1/learners/{learner_id}/credentials"), headers=stack.admin
    )
    assert issued.status_code == 201, issued.text
    clr = issued.json()
    (embedded,) = clr["credentialSubject"]["verifiableCredential"]
    achievement = embedded["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "AssociateDegree"
    assert achievement["fieldOfStudy"] == "Công nghệ thông tin"
    assert achievement["humanCode"] == "CD-CNTT"
    aligned = {a["targetType"]: a for a in achievement["alignment"]}
    assert aligned["ext:VQFLevel"]["targetCode"] == aligned["ext:AQRFLevel"]["targetCode"] == "5"
    framework = await http.get(aligned["ext:VQFLevel"]["targetUrl"].split("#")[0])
    assert framework.status_code == 200
    assert framework.json()["levels"][4]["aqrf_level"] == 5
    for image in (clr["issuer"]["image"], achievement["creator"]["image"], achievement["image"]):
        assert image["id"].startswith("data:image/svg+xml;base64,")
    assert (await verify(http, stack, clr, trusted_only="true"))["verdict"]["exit_code"] == 0
    unknown = await http.get(cred(stack, "/v1/frameworks/eqf"))
    assert unknown.status_code == 404 and "vqf" in unknown.json()["detail"]
