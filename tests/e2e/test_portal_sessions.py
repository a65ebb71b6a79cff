"""The portal's browser session and share links over HTTP, against the running stack: the
cookie is taken on portal pages only (never by the JSON API), an expired share link shows
nothing, and the pages answer what a browser needs."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from services.common.mongo import Document
from services.common.portal import form_token
from services.common.tokens import verify_token
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit

OWNER = {"full_name": "Nguyễn Thị Hương", "birth_date": "1990-05-14"}


async def bound_session(
    http: httpx.AsyncClient, stack: Stack, titles: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An account bound by a claim code to a learner with one record on the trail (one per
    title when ``titles`` are given): the browser's cookie and form token."""
    centre = await new_provider(http, stack)
    nid = national_id()
    for title in titles or (None,):
        extra = {} if title is None else {"title": title}
        posted = await submit(
            http, stack, centre["api_key"], submission(nid, f"PS-{uuid.uuid4()}", **extra)
        )
        assert posted.status_code == 202, posted.text
    learner_id = posted.json()["learner_id"]
    opened = (await http.post(f"{stack.endpoints.learner}/v1/learners", json=OWNER)).json()
    code = await http.post(
        f"{stack.endpoints.learner}/v1/claim-codes",
        json={"learner": {"national_id": nid, **OWNER}},
        headers={"X-API-Key": centre["api_key"]},
    )
    claimed = await http.post(
        f"{stack.endpoints.learner}/v1/account/claims",
        json={"code": code.json()["code"]},
        headers={"Authorization": f"Bearer {opened['session']['access_token']}"},
    )
    token = claimed.json()["access_token"]
    session = verify_token(stack.secrets["LT_TOKEN_SECRET"], token, 0).session
    assert session is not None
    await eventually(
        lambda: http.get(
            f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail", headers=stack.admin
        ),
        lambda r: r.status_code == 200 and r.json()["entry_count"] == max(1, len(titles)),
    )
    return {
        "learner_id": learner_id,
        "cookie": {"Cookie": f"lt_access={token}"},
        "csrf": form_token(stack.secrets["LT_TOKEN_SECRET"], session),
    }


async def test_the_cookie_opens_portal_pages_and_never_the_json_api(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    me = await bound_session(http, stack)
    trail = await http.get(f"{stack.endpoints.credential}/portal/trail", headers=me["cookie"])
    assert trail.status_code == 200 and trail.headers["content-type"].startswith("text/html")
    assert trail.headers["cache-control"] == "no-store"
    for url in (
        f"{stack.endpoints.credential}/v1/learners/{me['learner_id']}/trail",
        f"{stack.endpoints.notify}/v1/learners/{me['learner_id']}/notifications",
        f"{stack.endpoints.learner}/v1/account",
    ):
        refused = await http.get(url, headers=me["cookie"])
        assert refused.status_code == 401, url


async def test_an_expired_share_link_shows_nothing(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document]
) -> None:
    me = await bound_session(http, stack)
    made = await http.post(
        f"{stack.endpoints.credential}/portal/shares",
        data={"what": "whole", "days": "7", "csrf": me["csrf"]},
        headers={**me["cookie"], "Origin": stack.endpoints.credential},
    )
    assert made.status_code == 201, made.text
    found = re.search(r"(http://[^<\s]+/shared\?token=(lts_[A-Za-z0-9_-]+))", made.text)
    assert found is not None
    link, token = found.groups()
    opened = await http.get(link, headers={"Accept": "text/html"})
    assert opened.status_code == 200 and "Sơ cấp Kỹ thuật trồng nho" in opened.text
    assert opened.headers["referrer-policy"] == "no-referrer"
    # only the token's hash is stored
    shares = mongo["lt_credential"]["shares"]
    assert await shares.count_documents({"learner_id": me["learner_id"]}) == 1
    stored = await shares.find_one({"learner_id": me["learner_id"]})
    assert stored is not None and token not in str(stored)
    assert stored["opens"] == 1 and stored["first_opened_at"] is not None
    await shares.update_one(
        {"_id": stored["_id"]},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    expired = await http.get(link, headers={"Accept": "text/html"})
    assert expired.status_code == 404 and "Sơ cấp Kỹ thuật trồng nho" not in expired.text
    program = await http.get(link)
    assert program.headers["content-type"].startswith("application/problem+json")
