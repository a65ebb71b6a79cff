"""``trail demo``: seed two training centres, learners, records and a programme, then show a
learner's trail and inbox as a reader would see them."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from cli.config import Endpoints, secret
from contracts import words
from services.common.tokens import issue_token

COMMUNE_PHUOC_DAN = "22735"
COMMUNE_CAM_DUC = "22480"

CENTRES: list[dict[str, Any]] = [
    {
        "name": "Trung tâm GDNN-GDTX Ninh Phước",
        "kind": "vocational_continuing_centre",
        "unit_code": COMMUNE_PHUOC_DAN,
        "pathways": ["continuing", "vocational", "literacy", "recognition"],
    },
    {
        "name": "Trường Cao đẳng Kỹ thuật Công nghệ Khánh Hòa",
        "kind": "school",
        "unit_code": COMMUNE_CAM_DUC,
        "pathways": ["regular", "vocational", "in_service", "online"],
    },
]

LEARNERS = [
    ("079190001234", "Nguyễn Thị Hương", "1990-05-14", COMMUNE_PHUOC_DAN),
    ("079188004321", "Trần Văn Đức", "1988-11-02", COMMUNE_PHUOC_DAN),
    ("079195007777", "Lê Hoàng Yến", "1995-02-20", COMMUNE_CAM_DUC),
    ("079201002468", "Phạm Minh Khôi", "2001-08-30", COMMUNE_CAM_DUC),
]


def _records() -> list[tuple[int, int, dict[str, Any]]]:
    """(centre index, learner index, record) triples across five pathways."""
    return [
        (
            0,
            0,
            {
                "pathway": "literacy",
                "kind": "course",
                "title": "Xóa mù chữ giai đoạn 2",
                "hours": 120,
                "result": {"status": "completed"},
                "completed_on": "2008-06-30",
                "general_education_level": "primary",
            },
        ),
        (
            0,
            0,
            {
                "pathway": "continuing",
                "kind": "programme",
                "title": "Chương trình GDTX cấp THPT",
                "code": "GDTX-THPT",
                "general_education_level": "upper_secondary",
                "credits": 0,
                "hours": 1200,
                "result": {"status": "passed", "grade": "Khá", "grade_scale": "Xếp loại"},
                "started_on": "2019-09-05",
                "completed_on": "2022-05-31",
            },
        ),
        (
            0,
            0,
            {
                "pathway": "vocational",
                "kind": "certificate",
                "title": "Sơ cấp Kỹ thuật trồng nho",
                "code": "SC-NHO-01",
                "vqf_level": 1,
                "hours": 300,
                "result": {"status": "passed", "grade": "8.0", "grade_scale": "0-10"},
                "completed_on": "2023-03-15",
                "certificate_number": "NP-SC-2023-0042",
            },
        ),
        (
            1,
            0,
            {
                "pathway": "regular",
                "kind": "module",
                "title": "Tin học ứng dụng cơ bản",
                "code": "CD-TH101",
                "vqf_level": 5,
                "credits": 3,
                "hours": 45,
                "result": {"status": "passed", "grade": "B+", "grade_scale": "A-F"},
                "completed_on": "2024-01-12",
            },
        ),
        (
            1,
            0,
            {
                "pathway": "online",
                "kind": "course",
                "title": "Kỹ năng số cho người lao động",
                "hours": 20,
                "result": {"status": "completed"},
                "completed_on": "2024-09-01",
            },
        ),
        (
            0,
            1,
            {
                "pathway": "vocational",
                "kind": "course",
                "title": "Sửa chữa máy nông nghiệp",
                "vqf_level": 1,
                "hours": 200,
                "result": {"status": "passed"},
                "completed_on": "2021-07-20",
            },
        ),
        (
            1,
            2,
            {
                "pathway": "in_service",
                "kind": "course",
                "title": "Bồi dưỡng chức danh giáo viên hạng III",
                "hours": 60,
                "result": {"status": "completed"},
                "completed_on": "2023-11-10",
            },
        ),
        (
            1,
            3,
            {
                "pathway": "regular",
                "kind": "module",
                "title": "Điện công nghiệp cơ bản",
                "code": "CD-DCN101",
                "vqf_level": 5,
                "credits": 4,
                "hours": 60,
                "result": {"status": "passed", "grade": "A", "grade_scale": "A-F"},
                "completed_on": "2024-06-15",
            },
        ),
    ]


def run_demo(endpoints: Endpoints, console: Console) -> None:
    admin = {"Authorization": f"Bearer {secret('LT_ADMIN_TOKEN')}"}
    with httpx.Client(timeout=15) as http:
        keys = []
        for centre in CENTRES:
            response = http.post(
                f"{endpoints.learner}/v1/admin/providers", json=centre, headers=admin
            )
            _check(response, 201)
            keys.append(response.json()["api_key"])
            console.print(f"training centre registered: [bold]{centre['name']}[/]")

        learner_ids: dict[int, str] = {}
        for n, (centre_no, who, record) in enumerate(_records()):
            nid, name, born, commune = LEARNERS[who]
            body = {
                "provider_record_ref": f"DEMO-{date.today():%Y%m%d}-{time.time_ns()}-{n}",
                "learner": {
                    "national_id": nid,
                    "full_name": name,
                    "birth_date": born,
                    "commune_code": commune,
                },
                "record": record,
            }
            response = http.post(
                f"{endpoints.learner}/v1/records", json=body, headers={"X-API-Key": keys[centre_no]}
            )
            _check(response, 202)
            learner_ids[who] = response.json()["learner_id"]
        console.print(f"records accepted: {len(_records())} for {len(learner_ids)} learners")

        programme = {
            "title": "Kỹ thuật tưới nhỏ giọt cho cây nho",
            "description": "Khóa sơ cấp 3 tháng, thực hành tại vườn.",
            "pathway": "vocational",
            "vqf_level": 1,
            "place_codes": [COMMUNE_PHUOC_DAN],
            "starts_on": f"{date.today().year + 1}-02-01",
            "min_age": 18,
            "max_age": 60,
            "topics": ["nông nghiệp", "nho"],
            "how_to_enrol": "Đăng ký tại Trung tâm GDNN-GDTX Ninh Phước, ĐT 0259 3864 123",
        }
        response = http.post(
            f"{endpoints.learner}/v1/programmes", json=programme, headers={"X-API-Key": keys[0]}
        )
        _check(response, 202)
        console.print(f"programme announced: [bold]{programme['title']}[/]")

        learner_id = learner_ids[0]
        token = issue_token(
            secret("LT_TOKEN_SECRET"), learner_id, "learner", int(time.time()) + 3600
        )
        bearer = {"Authorization": f"Bearer {token}"}
        trail = _wait_for(
            lambda: http.get(
                f"{endpoints.credential}/v1/learners/{learner_id}/trail", headers=bearer
            ),
            lambda body: body.get("entry_count", 0) >= 5,
        )
        inbox = _wait_for(
            lambda: http.get(
                f"{endpoints.notify}/v1/learners/{learner_id}/notifications", headers=bearer
            ),
            lambda body: bool(body.get("notifications")),
        )
    _show(console, trail, inbox, endpoints, learner_id, token)


def _check(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text}"
        )


def _wait_for(fetch: Any, done: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = fetch()
        if response.status_code == 200:
            body = response.json()
            if done(body):
                return body
        time.sleep(0.3)
    raise RuntimeError(f"timed out waiting for the projection; last answer: {body}")


def _show(
    console: Console,
    trail: dict[str, Any],
    inbox: dict[str, Any],
    endpoints: Endpoints,
    learner_id: str,
    token: str,
) -> None:
    """The trail and inbox in Vietnamese, with the words of the one catalogue; the links and
    the token each whole on a line of their own (never wrapped by a table), to be copied."""
    lang: words.Lang = "vi"
    console.rule(f"Hồ sơ học tập — {trail['full_name']}")
    table = Table("Lĩnh vực")
    table.add_column("Hoàn thành", no_wrap=True, min_width=10)  # a date is never cut off
    for heading in ("Nội dung", "Trình độ", "Tín chỉ", "Giờ", "Kết quả"):
        table.add_column(heading)
    for group in trail["pathways"]:
        for entry in group["entries"]:
            result = entry["result"]
            level = words.level_label(
                lang, entry.get("vqf_level"), entry.get("general_education_level")
            )
            table.add_row(
                words.label(lang, "pathway", group["pathway"]),
                words.day(entry["completed_on"]),
                entry["title"],
                level or "—",
                _num(entry.get("credits")),
                _num(entry.get("hours")),
                words.result_text(
                    lang, result["status"], result.get("grade"), result.get("grade_scale")
                ),
            )
    console.print(table)
    highest = words.level_label(lang, trail["highest_vqf_level"]) or "—"
    console.print(
        f"Tổng: {trail['entry_count']} mục, {_num(trail['total_credits'])} tín chỉ, "
        f"{_num(trail['total_hours'])} giờ; trình độ cao nhất: {highest}"
    )
    console.rule("Hộp thư")
    for note in inbox["notifications"]:
        console.print(f"• [bold]{note['title']}[/]\n  {note['body']}", soft_wrap=True)
    console.rule("Where to look next")
    trail_url = f"{endpoints.credential}/v1/learners/{learner_id}/trail"
    for name, value in (
        ("trail (JSON)", trail_url),
        ("trail page, saved for a browser", _save_page(endpoints, trail_url, token).as_uri()),
        ("inbox", f"{endpoints.notify}/v1/learners/{learner_id}/notifications"),
        ("API docs", f"{endpoints.learner}/docs"),
        ("", f"{endpoints.credential}/docs"),
        ("", f"{endpoints.notify}/docs"),
        ("learner token (1 h)", token),
        ("mail the stack sent", "uv run trail dev mail"),
    ):
        if name:
            console.print(f"{name}:", markup=False)
        # whole on its own line: no wrapping, no highlighting, so it copies as it is
        console.print(value, markup=False, highlight=False, soft_wrap=True, crop=False)


def _save_page(endpoints: Endpoints, trail_url: str, token: str) -> Path:
    """The printable trail page, saved as a file a browser opens: the token goes in the
    Authorization header only (a link carrying it is refused), so no link could show it."""
    page = httpx.get(
        f"{trail_url}?format=html",
        headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
        timeout=30,
    )
    _check(page, 200)
    saved = Path(".cache/demo/trail.html").resolve()
    saved.parent.mkdir(parents=True, exist_ok=True)
    # the stylesheet from the service itself, wherever the file is opened
    saved.write_text(page.text.replace('href="/assets/', f'href="{endpoints.credential}/assets/'))
    return saved


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return words.number("vi", value)
