"""Hostile input on the running services: oversized bodies (declared and streamed), deeply
nested JSON, invalid UTF-8, look-alike and invisible characters in names and titles, and CSV
formula injection through ``trail import``. Every refusal is problem+json and says why; no
request makes a service fail."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from cli.csv_records import COLUMN_NAMES, FORMULA_STARTS
from cli.importer import import_csv
from tests.conftest import Stack, national_id, new_provider, submission
from tests.e2e.test_record_path import submit

MIB = 1024 * 1024
PROBLEM = "application/problem+json"
SERVICES = ("learner", "credential", "notify", "insights")


def _base(stack: Stack, service: str) -> str:
    base: str = getattr(stack.endpoints, service)
    return base


def _problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["detail"]
    return body


@pytest.fixture(scope="module")
async def centre(stack: Stack) -> AsyncIterator[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield await new_provider(http, stack)


async def _write_operations(http: httpx.AsyncClient, stack: Stack) -> list[tuple[str, str, str]]:
    """(service, method, path) of every operation that takes a body, ids filled with
    placeholders: the body is refused before any id is looked at."""
    found = []
    for service in SERVICES:
        spec = (await http.get(f"{_base(stack, service)}/openapi.json")).json()
        for path, operations in spec["paths"].items():
            for method in operations:
                if method in ("post", "put", "patch"):
                    concrete = path
                    for part in path.split("/"):
                        if part.startswith("{"):
                            concrete = concrete.replace(part, str(uuid.uuid4()))
                    found.append((service, method.upper(), concrete))
    assert len(found) >= 20, found
    return found


def _credentials(stack: Stack, centre: dict[str, Any]) -> dict[str, str]:
    # the admin token and a live key, so nothing is refused for lack of credentials first
    return {**stack.admin, "X-API-Key": centre["api_key"], "Content-Type": "application/json"}


# nesting and encoding

HOSTILE_BODIES = {
    "100,000 nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "600 nested objects": b'{"a":' * 600 + b"1" + b"}" * 600,
    "100,000 opened arrays, never closed": b"[" * 100_000,
    "invalid UTF-8": b'{"full_name": "Nguy\xff\xfen"}',
    "an overlong UTF-8 encoding": b'{"full_name": "\xc0\xaf"}',
    "a UTF-8-encoded surrogate": b'{"full_name": "\xed\xa0\x80"}',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_BODIES))
async def test_every_write_operation_refuses_hostile_json_with_400(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], kind: str
) -> None:
    body = HOSTILE_BODIES[kind]
    for service, method, path in await _write_operations(http, stack):
        response = await http.request(
            method, _base(stack, service) + path, content=body, headers=_credentials(stack, centre)
        )
        problem = _problem(response, 400)
        wanted = "UTF-8" if "UTF" in kind else "levels deep"
        assert wanted in problem["detail"], f"{method} {path}: {problem['detail']}"
    for service in SERVICES:
        assert (await http.get(f"{_base(stack, service)}/healthz")).status_code == 200


async def test_nesting_a_credential_deeply_does_not_break_verification(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    """It did: 500 levels inside a credential passed the JSON parser and failed the
    verifier with a 500."""
    inner = "[" * 500 + "]" * 500
    credential = (
        '{"@context":["https://www.w3.org/ns/credentials/v2"],'
        f'"type":["VerifiableCredential"],"credentialSubject":{{"x":{inner}}}}}'
    )
    response = await http.post(
        f"{stack.endpoints.credential}/v1/verify",
        content=credential.encode(),
        headers={"Content-Type": "application/json"},
    )
    _problem(response, 400)


# size


async def test_a_body_over_the_limit_is_refused_by_its_content_length(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    too_big = b'{"padding": "' + b"x" * MIB + b'"}'
    for url in (
        f"{stack.endpoints.learner}/v1/records",
        f"{stack.endpoints.learner}/v1/learners",
        f"{stack.endpoints.credential}/v1/verify",
        f"{stack.endpoints.notify}/v1/learners/{uuid.uuid4()}/preferences",
    ):
        method = "PUT" if url.endswith("preferences") else "POST"
        response = await http.request(
            method, url, content=too_big, headers=_credentials(stack, centre)
        )
        problem = _problem(response, 413)
        assert "1,048,576 bytes" in problem["detail"] and problem["limit_bytes"] == MIB
        assert f"{len(too_big):,} bytes" in problem["detail"]


async def test_a_streamed_body_without_length_is_counted_and_refused(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"padding": "'
        for _ in range(40):  # 2.5 MiB in 64 KiB pieces, no Content-Length
            yield b"x" * 65536
        yield b'"}'

    request = http.build_request(
        "POST",
        f"{stack.endpoints.learner}/v1/records",
        content=chunks(),
        headers=_credentials(stack, centre),
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    problem = _problem(await http.send(request), 413)
    assert "more than 1,048,576 bytes" in problem["detail"]


async def test_a_body_under_the_limit_reaches_the_handler(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    body = submission(national_id(), f"SIZE-{uuid.uuid4().hex[:8]}")
    body["record"]["code"] = "C"  # then padded to just under 1 MiB with spaces
    raw = httpx.Request("POST", "http://x", json=body).content
    padded = raw[:-1] + b" " * (MIB - len(raw)) + b"}"
    assert len(padded) == MIB
    response = await http.post(
        f"{stack.endpoints.learner}/v1/records",
        content=padded,
        headers={"X-API-Key": centre["api_key"], "Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text


async def test_a_full_batch_of_1000_records_fits_and_a_bigger_body_does_not(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    # full records: long titles, certificate numbers, evidence links, contacts; on a pathway
    # the centre may not record, so each is judged (and refused) without writing anything
    title = ("Kỹ thuật trồng và chăm sóc nho an toàn theo VietGAP " * 6)[:299].strip()
    records = []
    for n in range(1000):
        item = submission(
            national_id(),
            f"BIG-{uuid.uuid4().hex[:10]}",
            title=title,
            code=f"SC-NHO-VIETGAP-{n:04d}",
            certificate_number=f"NP-SC-2025-{n:06d}",
            started_on="2024-12-02",
            awarded_on="2025-03-20",
            evidence_url=f"https://gdnn-ninhphuoc.edu.vn/minh-chung/2025/chung-chi/{n:06d}.pdf",
            pathway="community",
            vqf_level=None,
        )
        item["learner"]["email"] = f"hoc.vien.{n:04d}@example.vn"
        item["learner"]["phone"] = "0912345678"
        records.append(item)
    body = json.dumps({"records": records}, ensure_ascii=False, indent=1).encode()
    size = len(body)
    assert size > MIB, "the batch must be larger than the ordinary limit to prove the override"
    response = await http.post(
        f"{stack.endpoints.learner}/v1/records:batch",
        content=body,
        headers={"X-API-Key": centre["api_key"], "Content-Type": "application/json"},
        timeout=120,
    )
    assert response.status_code == 200, response.text[:500]
    results = response.json()["results"]
    assert len(results) == 1000
    assert all(r["status"] == "invalid" and "'community'" in r["detail"] for r in results)

    oversized = b'{"records": ["' + b"x" * (8 * MIB) + b'"]}'
    response = await http.post(
        f"{stack.endpoints.learner}/v1/records:batch",
        content=oversized,
        headers={"X-API-Key": centre["api_key"], "Content-Type": "application/json"},
    )
    problem = _problem(response, 413)
    assert "8,388,608 bytes" in problem["detail"]


# names and titles

CYRILLIC_E = "Nguy\u0435n Thị Hương"  # "е" is U+0435 CYRILLIC SMALL LETTER IE
GREEK_O = "H\u03bfàng Văn Nam"  # "ο" is U+03BF GREEK SMALL LETTER OMICRON
ZERO_WIDTH = "Nguyễn\u200b Thị Hương"
BIDI = "Nguyễn Thị \u202eHương"


def _field_errors(problem: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in problem.get("errors", [])}


async def test_look_alike_and_invisible_characters_in_a_name_are_refused_with_the_reason(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    for name, reason in [
        (CYRILLIC_E, "U+0435 CYRILLIC SMALL LETTER IE"),
        (GREEK_O, "Greek letter"),
        (ZERO_WIDTH, "U+200B ZERO WIDTH SPACE"),
        (BIDI, "text-direction control"),
    ]:
        body = submission(national_id(), f"NAME-{uuid.uuid4().hex[:8]}")
        body["learner"]["full_name"] = name
        errors = _field_errors(_problem(await submit(http, stack, centre["api_key"], body), 422))
        assert reason in errors["learner.full_name"], errors

        registration = {"full_name": name, "birth_date": "1990-01-01"}
        response = await http.post(f"{stack.endpoints.learner}/v1/learners", json=registration)
        assert reason in _field_errors(_problem(response, 422))["full_name"]


async def test_a_batch_item_with_a_look_alike_name_is_invalid_and_the_others_go_through(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    bad = submission(national_id(), f"B-{uuid.uuid4().hex[:8]}")
    bad["learner"]["full_name"] = CYRILLIC_E
    good = submission(national_id(), f"B-{uuid.uuid4().hex[:8]}")
    response = await http.post(
        f"{stack.endpoints.learner}/v1/records:batch",
        json={"records": [bad, good]},
        headers={"X-API-Key": centre["api_key"]},
    )
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["status"] == "invalid" and second["status"] == "accepted"
    assert any(
        e["field"] == "learner.full_name" and "Cyrillic" in e["message"] for e in first["errors"]
    ), first


async def test_the_department_cannot_correct_a_name_into_a_look_alike(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    answer = await submit(
        http, stack, centre["api_key"], submission(national_id(), f"D-{uuid.uuid4().hex[:8]}")
    )
    learner = f"{stack.endpoints.learner}/v1/learners/{answer.json()['learner_id']}"
    response = await http.patch(learner, json={"full_name": GREEK_O}, headers=stack.admin)
    assert "Greek" in _field_errors(_problem(response, 422))["full_name"]
    fixed = await http.patch(learner, json={"full_name": "Hoàng Văn Nam"}, headers=stack.admin)
    assert fixed.status_code == 200 and fixed.json()["full_name"] == "Hoàng Văn Nam"


async def test_a_vietnamese_name_is_stored_with_its_diacritics_whatever_the_normal_form(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    name = "Đặng Thị Ngọc Ánh"
    for form in ("NFC", "NFD"):
        body = submission(national_id(), f"N-{uuid.uuid4().hex[:8]}")
        body["learner"]["full_name"] = unicodedata.normalize(form, name)
        answer = await submit(http, stack, centre["api_key"], body)
        assert answer.status_code == 202, answer.text
        profile = await http.get(
            f"{stack.endpoints.learner}/v1/learners/{answer.json()['learner_id']}",
            headers=stack.admin,
        )
        assert profile.json()["full_name"] == unicodedata.normalize("NFC", name)


async def test_hidden_characters_in_centre_names_and_titles_are_refused(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any]
) -> None:
    learner = stack.endpoints.learner
    centre_body = {
        "name": "Trung tâm \u202eGDNN",
        "kind": "school",
        "unit_code": "22735",
        "pathways": ["vocational"],
    }
    response = await http.post(
        f"{learner}/v1/admin/providers", json=centre_body, headers=stack.admin
    )
    assert "text-direction control" in _field_errors(_problem(response, 422))["name"]

    programme = {
        "title": "Trồng nho\u200d an toàn",
        "pathway": "vocational",
        "place_codes": ["22735"],
        "how_to_enrol": "Đăng ký tại trung tâm",
    }
    response = await http.post(
        f"{learner}/v1/programmes", json=programme, headers={"X-API-Key": centre["api_key"]}
    )
    assert "U+200D ZERO WIDTH JOINER" in _field_errors(_problem(response, 422))["title"]

    body = submission(national_id(), f"T-{uuid.uuid4().hex[:8]}", title="Sơ cấp\x07 nho")
    response = await submit(http, stack, centre["api_key"], body)
    assert "control character" in _field_errors(_problem(response, 422))["record.title"]


# CSV formula injection through trail import


def test_formula_cells_are_refused_on_import_and_the_error_file_is_safe(
    stack: Stack, tmp_path: Path
) -> None:
    created = httpx.post(
        f"{stack.endpoints.learner}/v1/admin/providers",
        json={
            "name": "Trung tâm nhập CSV",
            "kind": "vocational_continuing_centre",
            "unit_code": "22735",
            "pathways": ["vocational"],
        },
        headers=stack.admin,
        timeout=30,
    ).json()

    def row(ref: str, **cells: str) -> dict[str, str]:
        base = {
            "provider_record_ref": ref,
            "national_id": national_id(),
            "full_name": "Nguyễn Thị Hương",
            "birth_date": "14/05/1990",
            "pathway": "nghe",
            "kind": "certificate",
            "title": "Sơ cấp Kỹ thuật trồng nho",
            "result_status": "passed",
            "completed_on": "15/03/2025",
        }
        return {**base, **cells}

    tag = uuid.uuid4().hex[:6]
    rows = [
        row(f"{tag}-ok"),
        row(f"{tag}-name", full_name='=HYPERLINK("http://evil.example","Bấm vào")'),
        row(f"{tag}-title", title="@SUM(1+1)*cmd|' /C calc'!A0"),
        row(f"+{tag}-ref", pathway="cong_dong"),  # a reference is free text too (issue 16)
        row(f"{tag}-tab", title="\t=1+1"),
        row(f"{tag}-hours", hours="-1"),  # a number: read as -1, refused by the service
        row(f"{tag}-lookalike", full_name=CYRILLIC_E),
    ]
    source = tmp_path / "records.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMN_NAMES))
        writer.writeheader()
        writer.writerows(rows)

    console = Console(file=io.StringIO())
    summary, errors_file = import_csv(
        source, created["provider"]["id"], created["api_key"], stack.endpoints.learner, console
    )
    assert summary.counts["accepted"] == 1
    assert summary.counts["invalid"] == 6
    assert errors_file is not None
    with errors_file.open(newline="", encoding="utf-8-sig") as handle:
        written = list(csv.reader(handle))
    for cells in written:
        for cell in cells:
            assert not cell.lstrip(" ").startswith(FORMULA_STARTS), f"unsafe cell {cell!r}"
    header = written[0]
    ref_at, why = header.index("provider_record_ref"), header.index("chi_tiet")
    reasons = {cells[ref_at].lstrip("'"): cells[why] for cells in written[1:]}
    for ref, column in [
        (f"{tag}-name", "full_name"),
        (f"{tag}-title", "title"),
        (f"{tag}-tab", "title"),
    ]:
        assert reasons[ref].startswith(f"{column}: starts with"), reasons[ref]
        assert "formula" in reasons[ref]
    assert reasons[f"+{tag}-ref"].startswith("provider_record_ref: starts with '+'")
    assert [f"'+{tag}-ref"] == [
        cells[ref_at] for cells in written if cells[ref_at].endswith("-ref")
    ]
    assert "hours" in reasons[f"{tag}-hours"]
    assert "Cyrillic" in reasons[f"{tag}-lookalike"]
