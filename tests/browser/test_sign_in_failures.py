"""Sign-ins that must fail, in a real headless Chromium against the local OpenID provider (the
national e-ID's stand-in, started by ``trail dev up``): an ID token tampered with on the back
channel, a wrong ``nonce``, a replayed answer and a replayed code, an expired session and
signing out everywhere from another device. Each ends on a page in the person's language
(Vietnamese, or English) that says what happened — never JSON — with no session cookie set,
and each page passes axe-core. Screenshots go to .cache/screenshots/."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from playwright.async_api import Page, Response, Route

from tests.browser.conftest import OpenPage
from tests.browser.test_portal import check, cookie, press, sign_in
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit

SESSION_COOKIES = ("lt_access", "lt_refresh", "__Host-lt_access", "__Secure-lt_refresh")


async def through_provider(page: Page, stack: Stack, login: str) -> Response:
    """Start signing in on the portal, sign in at the provider as ``login`` and consent; the
    learner service's answer to the provider's redirect back (the callback)."""
    await page.route("https://fonts.googleapis.com/**", lambda route: route.abort())
    answers: list[Response] = []
    page.on(
        "response",
        lambda r: answers.append(r) if "/v1/sign-in/oidc/callback" in r.url else None,
    )
    await page.goto(f"{stack.endpoints.learner}/portal")
    await press(page, "#sign-in-oidc")
    for _ in range(6):
        await page.wait_for_load_state()
        if page.url.startswith(stack.endpoints.learner):
            break
        if await page.locator('input[name="login"]').count():
            await page.fill('input[name="login"]', login)
            await page.fill('input[name="password"]', "-")
        await press(page, 'button[type="submit"]')
    assert answers, page.url
    return answers[-1]


async def no_session(page: Page, answer: Response | None = None) -> None:
    """No session cookie in the browser, and none set by the answer."""
    names = [c["name"] for c in await page.context.cookies()]
    assert not [n for n in names if n in SESSION_COOKIES], names
    if answer is not None:
        set_cookies = await answer.header_value("set-cookie") or ""
        assert "lt_access" not in set_cookies and "lt_refresh" not in set_cookies


async def a_page_not_json(page: Page, answer: Response, status: int, lang: str) -> str:
    """The failure is a page in ``lang`` with the given status; its main text."""
    assert answer.status == status, await answer.text()
    assert (await answer.header_value("content-type") or "").startswith("text/html")
    assert await page.get_attribute("html", "lang") == lang
    assert await page.is_visible("#start-again")
    return await page.inner_text("main")


async def bindings_of(http: httpx.AsyncClient, stack: Stack, learner_id: str) -> list[Any]:
    listed = await http.get(
        f"{stack.endpoints.learner}/v1/admin/bindings",
        params={"learner_id": learner_id},
        headers=stack.admin,
    )
    assert listed.status_code == 200, listed.text
    found: list[Any] = listed.json()
    return found


async def posted_citizen(http: httpx.AsyncClient, stack: Stack) -> tuple[str, str]:
    """A citizen a centre posted a record for: national ID, learner id."""
    centre = await new_provider(http, stack)
    nid = national_id()
    posted = await submit(http, stack, centre["api_key"], submission(nid, f"FAIL-{nid}"))
    assert posted.status_code == 202, posted.text
    return nid, posted.json()["learner_id"]


async def test_an_id_token_tampered_with_on_the_back_channel_is_refused_with_a_page(
    stack: Stack, open_page: OpenPage, http: httpx.AsyncClient
) -> None:
    """The provider's token endpoint hands out the citizen's ID token with another national ID
    written into it after signing (deploy/local/oidc/provider.mjs, login
    ``tampered-id-token:…``): the signature no longer verifies, nothing is bound."""
    nid, learner_id = await posted_citizen(http, stack)
    for size, lang in (("phone", "vi"), ("desktop", "en")):
        page = await open_page(size, lang)
        answer = await through_provider(page, stack, f"tampered-id-token:{nid}")
        said = await a_page_not_json(page, answer, 401, lang)
        expected = "Đăng nhập không thành công" if lang == "vi" else "Sign-in failed"
        assert expected in said and "VNeID" in said
        await no_session(page, answer)
        await check(page, f"sign-in-tampered-id-token-{lang}-{size}")
    assert await bindings_of(http, stack, learner_id) == []
    # the same citizen, untampered, signs in: the refusal was the tampering's
    page = await open_page("phone", "vi")
    await sign_in(page, stack, nid)
    assert (await cookie(page.context, "lt_access"))["httpOnly"]
    assert len(await bindings_of(http, stack, learner_id)) == 1


async def test_a_wrong_nonce_is_refused_with_a_page(
    stack: Stack, open_page: OpenPage, http: httpx.AsyncClient
) -> None:
    """The authorization request is altered on its way to the provider (another ``nonce``):
    the provider signs an ID token for that nonce, which is not this sign-in's."""
    nid, learner_id = await posted_citizen(http, stack)
    page = await open_page("phone", "vi")

    async def other_nonce(route: Route) -> None:
        started = await route.fetch(max_redirects=0)
        parts = urlsplit(started.headers["location"])
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"nonce": "attacker"}
        altered = urlunsplit(parts._replace(query=urlencode(query)))
        await route.fulfill(response=started, headers={**started.headers, "location": altered})

    await page.route(lambda u: urlsplit(u).path == "/v1/sign-in/oidc", other_nonce)
    answer = await through_provider(page, stack, nid)
    said = await a_page_not_json(page, answer, 401, "vi")
    assert "Đăng nhập không thành công" in said
    await no_session(page, answer)
    await check(page, "sign-in-wrong-nonce-vi-phone")
    assert await bindings_of(http, stack, learner_id) == []


async def test_a_replayed_answer_and_a_replayed_code_are_refused_with_a_page(
    stack: Stack, open_page: OpenPage
) -> None:
    page = await open_page("phone", "vi")
    callback = await sign_in(page, stack, national_id())
    await press(page, "#sign-out")
    await no_session(page)
    # the provider's answer opened again after signing out does not sign the browser in
    again = await page.goto(callback)
    assert again is not None
    said = await a_page_not_json(page, again, 400, "vi")
    assert "Cần đăng nhập lại" in said
    await no_session(page, again)
    await check(page, "sign-in-replayed-answer-vi-phone")
    # the answer taken to another browser (a stolen URL): refused there too
    thief = await open_page("desktop", "en")
    stolen = await thief.goto(callback)
    assert stolen is not None
    assert "Please sign in again" in await a_page_not_json(thief, stolen, 400, "en")
    await no_session(thief, stolen)
    await check(thief, "sign-in-replayed-answer-en-desktop")
    # the old code under a fresh sign-in of this browser: the provider refuses the code
    fresh = await page.context.request.get(
        f"{stack.endpoints.learner}/v1/sign-in/oidc", max_redirects=0
    )
    assert fresh.status == 302
    state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replayed = await page.goto(
        f"{stack.endpoints.learner}/v1/sign-in/oidc/callback?"
        + urlencode({"state": state, "code": code})
    )
    assert replayed is not None
    assert "Đăng nhập không thành công" in await a_page_not_json(page, replayed, 401, "vi")
    await no_session(page, replayed)
    await check(page, "sign-in-replayed-code-vi-phone")


async def test_signing_out_everywhere_on_the_phone_signs_the_desktop_out(
    stack: Stack, open_page: OpenPage, http: httpx.AsyncClient
) -> None:
    """The same person signed in on a phone and on a desktop; "sign out everywhere" on the
    phone: the desktop's next page sends it to sign in (its access cookie is refused by every
    service, its refresh cookie too) and its cookies are cleared."""
    nid, learner_id = await posted_citizen(http, stack)
    phone = await open_page("phone", "vi")
    await sign_in(phone, stack, nid)
    desktop = await open_page("desktop", "en")
    await sign_in(desktop, stack, nid)
    desktop_access = (await cookie(desktop.context, "lt_access"))["value"]
    await press(phone, "#sign-out-everywhere")
    assert await phone.is_visible("#sign-in-oidc")
    await no_session(phone)
    # credential and notify learn of it from accounts.v1 within moments
    trail = f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail"
    await eventually(
        lambda: http.get(trail, headers={"Authorization": f"Bearer {desktop_access}"}),
        lambda r: r.status_code == 401,
        within=30,
    )
    for where in ("/portal/trail", "/portal/inbox"):
        base = stack.endpoints.credential if "trail" in where else stack.endpoints.notify
        await desktop.goto(base + where)
        assert desktop.url == f"{stack.endpoints.learner}/portal", desktop.url
        assert await desktop.is_visible("#sign-in-oidc")
        assert "Sign in" in await desktop.inner_text("main")
        await no_session(desktop)
    await check(desktop, "portal-signed-out-everywhere-en-desktop")
