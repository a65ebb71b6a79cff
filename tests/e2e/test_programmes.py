"""A programme reaches the inbox of the learners it fits, and only theirs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Stack, eventually, national_id, new_provider, submission


async def inbox(http: httpx.AsyncClient, stack: Stack, learner_id: str) -> list[dict[str, Any]]:
    response = await http.get(
        f"{stack.endpoints.notify}/v1/learners/{learner_id}/notifications",
        headers=stack.learner_token(learner_id),
    )
    assert response.status_code == 200, response.text
    notes: list[dict[str, Any]] = response.json()["notifications"]
    return notes


async def test_a_programme_reaches_learners_of_its_commune_only(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    key = {"X-API-Key": centre["api_key"]}
    commune = f"{national_id()[-5:]}"  # a commune no other test uses
    near = await http.post(
        f"{stack.endpoints.learner}/v1/records",
        json=submission(national_id(), "P-1", commune=commune),
        headers=key,
    )
    far = await http.post(
        f"{stack.endpoints.learner}/v1/records",
        json=submission(national_id(), "P-2", commune="99999"),
        headers=key,
    )
    near_id, far_id = near.json()["learner_id"], far.json()["learner_id"]
    programme = {
        "title": "Kỹ thuật tưới nhỏ giọt cho cây nho",
        "pathway": "vocational",
        "place_codes": [commune],
        "min_age": 18,
        "how_to_enrol": "Đăng ký tại Trung tâm, ĐT 0259 3864 123",
    }
    announced = await http.post(
        f"{stack.endpoints.learner}/v1/programmes", json=programme, headers=key
    )
    assert announced.status_code == 202, announced.text
    programme_id = announced.json()["programme_id"]

    notes = await eventually(lambda: inbox(http, stack, near_id), lambda n: len(n) == 1)
    assert notes[0]["programme_id"] == programme_id and not notes[0]["read"]
    assert "Kỹ thuật tưới nhỏ giọt" in notes[0]["title"]
    assert "Cách đăng ký" in notes[0]["body"]

    # A learner who registers after the announcement hears of it too.
    late = await http.post(
        f"{stack.endpoints.learner}/v1/records",
        json=submission(national_id(), "P-3", commune=commune),
        headers=key,
    )
    late_notes = await eventually(
        lambda: inbox(http, stack, late.json()["learner_id"]), lambda n: len(n) == 1
    )
    assert late_notes[0]["programme_id"] == programme_id
    assert await inbox(http, stack, far_id) == []
    assert len(await inbox(http, stack, near_id)) == 1


async def test_a_centre_may_announce_only_its_pathways(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack, pathways=["continuing"])
    answer = await http.post(
        f"{stack.endpoints.learner}/v1/programmes",
        json={"title": "X", "pathway": "regular", "place_codes": ["22735"], "how_to_enrol": "Y"},
        headers={"X-API-Key": centre["api_key"]},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "pathway", "message": "this training centre may not offer the 'regular' pathway"}
    ]
