"""An officer opens the figures in a real headless Chromium from a plain link: signs in with the
credential the department issued, chooses a period and a unit, sees the API's numbers, downloads
the workbook, cannot open another commune, signs out — with no serious accessibility violation
(axe-core) and screenshots written to .cache/screenshots/."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import Page

from services.insights.units import catalogue
from tests.browser.conftest import OpenPage
from tests.browser.test_figures_page import UNIT, _seeded, _shown, downloaded_totals
from tests.browser.test_portal import check, cookie, press
from tests.conftest import Stack

COMMUNE = catalogue().commune("22735") or ""  # where the seeded learners live (Khánh Hòa)


async def issued_officer(stack: Stack, unit: str) -> dict[str, Any]:
    """An officer credential as the department issues it: its token and its id."""
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{stack.endpoints.insights}/v1/admin/officers",
            json={"unit_code": unit, "days": 1},
            headers=stack.admin,
        )
        assert answer.status_code == 201, answer.text
        issued: dict[str, Any] = answer.json()
        return issued


async def officer_credential(stack: Stack, unit: str) -> str:
    token: str = (await issued_officer(stack, unit))["token"]
    return token


async def api_figures(stack: Stack, period: str, unit: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=120) as http:
        answer = await http.get(
            f"{stack.endpoints.insights}/v1/figures",
            params={"period": period, "unit": unit},
            headers=stack.admin,
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


async def sign_in(page: Page, stack: Stack, credential: str) -> None:
    """From a plain link to the dashboard, through the sign-in page, back to the dashboard."""
    await page.goto(f"{stack.endpoints.insights}/figures")
    assert page.url == f"{stack.endpoints.insights}/figures/sign-in"
    await page.fill('input[name="credential"]', credential)
    await press(page, "#sign-in")
    assert page.url.startswith(f"{stack.endpoints.insights}/figures"), page.url
    assert "sign-in" not in page.url


async def shows(page: Page, found: dict[str, Any]) -> None:
    """The page's cards and the commune table of completions equal the API's figures, as
    numbers are written in the page's language."""
    lang = "en" if await page.get_attribute("html", "lang") == "en" else "vi"
    for indicator in found["indicators"]:
        card = page.locator(f'.card[data-indicator="{indicator["id"]}"] .total')
        assert await card.inner_text() == _shown(indicator["total"], lang), indicator["id"]
    completions = next(i for i in found["indicators"] if i["id"] == "completions")
    for cell in completions["breakdowns"]["commune"]:
        shown = page.locator(
            f'table[data-indicator="completions"] tr[data-dimension="commune"]'
            f'[data-key="{cell["key"]}"] td.num'
        )
        assert (await shown.text_content() or "").strip() == _shown(cell["value"], lang)


async def test_an_officer_signs_in_from_a_link_sees_their_commune_and_signs_out(
    stack: Stack, open_page: OpenPage
) -> None:
    month, _ = await _seeded(stack)
    other = next(c for c in catalogue().communes_in(UNIT) if c != COMMUNE)
    credential = await officer_credential(stack, COMMUNE)
    page = await open_page("phone", "vi")
    await page.goto(f"{stack.endpoints.insights}/figures/sign-in")
    await check(page, "officer-sign-in-vi-phone")

    # a wrong credential: the sign-in page again, saying so, and no session
    await page.fill('input[name="credential"]', credential[:-4] + "AAAA")
    await press(page, "#sign-in")
    assert await page.locator("#sign-in-failed").count() == 1
    assert not [c for c in await page.context.cookies() if c["name"] == "lt_officer"]

    await sign_in(page, stack, credential)
    session = await cookie(page.context, "lt_officer")
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/"
    assert credential not in await page.content()

    # choose the period and the unit in the page's form
    await page.fill('input[name="period"]', month)
    await page.fill('input[name="unit"]', COMMUNE)
    await press(page, ".figures-form button")
    assert f"period={month}" in page.url and f"unit={COMMUNE}" in page.url
    found = await api_figures(stack, month, COMMUNE)
    assert next(i for i in found["indicators"] if i["id"] == "completions")["total"] != 0
    await shows(page, found)
    await check(page, "officer-dashboard-vi-phone")

    assert await downloaded_totals(page) == {i["id"]: i["total"] for i in found["indicators"]}

    # another commune, or the province holding it: refused, as a page
    for unit in (other, UNIT):
        answer = await page.goto(f"{stack.endpoints.insights}/figures?period={month}&unit={unit}")
        assert answer is not None and answer.status == 403, unit
        assert answer.headers["content-type"].startswith("text/html")
        assert await page.locator(".card").count() == 0

    # sign out: the session ends on the server, its token is refused on the API too
    token = session["value"]
    await page.goto(f"{stack.endpoints.insights}/figures?period={month}")
    await press(page, "#sign-out")
    assert page.url == f"{stack.endpoints.insights}/figures/sign-in"
    assert not [c for c in await page.context.cookies() if c["name"] == "lt_officer"]
    await page.goto(f"{stack.endpoints.insights}/figures")
    assert page.url == f"{stack.endpoints.insights}/figures/sign-in"
    async with httpx.AsyncClient(timeout=60) as http:
        answer = await http.get(
            f"{stack.endpoints.insights}/v1/figures",
            params={"period": month},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 401, answer.text
    # and the cookie, sent again by hand, opens nothing
    async with httpx.AsyncClient(timeout=60, cookies={"lt_officer": token}) as http:
        again = await http.get(f"{stack.endpoints.insights}/figures", params={"period": month})
        assert again.status_code == 303
        assert again.headers["location"] == "/figures/sign-in"


async def test_the_department_signs_in_for_its_province_in_english_on_a_laptop(
    stack: Stack, open_page: OpenPage
) -> None:
    month, found = await _seeded(stack)
    page = await open_page("desktop", "en")
    await sign_in(page, stack, await officer_credential(stack, UNIT))
    await page.goto(f"{stack.endpoints.insights}/figures?period={month}&lang=en")
    assert await page.get_attribute("html", "lang") == "en"
    assert found["unit"]["code"] == UNIT
    # the province's figures: equal to the API's asked the same question
    await shows(page, await api_figures(stack, month, UNIT))
    await check(page, "officer-dashboard-en-desktop")


async def test_sign_in_forms_from_elsewhere_and_the_admin_credential_are_refused(
    stack: Stack,
) -> None:
    base = stack.endpoints.insights
    credential = await officer_credential(stack, COMMUNE)
    async with httpx.AsyncClient(timeout=30) as http:
        elsewhere = await http.post(
            f"{base}/figures/sign-in",
            data={"credential": credential},
            headers={"Origin": "https://attacker.example"},
        )
        assert elsewhere.status_code == 403
        assert elsewhere.headers["content-type"].startswith("application/problem+json")
        assert "set-cookie" not in elsewhere.headers
        admin = await http.post(
            f"{base}/figures/sign-in",
            data={"credential": stack.admin["Authorization"].removeprefix("Bearer ")},
            headers={"Origin": base},
        )
        assert admin.status_code == 403 and "set-cookie" not in admin.headers
        signed = await http.post(
            f"{base}/figures/sign-in", data={"credential": credential}, headers={"Origin": base}
        )
        assert signed.status_code == 303 and "lt_officer" in http.cookies  # the client keeps it
        # sign-out without the session's form token, or from another origin: refused
        for headers, data in (
            ({"Origin": base}, {"csrf": "forged"}),
            ({"Origin": "https://attacker.example"}, {}),
        ):
            refused = await http.post(f"{base}/figures/sign-out", data=data, headers=headers)
            assert refused.status_code == 403, refused.text
        still = await http.get(f"{base}/figures")
        assert still.status_code == 200


async def test_a_revoked_credential_ends_the_officers_session_and_signs_in_no_more(
    stack: Stack, open_page: OpenPage
) -> None:
    """The department revokes the credential an officer signed in with: the next page sends
    the browser to sign in, and signing in again with it is refused, saying why."""
    base = stack.endpoints.insights
    issued = await issued_officer(stack, COMMUNE)
    page = await open_page("phone", "vi")
    await sign_in(page, stack, issued["token"])
    ended = (await cookie(page.context, "lt_officer"))["value"]
    async with httpx.AsyncClient(timeout=30) as http:
        revoked = await http.post(
            f"{base}/v1/admin/officers/{issued['id']}/revocation",
            json={"reason": "Cán bộ chuyển công tác"},
            headers=stack.admin,
        )
        assert revoked.status_code == 200, revoked.text
    await page.goto(f"{base}/figures")
    assert page.url == f"{base}/figures/sign-in"
    await page.fill('input[name="credential"]', issued["token"])
    await press(page, "#sign-in")
    assert page.url == f"{base}/figures/sign-in"
    failed = await page.locator("#sign-in-failed").inner_text()
    assert "thu hồi" in failed and "cấp mã mới" in failed
    # no new session: the browser holds at most the cookie of the one that ended
    assert [c["value"] for c in await page.context.cookies() if c["name"] == "lt_officer"] in (
        [],
        [ended],
    )
    await check(page, "officer-sign-in-withdrawn-vi-phone")
