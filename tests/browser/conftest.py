"""The browser test harness: Debian's Chromium (``/usr/bin/chromium``, installed by
``make setup``) driven by Playwright, with no browser download.

- ``browser``: one headless Chromium for the session, started with the flags this machine's
  closed network needs (no background networking, no component updates, no sync) and a fresh
  profile (Playwright makes a new ``--user-data-dir`` for each launch).
- ``open_page``: a new page at phone (390×844) or desktop size, in Vietnamese or English;
  every request it makes to anything but this machine is aborted and fails the test.
- ``shoot``: a full-page screenshot written under ``.cache/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".cache" / "screenshots"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
LOCALES = {"vi": "vi-VN", "en": "en-GB"}
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

OpenPage = Callable[..., Awaitable[Page]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make setup` installs Debian's chromium, zbar-tools and "
            "poppler-utils (as root: apt-get install -y --no-install-recommends chromium "
            "zbar-tools poppler-utils)"
        )
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield found
        await found.close()


@dataclass
class Outside:
    """Requests the page tried to send off this machine (all aborted)."""

    urls: list[str] = field(default_factory=list)

    async def guard(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in _LOCAL_HOSTS:
            await route.continue_()
            return
        self.urls.append(url)
        await route.abort("blockedbyclient")


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[OpenPage]:
    outside = Outside()
    contexts = []

    async def opened(size: str = "phone", lang: str = "vi") -> Page:
        context = await browser.new_context(
            viewport=SIZES[size],
            device_scale_factor=1,
            locale=LOCALES[lang],
            is_mobile=size == "phone",
            has_touch=size == "phone",
        )
        contexts.append(context)
        # a loaded 2-core machine, a stack that has just started: generous, still bounded
        context.set_default_timeout(90_000)
        context.set_default_navigation_timeout(90_000)
        await context.route("**/*", outside.guard)
        return await context.new_page()

    yield opened
    for context in contexts:
        await context.close()
    assert not outside.urls, f"requests left the machine: {outside.urls}"


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"


async def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot at ``.cache/screenshots/<name>.png``."""
    path = screenshot_path(name)
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


SERIOUS = ("serious", "critical")


async def accessibility_violations(page: Page) -> list[str]:
    """What axe-core (Deque's engine, installed from npm into .cache/axe by
    ``cli.localstack.install_axe``) finds on the page at WCAG 2.0/2.1/2.2 A and AA, serious or
    critical: ``rule: what (selectors)`` for each."""
    from cli.localstack import install_axe

    await page.add_script_tag(path=str(install_axe()))
    found = await page.evaluate(
        """async () => {
            const result = await axe.run(document, {
                runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                'wcag22aa', 'best-practice']},
                resultTypes: ['violations'],
            });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5),
            }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} {v['nodes']}"
        for v in found
        if v["impact"] in SERIOUS
    ]
