"""Every page a link leads to, in a real headless Chromium at phone and desktop sizes, in
Vietnamese and English, with no request leaving the machine: the printed trail page and the
QR code on it (decoded with zbarimg from a screenshot and from the printed PDF), the
verification page behind that code, the unsubscribe pages, the error pages, and the API docs.
Screenshots go to .cache/screenshots/."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Page

from cli import localstack
from cli.mailsink import plain_text, read_mail
from contracts.notifications import About, Channel
from contracts.vocabulary import GeneralEducationLevel, Pathway, RecordKind, ResultStatus
from services.common.pages import FOR_PEOPLE_KEY
from services.notify.signing import unsubscribe_token
from tests.browser.conftest import SCREENSHOTS, OpenPage, shoot
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_notify_matching import set_preferences
from tests.e2e.test_record_path import submit

ROOT = Path(__file__).resolve().parents[2]
# what Chromium sends when a person opens a link
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)
# every enumerated value a person may be shown; none may appear on a page as itself
CODES = {
    *(p.value for p in Pathway),
    *(k.value for k in RecordKind),
    *(g.value for g in GeneralEducationLevel),
    *(r.value for r in ResultStatus),
    *About.__args__,
    *Channel.__args__,
}


# a catalogue key shown as itself ("check.schema", "level.vqf.9"): a label nobody wrote
_CATALOGUE = ROOT / "contracts" / "locale" / "vi" / "LC_MESSAGES" / "words.po"
_PREFIXES = sorted(
    {
        line.split('"')[1].split(".")[0]
        for line in _CATALOGUE.read_text(encoding="utf-8").splitlines()
        if line.startswith('msgid "') and "." in line
    }
)
UNLABELLED = re.compile(rf"\b(?:{'|'.join(_PREFIXES)})\.[A-Za-z0-9_.]+")


def codes_shown(text: str, lang: str) -> list[str]:
    """Internal codes among the words of a page's visible text, and catalogue keys shown as
    themselves. In English, the codes that are also plain English words ('passed', 'course',
    'email') may be words; codes with an underscore never are."""
    found = set(re.findall(r"[A-Za-z_]+", text))
    suspects = CODES if lang == "vi" else {c for c in CODES if "_" in c}
    return sorted(found & suspects) + UNLABELLED.findall(text)


async def visible_text(page: Page) -> str:
    return await page.inner_text("body")


@pytest.fixture(scope="module")
async def learner(stack: Stack) -> dict[str, Any]:
    """A learner with a graded vocational certificate and an upper-secondary programme."""
    async with httpx.AsyncClient(timeout=30) as http:
        centre = await new_provider(http, stack)
        nid = national_id()
        graded = submission(
            nid,
            f"BR-{uuid.uuid4().hex[:8]}",
            result={"status": "passed", "grade": "8.5", "grade_scale": "0-10"},
        )
        school = submission(
            nid,
            f"BR-{uuid.uuid4().hex[:8]}",
            pathway="continuing",
            kind="programme",
            title="Chương trình GDTX cấp THPT",
            vqf_level=None,
            general_education_level="upper_secondary",
            hours=1200,
            result={"status": "completed"},
            completed_on="2022-05-31",
        )
        learner_id = (await submit(http, stack, centre["api_key"], graded)).json()["learner_id"]
        answer = await submit(http, stack, centre["api_key"], school)
        assert answer.status_code in (201, 202), answer.text

        async def trail() -> dict[str, Any]:
            found = await http.get(
                f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail",
                headers=stack.learner_token(learner_id),
            )
            return found.json() if found.status_code == 200 else {}

        await eventually(trail, lambda t: t.get("entry_count") == 2)
    token = stack.learner_token(learner_id, ttl=3600)["Authorization"].removeprefix("Bearer ")
    return {"id": learner_id, "token": token}


async def trail_url(
    page: Page, stack: Stack, learner_id: str, token: str, lang: str | None = None
) -> str:
    """The printable trail's address; the page sends the learner's token in the header (a
    token in the URL is refused: it would end up in histories and logs)."""
    await page.set_extra_http_headers({"Authorization": f"Bearer {token}"})
    url = f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail?format=html"
    return url + (f"&lang={lang}" if lang else "")


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_the_trail_page_reads_as_a_person_expects(
    stack: Stack, learner: dict[str, Any], open_page: OpenPage, lang: str, size: str
) -> None:
    page = await open_page(size, lang)
    response = await page.goto(await trail_url(page, stack, learner["id"], learner["token"], lang))
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert await page.get_attribute("html", "lang") == lang
    await shoot(page, f"trail-{lang}-{size}")
    text = await visible_text(page)
    assert codes_shown(text, lang) == []
    if lang == "vi":
        assert "Đạt · 8,5/10" in text
        assert "Trung học phổ thông" in text and "Bậc 1 — Sơ cấp I" in text
        assert "Sở Giáo dục và Đào tạo" in text and "Learning Trail" not in text
        assert "Tín chỉ" not in text  # no record has credits: no "0 Tín chỉ"
    else:
        assert "Passed · 8.5/10" in text and "Upper secondary education" in text
    assert "UTC" not in text and "/v1/" not in text.replace(stack.endpoints.credential, "")
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", text)  # Vietnam time, dd/mm/yyyy
    # the page is as wide as the screen: nothing to scroll sideways on a phone
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


def zbar(image: Path) -> list[str]:
    found = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True, check=False
    )
    return [line for line in found.stdout.splitlines() if line]


async def test_the_qr_code_scans_on_a_phone_and_on_paper(
    stack: Stack, learner: dict[str, Any], open_page: OpenPage
) -> None:
    assert shutil.which("zbarimg") and shutil.which("pdftoppm"), "make setup installs them"
    async with httpx.AsyncClient(timeout=60) as http:
        issued = await http.post(
            f"{stack.endpoints.credential}/v1/learners/{learner['id']}/credentials",
            headers={"Authorization": f"Bearer {learner['token']}"},
        )
    assert issued.status_code == 201, issued.text
    credential_id = issued.headers["Location"].rsplit("/", 1)[-1]
    verify_url = f"{stack.endpoints.credential}/v1/credentials/{credential_id}/verification"

    page = await open_page("phone", "vi")
    await page.goto(await trail_url(page, stack, learner["id"], learner["token"]))
    svg = page.locator(".qr svg")
    assert await svg.get_attribute("viewBox")
    box = await svg.bounding_box()
    assert box is not None and box["width"] >= 150  # scaled as a whole, not cut off
    shot = await shoot(page, "trail-qr-vi-phone")
    assert zbar(shot) == [verify_url]

    pdf = SCREENSHOTS / "trail-print-vi.pdf"
    await page.emulate_media(media="print")
    await page.pdf(path=str(pdf), format="A4", print_background=True)
    prefix = SCREENSHOTS / "trail-print-vi"
    for old in SCREENSHOTS.glob("trail-print-vi-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-r", "200", "-png", str(pdf), str(prefix)], check=True)
    pages = sorted(SCREENSHOTS.glob("trail-print-vi-*.png"))
    assert len(pages) == 1, f"the trail of two entries prints on one A4 page, not {len(pages)}"
    assert zbar(pages[0]) == [verify_url]

    # the code leads to a page that says, in the person's language, whether it is genuine
    verification = await open_page("phone", "vi")
    answer = await verification.goto(verify_url)
    assert answer is not None and answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    await shoot(verification, "verification-vi-phone")
    text = await visible_text(verification)
    assert "Chứng nhận hợp lệ" in text and "Chữ ký số: đạt" in text
    assert codes_shown(text, "vi") == []
    # a program reading the same link still gets JSON
    async with httpx.AsyncClient(timeout=60) as http:
        report = await http.get(verify_url)
    assert report.json()["status"] == "valid"


async def test_before_the_first_record_the_learner_sees_an_empty_trail(
    stack: Stack, open_page: OpenPage
) -> None:
    newcomer = str(uuid.uuid4())
    token = stack.learner_token(newcomer)["Authorization"].removeprefix("Bearer ")
    page = await open_page("phone", "vi")
    response = await page.goto(await trail_url(page, stack, newcomer, token))
    assert response is not None and response.status == 200
    await shoot(page, "trail-empty-vi-phone")
    assert "Chưa có nội dung học tập nào" in await visible_text(page)


async def test_unsubscribing_in_a_phone_browser(
    stack: Stack, learner: dict[str, Any], open_page: OpenPage
) -> None:
    secret = stack.secrets["LT_TOKEN_SECRET"]
    token = unsubscribe_token(secret, learner["id"], "email")
    link = f"{stack.endpoints.notify}/v1/unsubscribe?token={token}"
    page = await open_page("phone", "vi")
    await page.goto(link)
    await shoot(page, "unsubscribe-confirm-vi-phone")
    text = await visible_text(page)
    assert "Hủy đăng ký?" in text and "thư điện tử" in text and codes_shown(text, "vi") == []
    async with page.expect_navigation():
        await page.click("button")
    await page.wait_for_selector("text=Đã hủy đăng ký")
    await shoot(page, "unsubscribe-done-vi-phone")

    for lang, title in (
        ("vi", "Đường dẫn hủy đăng ký không hợp lệ"),
        ("en", "Invalid unsubscribe"),
    ):
        broken = await open_page("phone", lang)
        answer = await broken.goto(link[:-6])  # cut off, as a mail client wraps a long link
        assert answer is not None and answer.status == 400
        assert answer.headers["content-type"].startswith("text/html")
        await shoot(broken, f"unsubscribe-broken-{lang}-phone")
        assert title in await visible_text(broken)
        assert await broken.get_attribute("html", "lang") == lang


async def _people_routes(stack: Stack) -> list[tuple[str, str, str]]:
    found = []
    async with httpx.AsyncClient(timeout=30) as http:
        for service in ("learner", "credential", "notify", "insights"):
            base = getattr(stack.endpoints, service)
            spec = (await http.get(f"{base}/openapi.json")).json()
            for path, operations in spec["paths"].items():
                for method, operation in operations.items():
                    if operation.get(FOR_PEOPLE_KEY):
                        found.append((method.upper(), base, path))
    return found


async def test_no_route_a_link_leads_to_answers_a_browser_with_json(
    stack: Stack, learner: dict[str, Any], open_page: OpenPage
) -> None:
    """Each route marked for people, reached the ways a link goes wrong — no token, a damaged
    one, someone else's, an id that does not exist — answers a browser with a page, never
    JSON; and a program with problem+json."""
    routes = await _people_routes(stack)
    assert {(m, p) for m, _, p in routes} >= {
        ("GET", "/v1/learners/{learner_id}/trail"),
        ("GET", "/v1/credentials/{credential_id}/verification"),
        ("GET", "/v1/unsubscribe"),
        ("POST", "/v1/unsubscribe"),
    }
    other = stack.learner_token(str(uuid.uuid4()))["Authorization"].removeprefix("Bearer ")
    queries = ["", "?token=short", "?token=" + "A" * 40, f"?access_token={other}"]
    queries.append(f"?access_token={learner['token'][:-3]}xyz")
    page = await open_page("phone", "vi")
    checked = 0
    async with httpx.AsyncClient(timeout=30) as http:
        for method, base, path in routes:
            concrete = re.sub(r"\{[^}]+\}", learner["id"], path)
            if "{credential_id}" in path:
                concrete = re.sub(r"\{[^}]+\}", f"urn:uuid:{uuid.uuid4()}", path)
            for query in queries:
                url = f"{base}{concrete}{query}"
                if method == "GET":
                    answer = await page.goto(url)
                    assert answer is not None
                    status, kind = answer.status, answer.headers["content-type"]
                    lang = await page.get_attribute("html", "lang")
                    shown = codes_shown(await visible_text(page), "vi")
                    assert shown == [], f"{url} shows {shown}"
                else:
                    sent = await http.request(method, url, headers={"Accept": BROWSER_ACCEPT})
                    status, kind = sent.status_code, sent.headers["content-type"]
                    lang = "vi" if 'lang="vi"' in sent.text else None
                assert kind.startswith("text/html"), f"{method} {url} answered {status} {kind}"
                assert lang == "vi", f"{method} {url}"
                if status >= 400:
                    program = await http.request(method, url)
                    assert program.headers["content-type"].startswith("application/problem+json")
                checked += 1
    await page.goto(
        f"{stack.endpoints.credential}/v1/credentials/urn:uuid:{uuid.uuid4()}/verification"
    )
    await shoot(page, "error-credential-vi-phone")
    assert checked >= 4 * len(queries)


@pytest.mark.parametrize("service", ["learner", "credential", "notify"])
async def test_the_api_docs_work_with_no_internet(
    stack: Stack, open_page: OpenPage, service: str
) -> None:
    base = getattr(stack.endpoints, service)
    page = await open_page("desktop", "en")
    await page.goto(f"{base}/docs")
    await page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    await shoot(page, f"docs-{service}-desktop")
    phone = await open_page("phone", "vi")
    await phone.goto(f"{base}/docs")
    await phone.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    await shoot(phone, f"docs-{service}-phone")


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_imported_prior_learning_reads_on_the_trail_page(
    stack: Stack, open_page: OpenPage, lang: str
) -> None:
    """A CLR of another school, imported by the department: the page says where each entry
    came from and what it earned, in the reader's language, with no internal code shown."""
    from services.credential.vc.keys import did_document
    from tests.e2e.test_recognition_import import School

    school = School(f"truong-{uuid.uuid4().hex[:6]}.example")
    async with httpx.AsyncClient(timeout=30) as http:
        centre = await new_provider(http, stack)
        body = submission(national_id(), f"BR-{uuid.uuid4().hex[:8]}")
        learner_id = (await submit(http, stack, centre["api_key"], body)).json()["learner_id"]
        credential = stack.endpoints.credential
        trusted = await http.put(
            f"{credential}/v1/admin/trusted-issuers",
            json={"name": "Trường Cao đẳng B", "did_document": did_document(school.ring)},
            headers=stack.admin,
        )
        assert trusted.status_code == 200, trusted.text

        async def imported() -> int:
            answer = await http.post(
                f"{credential}/v1/recognitions:import",
                json={
                    "learner_id": learner_id,
                    "pathway": "vocational",
                    "credential": school.clr(),
                    "status_lists": [school.status_list()],
                },
                headers=stack.admin,
            )
            return answer.status_code  # 404 until the learner reached the credential service

        await eventually(imported, lambda status: status == 202)

        async def trail() -> dict[str, Any]:
            found = await http.get(
                f"{credential}/v1/learners/{learner_id}/trail", headers=stack.admin
            )
            return found.json() if found.status_code == 200 else {}

        await eventually(trail, lambda t: len(t.get("recognitions", [])) == 2)
    token = stack.learner_token(learner_id, ttl=3600)["Authorization"].removeprefix("Bearer ")
    page = await open_page("phone", lang)
    response = await page.goto(await trail_url(page, stack, learner_id, token, lang))
    assert response is not None and response.status == 200
    await shoot(page, f"trail-imported-{lang}")
    text = await visible_text(page)
    assert codes_shown(text, lang) == []
    assert "Trường Cao đẳng B" in text and "Lập trình web cơ bản" in text
    if lang == "vi":
        assert "Từ hồ sơ (CLR) của" in text
        assert "Thiết kế web" in text and "Bậc 3 — Sơ cấp III" in text
    else:
        assert "Imported from CLR of" in text
        assert "Level 3 — Elementary III" in text


async def test_credential_badges_render_offline(open_page: OpenPage) -> None:
    """The badges a credential carries are self-contained SVG: they draw with nothing fetched
    (the page fixture fails on any request leaving the machine)."""
    from services.credential import badges

    page = await open_page("desktop", "vi")
    for name, uri in (
        ("issuer", badges.issuer_badge("Sở Giáo dục và Đào tạo tỉnh Khánh Hòa")),
        ("centre", badges.centre_badge("Trung tâm GDNN-GDTX Ninh Phước")),
        ("achievement", badges.achievement_badge("Trung cấp Điện", "vocational", "Bậc 4")),
    ):
        await page.set_content(f'<img id="b" src="{uri}" width="128" height="128">')
        drawn = await page.evaluate(
            "() => { const i = document.getElementById('b'); "
            "return i.complete && i.naturalWidth > 0 }"
        )
        assert drawn, name
        path = await shoot(page, f"badge-{name}")
        assert path.stat().st_size > 1000


URL = re.compile(r"https?://[^\s<>\"')]+")


async def _mail_to(address: str, subject_has: str) -> list[Any]:
    """The messages the stack sent to ``address`` whose subject holds ``subject_has``."""

    async def found() -> list[Any]:
        return [
            m
            for _, m in read_mail(localstack.mail_folder())
            if m["To"] == address and subject_has in str(m["Subject"])
        ]

    return await eventually(found, bool, within=90)


async def test_every_link_a_learner_is_sent_leads_to_a_page_for_people(
    stack: Stack, open_page: OpenPage
) -> None:
    """From what a learner really receives — the email about a credential (its links and its
    List-Unsubscribe header) and the trail page (its links, its forms) — every link to the
    services, and every link on the pages they lead to, answers a browser with a page in
    Vietnamese whose words are labels, never codes; and every such route is marked for people
    (so the test of their errors above reaches it too)."""
    address = f"hv-{uuid.uuid4().hex[:8]}@example.vn"
    async with httpx.AsyncClient(timeout=60) as http:
        centre = await new_provider(http, stack)
        body = submission(national_id(), f"BR-{uuid.uuid4().hex[:8]}")
        body["learner"]["email"] = address
        learner_id = (await submit(http, stack, centre["api_key"], body)).json()["learner_id"]
        headers = stack.learner_token(learner_id, ttl=3600)
        # by default no mail goes out from 21:00 to 07:00 in Vietnam; this test reads the mail now
        await set_preferences(http, stack, learner_id, quiet_hours=None)

        async def entries() -> int:
            found = await http.get(
                f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail", headers=headers
            )
            return int(found.json().get("entry_count", 0)) if found.status_code == 200 else 0

        # the learner may reach the trail before the record does: wait for the record
        await eventually(entries, lambda count: count == 1)
        issued = await http.post(
            f"{stack.endpoints.credential}/v1/learners/{learner_id}/credentials", headers=headers
        )
        assert issued.status_code == 201, issued.text
    (message,) = await _mail_to(address, "chứng nhận số")
    text = plain_text(message)
    assert codes_shown(text, "vi") == [], text
    assert not re.search(r"\d{4}-\d\d-\d\d|UTC", text)  # dates as people write them
    assert str(message["Date"]).endswith("+0700")  # sent at a time in Vietnam
    links = set(URL.findall(text)) | set(URL.findall(str(message["List-Unsubscribe"])))

    services = {urlsplit(getattr(stack.endpoints, s)).netloc for s in SERVICES}
    marked = {(m, p) for m, _, p in await _people_routes(stack)}
    page = await open_page("phone", "vi")
    trail_page = await trail_url(page, stack, learner_id, headers["Authorization"][7:])
    to_visit = [("GET", link) for link in sorted(links)] + [("GET", trail_page)]
    visited: set[tuple[str, str]] = set()
    routes: set[tuple[str, str]] = set()
    async with httpx.AsyncClient(timeout=60) as http:
        while to_visit:
            method, url = to_visit.pop(0)
            parts = urlsplit(url)
            if parts.netloc not in services or parts.path.startswith("/assets/"):
                continue
            if (method, url) in visited or len(visited) > 40:
                continue
            visited.add((method, url))
            routes.add((method, _route_of(parts.path)))
            if method == "POST":  # a form's button: checked as the browser sends it
                sent = await http.post(url, headers={"Accept": BROWSER_ACCEPT})
                assert sent.headers["content-type"].startswith("text/html"), url
                continue
            answer = await page.goto(url)
            assert answer is not None
            kind = answer.headers["content-type"]
            assert kind.startswith("text/html"), f"{url} answered a browser with {kind}"
            lang = parse_qs(parts.query).get("lang", ["vi"])[0]  # the link to the other one
            assert await page.get_attribute("html", "lang") == lang, url
            shown = codes_shown(await visible_text(page), lang)
            assert shown == [], f"{url} shows {shown}"
            for href in await page.eval_on_selector_all("a[href]", "all => all.map(a => a.href)"):
                to_visit.append(("GET", href))
            forms = await page.eval_on_selector_all(
                "form", "all => all.map(f => [f.method.toUpperCase(), f.action])"
            )
            to_visit.extend((m, action) for m, action in forms)
    await shoot(page, "last-linked-page-vi-phone")
    expected = {
        ("GET", "/v1/credentials/{credential_id}/verification"),
        ("GET", "/v1/unsubscribe"),
        ("POST", "/v1/unsubscribe"),
        ("GET", "/v1/learners/{learner_id}/trail"),
    }
    assert routes >= expected, routes
    assert routes <= marked, f"linked but not marked for people: {routes - marked}"


SERVICES = ("learner", "credential", "notify")


def _route_of(path: str) -> str:
    """The route template of a concrete path of the services' people routes."""
    for pattern, route in (
        (r"^/v1/credentials/[^/]+/verification$", "/v1/credentials/{credential_id}/verification"),
        (r"^/v1/credentials/[^/]+$", "/v1/credentials/{credential_id}"),
        (r"^/v1/learners/[^/]+/trail$", "/v1/learners/{learner_id}/trail"),
    ):
        if re.match(pattern, path):
            return route
    return path


@pytest.fixture(scope="module")
async def linked_pages(stack: Stack, learner: dict[str, Any]) -> dict[str, str]:
    """The pages a learner's links lead to, by name: the verification page behind a QR code,
    the unsubscribe page, and the pages of a damaged link and of a credential that does not
    exist."""
    async with httpx.AsyncClient(timeout=60) as http:
        issued = await http.post(
            f"{stack.endpoints.credential}/v1/learners/{learner['id']}/credentials",
            headers={"Authorization": f"Bearer {learner['token']}"},
        )
    assert issued.status_code == 201, issued.text
    credential_id = issued.headers["Location"].rsplit("/", 1)[-1]
    token = unsubscribe_token(stack.secrets["LT_TOKEN_SECRET"], learner["id"], "sms")
    unsubscribe = f"{stack.endpoints.notify}/v1/unsubscribe?token={token}"
    credentials = f"{stack.endpoints.credential}/v1/credentials"
    return {
        "verification": f"{credentials}/{credential_id}/verification",
        "unsubscribe": unsubscribe,
        "unsubscribe-damaged": unsubscribe[:-6],
        "verification-unknown": f"{credentials}/urn:uuid:{uuid.uuid4()}/verification",
    }


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_each_linked_page_at_both_sizes_in_both_languages(
    linked_pages: dict[str, str], open_page: OpenPage, lang: str, size: str
) -> None:
    """Each page a link leads to — success and error — in the language asked, at phone and
    desktop size: a page (never JSON), its words labels, nothing to scroll sideways."""
    for name, url in linked_pages.items():
        page = await open_page(size, lang)
        answer = await page.goto(f"{url}{'&' if '?' in url else '?'}lang={lang}")
        assert answer is not None
        assert answer.headers["content-type"].startswith("text/html"), name
        assert await page.get_attribute("html", "lang") == lang, name
        await shoot(page, f"{name}-{lang}-{size}")
        shown = codes_shown(await visible_text(page), lang)
        assert shown == [], f"{name} shows {shown}"
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} is wider than the {size} screen"
