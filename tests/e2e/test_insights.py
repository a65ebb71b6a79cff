"""The insights service on the running stack: records posted through the learner service —
one corrected, one revoked, two learners merged after their records — reach the figures;
officers see only their unit; the workbook holds the API's numbers; a rebuild from the log
equals the live projection."""

from __future__ import annotations

import asyncio
import io
import json
import random
import subprocess
from typing import Any

import httpx
from openpyxl import load_workbook

from contracts.dates import today_in_vietnam
from services.insights.rebuild import rebuild
from services.insights.units import catalogue
from services.insights.workbook import TOTAL
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit


def _total(found: dict[str, Any], indicator: str) -> Any:
    return next(i["total"] for i in found["indicators"] if i["id"] == indicator)


def _place() -> tuple[str, str, str]:
    """A pre-2025 commune of Ninh Thuận, its successor (in Khánh Hòa), and a month no other
    test run is likely to have used."""
    units = catalogue()
    old = random.choice(
        sorted(
            c
            for c, new in units.successors.items()
            if c.startswith("22") and units.province_of(new) == "56" and c != new
        )
    )
    month = f"{random.randint(1995, 2019)}-{random.randint(1, 12):02d}"
    return old, units.successors[old], month


async def _figures(
    http: httpx.AsyncClient, stack: Stack, period: str, unit: str | None, headers: dict[str, str]
) -> httpx.Response:
    params = {"period": period, **({"unit": unit} if unit else {})}
    return await http.get(f"{stack.endpoints.insights}/v1/figures", params=params, headers=headers)


async def _quiet_place(http: httpx.AsyncClient, stack: Stack) -> tuple[str, str, str]:
    """:func:`_place`, in a month the province has no learning in yet: the stack may hold
    other runs' records (the benchmark's are spread over the same years), and this test
    counts the province's month exactly."""
    for _ in range(30):
        old, commune, month = _place()
        found = (await _figures(http, stack, month, "56", stack.admin)).json()
        if _total(found, "learners_with_learning") == 0:
            return old, commune, month
    raise AssertionError("no month of 1995-2019 without learning in the province")


async def test_figures_follow_the_log_by_unit_with_officers_scoped(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    old, commune, month = await _quiet_place(http, stack)
    day = f"{month}-15"
    centre = await new_provider(http, stack)
    learners = []
    for i in range(7):
        answer = await submit(
            http,
            stack,
            centre["api_key"],
            submission(
                national_id(),
                f"INS-{month}-{i}-{random.random()}",
                commune=old,
                completed_on=day,
                hours=10,
            ),
        )
        assert answer.status_code == 202, answer.text
        learners.append(answer.json())
    records = [a["record_id"] for a in learners]
    corrected = await http.post(
        f"{stack.endpoints.learner}/v1/records/{records[0]}/corrections",
        json={
            "reason": "sai số giờ",
            "record": {**submission("0", "x", completed_on=day, hours=40)["record"]},
        },
        headers={"X-API-Key": centre["api_key"]},
    )
    assert corrected.status_code == 202, corrected.text
    revoked = await http.post(
        f"{stack.endpoints.learner}/v1/records/{records[1]}/revocation",
        json={"reason": "cấp nhầm"},
        headers={"X-API-Key": centre["api_key"]},
    )
    assert revoked.status_code == 202, revoked.text
    merged = await http.post(
        f"{stack.endpoints.learner}/v1/admin/learners/{learners[2]['learner_id']}/merge",
        json={"merged_into": learners[3]["learner_id"], "reason": "Cùng một người"},
        headers=stack.admin,
    )
    assert merged.status_code == 202, merged.text

    async def province() -> dict[str, Any]:
        found: dict[str, Any] = (await _figures(http, stack, month, "56", stack.admin)).json()
        return found

    # 7 learners, one record revoked, two merged into one: 5 people; hours 40 + 5 × 10
    # (each figures request reads and counts every stored fact: late in a full run, with the
    # whole suite's data stored, one takes seconds)
    found = await eventually(
        province,
        lambda f: _total(f, "hours") == 90 and _total(f, "learners_with_learning") == 5,
        within=150,
    )
    assert _total(found, "completions") == 6
    assert _total(found, "vocational_certificates") == 6
    by_commune = {
        c["key"]: c["value"]
        for c in next(i for i in found["indicators"] if i["id"] == "learners_with_learning")[
            "breakdowns"
        ]["commune"]
    }
    assert by_commune == {commune: 5}

    # the old code and the new one name the same commune
    as_old = (await _figures(http, stack, month, old, stack.admin)).json()
    assert as_old["unit"]["code"] == commune and _total(as_old, "learners_with_learning") == 5

    # officers: their own commune only
    issued = await http.post(
        f"{stack.endpoints.insights}/v1/admin/officers",
        json={"unit_code": commune, "days": 1},
        headers=stack.admin,
    )
    assert issued.status_code == 201, issued.text
    officer = {"Authorization": f"Bearer {issued.json()['token']}"}
    own = await _figures(http, stack, month, None, officer)
    assert own.status_code == 200 and own.json()["unit"]["code"] == commune
    assert _total(own.json(), "learners_with_learning") == 5
    another = next(c for c in catalogue().communes_in("56") if c != commune)
    for unit in (another, "56", "01"):
        refused = await _figures(http, stack, month, unit, officer)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    learner = await _figures(
        http, stack, month, commune, stack.learner_token(learners[0]["learner_id"])
    )
    assert learner.status_code == 403
    assert (await _figures(http, stack, "2026-Q9", "56", stack.admin)).status_code == 422
    assert (await _figures(http, stack, month, "99999", stack.admin)).status_code == 404

    # the workbook holds the API's numbers, as numbers
    book_answer = await http.get(
        f"{stack.endpoints.insights}/v1/figures",
        params={"period": month, "unit": "56", "format": "xlsx"},
        headers=stack.admin,
    )
    assert book_answer.status_code == 200
    book = load_workbook(io.BytesIO(book_answer.content))
    totals = {
        row[0]: row[5]
        for sheet in book.worksheets[1:]
        for row in sheet.iter_rows(min_row=3, values_only=True)
        if row[2] == TOTAL
    }
    api = (await _figures(http, stack, month, "56", stack.admin)).json()
    assert totals == {i["id"]: i["total"] for i in api["indicators"]}
    assert isinstance(totals["hours"], int | float) and totals["hours"] == 90
    # and so does the PDF of the printable report
    pdf_answer = await http.get(
        f"{stack.endpoints.insights}/v1/figures",
        params={"period": month, "unit": "56", "format": "pdf"},
        headers=stack.admin,
    )
    assert pdf_answer.status_code == 200
    assert pdf_answer.headers["content-type"] == "application/pdf"
    assert pdf_answer.content.startswith(b"%PDF")

    # a replay of the log gives the same facts and figures as the live projection
    # (once the live consumer has caught up with the log; events the other services are still
    # emitting about this test's records may land between the two, so up to three tries)
    from services.insights.bootstrap import TOPICS
    from tests.e2e.test_event_fuzz import _committed_past, _ends

    for _ in range(3):
        ends = await _ends(stack.kafka, set(TOPICS))
        await eventually(lambda e=ends: _committed_past(stack.kafka, "insights", e), bool)  # type: ignore[misc]
        report = await rebuild(
            stack.kafka, stack.mongodb_uri, "lt_insights", "lt_insights_rebuild_test", (month,)
        )
        if not report.differences:
            break
    assert report.events > 0 and report.differences == [], report.differences[:5]


async def test_the_periodic_reports_are_produced_stored_and_announced(
    stack: Stack, http: httpx.AsyncClient
) -> None:

    from contracts import insights
    from services.insights.schedule import latest_due
    from tests.conftest import read_topic

    due = latest_due(today_in_vietnam())

    async def stored() -> list[str]:
        answer = await http.get(f"{stack.endpoints.insights}/v1/reports", headers=stack.admin)
        return [r["period"] for r in answer.json()] if answer.status_code == 200 else []

    await eventually(stored, lambda periods: set(due) <= set(periods))

    async def reports() -> dict[str, dict[str, Any]]:
        found = {}
        for period in due:
            answer = await http.get(
                f"{stack.endpoints.insights}/v1/reports/{period}", headers=stack.admin
            )
            assert answer.status_code == 200, answer.text
            found[period] = answer.json()
        return found

    held = await eventually(reports, lambda found: all(r["event_id"] for r in found.values()))
    for period, report in held.items():
        assert report["figures"]["period"] == period
        assert report["figures"]["unit"] is None  # the department's whole figures
    missing = await http.get(f"{stack.endpoints.insights}/v1/reports/1999-Q1", headers=stack.admin)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")

    async def announced() -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for record in await read_topic(stack.kafka, insights.TOPIC):
            if dict(record.headers)["ce_type"].decode() != insights.REPORT_PUBLISHED:
                continue  # an officer's subscription, on the same topic
            event_id = dict(record.headers)["ce_id"].decode()
            found.setdefault(json.loads(record.value)["report_id"], set()).add(event_id)
        return found

    told = await eventually(
        announced,
        lambda found: all(r["event_id"] in found.get(p, set()) for p, r in held.items()),
    )
    for period, report in held.items():
        assert told[period] == {report["event_id"]}, (period, told.get(period))  # once


async def test_trail_report_writes_the_apis_figures_and_rebuild_insights_agrees(
    stack: Stack, http: httpx.AsyncClient, tmp_path: Any
) -> None:
    from tests.e2e.test_cli_providers import trail

    period = "2025"
    book_path, page_path, csv_path, pdf_path = (
        tmp_path / f"r.{ext}" for ext in ("xlsx", "html", "csv", "pdf")
    )
    for fmt, path in (
        ("xlsx", book_path),
        ("html", page_path),
        ("csv", csv_path),
        ("pdf", pdf_path),
    ):
        done = trail(
            "report",
            "--period",
            period,
            "--unit",
            "56",
            "--format",
            fmt,
            "--out",
            str(path),
            "--number",
            "7/BC-SGDĐT",
        )
        assert done.returncode == 0, done.stderr + done.stdout
    api = (await _figures(http, stack, period, "56", stack.admin)).json()
    book = load_workbook(book_path)
    assert book.sheetnames[0] == "Giải thích" and len(book.sheetnames) == 6
    rows = [
        row for sheet in book.worksheets[1:] for row in sheet.iter_rows(min_row=3, values_only=True)
    ]
    assert {r[0]: r[5] for r in rows if r[2] == TOTAL} == {
        i["id"]: i["total"] for i in api["indicators"]
    }
    page = page_path.read_text(encoding="utf-8")
    assert "Số: 7/BC-SGDĐT" in page and "ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA" in page
    assert "<style>" in page and "/assets/site/site.css" not in page
    assert csv_path.read_bytes().startswith("\ufeff".encode())
    printed = (
        await asyncio.to_thread(
            subprocess.run,
            ["pdftotext", str(pdf_path), "-"],
            capture_output=True,
            check=True,
            text=True,
        )
    ).stdout
    flat = " ".join(printed.split())
    assert "Số: 7/BC-SGDĐT" in flat and "ỦY BAN NHÂN DÂN TỈNH KHÁNH HÒA" in flat
    for indicator in api["indicators"]:  # each total, as the page shows it
        assert " ".join(indicator["name_vi"].split()) in flat, indicator["id"]
    refused = trail("report", "--period", "2025-Q7")
    assert refused.returncode == 1 and "2025-Q7" in refused.stdout + refused.stderr
    agreed = trail("rebuild", "insights", "--into", "lt_insights_rebuild_cli", "--period", period)
    assert agreed.returncode == 0, agreed.stdout + agreed.stderr
    assert "identical to the live projection" in agreed.stdout


async def test_figures_by_sex_count_what_the_centres_recorded(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """Six women, five men and two learners whose sex no centre recorded: the province's
    figures break them down as the centres said, the two in the totals only."""
    _, commune, month = _place()
    centre = await new_provider(http, stack)

    async def figures() -> dict[str, Any]:
        answer = await _figures(http, stack, month, "56", stack.admin)
        found: dict[str, Any] = answer.json()
        return found

    def by_sex(found: dict[str, Any]) -> dict[str, Any]:
        item = next(i for i in found["indicators"] if i["id"] == "learners_with_learning")
        return {c["key"]: c["value"] for c in item["breakdowns"]["sex"]}

    before = await figures()
    sexes = ["female"] * 6 + ["male"] * 5 + [None] * 2
    for i, sex in enumerate(sexes):
        body = submission(national_id(), f"SEX-{month}-{i}-{random.random()}", commune)
        body["record"]["completed_on"] = f"{month}-10"
        if sex:
            body["learner"]["sex"] = sex
        answer = await submit(http, stack, centre["api_key"], body)
        assert answer.status_code == 202, answer.text

    grown = await eventually(
        figures,
        lambda f: (
            _total(f, "learners_with_learning") - _total(before, "learners_with_learning") == 13
            and by_sex(f).get("female", 0) - by_sex(before).get("female", 0) == 6
        ),
        within=150,
    )
    assert by_sex(grown).get("male", 0) - by_sex(before).get("male", 0) == 5
    wrong = submission(national_id(), f"SEX-{month}-bad", commune)
    wrong["learner"]["sex"] = "x"
    refused = await submit(http, stack, centre["api_key"], wrong)
    assert refused.status_code == 422


async def test_credentials_verified_are_announced_once_a_day_and_counted(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """A credential checked three times (by its link, by POST /v1/verify, by its link again)
    is one `credential.verified` of today on credentials.v1, and one more credential verified
    in the province's figures of this month; a check of a pasted foreign document is none."""

    from contracts import credentials
    from tests.conftest import read_topic
    from tests.e2e.test_credentials import learner_with_records

    today = today_in_vietnam()
    month = f"{today.year}-{today.month:02d}"

    async def verified() -> Any:
        answer = await _figures(http, stack, month, "56", stack.admin)
        return _total(answer.json(), "credentials_verified")

    before = await verified()
    learner_id, _, _ = await learner_with_records(http, stack)
    issued = await http.post(
        f"{stack.endpoints.credential}/v1/learners/{learner_id}/credentials",
        headers=stack.learner_token(learner_id),
    )
    assert issued.status_code == 201, issued.text
    clr = issued.json()
    link = f"{stack.endpoints.credential}/v1/credentials/{clr['id']}/verification"
    assert (await http.get(link, params={"format": "json"})).json()["status"] == "valid"
    checked = await http.post(f"{stack.endpoints.credential}/v1/verify", json=clr)
    assert checked.status_code == 200 and checked.json()["status"] == "valid"
    assert (await http.get(link, params={"format": "json"})).status_code == 200
    foreign = {**clr, "id": f"urn:uuid:{random.getrandbits(128):032x}"}
    assert (
        await http.post(f"{stack.endpoints.credential}/v1/verify", json=foreign)
    ).status_code == 200

    async def announced() -> list[dict[str, Any]]:
        return [
            json.loads(record.value)
            for record in await read_topic(stack.kafka, credentials.TOPIC)
            if dict(record.headers)["ce_type"].decode() == credentials.CREDENTIAL_VERIFIED
            and json.loads(record.value)["learner_id"] == learner_id
        ]

    told = await eventually(announced, bool)
    assert [(e["credential_id"], e["day"], e["verdict"]) for e in told] == [
        (clr["id"], today.isoformat(), "valid")
    ]
    assert await eventually(verified, lambda n: n == before + 1, within=150) == before + 1


async def test_an_officer_who_asked_is_emailed_when_a_report_is_produced(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """An officer signs in on the dashboard and asks for the monthly reports; when a monthly
    report is announced on insights.v1, notify emails them a link to their unit's figures —
    once, also when the announcement comes again — and a quarterly one tells them nothing."""
    import re
    import uuid
    from datetime import UTC, date, datetime

    from pymongo import AsyncMongoClient

    from cli import localstack
    from cli.mailsink import read_mail
    from contracts import insights
    from contracts.envelope import Envelope
    from contracts.insights import ReportPublished
    from services.common.broker import EventLog, publish_event

    base = stack.endpoints.insights
    commune = catalogue().commune("22735") or ""
    issued = await http.post(
        f"{base}/v1/admin/officers", json={"unit_code": commune, "days": 1}, headers=stack.admin
    )
    assert issued.status_code == 201, issued.text
    signed = await http.post(
        f"{base}/figures/sign-in",
        data={"credential": issued.json()["token"]},
        headers={"Origin": base},
    )
    assert signed.status_code == 303 and "lt_officer" in http.cookies
    page = await http.get(f"{base}/figures", params={"unit": commune})
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and csrf
    address = f"can-bo-{uuid.uuid4().hex[:8]}@xa.khanhhoa.gov.vn"
    saved = await http.post(
        f"{base}/figures/subscriptions",
        data={"csrf": csrf.group(1), "email": address, "unit": commune, "kinds": "month"},
        headers={"Origin": base},
    )
    assert saved.status_code == 303, saved.text
    shown = await http.get(f"{base}/figures", params={"unit": commune})
    assert address in shown.text

    # notify learnt of it from insights.v1 (a report is made days after, never in the same
    # instant: the two events are keyed differently, so their order is not the log's)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        localstack.mongodb_uri(localstack.Ports.from_env())
    )
    try:

        async def known() -> list[dict[str, Any]]:
            return [
                doc
                async for doc in mongo["lt_notify"]["officer_subscriptions"].find({})
                if doc["email"] == address
            ]

        assert (await eventually(known, bool))[0]["kinds"] == ["month"]
    finally:
        await mongo.close()

    log = EventLog(stack.kafka, "insights-e2e")
    await log.start()
    try:
        month = ReportPublished(
            report_id="2001-03",
            period="2001-03",
            period_from=date(2001, 3, 1),
            period_to=date(2001, 3, 31),
            path="/v1/reports/2001-03",
            produced_at=datetime.now(UTC),
        )
        quarter = month.model_copy(
            update={"report_id": "2001-Q1", "period": "2001-Q1", "period_from": date(2001, 1, 1)}
        )
        told = Envelope[ReportPublished](
            type=insights.REPORT_PUBLISHED, source="/insights", subject="2001-03", data=month
        )
        for envelope in (
            told,
            Envelope[ReportPublished](
                type=insights.REPORT_PUBLISHED, source="/insights", subject="2001-Q1", data=quarter
            ),
            told,  # announced again (the outbox may): the same event id
        ):
            await publish_event(log, insights.TOPIC, envelope)  # type: ignore[arg-type]
    finally:
        await log.stop()

    folder = localstack.mail_folder()

    def mails() -> list[Any]:
        return [m for _, m in read_mail(folder, {}) if m["To"] == address]

    async def arrived() -> list[Any]:
        return mails()

    (mail,) = await eventually(arrived, bool)
    assert mail["Subject"] == "Báo cáo định kỳ kỳ 2001-03 đã được lập"
    body = str(mail.get_body(preferencelist=("plain",)).get_content())
    assert f"{base}/figures?period=2001-03&unit={commune}" in body
    await asyncio.sleep(12)  # two rounds of the sender: nothing more comes
    assert len(mails()) == 1


async def test_the_department_revokes_an_officer_credential_and_it_is_refused_everywhere(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """Issued with an id and a label, listed (never its token), used on the API and to sign
    in on the pages; revoked with a reason: from then on refused on the API (401 saying why),
    at the sign-in, and the browser session it started has ended. Revoking again keeps the
    first revocation; an unknown id is 404; a credential issued before ids is refused."""
    import re
    import time

    from services.common.tokens import issue_token

    base = stack.endpoints.insights
    commune = catalogue().commune("22735") or ""
    label = "Cán bộ thống kê xã Phước Hậu"
    issued = await http.post(
        f"{base}/v1/admin/officers",
        json={"unit_code": commune, "days": 7, "label": label},
        headers=stack.admin,
    )
    assert issued.status_code == 201, issued.text
    made = issued.json()
    credential_id, officer = made["id"], {"Authorization": f"Bearer {made['token']}"}
    assert (made["label"], made["status"], made["unit"]["code"]) == (label, "live", commune)

    listed = await http.get(f"{base}/v1/admin/officers", headers=stack.admin)
    assert listed.status_code == 200
    mine = [c for c in listed.json() if c["id"] == credential_id]
    assert len(mine) == 1 and mine[0]["label"] == label and mine[0]["status"] == "live"
    assert all("token" not in c for c in listed.json())
    assert made["token"] not in listed.text

    # in use: the API, and a browser session started with it
    assert (await _figures(http, stack, "2026", None, officer)).status_code == 200
    signed = await http.post(
        f"{base}/figures/sign-in", data={"credential": made["token"]}, headers={"Origin": base}
    )
    assert signed.status_code == 303 and "lt_officer" in http.cookies
    assert (await http.get(f"{base}/figures", params={"period": "2026"})).status_code == 200

    # the officer can neither list the credentials nor revoke one (their own included)
    assert (await http.get(f"{base}/v1/admin/officers", headers=officer)).status_code == 403
    revocation = f"{base}/v1/admin/officers/{credential_id}/revocation"
    denied = await http.post(revocation, json={"reason": "tự thu hồi"}, headers=officer)
    assert denied.status_code == 403

    revoked = await http.post(revocation, json={"reason": "Lộ mã"}, headers=stack.admin)
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["revoked_reason"]) == ("revoked", "Lộ mã")

    refused = await _figures(http, stack, "2026", None, officer)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "revoked" in refused.json()["detail"] and "new one" in refused.json()["detail"]
    # the browser's session has ended: the dashboard sends it to sign in, and its token in a
    # header is refused too
    gone = await http.get(f"{base}/figures", params={"period": "2026"})
    assert gone.status_code == 303 and gone.headers["location"] == "/figures/sign-in"
    session = {"Authorization": f"Bearer {http.cookies['lt_officer']}"}
    assert (await _figures(http, stack, "2026", None, session)).status_code == 401
    http.cookies.clear()
    again = await http.post(
        f"{base}/figures/sign-in", data={"credential": made["token"]}, headers={"Origin": base}
    )
    assert again.status_code == 401 and "lt_officer" not in http.cookies
    assert "revoked" in again.json()["detail"]
    page = await http.post(
        f"{base}/figures/sign-in",
        data={"credential": made["token"]},
        headers={"Origin": base, "Accept": "text/html"},
    )
    assert page.status_code == 401 and "Sở đã thu hồi mã xác thực này" in page.text

    # revoking again changes nothing; the list says it is revoked
    twice = await http.post(revocation, json={"reason": "lần hai"}, headers=stack.admin)
    assert twice.status_code == 200
    assert twice.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert twice.json()["revoked_reason"] == "Lộ mã"
    after = await http.get(f"{base}/v1/admin/officers", headers=stack.admin)
    assert next(c for c in after.json() if c["id"] == credential_id)["status"] == "revoked"

    unknown = await http.post(
        f"{base}/v1/admin/officers/no-such-credential/revocation",
        json={"reason": "Lộ mã"},
        headers=stack.admin,
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "GET /v1/admin/officers" in unknown.json()["detail"]

    # a credential issued before credentials had ids: refused, saying what to do
    old = issue_token(stack.secrets["LT_TOKEN_SECRET"], commune, "officer", int(time.time()) + 600)
    old_refused = await _figures(http, stack, "2026", None, {"Authorization": f"Bearer {old}"})
    assert old_refused.status_code == 401
    assert re.search(r"before credentials had an id.*new one", old_refused.json()["detail"])

    # a label is never a national ID
    nid = await http.post(
        f"{base}/v1/admin/officers",
        json={"unit_code": commune, "label": f"Nguyễn Văn A {national_id()}"},
        headers=stack.admin,
    )
    assert nid.status_code == 422 and nid.json()["errors"][0]["field"] == "label"
