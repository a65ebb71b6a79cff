"""The department's dashboard and the printable report, in a real headless Chromium at phone
and desktop sizes: the page renders, its numbers equal the API's, the workbook it offers
downloads and holds the same numbers, and screenshots are written to .cache/screenshots/."""

from __future__ import annotations

import io
import random
from datetime import date
from typing import Any

import httpx
from openpyxl import load_workbook

from contracts import words
from services.insights.figures_page import Heading, render
from services.insights.workbook import TOTAL
from tests.browser.conftest import OpenPage, shoot
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit

UNIT = "56"  # Khánh Hòa, where the tests' commune (pre-2025 22735, Ninh Thuận) now is


async def _seeded(stack: Stack) -> tuple[str, dict[str, Any]]:
    """Eight more completions in a month (another run may have drawn the same month); the
    figures once they are all counted."""
    month = f"{random.randint(1995, 2019)}-{random.randint(1, 12):02d}"
    async with httpx.AsyncClient(timeout=30) as http:

        async def figures() -> dict[str, Any]:
            found: dict[str, Any] = (
                await http.get(
                    f"{stack.endpoints.insights}/v1/figures",
                    params={"period": month, "unit": UNIT},
                    headers=stack.admin,
                )
            ).json()
            return found

        def completions(found: dict[str, Any]) -> Any:
            return next(i for i in found["indicators"] if i["id"] == "completions")["total"]

        before = completions(await figures())
        centre = await new_provider(http, stack)
        for i in range(8):
            body = submission(
                national_id(),
                f"DASH-{month}-{i}-{random.random()}",
                completed_on=f"{month}-0{1 + i}",
                hours=12,
            )
            answer = await submit(http, stack, centre["api_key"], body)
            assert answer.status_code == 202, answer.text
        found = await eventually(figures, lambda f: completions(f) == before + 8)
    return month, found


def _shown(value: object, lang: words.Lang = "vi") -> str:
    return words.number(lang, value) if isinstance(value, int | float) else str(value)


async def test_the_dashboard_shows_the_apis_numbers_and_offers_the_workbook(
    stack: Stack, open_page: OpenPage
) -> None:
    month, found = await _seeded(stack)
    url = f"{stack.endpoints.insights}/v1/figures?period={month}&unit={UNIT}"
    for size in ("phone", "desktop"):
        page = await open_page(size, "vi")
        await page.set_extra_http_headers(stack.admin)
        answer = await page.goto(url)
        assert answer is not None and answer.status == 200
        assert answer.headers["content-type"].startswith("text/html")
        assert await page.get_attribute("html", "lang") == "vi"
        for indicator in found["indicators"]:
            card = page.locator(f'.card[data-indicator="{indicator["id"]}"] .total')
            assert await card.inner_text() == _shown(indicator["total"]), indicator["id"]
        communes = {
            c["key"]: c["value"]
            for c in next(i for i in found["indicators"] if i["id"] == "completions")["breakdowns"][
                "commune"
            ]
        }
        for key, value in communes.items():
            cell = page.locator(
                f'table[data-indicator="completions"] tr[data-dimension="commune"]'
                f'[data-key="{key}"] td.num'
            )
            assert (await cell.text_content() or "").strip() == _shown(value)
        assert await page.locator("figure.chart svg").count() >= 2
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= (390 if size == "phone" else 1366) + 1, "the page scrolls sideways"
        await shoot(page, f"figures-dashboard-{size}")
    assert await downloaded_totals(page) == {i["id"]: i["total"] for i in found["indicators"]}


async def test_the_printable_report_is_laid_out_as_an_administrative_report(
    stack: Stack, open_page: OpenPage
) -> None:
    month, found = await _seeded(stack)
    heading = Heading(
        "ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA",
        "SỞ GIÁO DỤC VÀ ĐÀO TẠO",
        "12/BC-SGDĐT",
        "Khánh Hòa",
        date(2026, 10, 5),
    )
    page = await open_page("desktop", "vi")
    await page.set_content(render(found, "vi", heading))
    text = await page.inner_text("body")
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Số: 12/BC-SGDĐT",
        "Khánh Hòa, ngày 05 tháng 10 năm 2026",
        "BÁO CÁO",
        f"kỳ {month}",
        "GIÁM ĐỐC",
    ):
        assert expected in text, expected
    # the stylesheet travels inside the file: the two heading columns sit side by side
    columns = await page.evaluate(
        "getComputedStyle(document.querySelector('.report-head')).gridTemplateColumns"
    )
    assert len(columns.split()) == 2
    await shoot(page, "figures-report-desktop")
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


async def downloaded_totals(page: Any) -> dict[str, Any]:
    """The workbook the page's download button gives: each indicator's total, by id."""
    async with page.expect_download() as download:
        await page.click("#download-xlsx")
    saved = await (await download.value).path()
    book = load_workbook(io.BytesIO(saved.read_bytes()))
    return {
        row[0]: row[5]
        for sheet in book.worksheets[1:]
        for row in sheet.iter_rows(min_row=3, values_only=True)
        if row[2] == TOTAL
    }
