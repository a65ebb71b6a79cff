"""Idempotency-Key on the creating endpoints, on the real stack: a retry gets the first
answer and creates nothing twice; the same key with another body is refused."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.conftest import Stack, new_provider
from tests.e2e.test_credentials import learner_with_records

PROGRAMME = {
    "title": "Kỹ năng số cho người lớn tuổi",
    "pathway": "continuing",
    "place_codes": ["22735"],
    "how_to_enrol": "Gọi 0259 3864 123",
    "fee_vnd": 0,
    "capacity": 30,
}


def keyed(provider: dict[str, Any], key: str) -> dict[str, str]:
    return {"X-API-Key": provider["api_key"], "Idempotency-Key": key}


async def test_a_retried_announcement_is_one_programme(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    url = f"{stack.endpoints.learner}/v1/programmes"
    key = str(uuid.uuid4())
    first, second = [await http.post(url, json=PROGRAMME, headers=keyed(centre, key)) for _ in "12"]
    assert first.status_code == second.status_code == 202, first.text
    assert first.json() == second.json()
    assert "idempotent-replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    listed = await http.get(url, headers={"X-API-Key": centre["api_key"]})
    assert [p["programme_id"] for p in listed.json()] == [first.json()["programme_id"]]

    other = await http.post(url, json={**PROGRAMME, "capacity": 31}, headers=keyed(centre, key))
    assert other.status_code == 422 and other.headers["content-type"] == "application/problem+json"
    assert "another body" in other.json()["detail"]

    # keys are the caller's own: another centre's same key is another operation
    elsewhere = await new_provider(http, stack)
    theirs = await http.post(url, json=PROGRAMME, headers=keyed(elsewhere, key))
    assert (
        theirs.status_code == 202 and theirs.json()["programme_id"] != first.json()["programme_id"]
    )

    # retries at the same moment: one programme, and every answer says so
    racing = str(uuid.uuid4())
    answers = await asyncio.gather(
        *(http.post(url, json=PROGRAMME, headers=keyed(centre, racing)) for _ in range(5))
    )
    made = {a.json()["programme_id"] for a in answers if a.status_code == 202}
    assert len(made) == 1 and {a.status_code for a in answers} <= {202, 409}


async def test_a_retried_self_registration_gets_the_first_answer(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    body = {"full_name": "Võ Thị Sáu", "birth_date": "1992-03-08"}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    url = f"{stack.endpoints.learner}/v1/learners"
    first = await http.post(url, json=body, headers=headers)
    retry = await http.post(url, json=body, headers=headers)
    for _ in range(10):
        # the first answer is kept just after it is sent: until then a retry is told to wait
        if retry.status_code != 409:
            break
        assert "Retry-After" in retry.headers or "retry" in retry.json()["detail"]
        await asyncio.sleep(float(retry.headers.get("Retry-After", "1")))
        retry = await http.post(url, json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    without_key = await http.post(url, json=body)
    assert without_key.status_code == 201  # a new attempt is another account
    assert without_key.json()["account_id"] != first.json()["account_id"]


async def test_a_key_must_be_usable(stack: Stack, http: httpx.AsyncClient) -> None:
    bad = await http.post(
        f"{stack.endpoints.learner}/v1/learners",
        json={"full_name": "A B", "birth_date": "1990-01-01"},
        headers={"Idempotency-Key": "short"},
    )
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["detail"]


async def test_a_retried_credential_issue_is_one_credential(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    learner_id, _, _ = await learner_with_records(http, stack)
    url = f"{stack.endpoints.credential}/v1/learners/{learner_id}/credentials"
    headers = {**stack.learner_token(learner_id), "Idempotency-Key": str(uuid.uuid4())}
    first = await http.post(url, headers=headers)
    second = await http.post(url, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.headers["Location"] == second.headers["Location"]
    assert first.content == second.content


async def test_a_retried_officer_credential_is_one_credential(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    base = stack.endpoints.insights
    label = f"Cán bộ thống kê {uuid.uuid4().hex[:8]}"
    body = {"unit_code": "56", "days": 3, "label": label}
    headers = {**stack.admin, "Idempotency-Key": str(uuid.uuid4())}
    first = await http.post(f"{base}/v1/admin/officers", json=body, headers=headers)
    retry = await http.post(f"{base}/v1/admin/officers", json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201), retry.text
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    other = await http.post(f"{base}/v1/admin/officers", json={**body, "days": 4}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    listed = await http.get(f"{base}/v1/admin/officers", headers=stack.admin)
    assert [c["id"] for c in listed.json() if c["label"] == label] == [first.json()["id"]]
