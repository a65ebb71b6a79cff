"""The whole path on the real stack: a centre submits, the trail shows it, exactly once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from cli import localstack
from contracts.records import LEARNING_RECORD_RECORDED
from tests.conftest import (
    Stack,
    eventually,
    national_id,
    new_provider,
    read_topic,
    submission,
)


async def trail_of(http: httpx.AsyncClient, stack: Stack, learner_id: str) -> dict[str, Any]:
    response = await http.get(
        f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail",
        headers=stack.learner_token(learner_id),
    )
    return response.json() if response.status_code == 200 else {"status": response.status_code}


async def submit(
    http: httpx.AsyncClient, stack: Stack, key: str, body: dict[str, Any]
) -> httpx.Response:
    """Submit as a careful client does: a request whose answer was lost is sent again
    (submissions are idempotent, which the tests check)."""
    for attempt in (1, 2, 3):
        try:
            return await http.post(
                f"{stack.endpoints.learner}/v1/records", json=body, headers={"X-API-Key": key}
            )
        except (httpx.ReadError, httpx.RemoteProtocolError):
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


async def test_records_from_two_centres_form_one_trail(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre_a = await new_provider(http, stack)
    centre_b = await new_provider(http, stack, name="Trường Cao đẳng Kỹ thuật", kind="school")
    nid = national_id()
    answers = [
        await submit(http, stack, centre_a["api_key"], submission(nid, "A-1")),
        await submit(
            http,
            stack,
            centre_a["api_key"],
            submission(
                nid,
                "A-2",
                pathway="continuing",
                kind="programme",
                vqf_level=None,
                general_education_level="upper_secondary",
                hours=1200,
                completed_on="2022-05-31",
            ),
        ),
        await submit(
            http,
            stack,
            centre_b["api_key"],
            submission(
                nid,
                "B-1",
                pathway="regular",
                kind="module",
                vqf_level=5,
                credits=3,
                hours=45,
                title="Tin học ứng dụng",
                completed_on="2024-01-12",
            ),
        ),
    ]
    assert [a.status_code for a in answers] == [202, 202, 202], [a.text for a in answers]
    learner_ids = {a.json()["learner_id"] for a in answers}
    assert len(learner_ids) == 1, "one national ID is one learner, whichever centre posts"
    learner_id = learner_ids.pop()

    trail = await eventually(
        lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 3
    )
    assert trail["full_name"] == "Nguyễn Thị Hương"
    assert [g["pathway"] for g in trail["pathways"]] == ["regular", "continuing", "vocational"]
    assert (trail["total_credits"], trail["total_hours"], trail["highest_vqf_level"]) == (
        3,
        1545,
        5,
    )
    assert {e["record_id"] for g in trail["pathways"] for e in g["entries"]} == {
        a.json()["record_id"] for a in answers
    }


async def test_a_repeated_submission_is_one_record_and_one_event(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    body = submission(national_id(), "REPEAT-1")
    first = await submit(http, stack, centre["api_key"], body)
    second = await submit(http, stack, centre["api_key"], body)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    learner_id, record_id = first.json()["learner_id"], first.json()["record_id"]

    await eventually(lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 1)
    events = [
        r
        for r in await read_topic(stack.kafka, "learning-records.v1")
        if r.key == learner_id.encode()
    ]
    assert [json.loads(r.value)["record_id"] for r in events] == [record_id]
    await asyncio.sleep(1)  # a late duplicate would show up by now
    assert (await trail_of(http, stack, learner_id))["entry_count"] == 1


async def test_the_same_reference_with_other_content_is_a_conflict(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    first = await submit(http, stack, centre["api_key"], submission(nid, "C-1"))
    changed = await submit(http, stack, centre["api_key"], submission(nid, "C-1", hours=301))
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"
    problem = changed.json()
    assert problem["record_id"] == first.json()["record_id"] and "C-1" in problem["detail"]


async def test_the_event_carries_the_trace_of_the_request(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    nid = national_id()
    answer = await submit(http, stack, centre["api_key"], submission(nid, "T-1"))
    trace_id = answer.headers["X-Trace-Id"]
    events = [
        r
        for r in await read_topic(stack.kafka, "learning-records.v1")
        if r.key == answer.json()["learner_id"].encode()
    ]
    headers = dict(events[0].headers)
    assert headers["ce_traceparent"].decode().split("-")[1] == trace_id
    for event in events:  # the national ID never travels in an event
        assert nid.encode() not in event.value and "national_id" not in json.loads(event.value)


async def test_concurrent_single_submissions_each_count_once_and_keep_their_own_trace(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """Single submissions that arrive together are written together (group commit): every
    one is answered for itself, a reference sent twice at once is one record, and every
    event carries the trace of the request that submitted it, not of the batch's writer."""
    centres = [await new_provider(http, stack) for _ in range(2)]
    people = [national_id() for _ in range(40)]
    bodies = [
        (centres[n % 2]["api_key"], submission(nid, f"GC-{n}")) for n, nid in enumerate(people)
    ]
    bodies.append(bodies[0])  # the same reference twice, at the same time
    answers = await asyncio.gather(*(submit(http, stack, key, body) for key, body in bodies))
    assert [a.status_code for a in answers] == [202] * len(bodies), answers[-1].text
    record_ids = [a.json()["record_id"] for a in answers]
    assert len(set(record_ids)) == len(people) and record_ids[0] == record_ids[-1]
    assert sorted(
        a.headers.get("Idempotent-Replayed", "false") for a in (answers[0], answers[-1])
    ) == [
        "false",
        "true",
    ]

    traces = {a.json()["record_id"]: a.headers["X-Trace-Id"] for a in answers[:-1]}
    events: dict[str, str] = {}

    async def recorded() -> dict[str, str]:
        for r in await read_topic(stack.kafka, "learning-records.v1"):
            try:
                body = json.loads(r.value)
            except ValueError:  # another test's malformed message
                continue
            if isinstance(body, dict) and body.get("record_id") in traces:
                events[body["record_id"]] = dict(r.headers)["ce_traceparent"].decode()
        return events

    await eventually(recorded, lambda found: len(found) == len(people))
    assert {rid: tp.split("-")[1] for rid, tp in events.items()} == traces


async def test_a_malformed_message_is_dead_lettered_and_the_stream_goes_on(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka, acks="all")
    await producer.start()
    try:
        poison_key = f"poison-{national_id()}".encode()
        await producer.send_and_wait(
            "learning-records.v1",
            b'{"record_id": "half a record"',
            key=poison_key,
            headers=[
                ("ce_id", b"p1"),
                ("ce_type", LEARNING_RECORD_RECORDED.encode()),
                ("ce_source", b"/test"),
                ("ce_subject", poison_key),
                ("ce_time", b"2026-11-27T00:00:00+00:00"),
            ],
        )
    finally:
        await producer.stop()
    centre = await new_provider(http, stack)
    good = await submit(http, stack, centre["api_key"], submission(national_id(), "AFTER-POISON"))
    learner_id = good.json()["learner_id"]
    await eventually(lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 1)

    async def dead() -> list[Any]:
        return [r for r in await read_topic(stack.kafka, "credential.dlq") if r.key == poison_key]

    letters = await eventually(dead, lambda found: len(found) >= 1)
    headers = {k: v.decode() for k, v in letters[0].headers}
    assert headers["dlq_original_topic"] == "learning-records.v1"
    assert "invalid" in headers["dlq_reason"] and headers["dlq_group"] == "credential"
    assert letters[0].value == b'{"record_id": "half a record"'


async def test_credential_killed_mid_stream_loses_nothing_and_doubles_nothing(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    learners = [national_id() for _ in range(4)]
    credential = localstack.component("credential")

    async def post(n: int) -> httpx.Response:
        body = submission(learners[n % 4], f"KILL-{n}", title=f"Học phần {n}", hours=n + 1)
        return await submit(http, stack, centre["api_key"], body)

    first = await asyncio.gather(*(post(n) for n in range(40)))
    localstack.stop(credential, kill=True)  # kill -9, mid-stream
    during = await asyncio.gather(*(post(n) for n in range(40, 80)))
    await asyncio.to_thread(localstack.start, credential)
    after = await asyncio.gather(*(post(n) for n in range(80, 100)))
    answers = [*first, *during, *after]
    assert all(a.status_code == 202 for a in answers), [
        a.text for a in answers if a.status_code != 202
    ]

    expected: dict[str, set[str]] = {}
    for a in answers:
        expected.setdefault(a.json()["learner_id"], set()).add(a.json()["record_id"])
    for learner_id, record_ids in expected.items():
        count = len(record_ids)
        trail = await eventually(
            lambda lid=learner_id: trail_of(http, stack, lid),  # type: ignore[misc]
            lambda t, n=count: t.get("entry_count") == n,  # type: ignore[misc]
        )
        got = [e["record_id"] for g in trail["pathways"] for e in g["entries"]]
        assert sorted(got) == sorted(record_ids)


async def test_records_need_a_key_and_sound_content(stack: Stack, http: httpx.AsyncClient) -> None:
    url = f"{stack.endpoints.learner}/v1/records"
    body = submission(national_id(), "E-1")
    no_key = await http.post(url, json=body)
    assert no_key.status_code == 401 and "X-API-Key" in no_key.json()["detail"]
    bad_key = await http.post(url, json=body, headers={"X-API-Key": "ltk_nope"})
    assert bad_key.status_code == 401

    centre = await new_provider(http, stack, pathways=["continuing"])
    key = {"X-API-Key": centre["api_key"]}
    wrong_pathway = await http.post(url, json=body, headers=key)
    assert wrong_pathway.status_code == 422
    assert wrong_pathway.headers["content-type"] == "application/problem+json"
    assert wrong_pathway.json()["errors"][0]["field"] == "record.pathway"

    bad = submission(national_id(), "E-2", pathway="continuing", vqf_level=9, completed_on="x")
    invalid = await http.post(url, json=bad, headers=key)
    problem = invalid.json()
    assert invalid.status_code == 422
    assert {e["field"] for e in problem["errors"]} == {"record.vqf_level", "record.completed_on"}
    assert "record.vqf_level" in problem["detail"]


async def test_readers_see_only_what_is_theirs(stack: Stack, http: httpx.AsyncClient) -> None:
    centre = await new_provider(http, stack)
    answer = await http.post(
        f"{stack.endpoints.learner}/v1/records",
        json=submission(national_id(), "S-1"),
        headers={"X-API-Key": centre["api_key"]},
    )
    learner_id = answer.json()["learner_id"]
    url = f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail"
    await eventually(lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 1)

    assert (await http.get(url)).status_code == 401
    other = await http.get(url, headers=stack.learner_token("someone-else"))
    assert other.status_code == 403 and other.json()["title"] == "Forbidden"
    expired = await http.get(url, headers=stack.learner_token(learner_id, ttl=-1))
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert (await http.get(url, headers=stack.admin)).status_code == 200
    admin_only = await http.get(
        f"{stack.endpoints.learner}/v1/admin/providers", headers=stack.learner_token(learner_id)
    )
    assert admin_only.status_code == 403
    missing = await http.get(f"{stack.endpoints.credential}/v1/nothing-here")
    assert (
        missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    )
