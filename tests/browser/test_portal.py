"""The learner portal in a real headless Chromium, at phone and desktop sizes: signing in with
the national e-ID's local stand-in (panva's oidc-provider, started by ``trail dev up``), the
account, the trail with its recognitions, issuing and downloading the CLR, share links (what a
shared view shows, expiry, revocation, when it was opened), the inbox and preferences, an
expired session, a replayed code and signing out everywhere. Each page is checked with
axe-core (no serious or critical violation) and screenshot into .cache/screenshots/."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, Route
from pymongo import AsyncMongoClient

from cli import localstack
from services.common.mongo import Document
from services.common.tokens import issue_token, verify_token
from tests.browser.conftest import OpenPage, accessibility_violations, screenshot_path, shoot
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit
from tests.unit.test_trail_pdf import qr_codes, text_of


def picture_of_pdf(pdf: bytes, name: str) -> None:
    """The PDF's first page as a picture beside the screenshots (pdftoppm, 100 dpi)."""
    target = screenshot_path(name)
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-singlefile", "-f", "1", "-", str(target)[:-4]],
        input=pdf,
        check=True,
    )
    assert target.stat().st_size > 1000


async def check(page: Page, name: str) -> None:
    """A screenshot, no serious accessibility violation, and nothing wider than the screen
    (WCAG 1.4.10, reflow: no scrolling sideways on a phone)."""
    await shoot(page, name)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert page.viewport_size is not None and width <= page.viewport_size["width"], name
    violations = await accessibility_violations(page)
    assert not violations, f"{name}: {violations}"


@pytest.fixture
async def citizen(stack: Stack) -> dict[str, Any]:
    """A citizen with two records posted by a centre, before ever signing in."""
    async with httpx.AsyncClient(timeout=30) as http:
        centre = await new_provider(http, stack)
        nid = national_id()
        # a course the IT college's credit-transfer rule recognises (rules/*.toml)
        first = submission(
            nid, f"PT-{uuid.uuid4().hex[:8]}", title="Tin học văn phòng", code="SC-TINHOC-VP"
        )
        second = submission(
            nid,
            f"PT-{uuid.uuid4().hex[:8]}",
            pathway="continuing",
            kind="programme",
            title="Chương trình GDTX cấp THPT",
            vqf_level=None,
            general_education_level="upper_secondary",
            hours=1200,
            result={"status": "completed"},
            completed_on="2022-05-31",
        )
        learner_id = (await submit(http, stack, centre["api_key"], first)).json()["learner_id"]
        await submit(http, stack, centre["api_key"], second)

        async def trail() -> dict[str, Any]:
            answer = await http.get(
                f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail",
                headers=stack.admin,
            )
            found: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
            return found

        await eventually(trail, lambda t: t.get("entry_count") == 2 and t.get("recognitions"))
    return {"nid": nid, "learner_id": learner_id}


async def sign_in(page: Page, stack: Stack, nid: str) -> str:
    """From the portal's sign-in page through the provider's pages back to the portal; the
    callback URL the provider sent the browser to."""
    # the stand-in provider's development pages (panva's, not ours; the real provider's
    # pages are its own) ask for a Google font: refused for them alone, on this page
    await page.route("https://fonts.googleapis.com/**", lambda route: route.abort())
    callbacks: list[str] = []
    page.on(
        "request",
        lambda r: callbacks.append(r.url) if "/v1/sign-in/oidc/callback" in r.url else None,
    )
    await page.goto(f"{stack.endpoints.learner}/portal")
    await press(page, "#sign-in-oidc")
    for _ in range(6):
        await page.wait_for_load_state()
        if page.url.startswith(f"{stack.endpoints.learner}/portal"):
            break
        if await page.locator('input[name="login"]').count():
            await page.fill('input[name="login"]', nid)
            await page.fill('input[name="password"]', "-")
        await press(page, 'button[type="submit"]')
    assert page.url == f"{stack.endpoints.learner}/portal", page.url
    assert callbacks
    return callbacks[-1]


async def press(page: Page, selector: str) -> None:
    """Click a button or link that loads another page, and wait for it."""
    async with page.expect_navigation():
        await page.click(selector)


async def cookie(context: BrowserContext, name: str) -> dict[str, Any]:
    found = [dict(c) for c in await context.cookies() if c["name"] == name]
    assert found, f"no cookie {name}"
    return found[0]


async def test_a_learner_signs_in_sees_the_trail_issues_and_shares_it_on_a_phone(
    stack: Stack, citizen: dict[str, Any], open_page: OpenPage
) -> None:
    page = await open_page("phone", "vi")
    await page.goto(f"{stack.endpoints.learner}/portal")
    await check(page, "portal-sign-in-vi-phone")
    await sign_in(page, stack, citizen["nid"])
    await check(page, "portal-home-vi-phone")
    assert "Nguyễn Thị Hương" in await page.inner_text("main")
    assert "Định danh điện tử (VNeID)" in await page.inner_text("main")
    # the session is in HttpOnly, SameSite=Lax cookies, never in a URL
    access = await cookie(page.context, "lt_access")
    assert access["httpOnly"] and access["sameSite"] == "Lax" and access["path"] == "/"
    refresh = await cookie(page.context, "lt_refresh")
    assert refresh["httpOnly"] and refresh["path"] == "/portal/session"
    assert access["value"] not in page.url

    # the trail, served by the credential service with the same cookie
    await press(page, "nav.portal >> text=Hành trình học tập")
    assert page.url.startswith(f"{stack.endpoints.credential}/portal/trail")
    main = await page.inner_text("main")
    assert "Tin học văn phòng" in main and "Chương trình GDTX cấp THPT" in main
    assert "15/03/2025" in main  # dd/mm/yyyy
    # the recognition, explained: what it grants, by which rule, from which entries
    recognition = await page.inner_text(".recognition")
    assert "Công nhận học phần vào chương trình Cao đẳng Công nghệ thông tin" in recognition
    assert "Tính từ: Tin học văn phòng" in recognition
    await check(page, "portal-trail-vi-phone")

    # issue the CLR and download it
    await press(page, "#issue-clr")
    assert "Đã cấp hồ sơ số mới" in await page.inner_text("main")
    async with page.expect_download() as waiting:
        await page.click("text=Tải tệp JSON")
    download = await waiting.value
    saved = await download.path()
    assert download.suggested_filename.endswith(".json")
    clr = json.loads(await asyncio.to_thread(saved.read_text, encoding="utf-8"))
    assert "ClrCredential" in clr["type"]
    # a school pastes the file on the verification page
    school = await open_page("phone", "vi")
    await school.goto(f"{stack.endpoints.credential}/verify")
    await check(school, "verify-form-vi-phone")
    await school.fill("#credential", json.dumps(clr))
    await press(school, "#check")
    assert await school.get_attribute("[data-status]", "data-status") == "valid"
    said = await school.inner_text("main")
    assert "Sở Giáo dục" in said and "Chương trình GDTX cấp THPT" in said
    await check(school, "verify-pasted-vi-phone")
    await school.goto(f"{stack.endpoints.credential}/verify")
    await school.fill("#credential", "not a credential")
    await press(school, "#check")
    assert "Đây không phải hồ sơ số" in await school.inner_text("main")
    # what an employer who scans its QR code reads, on a phone and on a desktop
    check_url = await page.get_attribute("text=Kiểm tra bản này", "href")
    assert check_url is not None
    # the PDF of the printable page, downloaded as a person would: its QR is the same check
    async with page.expect_download() as waiting:
        await page.click("#download-pdf")
    pdf = await (await waiting.value).path()
    printed = await asyncio.to_thread(pdf.read_bytes)
    assert "Chương trình GDTX cấp THPT" in await asyncio.to_thread(text_of, printed)
    assert await asyncio.to_thread(qr_codes, printed) == [check_url]
    await asyncio.to_thread(picture_of_pdf, printed, "portal-trail-pdf-vi")
    for size, lang in (("phone", "vi"), ("desktop", "en")):
        verifier = await open_page(size, lang)
        await verifier.goto(check_url)
        assert await verifier.get_attribute("[data-status]", "data-status") == "valid"
        await check(verifier, f"verification-clr-{lang}-{size}")

    # share only the school programme, for a week
    await page.check("#share-chosen")
    await page.check('label:has-text("Chương trình GDTX cấp THPT") input')
    await page.select_option("#days", "7")
    await page.fill("#label", "Công ty A")
    await press(page, "#make-share")
    link = (await page.inner_text("#share-link")).strip()
    assert urlsplit(link).path == "/shared" and "token=lts_" in link
    await check(page, "portal-share-made-vi-phone")

    # the employer opens it on a phone: only what was chosen
    employer = await open_page("phone", "vi")
    await employer.goto(link)
    shown = await employer.inner_text("main")
    assert "Chương trình GDTX cấp THPT" in shown and "Tin học văn phòng" not in shown
    assert not await employer.context.cookies()  # the employer is given no session
    assert not await employer.locator(".recognition").count()  # it counted an unshared entry
    await check(employer, "shared-chosen-vi-phone")
    desktop = await open_page("desktop", "en")
    await desktop.goto(link + "&lang=en")
    await check(desktop, "shared-chosen-en-desktop")

    # the learner sees when it was opened, and revokes it
    await page.goto(f"{stack.endpoints.credential}/portal/trail")
    listed = await page.inner_text("#share-links")
    assert "Công ty A" in listed and "Đã mở 2 lần" in listed
    await press(page, '#share-links button:has-text("Thu hồi")')
    assert "đã thu hồi" in await page.inner_text("#share-links")
    gone = await employer.goto(link)
    assert gone is not None and gone.status == 404
    assert "không còn dùng được" in await employer.inner_text("main")

    # inbox and preferences, served by notify with the same cookie
    await press(page, "nav.portal >> text=Hộp thư")
    assert page.url.startswith(f"{stack.endpoints.notify}/portal/inbox")
    await check(page, "portal-inbox-vi-phone")
    await press(page, "nav.portal >> text=Cài đặt thông báo")
    await page.check('input[name="delivery"][value="digest"]')
    await press(page, "#save-preferences")
    assert "Đã lưu cài đặt thông báo" in await page.inner_text("main")
    assert await page.is_checked('input[name="delivery"][value="digest"]')
    await check(page, "portal-preferences-vi-phone")

    # the same pages in English on a desktop
    await page.set_viewport_size({"width": 1366, "height": 900})
    await page.goto(f"{stack.endpoints.credential}/portal/trail?lang=en")
    assert "Learning trail" in await page.inner_text("nav.portal")
    await check(page, "portal-trail-en-desktop")
    await page.goto(f"{stack.endpoints.learner}/portal")  # the language is remembered
    assert "Your account" in await page.inner_text("main")
    await check(page, "portal-home-en-desktop")


async def test_an_expired_session_is_renewed_and_signing_out_everywhere_ends_it(
    stack: Stack, citizen: dict[str, Any], open_page: OpenPage
) -> None:
    page = await open_page("phone", "vi")
    callback = await sign_in(page, stack, citizen["nid"])
    # a replayed code: the provider's answer opened again is refused, with a page
    again = await page.goto(callback)
    assert again is not None and again.status == 400
    assert await page.get_attribute("html", "lang") == "vi"
    await shoot(page, "portal-replayed-code-vi-phone")
    # the access cookie expired (an expired token in its place): the refresh cookie renews it
    secret = localstack.dev_secrets()["LT_TOKEN_SECRET"]
    old = await cookie(page.context, "lt_access")
    expired = issue_token(secret, citizen["learner_id"], "learner", 1, "some-session")
    await page.context.add_cookies([{**old, "value": expired}])  # type: ignore[list-item]
    await page.goto(f"{stack.endpoints.credential}/portal/trail")
    assert page.url == f"{stack.endpoints.credential}/portal/trail"
    renewed = (await cookie(page.context, "lt_access"))["value"]
    # a new access token for the same session (within the same second as the sign-in's, it
    # may be equal to that one: the claims are the same)
    assert renewed != expired
    claims = verify_token(secret, renewed, int(time.time()))
    assert claims.subject == citizen["learner_id"] and claims.role == "learner"
    # sign out everywhere: the cookies are gone and the access token is refused at once
    await page.goto(f"{stack.endpoints.learner}/portal")
    await press(page, "#sign-out-everywhere")
    assert await page.is_visible("#sign-in-oidc")
    assert not [c for c in await page.context.cookies() if c["name"].startswith("lt_access")]
    learner_id = citizen["learner_id"]
    async with httpx.AsyncClient(timeout=30) as http:
        for url in (
            f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail",
            f"{stack.endpoints.notify}/v1/learners/{learner_id}/notifications",
        ):
            refused = await eventually(
                lambda url=url: http.get(url, headers={"Authorization": f"Bearer {renewed}"}),
                lambda r: r.status_code == 401,
                within=30,
            )
            assert "signed out" in refused.json()["detail"]
    # the old cookie put back by hand opens nothing: off to sign in again
    await page.context.add_cookies([{**old, "value": renewed}])  # type: ignore[list-item]
    await page.goto(f"{stack.endpoints.notify}/portal/inbox")
    assert page.url == f"{stack.endpoints.learner}/portal"
    assert await page.is_visible("#sign-in-oidc")


async def test_two_tabs_renewing_the_session_at_once_both_stay_signed_in(
    stack: Stack, citizen: dict[str, Any], open_page: OpenPage
) -> None:
    """Two tabs of one browser whose access cookie expired load a page at the same moment:
    both send the same refresh cookie, both are renewed (the reuse interval), and the session
    lives on — neither tab is signed out."""
    page = await open_page("phone", "vi")
    await sign_in(page, stack, citizen["nid"])
    secret = localstack.dev_secrets()["LT_TOKEN_SECRET"]
    access = await cookie(page.context, "lt_access")
    session = verify_token(secret, access["value"], 0).session
    spent = (await cookie(page.context, "lt_refresh"))["value"]
    expired = issue_token(secret, citizen["learner_id"], "learner", 1, session)
    await page.context.add_cookies([{**access, "value": expired}])  # type: ignore[list-item]
    other = await page.context.new_page()
    # each tab is sent to renew (what a page does when its access token expired); both
    # requests are held until both were made, so both carry the same refresh cookie
    both = asyncio.Event()
    sent: list[str] = []

    async def hold(route: Route) -> None:
        sent.append((await route.request.all_headers()).get("cookie", ""))
        if len(sent) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), 30)
        await route.fallback()

    for tab in (page, other):
        await tab.route(lambda u: urlsplit(u).path == "/portal/session", hold)
    trail = f"{stack.endpoints.credential}/portal/trail"
    inbox = f"{stack.endpoints.notify}/portal/inbox"
    renew = f"{stack.endpoints.learner}/portal/session?next="
    await asyncio.gather(page.goto(renew + quote(trail)), other.goto(renew + quote(inbox)))
    assert all(f"lt_refresh={spent}" in c for c in sent), sent
    assert (page.url, other.url) == (trail, inbox)
    assert "Tin học văn phòng" in await page.inner_text("main")
    renewed = await cookie(page.context, "lt_refresh")
    assert renewed["value"] != spent
    claims = verify_token(secret, (await cookie(page.context, "lt_access"))["value"], 0)
    assert claims.session == session
    # the session is still live: the account page opens, and a later renewal works too
    await page.goto(f"{stack.endpoints.learner}/portal")
    assert await page.is_visible("#sign-out-everywhere")
    await page.context.add_cookies([{**access, "value": expired}])  # type: ignore[list-item]
    await other.goto(trail)
    assert other.url == trail


async def test_a_session_past_its_last_day_sends_the_browser_to_sign_in(
    stack: Stack, citizen: dict[str, Any], open_page: OpenPage
) -> None:
    page = await open_page("desktop", "en")
    await sign_in(page, stack, citizen["nid"])
    secret = localstack.dev_secrets()["LT_TOKEN_SECRET"]
    access = await cookie(page.context, "lt_access")
    session = verify_token(secret, access["value"], 0).session
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri, tz_aware=True)
    try:
        await client["lt_learner"]["sessions"].update_one(
            {"_id": session}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
        )
    finally:
        await client.close()
    # its access token expired too: the refresh cookie is refused, both cookies are cleared
    expired = issue_token(secret, citizen["learner_id"], "learner", 1, session)
    await page.context.add_cookies([{**access, "value": expired}])  # type: ignore[list-item]
    await page.goto(f"{stack.endpoints.credential}/portal/trail")
    assert page.url == f"{stack.endpoints.learner}/portal"
    assert await page.is_visible("#sign-in-oidc")
    assert not [c for c in await page.context.cookies() if c["name"].startswith("lt_")]
    await check(page, "portal-sign-in-en-desktop")
