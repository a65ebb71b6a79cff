"""No national ID number, name or birth date in the logs, traces or metrics of the running
stack, and no secret (access and refresh tokens, claim codes, the unsubscribe link's
``token``) in them either — after a learner's whole journey through the three services.

The local stack writes each component's JSON log lines to ``RUN/logs/<component>.log`` and,
when it runs its trace sink, every exported span to ``RUN/traces.jsonl``; only what is written
during this test is read.
"""

from __future__ import annotations

import asyncio
import json
import random
import unicodedata
from datetime import date, timedelta
from pathlib import Path

import httpx

from cli import localstack
from services.learner.identity import folded_name
from services.notify.signing import unsubscribe_token
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit, trail_of

FAMILY = ("Quách", "Khổng", "Mạc", "Tôn Nữ", "Lã", "Ông")
MIDDLE = ("Thị", "Văn", "Hữu", "Ngọc", "Diệu")
GIVEN = ("Huyền", "Khuê", "Nguyệt", "Thưởng", "Xuyến", "Tường", "Quỳnh")


def _files() -> list[Path]:
    files = sorted((localstack.RUN / "logs").glob("*.log"))
    traces = localstack.RUN / "traces.jsonl"
    return [*files, traces] if traces.exists() else files


def _sizes() -> dict[Path, int]:
    return {path: path.stat().st_size for path in _files()}


def _written_since(sizes: dict[Path, int]) -> dict[Path, str]:
    written = {}
    for path in _files():
        with path.open("rb") as handle:
            handle.seek(sizes.get(path, 0))
            written[path] = handle.read().decode("utf-8", errors="replace")
    return written


def _variants(text: str) -> set[str]:
    """A value as it could appear in a log: as given, NFC and NFD, without diacritics in
    either case, and JSON-escaped."""
    forms = {text, unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)}
    forms |= {folded_name(text), folded_name(text).upper(), folded_name(text).title()}
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}
    return {f for f in forms if f}


async def test_a_learners_journey_leaves_no_personal_data_or_url_secret_behind(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    assert (localstack.RUN / "logs" / "learner.log").exists(), "the stack writes its logs here"
    before = _sizes()
    rng = random.Random()
    nid = national_id()
    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)} {rng.choice(GIVEN)}"
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
    learner_api, notify = stack.endpoints.learner, stack.endpoints.notify

    # the learner opens an account; a centre that checked their card gives them a claim code
    registered = await http.post(
        f"{learner_api}/v1/learners", json={"full_name": name, "birth_date": born.isoformat()}
    )
    assert registered.status_code == 201, registered.text
    session = registered.json()["session"]
    centre = await new_provider(http, stack)
    key = centre["api_key"]
    issued_code = await http.post(
        f"{learner_api}/v1/claim-codes",
        json={"learner": {"national_id": nid, "full_name": name, "birth_date": born.isoformat()}},
        headers={"X-API-Key": key},
    )
    assert issued_code.status_code == 201, issued_code.text
    code = issued_code.json()["code"]
    claimed = await http.post(
        f"{learner_api}/v1/account/claims",
        json={"code": code},
        headers={"Authorization": f"Bearer {session['access_token']}"},
    )
    assert claimed.status_code == 201, claimed.text
    learner_id = claimed.json()["learner_id"]
    refreshed = await http.post(
        f"{learner_api}/v1/sessions:refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()["access_token"]

    # the centre records their learning (single, batch, held, refused)

    def identified(ref: str, **changes: object) -> dict[str, object]:
        body = submission(nid, ref, **changes)
        body["learner"].update({"full_name": name, "birth_date": born.isoformat()})
        return body

    assert (await submit(http, stack, key, identified("PII-1"))).status_code == 202
    batch = await http.post(
        f"{learner_api}/v1/records:batch",
        json={"records": [identified("PII-2", title="Tin học cơ bản"), {"learner": {}}]},
        headers={"X-API-Key": key},
    )
    assert batch.status_code == 200 and batch.json()["accepted"] == 1, batch.text
    held = identified("PII-3", title="Học phần khác")
    held["learner"]["birth_date"] = (born + timedelta(days=1)).isoformat()
    assert (await submit(http, stack, key, held)).json()["status"] == "held_for_review"
    refused = identified("PII-4", completed_on=(born - timedelta(days=1)).isoformat())
    assert (await submit(http, stack, key, refused)).status_code == 422

    # the department and the learner read and correct; a credential is issued and verified
    profile = f"{learner_api}/v1/learners/{learner_id}"
    assert (await http.get(profile, headers=stack.admin)).status_code == 200
    corrected = await http.patch(profile, json={"full_name": name}, headers=stack.admin)
    assert corrected.status_code == 200, corrected.text
    assert (await http.get(f"{learner_api}/v1/admin/reviews", headers=stack.admin)).is_success
    await eventually(lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 2)
    page = await http.get(
        f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail",
        params={"format": "html"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert page.status_code == 200 and name in page.text
    issued = await http.post(
        f"{stack.endpoints.credential}/v1/learners/{learner_id}/credentials",
        headers=stack.learner_token(learner_id),
    )
    assert issued.status_code == 201, issued.text
    verified = await http.post(f"{stack.endpoints.credential}/v1/verify", json=issued.json())
    assert verified.status_code == 200

    # notify: the inbox, preferences, and the one-click unsubscribe link
    inbox = f"{notify}/v1/learners/{learner_id}/notifications"
    await eventually(
        lambda: http.get(inbox, headers=stack.admin),
        lambda r: r.status_code == 200 and bool(r.json()["notifications"]),
    )
    link = unsubscribe_token(stack.secrets["LT_TOKEN_SECRET"], learner_id, "email")
    left = await http.post(f"{notify}/v1/unsubscribe", params={"token": link})
    assert left.status_code == 200, left.text

    # the metrics of each service, as a scraper on this host reads them
    metrics = [
        await http.get(f"{getattr(stack.endpoints, s)}/metrics")
        for s in ("learner", "credential", "notify")
    ]

    # wait for the page request's line in the access log and, with the trace sink, its span
    for _ in range(120):
        logs = _written_since(before)
        if all(
            "format=html" in text
            for path, text in logs.items()
            if path.name in ("credential.log", "traces.jsonl")
        ):
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(1)  # the last consumers' lines
    logs = _written_since(before)
    everything = "".join(logs.values())
    assert learner_id in everything, "the journey's log lines were found"

    needles = {
        "national ID": {nid},
        "name": _variants(name),
        "birth date": {born.isoformat(), born.strftime("%d/%m/%Y"), born.strftime("%Y%m%d")},
        "access token": {token, token.split(".")[1], session["access_token"]},
        "refresh token": {session["refresh_token"], refreshed.json()["refresh_token"]},
        "claim code": {code, code.replace("-", "")},
        "unsubscribe token": {link, link.split(".")[1]},
    }
    leaks = [
        f"{what} ({needle!r}) in {path.name}"
        for path, text in logs.items()
        for what, found in needles.items()
        for needle in found
        if needle in text
    ]
    leaks += [
        f"{what} ({needle!r}) in {response.url} metrics"
        for response in metrics
        if response.status_code == 200
        for what, found in needles.items()
        for needle in found
        if needle in response.text
    ]
    # the mask is a last line of defence: code that tried to log a national ID is a bug too
    leaks += [f"a masked national ID in {p.name}" for p, t in logs.items() if "[national-id]" in t]
    assert leaks == []
    # and the URL secret was there to hide: the unsubscribe request was logged, redacted
    assert "token=REDACTED" in logs[localstack.RUN / "logs" / "notify.log"]
    traces = localstack.RUN / "traces.jsonl"
    if traces in logs:
        assert "token=REDACTED" in logs[traces]
