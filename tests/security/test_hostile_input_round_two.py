"""Hostile input, round two (issue 16), on the running services: one test per finding.

1. Preferences that broke matching (an offset in quiet hours) are refused and nothing is saved;
   bad data stored anyway fails only its owner's decision, never a programme's batch.
2. A character no mail header can carry (U+2028) is refused at the door; a message that cannot
   be composed fails at once and does not hold the others of its batch.
3. Webhooks cannot be aimed inside (see also tests/unit/test_outbound.py for the connect-time
   check on resolved addresses).
4. Mutated tokens (``!!`` inserted, ``==`` appended, a flipped character) are refused.
5. A GET of an unsubscribe link changes nothing; POST (RFC 8058 one-click) unsubscribes.
6. Bidi and zero-width characters in grades and reasons, formulas in titles and codes, and
   birth dates outside human limits are refused.
7. ``X-Forwarded-For`` from an untrusted caller changes nothing (the caller is the socket
   peer); bucket eviction and key rotation are in tests/unit/test_rate_limits.py (no load on a
   shared machine).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from contracts.envelope import new_event_id
from tests.conftest import Stack, eventually, national_id, new_provider, read_topic, submission
from tests.e2e.test_notify_matching import (
    Mailbox,
    announce,
    by_channel,
    commune,
    deliveries,
    inbox,
    mailbox_fixture,  # noqa: F401 - the mailbox fixture
    new_learner,
    preferences,
    set_preferences,
)
from tests.e2e.test_record_path import submit

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text[:400]}"
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


@pytest.fixture(scope="module")
async def centre(stack: Stack) -> AsyncIterator[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield await new_provider(http, stack)


@pytest.fixture
async def subscriptions(stack: Stack) -> AsyncIterator[Any]:
    """Notify's own subscriptions, to store what validation no longer lets in (data written
    before this release)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongodb_uri)
    try:
        yield client["lt_notify"]["subscriptions"]
    finally:
        await client.close()


async def _isolated_failures(http: httpx.AsyncClient, stack: Stack) -> float:
    text = (await http.get(f"{stack.endpoints.notify}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("learningtrail_notify_isolated_failures_total{")
    )


# 1. one learner's preferences silenced a commune


async def test_quiet_hours_with_offsets_are_refused_and_nothing_is_saved(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    place = commune()
    learner_id = await new_learner(http, stack, centre["api_key"], place)
    before = await preferences(http, stack, learner_id)
    url = f"{stack.endpoints.notify}/v1/learners/{learner_id}/preferences"
    for body in (
        {"quiet_hours": {"start": "21:00+05:00", "end": "07:00-11:00"}, "places": ["99903"]},
        {"quiet_hours": {"start": "21:00", "end": "07:00"}, "time_zone": "localtime"},
        {"quiet_hours": {"start": "21:00", "end": "07:00"}, "time_zone": "../../etc/passwd"},
        {"digest_time": "18:00Z", "delivery": "digest"},
        {"digest_time": "25:00"},
    ):
        answer = await http.put(url, json=body, headers=stack.learner_token(learner_id))
        _problem(answer, 422)
    assert await preferences(http, stack, learner_id) == before


async def test_one_learners_bad_stored_preferences_fail_only_their_own_decision(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], subscriptions: Any
) -> None:
    key, place = centre["api_key"], commune()
    hostile = await new_learner(http, stack, key, place)
    neighbour = await new_learner(http, stack, key, place)
    # what the API used to accept (and saved before answering 500)
    await subscriptions.update_one(
        {"_id": hostile},
        {
            "$set": {
                "preferences.quiet_hours": {"start": "21:00+05:00", "end": "07:00-11:00"},
                "preferences.places": [place],
                "preferences.time_zone": "Not/AZone",
            }
        },
    )
    failures = await _isolated_failures(http, stack)
    programme_id = await announce(http, stack, key, place_codes=[place], title="Nuôi dê an toàn")

    told = await eventually(lambda: inbox(http, stack, neighbour), lambda n: len(n) == 1)
    assert told[0]["subject_id"] == programme_id
    assert await _isolated_failures(http, stack) > failures  # logged and counted
    assert await deliveries(http, stack, learner_id=hostile, subject_id=programme_id) == []
    dead = await read_topic(stack.kafka, "notify.dlq")
    assert not [r for r in dead if programme_id.encode() in (r.value or b"")]


# 2. one programme title stalled email for others


async def test_a_line_separator_in_a_programme_title_is_refused(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    for title in ("Khóa học\u2028Bcc: x@example.vn", "Khóa\u2029học", "Khóa\u200bhọc"):
        answer = await http.post(
            f"{stack.endpoints.learner}/v1/programmes",
            json={"title": title, "pathway": "vocational", "how_to_enrol": "Tại trung tâm"},
            headers={"X-API-Key": centre["api_key"]},
        )
        _problem(answer, 422, "U+")


async def test_a_message_that_cannot_be_composed_fails_at_once_and_holds_no_other(
    stack: Stack,
    http: httpx.AsyncClient,
    centre: dict[str, Any],
    mailbox: Mailbox,
    subscriptions: Any,
) -> None:
    key, place = centre["api_key"], commune()
    broken = await new_learner(http, stack, key, place, f"broken-{place}@example.vn")
    fine = await new_learner(http, stack, key, place, f"fine-{place}@example.vn")
    for learner_id in (broken, fine):
        await set_preferences(http, stack, learner_id, quiet_hours=None)
    # an address stored before validation that no mail header can carry
    await subscriptions.update_one(
        {"_id": broken}, {"$set": {"profile.email": "a@example.vn\u2028Bcc: x@example.vn"}}
    )
    programme_id = await announce(http, stack, key, place_codes=[place])

    # generous windows: at the end of a full run on 2 cores, notify may still be working
    # through the volume test's backlog (this test alone takes ~30 s)
    await eventually(lambda: _mails(mailbox, f"fine-{place}@example.vn"), bool, within=90)
    mine = await eventually(
        lambda: deliveries(http, stack, learner_id=broken, subject_id=programme_id),
        lambda d: by_channel(d).get("email", {}).get("state") == "failed",
        within=90,
    )
    email = by_channel(mine)["email"]
    assert email["attempts"] == 1 and "cannot be sent" in email["last_error"]


async def _mails(mailbox: Mailbox, address: str) -> list[Any]:
    return mailbox.to(address)


# 3. webhook SSRF


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost./hook",
        "https://vm/hook",
        "https://learner:8081/v1/admin/providers",
        "https://mongodb:27017/",
        "https://[::7f00:1]/hook",
        "https://[64:ff9b::7f00:1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://10.0.0.8/hook",
        "http://app.partner.vn/hook",
        "https://user:pw@app.partner.vn/hook",
    ],
)
async def test_a_webhook_aimed_inside_is_refused(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], url: str
) -> None:
    learner_id = await _known_learner(http, stack, centre)
    answer = await http.put(
        f"{stack.endpoints.notify}/v1/learners/{learner_id}/preferences",
        json={"channels": ["inbox", "webhook"], "webhook": {"url": url}},
        headers=stack.learner_token(learner_id),
    )
    _problem(answer, 422, "webhook")


_LEARNERS: dict[str, str] = {}


async def _known_learner(http: httpx.AsyncClient, stack: Stack, centre: dict[str, Any]) -> str:
    if "one" not in _LEARNERS:
        _LEARNERS["one"] = await new_learner(http, stack, centre["api_key"], commune())
    return _LEARNERS["one"]


async def test_a_stored_webhook_aimed_at_an_internal_service_is_never_called(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], subscriptions: Any
) -> None:
    key, place = centre["api_key"], commune()
    learner_id = await new_learner(http, stack, key, place)
    await set_preferences(http, stack, learner_id, quiet_hours=None)
    inside = f"{stack.endpoints.learner}/v1/admin/providers"  # the learner's admin API
    await subscriptions.update_one(
        {"_id": learner_id},
        {
            "$set": {
                "preferences.channels": ["inbox", "webhook"],
                "preferences.webhook": {"url": inside, "secret": "s" * 32},
            }
        },
    )
    programme_id = await announce(http, stack, key, place_codes=[place])
    found = await eventually(
        lambda: deliveries(http, stack, learner_id=learner_id, subject_id=programme_id),
        lambda d: by_channel(d).get("webhook", {}).get("state") == "failed",
        within=30,
    )
    webhook = by_channel(found)["webhook"]
    assert webhook["attempts"] == 1 and "destination refused" in webhook["last_error"]


# 4. loose token decoding


def _mutations(token: str) -> dict[str, str]:
    payload, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    return {
        "!! inserted in the signature": f"{payload}.{signature[:5]}!!{signature[5:]}",
        "== appended": token + "==",
        "!! appended": token + "!!",
        "a flipped last character": f"{payload}.{flipped}",
        "a space inside": f"{payload}.{signature[:5]} {signature[5:]}",
        "standard base64 characters": f"{payload}.{signature.replace('-', '+').replace('_', '/')}"
        if ("-" in signature or "_" in signature)
        else f"{payload}.{signature[:-1]}+",
    }


async def test_mutated_learner_tokens_are_refused(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    learner_id = await _known_learner(http, stack, centre)
    token = stack.learner_token(learner_id)["Authorization"].split()[1]
    url = f"{stack.endpoints.notify}/v1/learners/{learner_id}/preferences"
    assert (await http.get(url, headers={"Authorization": f"Bearer {token}"})).status_code == 200
    for name, mutated in _mutations(token).items():
        answer = await http.get(url, headers={"Authorization": f"Bearer {mutated}"})
        assert answer.status_code == 401, name


async def test_mutated_unsubscribe_links_are_refused(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    from services.notify.signing import unsubscribe_token

    learner_id = await _known_learner(http, stack, centre)
    token = unsubscribe_token(stack.secrets["LT_TOKEN_SECRET"], learner_id, "sms")
    url = f"{stack.endpoints.notify}/v1/unsubscribe"
    for name, mutated in _mutations(token).items():
        for method in ("GET", "POST"):
            answer = await http.request(method, url, params={"token": mutated})
            _problem(answer, 400)
            assert name


# 5. a plain GET unsubscribed


async def test_opening_an_unsubscribe_link_changes_nothing_and_posting_it_does(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    from services.notify.signing import unsubscribe_token

    learner_id = await new_learner(http, stack, centre["api_key"], commune(), "scan@example.vn")
    link = unsubscribe_token(stack.secrets["LT_TOKEN_SECRET"], learner_id, "email")
    url = f"{stack.endpoints.notify}/v1/unsubscribe"
    for _ in range(3):  # a scanner opening the link, as often as it likes
        page = await http.get(url, params={"token": link})
        assert page.status_code == 200 and 'method="post"' in page.text
    assert (await preferences(http, stack, learner_id))["unsubscribed"] == []
    done = await http.post(url, params={"token": link}, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert (await preferences(http, stack, learner_id))["unsubscribed"] == ["email"]


# 6. bidi, zero-width and formulas reach credentials and spreadsheets; impossible birth dates


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"result": {"status": "passed", "grade": "8\u202e01", "grade_scale": "0-10"}}, "grade"),
        ({"result": {"status": "passed", "grade": "8.0", "grade_scale": "0\u200b-10"}}, "scale"),
        ({"title": '=HYPERLINK("http://x","Sơ cấp")'}, "title"),
        ({"code": "@SUM(1+1)"}, "code"),
        ({"certificate_number": "+2025\u2066"}, "certificate_number"),
    ],
)
async def test_hidden_characters_and_formulas_in_a_record_are_refused(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], change: Any, field: str
) -> None:
    body = submission(national_id(), f"H2-{uuid.uuid4()}", **change)
    answer = await submit(http, stack, centre["api_key"], body)
    problem = _problem(answer, 422)
    assert any(field in e["field"] for e in problem["errors"]), problem


async def test_a_correction_reason_with_a_text_direction_control_is_refused(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    accepted = await submit(
        http, stack, centre["api_key"], submission(national_id(), f"H2-{uuid.uuid4()}")
    )
    assert accepted.status_code == 202, accepted.text
    rid = accepted.json()["record_id"]
    for reason in ("Sửa điểm 8\u202e01", "=cmd|' /C calc'!A0", "Sửa\u2028điểm"):
        answer = await http.post(
            f"{stack.endpoints.learner}/v1/records/{rid}/corrections",
            json={"reason": reason, "record": submission("0", "x")["record"]},
            headers={"X-API-Key": centre["api_key"]},
        )
        _problem(answer, 422)


@pytest.mark.parametrize("birth_date", ["2999-01-01", "0001-01-01", "1899-12-31"])
async def test_self_registration_refuses_impossible_birth_dates(
    stack: Stack, http: httpx.AsyncClient, birth_date: str
) -> None:
    answer = await http.post(
        f"{stack.endpoints.learner}/v1/learners",
        json={
            "full_name": "Lê Hoàng Yến",
            "birth_date": birth_date,
            "commune_code": "22735",
        },
    )
    _problem(answer, 422, "birth")


async def test_a_centre_submission_refuses_a_birth_date_in_the_future(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    body = submission(national_id(), f"H2-{new_event_id()}")
    body["learner"]["birth_date"] = "2999-01-01"
    _problem(await submit(http, stack, centre["api_key"], body), 422, "birth")


# 7. spoofed X-Forwarded-For got fresh buckets


@pytest.mark.parametrize("service", ["learner", "credential", "notify"])
async def test_a_spoofed_forwarded_for_does_not_change_who_the_caller_is(
    stack: Stack, http: httpx.AsyncClient, service: str
) -> None:
    # /metrics answers loopback callers without credentials: were X-Forwarded-For believed
    # from this (untrusted) caller, it would be someone else — a fresh rate-limit bucket for
    # self-registration, a 401 here
    base: str = getattr(stack.endpoints, service)
    for spoofed in ("203.0.113.9", "127.0.0.1, 203.0.113.9", "unknown"):
        answer = await http.get(f"{base}/metrics", headers={"X-Forwarded-For": spoofed})
        assert answer.status_code == 200, (spoofed, answer.status_code)
