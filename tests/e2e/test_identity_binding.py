"""Identity proofing, claim codes and sessions, against the real stack (issue 11).

A national ID proves nothing: opening an account never binds one, and records a centre posts
for a national ID reach an account only through a claim code the centre issued after checking
the person's card. The pre-claim attack of the issue is tried in both orders.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts import accounts
from services.common.mongo import Document
from services.learner.settings import LearnerSettings
from tests.conftest import Stack, eventually, national_id, new_provider, read_topic, submission
from tests.e2e.test_record_path import submit, trail_of

OWNER = {"full_name": "Nguyễn Thị Hương", "birth_date": "1990-05-14"}
# the local stack keeps the default reuse interval of refresh tokens
REUSE_SECONDS: int = LearnerSettings.model_fields["refresh_reuse_seconds"].default


def url(stack: Stack, service: str, path: str) -> str:
    base: str = getattr(stack.endpoints, service)
    return base + path


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def open_account(
    http: httpx.AsyncClient, stack: Stack, email: str, **person: Any
) -> dict[str, Any]:
    body = {**OWNER, **person, "email": email, "interests": ["vocational"]}
    answer = await http.post(url(stack, "learner", "/v1/learners"), json=body)
    assert answer.status_code == 201, answer.text
    opened: dict[str, Any] = answer.json()
    return opened


async def issue_code(
    http: httpx.AsyncClient, centre: dict[str, Any], stack: Stack, nid: str, **person: Any
) -> httpx.Response:
    body = {"learner": {"national_id": nid, **OWNER, **person}}
    return await http.post(
        url(stack, "learner", "/v1/claim-codes"),
        json=body,
        headers={"X-API-Key": centre["api_key"]},
    )


async def redeem(
    http: httpx.AsyncClient, stack: Stack, access_token: str, code: str
) -> httpx.Response:
    return await http.post(
        url(stack, "learner", "/v1/account/claims"),
        json={"code": code},
        headers=bearer(access_token),
    )


async def refresh(http: httpx.AsyncClient, stack: Stack, refresh_token: str) -> httpx.Response:
    return await http.post(
        url(stack, "learner", "/v1/sessions:refresh"), json={"refresh_token": refresh_token}
    )


async def inbox(http: httpx.AsyncClient, stack: Stack, learner_id: str) -> list[dict[str, Any]]:
    answer = await http.get(
        url(stack, "notify", f"/v1/learners/{learner_id}/notifications"), headers=stack.admin
    )
    notes: list[dict[str, Any]] = answer.json()["notifications"] if answer.is_success else []
    return notes


async def test_opening_an_account_takes_no_national_id(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    answer = await http.post(
        url(stack, "learner", "/v1/learners"), json={**OWNER, "national_id": national_id()}
    )
    assert answer.status_code == 422
    assert "national_id" in answer.text and "claim code" in answer.text


@pytest.mark.parametrize("stranger_first", [True, False], ids=["stranger-first", "centre-first"])
async def test_the_pre_claim_attack_fails_whatever_the_order(
    stack: Stack,
    http: httpx.AsyncClient,
    mongo: AsyncMongoClient[Document],
    stranger_first: bool,
) -> None:
    """A stranger opens an account with the owner's name and birth date and their own email,
    before or after a centre posts the owner's completion: the stranger never reads the
    owner's profile, trail or inbox, the owner's news never goes to the stranger's email, and
    the owner, with the centre's claim code, reaches their own records."""
    centre = await new_provider(http, stack)
    nid = national_id()
    stranger_email = f"stranger-{nid}@example.vn"
    stranger: dict[str, Any] = {}
    if stranger_first:
        stranger = await open_account(http, stack, stranger_email)
    posted = await submit(http, stack, centre["api_key"], submission(nid, f"PRE-{nid}"))
    assert posted.status_code == 202, posted.text
    assert posted.json()["status"] == "accepted"
    owner_id = posted.json()["learner_id"]
    if not stranger_first:
        stranger = await open_account(http, stack, stranger_email)
    stranger_token = stranger["session"]["access_token"]
    assert stranger["learner"]["learner_id"] != owner_id
    assert stranger["session"]["learner_id"] == stranger["learner"]["learner_id"]

    await eventually(lambda: trail_of(http, stack, owner_id), lambda t: t.get("entry_count") == 1)
    credential = await http.post(
        url(stack, "credential", f"/v1/learners/{owner_id}/credentials"), headers=stack.admin
    )
    assert credential.status_code == 201, credential.text
    owner_news = await eventually(lambda: inbox(http, stack, owner_id), bool)
    for service, path in [
        ("learner", f"/v1/learners/{owner_id}"),
        ("credential", f"/v1/learners/{owner_id}/trail"),
        ("notify", f"/v1/learners/{owner_id}/notifications"),
        ("notify", f"/v1/learners/{owner_id}/preferences"),
    ]:
        refused = await http.get(url(stack, service, path), headers=bearer(stranger_token))
        assert refused.status_code == 403, f"{service} {path}: {refused.text}"
    issued = await http.post(
        url(stack, "credential", f"/v1/learners/{owner_id}/credentials"),
        headers=bearer(stranger_token),
    )
    assert issued.status_code == 403
    # the stranger's own account holds nothing of the owner's
    own = stranger["learner"]["learner_id"]
    own_trail = await http.get(
        url(stack, "credential", f"/v1/learners/{own}/trail"), headers=bearer(stranger_token)
    )
    assert own_trail.status_code in (200, 404), own_trail.text
    assert own_trail.status_code == 404 or own_trail.json()["entry_count"] == 0
    stranger_news = await inbox(http, stack, own)
    assert not {n["subject_id"] for n in owner_news} & {n["subject_id"] for n in stranger_news}
    told = mongo["lt_notify"]["notifications"].find({"learner_id": own})
    assert [
        n async for n in told if n.get("subject_id") in {o["subject_id"] for o in owner_news}
    ] == []
    # notify knows the owner only by the centre's details: the stranger's email is not theirs
    subscription = await mongo["lt_notify"]["subscriptions"].find_one({"_id": owner_id})
    assert subscription is not None and stranger_email not in json.dumps(subscription, default=str)
    profile = await http.get(url(stack, "learner", f"/v1/learners/{owner_id}"), headers=stack.admin)
    assert profile.json()["email"] != stranger_email
    # the stranger has no code, and a code guessed is no code
    guessed = await redeem(http, stack, stranger_token, "0000-0000-0000")
    assert guessed.status_code == 404

    # the owner opens an account too (no 409: nothing was reserved) and claims with a code
    owner = await open_account(http, stack, "huong@example.vn")
    code = await issue_code(http, centre, stack, nid)
    assert code.status_code == 201, code.text
    claimed = await redeem(http, stack, owner["session"]["access_token"], code.json()["code"])
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["learner_id"] == owner_id
    mine = bearer(claimed.json()["access_token"])
    # the trail is the credential service's projection: the record shows a moment after it
    await eventually(
        lambda: http.get(url(stack, "credential", f"/v1/learners/{owner_id}/trail"), headers=mine),
        lambda r: r.status_code == 200 and r.json()["entry_count"] == 1,
    )
    assert (await http.get(url(stack, "learner", "/v1/account"), headers=mine)).json()["bound"]
    # and the stranger still reads nothing of it
    again = await http.get(
        url(stack, "credential", f"/v1/learners/{owner_id}/trail"), headers=bearer(stranger_token)
    )
    assert again.status_code == 403
    refreshed = await refresh(http, stack, stranger["session"]["refresh_token"])
    assert refreshed.json()["learner_id"] == own


async def test_a_claim_code_works_once_and_not_for_another_person(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document]
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    # a code can come before any record: the national ID's learner is registered with it
    code = await issue_code(http, centre, stack, nid, email="huong@example.vn")
    assert code.status_code == 201, code.text
    assert len(code.json()["code"]) == 14 and code.json()["code"].count("-") == 2
    stored = await mongo["lt_learner"]["claim_codes"].find_one(
        {"claim_code_id": code.json()["claim_code_id"]}
    )
    assert stored is not None and code.json()["code"].replace("-", "") not in json.dumps(
        stored, default=str
    )
    first = await open_account(http, stack, "a@example.vn")
    second = await open_account(http, stack, "b@example.vn")
    typed = code.json()["code"].lower().replace("-", " ")  # case and spacing do not matter
    claimed = await redeem(http, stack, first["session"]["access_token"], typed)
    assert claimed.status_code == 201, claimed.text
    used = await redeem(http, stack, second["session"]["access_token"], code.json()["code"])
    assert used.status_code == 409 and "used" in used.json()["detail"]
    again = await redeem(http, stack, first["session"]["access_token"], code.json()["code"])
    assert again.status_code == 409
    # a record posted afterwards reaches the bound account
    posted = await submit(http, stack, centre["api_key"], submission(nid, f"AFTER-{nid}"))
    assert posted.json()["learner_id"] == claimed.json()["learner_id"]
    # a card that does not match the learner known by that national ID gets no code
    wrong = await issue_code(http, centre, stack, nid, full_name="Trần Văn Đức")
    assert wrong.status_code == 409
    # a bound account cannot be bound to someone else
    other = await issue_code(http, centre, stack, national_id())
    moved = await redeem(http, stack, claimed.json()["access_token"], other.json()["code"])
    assert moved.status_code == 409 and "another learner" in moved.json()["detail"]


async def test_an_expired_claim_code_binds_nothing(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document]
) -> None:
    centre = await new_provider(http, stack)
    code = await issue_code(http, centre, stack, national_id())
    assert code.status_code == 201, code.text
    # time passes: the stored expiry is moved to the past
    await mongo["lt_learner"]["claim_codes"].update_one(
        {"claim_code_id": code.json()["claim_code_id"]},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    account = await open_account(http, stack, "late@example.vn")
    late = await redeem(http, stack, account["session"]["access_token"], code.json()["code"])
    assert late.status_code == 410, late.text
    me = await http.get(
        url(stack, "learner", "/v1/account"), headers=bearer(account["session"]["access_token"])
    )
    assert me.json()["bound"] is False


async def test_guessing_claim_codes_is_limited_per_account_and_per_address(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    account = await open_account(http, stack, "guesser@example.vn")
    token = account["session"]["access_token"]
    answers = [
        (await redeem(http, stack, token, f"0000-0000-{n:04d}")).status_code for n in range(6)
    ]
    assert answers[:5] == [404] * 5 and answers[5] == 429
    limited = await redeem(http, stack, token, "0000-0000-0009")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # fresh accounts from the same address: the address's bucket (30 a minute) runs out too
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) < 60:
        other = await open_account(http, stack, f"guesser{len(statuses)}@example.vn")
        for n in range(5):
            statuses.append(
                (
                    await redeem(
                        http, stack, other["session"]["access_token"], f"1111-{n:04d}-0000"
                    )
                ).status_code
            )
            if statuses[-1] == 429:
                break
    assert 429 in statuses and len(statuses) <= 30
    await asyncio.sleep(12)  # let the address's bucket refill for the tests after this one


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    opened = await open_account(http, stack, "rotate@example.vn")
    first = opened["session"]
    second = await refresh(http, stack, first["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    third = await refresh(http, stack, second.json()["refresh_token"])
    assert third.status_code == 200
    # the first refresh token again, past the reuse interval: someone holds a copy, so the
    # session ends
    await asyncio.sleep(REUSE_SECONDS + 1)
    reused = await refresh(http, stack, first["refresh_token"])
    assert reused.status_code == 401 and "used already" in reused.json()["detail"]
    assert reused.headers["content-type"].startswith("application/problem+json")
    after = await refresh(http, stack, third.json()["refresh_token"])
    assert after.status_code == 401
    me = await http.get(
        url(stack, "learner", "/v1/account"), headers=bearer(third.json()["access_token"])
    )
    assert me.status_code == 401 and "signed out" in me.json()["detail"]
    assert (await refresh(http, stack, "ltr_" + "x" * 43)).status_code == 401


async def test_two_tabs_renewing_at_once_both_succeed_and_a_late_reuse_still_ends_the_session(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """Two tabs (or two requests of one app) whose access token expired together renew with
    the same refresh token at the same moment: every one of them gets the same next pair and
    the session lives on. The same token presented after the reuse interval is a copy: the
    session ends for every holder, at the credential and notify services too."""
    opened = await open_account(http, stack, "two-tabs@example.vn")
    first = opened["session"]["refresh_token"]
    learner_id = opened["learner"]["learner_id"]
    answers = await asyncio.gather(*(refresh(http, stack, first) for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    assert len({a.json()["refresh_token"] for a in answers}) == 1
    assert {a.json()["learner_id"] for a in answers} == {learner_id}
    for answer in answers:
        me = await http.get(
            url(stack, "learner", "/v1/account"), headers=bearer(answer.json()["access_token"])
        )
        assert me.status_code == 200, me.text
    # the session survives: the shared next token renews it once more
    shared = answers[0].json()["refresh_token"]
    renewed = await refresh(http, stack, shared)
    assert renewed.status_code == 200, renewed.text
    current = renewed.json()
    # a tab that comes back with the first token within the interval gets the current token
    # (the shared one was spent meanwhile), not an end of the session
    late_twin = await refresh(http, stack, first)
    assert late_twin.status_code == 200, late_twin.text
    assert late_twin.json()["refresh_token"] == current["refresh_token"]
    # nothing was signed out: the last access token still works everywhere
    trail = url(stack, "credential", f"/v1/learners/{learner_id}/trail")
    mine = await http.get(trail, headers=bearer(current["access_token"]))
    assert mine.status_code != 401, mine.text

    # past the interval, the first token again is a copy someone kept: the session ends
    await asyncio.sleep(REUSE_SECONDS + 1)
    reused = await refresh(http, stack, first)
    assert reused.status_code == 401 and "used already" in reused.json()["detail"]
    assert (await refresh(http, stack, current["refresh_token"])).status_code == 401
    for answer in (*answers, renewed, late_twin):
        me = await http.get(
            url(stack, "learner", "/v1/account"), headers=bearer(answer.json()["access_token"])
        )
        assert me.status_code == 401 and "signed out" in me.json()["detail"]
    for elsewhere in (trail, url(stack, "notify", f"/v1/learners/{learner_id}/notifications")):
        refused = await eventually(
            lambda u=elsewhere: http.get(u, headers=bearer(current["access_token"])),
            lambda r: r.status_code == 401,
            within=30,
        )
        assert "signed out" in refused.json()["detail"]


async def test_signing_out_everywhere_ends_every_session(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    opened = await open_account(http, stack, "out@example.vn")
    session = opened["session"]
    rotated = (await refresh(http, stack, session["refresh_token"])).json()
    gone = await http.post(
        url(stack, "learner", "/v1/sessions:sign-out-everywhere"),
        headers=bearer(rotated["access_token"]),
    )
    assert gone.status_code == 204
    assert (await refresh(http, stack, rotated["refresh_token"])).status_code == 401
    me = await http.get(
        url(stack, "learner", "/v1/account"), headers=bearer(rotated["access_token"])
    )
    assert me.status_code == 401
    own = opened["learner"]["learner_id"]
    profile = await http.get(
        url(stack, "learner", f"/v1/learners/{own}"), headers=bearer(rotated["access_token"])
    )
    assert profile.status_code == 401 and "signed out" in profile.json()["detail"]
    # one session signed out alone
    other = (await open_account(http, stack, "out2@example.vn"))["session"]
    out = await http.post(
        url(stack, "learner", "/v1/sessions:sign-out"), headers=bearer(other["access_token"])
    )
    assert out.status_code == 204
    assert (await refresh(http, stack, other["refresh_token"])).status_code == 401
    # a token minted without a session ('trail token') cannot act on an account
    minted = await http.get(
        url(stack, "learner", "/v1/account"),
        headers=stack.learner_token(opened["learner"]["learner_id"]),
    )
    assert minted.status_code == 403


async def test_the_trail_and_inbox_services_refuse_a_signed_out_session_at_once(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """They never call the learner service: they learn of the sign-out from accounts.v1."""
    centre = await new_provider(http, stack)
    nid = national_id()
    posted = await submit(http, stack, centre["api_key"], submission(nid, f"OUT-{nid}"))
    owner = posted.json()["learner_id"]
    opened = await open_account(http, stack, "gone@example.vn")
    code = (await issue_code(http, centre, stack, nid)).json()["code"]
    claimed = await redeem(http, stack, opened["session"]["access_token"], code)
    token = bearer(claimed.json()["access_token"])
    trail_url = url(stack, "credential", f"/v1/learners/{owner}/trail")
    inbox_url = url(stack, "notify", f"/v1/learners/{owner}/notifications")
    await eventually(lambda: http.get(trail_url, headers=token), lambda r: r.status_code == 200)
    assert (await http.get(inbox_url, headers=token)).status_code == 200
    out = await http.post(url(stack, "learner", "/v1/sessions:sign-out-everywhere"), headers=token)
    assert out.status_code == 204
    # the access token has ten minutes left, and both services refuse it within seconds
    for at in (trail_url, inbox_url):
        refused = await eventually(
            lambda at=at: http.get(at, headers=token), lambda r: r.status_code == 401, within=30
        )
        assert "signed out" in refused.json()["detail"]
    # the department still reads
    assert (await http.get(trail_url, headers=stack.admin)).status_code == 200
    told = [
        json.loads(e.value)
        for e in await read_topic(stack.kafka, accounts.TOPIC)
        if dict(e.headers).get("ce_type") == accounts.SESSIONS_SIGNED_OUT.encode()
    ]
    mine = [d for d in told if d["account_id"] == opened["account_id"]]
    assert len(mine) == 1 and len(mine[0]["session_ids"]) == 1
    assert "ltr_" not in json.dumps(mine) and nid not in json.dumps(mine)


async def test_the_department_sees_and_undoes_a_wrong_binding(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    posted = await submit(http, stack, centre["api_key"], submission(nid, f"UNDO-{nid}"))
    owner_id = posted.json()["learner_id"]
    # the centre gave the code to the wrong person
    wrong = await open_account(http, stack, "wrong@example.vn")
    code = (await issue_code(http, centre, stack, nid)).json()["code"]
    claimed = await redeem(http, stack, wrong["session"]["access_token"], code)
    assert claimed.status_code == 201
    binding = claimed.json()["binding"]

    listed = await http.get(
        url(stack, "learner", "/v1/admin/bindings"),
        params={"learner_id": owner_id},
        headers=stack.admin,
    )
    assert listed.status_code == 200
    assert [b["binding_id"] for b in listed.json()] == [binding["binding_id"]]
    assert listed.json()[0]["method"] == "claim_code"
    assert listed.json()[0]["proven_by"] == centre["provider"]["id"]

    undone = await http.post(
        url(stack, "learner", f"/v1/admin/bindings/{binding['binding_id']}/undo"),
        json={"reason": "Mã nhận hồ sơ cấp nhầm người"},
        headers=stack.admin,
    )
    assert undone.status_code == 202, undone.text
    assert undone.json()["undone_at"] is not None
    # signed out everywhere: the refresh token is dead, the account acts for no one else
    assert (await refresh(http, stack, wrong["session"]["refresh_token"])).status_code == 401
    me = await http.get(
        url(stack, "learner", "/v1/account"), headers=bearer(claimed.json()["access_token"])
    )
    assert me.status_code == 401

    async def told() -> list[tuple[str, str]]:
        events = await read_topic(stack.kafka, accounts.TOPIC)
        found = []
        for event in events:
            data = json.loads(event.value)
            if data.get("binding_id") == binding["binding_id"]:
                headers = {k: v.decode() for k, v in event.headers}
                found.append((headers["ce_type"], data["learner_id"]))
        return found

    events = await eventually(told, lambda found: len(found) == 2)
    assert sorted(events) == sorted(
        [(accounts.IDENTITY_BOUND, owner_id), (accounts.IDENTITY_UNBOUND, owner_id)]
    )
    assert nid not in json.dumps([str(e) for e in await read_topic(stack.kafka, accounts.TOPIC)])
