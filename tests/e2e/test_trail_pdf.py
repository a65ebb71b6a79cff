"""The PDF of the printable trail, downloaded from the portal with the browser's session cookie,
against the running stack: it holds the learner's entries with their Vietnamese letters intact,
the time in Vietnam, and a QR code that opens the verification page of the learner's latest
credential; another learner's session downloads only their own, and no session downloads
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from contracts import words
from tests.conftest import Stack
from tests.e2e.test_portal_sessions import bound_session
from tests.unit.test_trail_pdf import qr_codes, text_of

TITLES = ("Sơ cấp Điện dân dụng — thực hành ở xưởng", "Bồi dưỡng Kỹ năng số cho người lớn tuổi")


async def download(
    http: httpx.AsyncClient, stack: Stack, me: dict[str, Any], **query: str
) -> httpx.Response:
    return await http.get(
        f"{stack.endpoints.credential}/portal/trail.pdf", params=query, headers=me["cookie"]
    )


async def test_the_trail_pdf_from_the_portal_reads_right_and_its_qr_opens_the_check(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    me = await bound_session(http, stack, TITLES)
    issued = await http.post(
        f"{stack.endpoints.credential}/portal/credentials",
        data={"csrf": me["csrf"]},
        headers={**me["cookie"], "Origin": stack.endpoints.credential},
    )
    assert issued.status_code == 303, issued.text
    before = datetime.now(UTC)
    answer = await download(http, stack, me)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["cache-control"] == "no-store"
    text = text_of(answer.content)
    for title in TITLES:
        assert title in text, title
    assert "Nguyễn Thị Hương" in text and "Hồ sơ học tập suốt đời" in text
    assert "15/03/2025" in text
    # made now, written in Vietnam's time (UTC+7)
    made = {words.moment(before + timedelta(seconds=s), "vi") for s in (-60, 0, 60)}
    assert any(f"Lập lúc {m} (giờ Việt Nam)" in text for m in made), text[:400]
    # the QR code on the page is the latest credential's verification address, and opens it
    [url] = qr_codes(answer.content)
    page = await http.get(url, headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'data-status="valid"' in page.text
    assert TITLES[0] in page.text
    english = text_of((await download(http, stack, me, lang="en")).content)
    assert "Lifelong learning record" in english and TITLES[1] in english


async def test_only_the_signed_in_learner_downloads_their_trail_pdf(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    me = await bound_session(http, stack, TITLES[:1])
    other = await bound_session(http, stack, ("Tin học văn phòng cơ bản",))
    theirs = text_of((await download(http, stack, other)).content)
    assert "Tin học văn phòng cơ bản" in theirs
    assert TITLES[0] not in theirs and me["learner_id"] not in theirs
    # no session: off to renew or sign in, never a PDF
    nobody = await http.get(f"{stack.endpoints.credential}/portal/trail.pdf")
    assert nobody.status_code == 303
    assert nobody.headers.get("content-type", "") != "application/pdf"
    # the access token in a header (the JSON API's way) opens no portal page
    token = me["cookie"]["Cookie"].removeprefix("lt_access=")
    header = await http.get(
        f"{stack.endpoints.credential}/portal/trail.pdf",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert header.status_code == 303
