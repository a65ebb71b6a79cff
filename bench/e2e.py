"""End to end on a running stack: how fast records go from training centres into trails.

Against the stack that ``uv run trail dev up`` started (or any stack it can reach), it

1. registers C training centres through the department's admin API, each allowed every
   pathway the generated records use;
2. submits N records through ``POST /v1/records:batch`` — C centres at once, one batch at a time
   per centre — for about N/3 learners with Vietnamese names, well-formed 12-digit national IDs
   (province, century and sex, birth year, serial) and distinct ``provider_record_ref``s. Every
   answer is counted by HTTP status and every item by its status; a 503 or 429 is retried
   after its Retry-After, items answered ``unavailable`` are resubmitted (both counted), a 500
   is counted and not retried (there must be none);
3. measures intake (records accepted / wall time of the submission phase) and end to end: the
   time from the first submission until the credential service's ``trail_entries`` hold every
   accepted record and its consumer group has no lag (committed offsets against the topics'
   end offsets, and ``learningtrail_consumer_lag`` on its ``/metrics``), then until notify's
   group has no lag either ("notify has seen them");
4. verifies that every accepted record is in the trail exactly once: the entry count grew by
   exactly the number of records accepted, every accepted record id is stored (``--verify-ids``),
   and the trails of a random sample of learners (``--sample``, 200) hold exactly the record
   ids submitted for them, without duplicates;
5. times single submissions, ``POST /v1/records`` at a steady ``--rate`` (50/s) for
   ``--latency-seconds`` (20) — open loop: each request leaves at its time whatever the answers
   before it, spread over rate/8 more centres so that no key meets its rate limit (600 a
   minute); the rate the client really sent at is reported — and ``--trail-reads`` (500)
   ``GET /v1/learners/{id}/trail`` of random learners, ``--read-concurrency`` (4) at a time;
   p50/p95/p99 in ms;
6. samples the resident memory (VmRSS, with child processes) of every component of the stack
   once a second and reports each one's maximum; and the processor time each component used
   (user + system, from ``/proc``) per 1,000 records end to end, per single submission and
   per trail read — the figures that still mean something when the machine is shared;
7. in the same run, two baselines on the same servers: N small messages produced with aiokafka
   (acks=all, idempotent) to a throwaway topic, and ``insert_many`` of N documents (batches of
   1,000) into a throwaway database — and the ratios to them.

Learners are new in each run, but a national ID is always the same person (name and birth
date are drawn from the number), so a number an earlier run drew adds to that learner. It
ends with a Markdown summary (and ``--json FILE`` writes every figure). It exits 1 when a
check fails (a 500, a record missing or doubled, a sample trail that differs). Usage::

    uv run trail dev up
    uv run python bench/e2e.py [--records 100000] [--centres 4] [--batch 1000]
        [--rate 50] [--latency-seconds 20] [--trail-reads 500] [--sample 200]
        [--wait 3600] [--no-baselines] [--seed N] [--json FILE]

It finds the stack as ``trail`` does: ports from ``LT_DEV_<NAME>_PORT`` (or ``LT_LEARNER_URL``,
``LT_CREDENTIAL_URL``, ``LT_NOTIFY_URL``), pid files and dev secrets under ``LT_DEV_DIR``
(``.cache/dev`` by default; ``LT_ADMIN_TOKEN`` and ``LT_TOKEN_SECRET`` from the environment
win), MongoDB at ``MONGODB_URI`` or ``LT_DEV_MONGODB_PORT``. Nothing is cleaned up but the
baselines' topic and database: run it twice to see whether throughput holds on top of what the
first run stored.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from cli import localstack
from cli.config import Endpoints, secret
from services.common.tokens import issue_token

Json = dict[str, Any]

RECORDS_TOPIC = "learning-records.v1"
LEARNERS_TOPIC = "learners.v1"
CREDENTIAL_DB = os.environ.get("LT_BENCH_CREDENTIAL_DB", "lt_credential")

# --- realistic data ----------------------------------------------------------------------

# Family names with roughly their share in the population (Cham names of Ninh Thuận last).
FAMILY_NAMES = {
    "Nguyễn": 38, "Trần": 11, "Lê": 9.5, "Phạm": 7, "Hoàng": 5, "Huỳnh": 5, "Phan": 4.5,
    "Vũ": 3.9, "Võ": 3.9, "Đặng": 2.1, "Bùi": 2, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3,
    "Dương": 1, "Lý": 0.5, "Đàng": 1, "Quảng": 0.4, "Thiên Sanh": 0.3, "Châu": 0.4, "Lưu": 0.3,
}  # fmt: skip
MIDDLE = {
    "m": ["Văn", "Văn", "Đức", "Minh", "Quốc", "Hữu", "Công", "Thành", "Hoàng", "Ngọc", "Gia"],
    "f": ["Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Hồng", "Mỹ", "Kim", "Bảo", "Phương"],
}
GIVEN = {
    "m": [
        "Hùng", "Dũng", "Nam", "Tuấn", "Hải", "Sơn", "Long", "Phúc", "Khôi", "Đức", "Huy",
        "Bảo", "Quân", "Thắng", "Trung", "Tài", "Tín", "Lộc", "Nhân", "Vinh", "Hiếu", "Thịnh",
        "Khang", "Phát", "Đạt", "Hòa", "Năng", "Thọ", "Cảnh", "Quý",
    ],
    "f": [
        "Hương", "Lan", "Mai", "Hoa", "Linh", "Trang", "Thảo", "Ngân", "Yến", "Nhung", "Hạnh",
        "Hằng", "Vy", "Nhi", "Châu", "Quyên", "Trinh", "Diệp", "Tuyết", "Loan", "Duyên",
        "Oanh", "Phượng", "My", "Ánh", "Giang",
    ],
}  # fmt: skip
# CCCD province codes (where the learner was born) with their share, and the communes
# (administrative unit codes) of Ninh Thuận and Khánh Hòa where learners live.
BIRTH_PROVINCES = {"058": 70, "056": 10, "060": 8, "068": 5, "079": 5, "001": 2}
COMMUNES = [
    "22735", "22738", "22741", "22744", "22747", "22750", "22753", "22756", "22759", "22762",
    "22765", "22768", "22771", "22774", "22777", "22780", "22480", "22483", "22486", "22489",
]  # fmt: skip
CENTRE_NAMES = [
    ("Trung tâm GDNN-GDTX Ninh Phước", "vocational_continuing_centre", "22735"),
    ("Trung tâm GDNN-GDTX Ninh Sơn", "vocational_continuing_centre", "22756"),
    ("Trường Cao đẳng Nghề Ninh Thuận", "school", "22741"),
    ("Trung tâm GDNN-GDTX Ninh Hải", "vocational_continuing_centre", "22762"),
    ("Trung tâm GDNN-GDTX Thuận Bắc", "vocational_continuing_centre", "22768"),
    ("Trung tâm GDNN-GDTX Bác Ái", "vocational_continuing_centre", "22774"),
    ("Trung tâm Học tập cộng đồng xã Phước Dân", "community_learning_centre", "22735"),
    ("Trường Cao đẳng Kỹ thuật Công nghệ Khánh Hòa", "school", "22480"),
]
PATHWAYS = ["regular", "continuing", "vocational", "in_service", "literacy", "online", "community"]


@dataclass(frozen=True)
class Course:
    """A course a centre reports completions of, with its share among the records."""

    weight: float
    pathway: str
    kind: str
    title: str
    code: str | None
    hours: int
    days: int  # from start to completion
    vqf_level: int | None = None
    general_education_level: str | None = None
    credits: float | None = None
    graded: bool = True
    certificate: bool = False


COURSES = [
    Course(12, "vocational", "certificate", "Sơ cấp Kỹ thuật trồng nho", "SC-NHO-01", 300, 90, 1,
           certificate=True),
    Course(8, "vocational", "certificate", "Sơ cấp Điện dân dụng", "SC-DIEN-DD", 360, 100, 1,
           certificate=True),
    Course(6, "vocational", "course", "Kỹ thuật chăn nuôi dê, cừu", "NN-DE-CUU", 90, 30),
    Course(5, "vocational", "certificate", "Sơ cấp Tin học văn phòng", "SC-TINHOC-VP", 120, 45,
           1, certificate=True),
    Course(3, "vocational", "diploma", "Trung cấp Điện công nghiệp", "TC-DCN", 1800, 700, 4,
           certificate=True),
    Course(4, "vocational", "course", "Kỹ thuật may công nghiệp", "NG-MAY-CN", 240, 75),
    Course(9, "continuing", "course", "Tin học cơ bản", "GDTX-TH-CB", 60, 30),
    Course(6, "continuing", "course", "Tiếng Anh trình độ A2", "GDTX-TA-A2", 120, 90),
    Course(4, "continuing", "programme", "Chương trình GDTX cấp THPT", "GDTX-THPT", 1200, 1000,
           general_education_level="upper_secondary", credits=0),
    Course(3, "literacy", "course", "Xóa mù chữ giai đoạn 2", None, 120, 120,
           general_education_level="primary", graded=False),
    Course(8, "online", "course", "Kỹ năng số cho người lao động", None, 20, 14, graded=False),
    Course(3, "online", "course", "Tin học cơ bản trực tuyến", "ONL-TIN-HOC-CO-BAN", 40, 30),
    Course(5, "in_service", "course", "Bồi dưỡng ngạch chuyên viên", "BD-CV-2024", 160, 60),
    Course(4, "in_service", "course", "Bồi dưỡng kỹ năng chuyển đổi số cho cán bộ xã", None,
           40, 10),
    Course(7, "community", "course", "Kỹ thuật tưới nhỏ giọt cho cây nho", "NHO-TUOI", 40, 14,
           graded=False),
    Course(5, "community", "course", "Phòng chống thiên tai ở cộng đồng", None, 16, 5,
           graded=False),
    Course(4, "regular", "module", "Tin học ứng dụng cơ bản", "CD-TH101", 45, 100, 5, credits=3),
    Course(4, "regular", "module", "Tiếng Anh 1", "CD-TA101", 45, 100, 5, credits=3),
]  # fmt: skip


@dataclass(frozen=True)
class Person:
    national_id: str
    full_name: str
    birth_date: date
    commune_code: str


class People:
    """Learners with distinct, well-formed national ID numbers (CCCD): a province code, a
    digit for century and sex, the birth year's last two digits and a six-digit serial."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def new(self) -> Person:
        rng = self.rng
        sex = rng.choice("mf")
        year = rng.randint(1965, 2007)
        province = rng.choices(list(BIRTH_PROVINCES), weights=list(BIRTH_PROVINCES.values()))[0]
        century_sex = (0 if year < 2000 else 2) + (sex == "f")
        while True:
            nid = f"{province}{century_sex}{year % 100:02d}{rng.randrange(1_000_000):06d}"
            if nid not in self.seen:
                self.seen.add(nid)
                break
        # The same number is the same person in every run (name and birth date drawn from
        # it), so a number an earlier run on this stack drew adds to that learner's trail
        # instead of being held for review as a different person.
        who = random.Random(nid)
        born = date(year, 1, 1) + timedelta(days=who.randrange(365))
        family = who.choices(list(FAMILY_NAMES), weights=list(FAMILY_NAMES.values()))[0]
        name = f"{family} {who.choice(MIDDLE[sex])} {who.choice(GIVEN[sex])}"
        return Person(nid, name, born, rng.choice(COMMUNES))


def record_content(rng: random.Random, person: Person) -> Json:
    """One completion a centre would report for ``person``, after they were 15."""
    course = rng.choices(COURSES, weights=[c.weight for c in COURSES])[0]
    earliest = max(person.birth_date + timedelta(days=15 * 366), date(2005, 1, 1))
    latest = date.today() - timedelta(days=1)
    completed = earliest + timedelta(days=rng.randrange(max(1, (latest - earliest).days)))
    content: Json = {
        "pathway": course.pathway,
        "kind": course.kind,
        "title": course.title,
        "hours": course.hours,
        "completed_on": completed.isoformat(),
        "started_on": max(earliest, completed - timedelta(days=course.days)).isoformat(),
    }
    for name in ("code", "vqf_level", "general_education_level", "credits"):
        if (value := getattr(course, name)) is not None:
            content[name] = value
    if course.graded:
        grade = round(rng.uniform(5.0, 10.0) * 2) / 2
        content["result"] = {"status": "passed", "grade": f"{grade:.1f}", "grade_scale": "0-10"}
    else:
        content["result"] = {"status": "completed"}
    if course.certificate:
        content["certificate_number"] = f"{course.code}-{completed.year}-{rng.randrange(10**5):05d}"
    return content


def submission(ref: str, person: Person, content: Json) -> Json:
    return {
        "provider_record_ref": ref,
        "learner": {
            "national_id": person.national_id,
            "full_name": person.full_name,
            "birth_date": person.birth_date.isoformat(),
            "commune_code": person.commune_code,
        },
        "record": content,
    }


@dataclass
class Planned:
    """A record to submit: whose, and through which centre."""

    ref: str
    person: int
    centre: int


def plan(
    rng: random.Random, records: int, centres: int, run: str
) -> tuple[list[Person], list[list[Planned]]]:
    """About three records per learner (one to five), most from the learner's own centre,
    some from another; each centre's list in the order of its export (shuffled)."""
    people = People(rng)
    persons: list[Person] = []
    per_centre: list[list[Planned]] = [[] for _ in range(centres)]
    seq = itertools.count()
    while (left := records - sum(map(len, per_centre))) > 0:
        index = len(persons)
        persons.append(people.new())
        home = rng.randrange(centres)
        for _ in range(min(left, rng.choice((1, 2, 3, 3, 3, 4, 5)))):
            centre = home if rng.random() < 0.75 else rng.randrange(centres)
            per_centre[centre].append(Planned(f"BENCH-{run}-{next(seq):07d}", index, centre))
    for planned in per_centre:
        rng.shuffle(planned)
    return persons, per_centre


# --- measuring ---------------------------------------------------------------------------


def percentiles(values: list[float]) -> Json:
    """p50/p95/p99/max of ``values`` (seconds) in milliseconds."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000, 1)

    return {"n": len(ordered), "p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": at(1.0)}


def fmt_pct(p: Json) -> str:
    if not p.get("n"):
        return "—"
    return (
        f"{p['p50']:,.0f} / {p['p95']:,.0f} / {p['p99']:,.0f} ms "
        f"(max {p['max']:,.0f}, n={p['n']:,})"
    )


class RssSampler:
    """Every second, the resident memory of each component's process (and its children),
    from the pid files the local stack writes; keeps each one's maximum in MiB."""

    def __init__(self) -> None:
        self.pid_files = {
            c.name: c.pid_file for c in localstack.components(localstack.Ports.from_env())
        }
        self.max_mib: dict[str, float] = {}
        self.pids: dict[str, int | None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def sample(self) -> None:
        children: dict[int, list[int]] = defaultdict(list)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                text = stat.read_text()
                children[int(text.rsplit(")", 1)[1].split()[1])].append(int(stat.parent.name))
        for name, pid_file in self.pid_files.items():
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                self.pids[name] = None
                continue
            self.pids[name] = pid
            total, todo = 0, [pid]
            while todo:
                current = todo.pop()
                total += _vm_rss_kib(current)
                todo.extend(children.get(current, []))
            if total:
                self.max_mib[name] = max(self.max_mib.get(name, 0.0), total / 1024)

    def cpu_seconds(self) -> dict[str, float]:
        """The processor time (user + system) each component's process and its children have
        used so far. Differences between two readings say what a phase cost each component,
        a figure that holds on a shared machine, where the wall clock does not."""
        self.sample()
        children: dict[int, list[int]] = defaultdict(list)
        ticks: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                children[int(fields[1])].append(int(stat.parent.name))
                ticks[int(stat.parent.name)] = int(fields[11]) + int(fields[12])
        per_second = os.sysconf("SC_CLK_TCK")
        used: dict[str, float] = {}
        for name, pid in self.pids.items():
            total, todo = 0, [pid] if pid else []
            while todo:
                current = todo.pop()
                total += ticks.get(current, 0)
                todo.extend(children.get(current, []))
            used[name] = total / per_second
        return used


def cpu_used(before: dict[str, float], after: dict[str, float], per: float) -> dict[str, float]:
    """Processor milliseconds each component spent per unit of work between two readings."""
    return {name: round((after[name] - before.get(name, 0.0)) * 1000 / per, 2) for name in after}


def _vm_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Intake:
    """What the submission phase saw."""

    http: Counter[str] = field(default_factory=Counter)
    items: Counter[str] = field(default_factory=Counter)
    retries: int = 0  # 503/429 answers waited out after Retry-After
    transport_errors: int = 0  # connection lost or timed out; the batch was sent again
    resubmitted_items: int = 0  # items answered "unavailable", sent again
    replayed: int = 0
    errors: list[str] = field(default_factory=list)
    batch_seconds: list[float] = field(default_factory=list)
    expected: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    accepted_ids: set[str] = field(default_factory=set)
    started: float = 0.0
    finished: float = 0.0


def retry_after(response: httpx.Response) -> float:
    try:
        return max(0.1, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.endpoints = Endpoints.from_env()
        ports = localstack.Ports.from_env()
        self.kafka = os.environ.get("LT_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{ports.kafka}")
        self.mongodb_uri = localstack.mongodb_uri(ports)
        self.admin = {"Authorization": f"Bearer {secret('LT_ADMIN_TOKEN')}"}
        self.token_secret = secret("LT_TOKEN_SECRET")
        self.run = uuid.uuid4().hex[:8]
        self.rng = random.Random(args.seed)
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(args.request_timeout, connect=10),
            limits=httpx.Limits(max_connections=400, max_keepalive_connections=100),
        )
        self.mongo: AsyncMongoClient[Json] = AsyncMongoClient(self.mongodb_uri)
        self.rss = RssSampler()
        self.results: Json = {"run": self.run, "seed": args.seed, "checks": {}}
        self.failures: list[str] = []
        self.intake_state = Intake()
        self.started = asyncio.Event()

    def token(self, learner_id: str) -> dict[str, str]:
        token = issue_token(self.token_secret, learner_id, "learner", int(time.time()) + 3 * 3600)
        return {"Authorization": f"Bearer {token}"}

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.results["checks"][name] = {"ok": ok, "detail": detail}
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if not ok:
            self.failures.append(f"{name}: {detail}")

    # the stack

    async def ready(self) -> None:
        for name, url in vars(self.endpoints).items():
            try:
                response = await self.http.get(f"{url}/readyz", timeout=10)
            except httpx.HTTPError as exc:
                raise SystemExit(
                    f"{name} at {url} does not answer ({exc!r}); is the stack up?"
                ) from exc
            if response.status_code != 200:
                raise SystemExit(f"{name} at {url} is not ready: {response.text}")

    async def register_centres(self, count: int, label: str) -> list[Json]:
        centres = []
        for n in range(count):
            name, kind, unit = CENTRE_NAMES[n % len(CENTRE_NAMES)]
            if n >= len(CENTRE_NAMES):
                name = f"{name} (cơ sở {n // len(CENTRE_NAMES) + 1})"
            response = await self.http.post(
                f"{self.endpoints.learner}/v1/admin/providers",
                json={"name": name, "kind": kind, "unit_code": unit, "pathways": PATHWAYS},
                headers=self.admin,
            )
            if response.status_code != 201:
                raise SystemExit(
                    f"registering a {label} centre answered {response.status_code}: {response.text}"
                )
            centres.append(response.json())
        return centres

    async def trail_count(self) -> int:
        return await self.mongo[CREDENTIAL_DB]["trail_entries"].estimated_document_count()

    # submission

    async def submit_centre(
        self, key: str, planned: list[Planned], persons: list[Person], intake: Intake
    ) -> None:
        url = f"{self.endpoints.learner}/v1/records:batch"
        headers = {"X-API-Key": key}
        rng = random.Random(self.rng.random())
        for start in range(0, len(planned), self.args.batch):
            chunk = planned[start : start + self.args.batch]
            bodies = [
                submission(p.ref, persons[p.person], record_content(rng, persons[p.person]))
                for p in chunk
            ]
            todo = list(range(len(bodies)))
            for _attempt in range(50):
                began = time.perf_counter()
                try:
                    response = await self.http.post(
                        url, json={"records": [bodies[i] for i in todo]}, headers=headers
                    )
                except httpx.TransportError as exc:
                    intake.transport_errors += 1
                    intake.errors.append(f"batch: {exc!r}")
                    await asyncio.sleep(1)
                    continue
                intake.batch_seconds.append(time.perf_counter() - began)
                intake.http[str(response.status_code)] += 1
                if response.status_code in (429, 503):
                    intake.retries += 1
                    await asyncio.sleep(retry_after(response))
                    continue
                if response.status_code != 200:
                    intake.items[f"http {response.status_code}"] += len(todo)
                    intake.errors.append(
                        f"batch answered {response.status_code}: {response.text[:300]}"
                    )
                    break
                again = []
                for position, item in zip(todo, response.json()["results"], strict=True):
                    status = item["status"]
                    if status == "unavailable":
                        again.append(position)
                        continue
                    intake.items[status] += 1
                    intake.replayed += bool(item.get("replayed"))
                    if status == "accepted":
                        intake.expected[item["learner_id"]].add(item["record_id"])
                        intake.accepted_ids.add(item["record_id"])
                    elif len(intake.errors) < 20:
                        intake.errors.append(f"item {status}: {item.get('detail')}")
                if not again:
                    break
                intake.resubmitted_items += len(again)
                todo = again
                await asyncio.sleep(1)
            else:
                intake.items["gave up"] += len(todo)

    async def intake(self) -> tuple[Intake, list[Person]]:
        args = self.args
        centres = await self.register_centres(args.centres, "batch")
        persons, per_centre = plan(self.rng, args.records, args.centres, self.run)
        print(
            f"{args.records:,} records for {len(persons):,} learners from {args.centres} centres, "
            f"batches of {args.batch}",
            flush=True,
        )
        intake = self.intake_state
        intake.started = time.monotonic()
        self.started.set()
        await asyncio.gather(
            *(
                self.submit_centre(c["api_key"], planned, persons, intake)
                for c, planned in zip(centres, per_centre, strict=True)
            )
        )
        intake.finished = time.monotonic()
        return intake, persons

    # visibility

    async def group_lag(
        self, admin: AIOKafkaAdminClient, reader: AIOKafkaConsumer, group: str
    ) -> int | None:
        """Records on the group's topics it has not committed yet (None if it committed
        nothing). Partitions of the records and learners topics without a commit count from
        their beginning."""
        committed = await admin.list_consumer_group_offsets(group)
        if not committed:
            return None
        topics = sorted({tp.topic for tp in committed} | {RECORDS_TOPIC, LEARNERS_TOPIC})
        partitions = [
            TopicPartition(t["topic"], p["partition"])
            for t in await admin.describe_topics(topics)
            for p in t["partitions"]
        ]
        end = await reader.end_offsets(partitions)
        begin = await reader.beginning_offsets(partitions)
        lag = 0
        for tp in partitions:
            meta = committed.get(tp)
            position = meta.offset if meta is not None and meta.offset >= 0 else begin[tp]
            lag += max(0, end[tp] - position)
        return lag

    async def metric_lag(self, url: str) -> float | None:
        """The sum of ``learningtrail_consumer_lag`` on a service's /metrics (None if absent)."""
        try:
            response = await self.http.get(f"{url}/metrics", timeout=15)
        except httpx.HTTPError:
            return None
        found = None
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == "learningtrail_consumer_lag":
                    found = (found or 0) + sample.value
        return found

    async def outbox_samples(self, url: str) -> tuple[float, float] | None:
        """(events waiting, age of the oldest in seconds) from a service's /metrics."""
        try:
            response = await self.http.get(f"{url}/metrics", timeout=15)
        except httpx.HTTPError:
            return None
        waiting = oldest = 0.0
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == "learningtrail_outbox_events":
                    waiting = sample.value
                elif sample.name == "learningtrail_outbox_oldest_seconds":
                    oldest = sample.value
        return waiting, oldest

    async def watch_outboxes(self, seen: Json, stop: asyncio.Event) -> None:
        """Every 5 s while the run lasts: how many events each service's outbox holds and how
        long the oldest has waited (the relay's lag), keeping the highest of each."""
        while not stop.is_set():
            for name, url in vars(self.endpoints).items():
                got = await self.outbox_samples(url)
                if got is None:
                    continue
                mine = seen.setdefault(name, {"max_waiting": 0, "max_oldest_seconds": 0.0})
                mine["max_waiting"] = max(mine["max_waiting"], int(got[0]))
                mine["max_oldest_seconds"] = round(max(mine["max_oldest_seconds"], got[1]), 1)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5)

    async def watch(self, intake: Intake, done: Json, stop: asyncio.Event) -> None:
        """Until notify has seen everything: when credential's group had caught up (every
        accepted record's event applied to the trail and committed) and when notify's group
        caught up after that.

        Each second it reads only Kafka's offsets, which cost the database nothing; the
        services' /metrics are read only to confirm a caught-up group. The trail's entries are
        counted only before and after the run (the checks): on FerretDB a count decodes the
        whole collection (10 s at 122,000 entries) and even ``collStats`` takes 150 ms, so a
        watch that counted slowed the pipeline it timed (rounds one to five did)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
        reader = AIOKafkaConsumer(bootstrap_servers=self.kafka, enable_auto_commit=False)
        await admin.start()
        await reader.start()
        last_print = 0.0
        c_metric: float | None = None
        n_metric: float | None = None
        try:
            while not stop.is_set():
                c_lag, n_lag = await asyncio.gather(
                    self.group_lag(admin, reader, "credential"),
                    self.group_lag(admin, reader, "notify"),
                )
                now = time.monotonic()
                submitted = intake.finished > 0
                if submitted and "credential" not in done and c_lag == 0:
                    c_metric = await self.metric_lag(self.endpoints.credential)
                    if not c_metric:
                        done["credential"] = now
                        print(
                            f"  credential lag 0, the trail caught up: "
                            f"{now - intake.started:.1f} s after the first submission",
                            flush=True,
                        )
                done["last"] = {"credential_lag": c_lag, "notify_lag": n_lag}
                if "credential" in done and "notify" not in done and n_lag == 0:
                    n_metric = await self.metric_lag(self.endpoints.notify)
                    if not n_metric:
                        done["notify"] = now
                        print(f"  notify lag 0: {now - intake.started:.1f} s", flush=True)
                        return
                if now - last_print >= 10:
                    last_print = now
                    print(
                        f"  {now - intake.started:7.1f} s  "
                        f"accepted {len(intake.accepted_ids):>8,}  "
                        f"lag (committed; /metrics when 0): "
                        f"credential {c_lag}, {c_metric}; notify {n_lag}, {n_metric}",
                        flush=True,
                    )
                if now - intake.started > self.args.wait:
                    return
                await asyncio.sleep(1)
        finally:
            await reader.stop()
            await admin.close()

    # verification

    async def verify(self, intake: Intake, baseline: int) -> None:
        await asyncio.sleep(3)  # a late duplicate would show by now
        count = await self.trail_count()
        accepted = len(intake.accepted_ids)
        self.check(
            "trail entries grew by the records accepted",
            count - baseline == accepted,
            f"{count - baseline:,} new entries for {accepted:,} records accepted",
        )
        if self.args.verify_ids:
            began = time.perf_counter()
            ids = sorted(intake.accepted_ids)
            found = 0
            entries = self.mongo[CREDENTIAL_DB]["trail_entries"]
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                found += len([d async for d in entries.find({"_id": {"$in": chunk}}, {"_id": 1})])
            self.check(
                "every accepted record id is stored",
                found == len(ids),
                f"{found:,} of {len(ids):,} found ({time.perf_counter() - began:.1f} s)",
            )
        learners = list(intake.expected)
        sample = self.rng.sample(learners, min(self.args.sample, len(learners)))
        gate = asyncio.Semaphore(8)
        bad: list[str] = []

        async def one(learner_id: str) -> None:
            async with gate:
                response = await self.http.get(
                    f"{self.endpoints.credential}/v1/learners/{learner_id}/trail",
                    headers=self.token(learner_id),
                )
            if response.status_code != 200:
                bad.append(f"{learner_id}: HTTP {response.status_code}")
                return
            trail = response.json()
            got = [e["record_id"] for g in trail["pathways"] for e in g["entries"]]
            want = intake.expected[learner_id]
            if len(got) != len(set(got)) or set(got) != want or trail["entry_count"] != len(want):
                bad.append(
                    f"{learner_id}: {len(got)} entries ({len(set(got))} distinct), want {len(want)}"
                )

        await asyncio.gather(*(one(lid) for lid in sample))
        self.check(
            "sampled trails hold exactly the submitted records",
            not bad,
            f"{len(sample) - len(bad)} of {len(sample)} learners match"
            + (f"; e.g. {bad[:3]}" if bad else ""),
        )

    # latencies

    async def single_latency(self, persons: People, keys: list[str]) -> Json:
        rate, seconds = self.args.rate, self.args.latency_seconds
        total = int(rate * seconds)
        url = f"{self.endpoints.learner}/v1/records"
        statuses: Counter[str] = Counter()
        ok: list[float] = []
        accepted: list[Json] = []
        loop = asyncio.get_running_loop()
        began = loop.time() + 0.2
        sent_at: list[float] = []

        async def one(n: int) -> None:
            person = persons.new()
            body = submission(
                f"BENCH-{self.run}-single-{n:06d}", person, record_content(self.rng, person)
            )
            await asyncio.sleep(max(0.0, began + n / rate - loop.time()))
            sent_at.append(loop.time())
            started = time.perf_counter()
            try:
                response = await self.http.post(
                    url, json=body, headers={"X-API-Key": keys[n % len(keys)]}
                )
            except httpx.TransportError as exc:
                statuses[type(exc).__name__] += 1
                return
            statuses[str(response.status_code)] += 1
            if response.status_code == 202:
                ok.append(time.perf_counter() - started)
                accepted.append(response.json())

        await asyncio.gather(*(one(n) for n in range(total)))
        sending = max(sent_at) - min(sent_at) if len(sent_at) > 1 else 0.0
        return {
            "rate": rate,
            "seconds": seconds,
            "sent": total,
            # requests sent a second (open loop: a slow answer does not delay the next request)
            "achieved_per_s": round((len(sent_at) - 1) / sending, 1) if sending else None,
            "statuses": dict(statuses),
            "latency_ms": percentiles(ok),
            "accepted": len(accepted),
        }

    async def trail_latency(self, learners: list[str]) -> Json:
        reads = self.args.trail_reads
        gate = asyncio.Semaphore(self.args.read_concurrency)
        took: list[float] = []
        statuses: Counter[str] = Counter()
        picks = [self.rng.choice(learners) for _ in range(reads)]

        async def one(learner_id: str) -> None:
            async with gate:
                started = time.perf_counter()
                response = await self.http.get(
                    f"{self.endpoints.credential}/v1/learners/{learner_id}/trail",
                    headers=self.token(learner_id),
                )
                took.append(time.perf_counter() - started)
                statuses[str(response.status_code)] += 1

        began = time.perf_counter()
        await asyncio.gather(*(one(lid) for lid in picks))
        return {
            "reads": reads,
            "concurrency": self.args.read_concurrency,
            "per_s": round(reads / (time.perf_counter() - began), 1),
            "statuses": dict(statuses),
            "latency_ms": percentiles(took),
        }

    # baselines

    async def produce_baseline(self, n: int) -> Json:
        topic = f"lt-bench-{self.run}"
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=6, replication_factor=1)])
            producer = AIOKafkaProducer(
                bootstrap_servers=self.kafka, acks="all", enable_idempotence=True
            )
            await producer.start()
            try:
                value = json.dumps({"record_id": str(uuid.uuid4()), "pad": "x" * 400}).encode()
                for partition in range(6):  # untimed: until every partition has its leader
                    await producer.send_and_wait(topic, b"warm-up", partition=partition)
                began = time.perf_counter()
                pending: list[asyncio.Future[Any]] = []
                for i in range(n):
                    pending.append(
                        await producer.send(topic, value, key=f"L{i % 33_333:06d}".encode())
                    )
                    if len(pending) >= 5000:
                        await asyncio.gather(*pending)
                        pending.clear()
                await asyncio.gather(*pending)
                seconds = time.perf_counter() - began
            finally:
                await producer.stop()
            return {
                "messages": n,
                "bytes_each": len(value),
                "seconds": round(seconds, 2),
                "per_s": round(n / seconds),
            }
        finally:
            with contextlib.suppress(Exception):
                await admin.delete_topics([topic])
            await admin.close()

    async def insert_baseline(self, n: int) -> Json:
        name = f"lt_bench_e2e_{self.run}"
        collection = self.mongo[name]["entries"]
        persons = People(random.Random(1))
        rng = random.Random(2)
        docs = [
            {
                "_id": f"rec-{self.run}-{i:08d}",
                "learner_id": f"L{i // 3:08d}",
                **record_content(rng, persons.new()),
            }
            for i in range(n)
        ]
        try:
            began = time.perf_counter()
            for start in range(0, n, 1000):
                await collection.insert_many(docs[start : start + 1000], ordered=False)
            seconds = time.perf_counter() - began
        finally:
            await self.mongo.drop_database(name)
        return {"documents": n, "seconds": round(seconds, 2), "per_s": round(n / seconds)}

    # the run

    async def main(self) -> Json:
        args, results = self.args, self.results
        await self.ready()
        baseline = await self.trail_count()
        results["trail_entries_before"] = baseline
        self.rss.start()
        cpu_start = self.rss.cpu_seconds()
        print(f"run {self.run}: {baseline:,} trail entries stored before", flush=True)

        done: Json = {}
        stop = asyncio.Event()
        intake = self.intake_state

        # the watcher starts with the submissions: the clock of "end to end" too
        submitting = asyncio.create_task(self.intake())
        started = asyncio.create_task(self.started.wait())
        await asyncio.wait([submitting, started], return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        watcher = asyncio.create_task(self.watch(intake, done, stop))
        outboxes: Json = {}
        outbox_watcher = asyncio.create_task(self.watch_outboxes(outboxes, stop))
        _, persons = await submitting
        intake_s = intake.finished - intake.started
        accepted = len(intake.accepted_ids)
        print(
            f"submitted in {intake_s:.1f} s: {accepted:,} accepted ({accepted / intake_s:,.0f}/s); "
            "waiting for the trail and notify …",
            flush=True,
        )
        await watcher
        stop.set()
        await outbox_watcher
        cpu_caught_up = self.rss.cpu_seconds()
        results["intake"] = {
            "records": args.records,
            "learners": len(persons),
            "centres": args.centres,
            "batch": args.batch,
            "seconds": round(intake_s, 2),
            "accepted": accepted,
            "per_s": round(accepted / intake_s, 1),
            "http": dict(intake.http),
            "items": dict(intake.items),
            "retries_after_retry_after": intake.retries,
            "transport_errors": intake.transport_errors,
            "resubmitted_unavailable_items": intake.resubmitted_items,
            "replayed": intake.replayed,
            "batch_latency_ms": percentiles(intake.batch_seconds),
            "errors": intake.errors[:20],
        }
        e2e: Json = {}
        if "credential" in done:
            e2e_s = done["credential"] - intake.started
            e2e = {"seconds": round(e2e_s, 2), "per_s": round(accepted / e2e_s, 1)}
        if "notify" in done:
            e2e["notify_seconds"] = round(done["notify"] - intake.started, 2)
        e2e["last_seen"] = done.get("last")
        results["end_to_end"] = e2e
        results["outbox"] = outboxes
        left = {name: await self.outbox_samples(url) for name, url in vars(self.endpoints).items()}
        results["outbox_after"] = {n: v[0] for n, v in left.items() if v is not None}
        print("checks:", flush=True)
        self.check(
            "no HTTP 500",
            intake.http.get("500", 0) == 0,
            f"{intake.http.get('500', 0)} answers 500",
        )
        self.check(
            "every record accepted",
            intake.items.get("accepted", 0) == args.records,
            ", ".join(f"{k} {v:,}" for k, v in sorted(intake.items.items())),
        )
        self.check(
            "the trail caught up",
            "credential" in done,
            f"in {e2e['seconds']} s"
            if "credential" in done
            else f"not within {args.wait} s; last seen {done.get('last')}",
        )
        self.check(
            "notify caught up",
            "notify" in done,
            f"in {e2e['notify_seconds']} s"
            if "notify" in done
            else f"not within {args.wait} s; last seen {done.get('last')}",
        )
        await self.verify(intake, baseline)

        print(f"single submissions at {args.rate}/s for {args.latency_seconds} s …", flush=True)
        keys = [
            c["api_key"]
            for c in await self.register_centres(max(1, math.ceil(args.rate / 8)), "latency")
        ]
        people = People(self.rng)
        people.seen = {p.national_id for p in persons}
        cpu_before = self.rss.cpu_seconds()
        results["single_submission"] = await self.single_latency(people, keys)
        cpu_after = self.rss.cpu_seconds()
        results["single_submission"]["cpu_ms_each"] = cpu_used(
            cpu_before, cpu_after, max(1, results["single_submission"]["sent"])
        )
        print(f"{args.trail_reads} trail reads …", flush=True)
        results["trail_read"] = await self.trail_latency(list(intake.expected))
        results["trail_read"]["cpu_ms_each"] = cpu_used(
            cpu_after, self.rss.cpu_seconds(), max(1, args.trail_reads)
        )
        # from the first submission until notify caught up (or gave up), per 1,000 records
        results["cpu_ms_per_1000_records"] = cpu_used(
            cpu_start, cpu_caught_up, max(1, accepted) / 1000
        )
        self.rss.stop()
        results["max_rss_mib"] = {k: round(v, 1) for k, v in self.rss.max_mib.items()}

        if not args.no_baselines:
            print(
                f"baselines: producing {args.records:,} messages, "
                f"inserting {args.records:,} documents …",
                flush=True,
            )
            produced = await self.produce_baseline(args.records)
            inserted = await self.insert_baseline(args.records)
            results["baselines"] = {"kafka_produce": produced, "mongo_insert_many": inserted}
            ratios = {
                "intake_vs_produce": round(results["intake"]["per_s"] / produced["per_s"], 4),
                "intake_vs_insert": round(results["intake"]["per_s"] / inserted["per_s"], 4),
            }
            if e2e.get("per_s"):
                ratios["e2e_vs_intake"] = round(e2e["per_s"] / results["intake"]["per_s"], 3)
            results["ratios"] = ratios
        return results

    async def close(self) -> None:
        await self.http.aclose()
        await self.mongo.close()


def summary(results: Json) -> str:
    intake, e2e = results.get("intake", {}), results.get("end_to_end", {})
    rows: list[tuple[str, str]] = [
        (
            "run",
            f"{results['run']} (seed {results['seed']}); "
            f"{results['trail_entries_before']:,} trail entries before",
        ),
        (
            "records",
            f"{intake.get('records', 0):,} for {intake.get('learners', 0):,} learners, "
            f"{intake.get('centres')} centres, batches of {intake.get('batch')}",
        ),
        (
            "HTTP answers (batches)",
            ", ".join(f"{k}: {v:,}" for k, v in sorted(intake.get("http", {}).items())),
        ),
        ("items", ", ".join(f"{k}: {v:,}" for k, v in sorted(intake.get("items", {}).items()))),
        (
            "retries",
            f"{intake.get('retries_after_retry_after', 0)} after 503/429, "
            f"{intake.get('transport_errors', 0)} after a lost connection, "
            f"{intake.get('resubmitted_unavailable_items', 0)} items resubmitted (unavailable), "
            f"{intake.get('replayed', 0)} replayed",
        ),
        ("HTTP 500", str(intake.get("http", {}).get("500", 0))),
        (
            "**intake**",
            f"**{intake.get('per_s', 0):,.0f} records/s** "
            f"({intake.get('accepted', 0):,} in {intake.get('seconds')} s)",
        ),
        ("batch request latency p50/p95/p99", fmt_pct(intake.get("batch_latency_ms", {}))),
        (
            "**end to end** (all in the trail, credential lag 0)",
            f"**{e2e['per_s']:,.0f} records/s** ({e2e['seconds']} s from the first submission)"
            if "per_s" in e2e
            else "not reached",
        ),
        (
            "notify caught up (lag 0)",
            f"{e2e['notify_seconds']} s" if "notify_seconds" in e2e else "not reached",
        ),
    ]
    for name, seen in results.get("outbox", {}).items():
        rows.append(
            (
                f"outbox {name}: most events waiting / oldest wait (relay lag)",
                f"{seen['max_waiting']:,} / {seen['max_oldest_seconds']} s; "
                f"{results.get('outbox_after', {}).get(name, '?')} waiting once caught up",
            )
        )
    for name, check in results.get("checks", {}).items():
        rows.append(
            (f"check: {name}", f"{'ok' if check['ok'] else '**FAIL**'} — {check['detail']}")
        )
    single = results.get("single_submission")
    if single:
        rows.append(
            (
                f"POST /v1/records at {single['rate']}/s for {single['seconds']} s, p50/p95/p99",
                f"{fmt_pct(single['latency_ms'])}; answers {single['statuses']}, "
                f"sent at {single['achieved_per_s']}/s",
            )
        )
    reads = results.get("trail_read")
    if reads:
        rows.append(
            (
                f"GET …/trail ×{reads['reads']} ({reads['concurrency']} at a time), p50/p95/p99",
                f"{fmt_pct(reads['latency_ms'])}; {reads['per_s']}/s; answers {reads['statuses']}",
            )
        )
    for label, key in (
        ("CPU ms per 1,000 records (first submission → notify caught up)", None),
        ("CPU ms per single submission", "single_submission"),
        ("CPU ms per trail read", "trail_read"),
    ):
        used = (
            results.get(key, {}).get("cpu_ms_each")
            if key
            else results.get("cpu_ms_per_1000_records")
        )
        if used:
            rows.append((label, ", ".join(f"{n} {v:,.1f}" for n, v in used.items() if v)))
    for name, mib in results.get("max_rss_mib", {}).items():
        rows.append((f"max RSS {name}", f"{mib:,.0f} MiB"))
    baselines = results.get("baselines")
    if baselines:
        produced, inserted = baselines["kafka_produce"], baselines["mongo_insert_many"]
        rows.append(
            (
                "baseline: aiokafka produce (acks=all, idempotent)",
                f"{produced['per_s']:,} messages/s ({produced['messages']:,} "
                f"× {produced['bytes_each']} B in {produced['seconds']} s)",
            )
        )
        rows.append(
            (
                "baseline: insert_many (1,000 a batch)",
                f"{inserted['per_s']:,} documents/s "
                f"({inserted['documents']:,} in {inserted['seconds']} s)",
            )
        )
        for name, value in results.get("ratios", {}).items():
            rows.append((f"ratio {name.replace('_', ' ')}", f"{value:.3f}"))
    lines = ["| measure | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--centres", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000, help="records a request (≤ 1,000)")
    parser.add_argument("--rate", type=float, default=50, help="single submissions a second")
    parser.add_argument("--latency-seconds", type=float, default=20)
    parser.add_argument("--trail-reads", type=int, default=500)
    parser.add_argument("--read-concurrency", type=int, default=4)
    parser.add_argument("--sample", type=int, default=200, help="learners whose trails are checked")
    parser.add_argument(
        "--verify-ids",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="look every accepted record id up in trail_entries",
    )
    parser.add_argument("--wait", type=float, default=3600, help="seconds to wait for the trail")
    parser.add_argument("--request-timeout", type=float, default=300)
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = parser.parse_args()
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be 1 to 1,000")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**31)
    return args


async def run(args: argparse.Namespace) -> tuple[Json, list[str]]:
    bench = Bench(args)
    try:
        results = await bench.main()
    finally:
        bench.rss.stop()
        await bench.close()
    return results, bench.failures


def main() -> None:
    args = parse()
    # aiokafka warns while a new topic's leaders are elected (the baseline waits that out)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    results, failures = asyncio.run(run(args))
    print()
    print(summary(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    if failures:
        print(f"\n{len(failures)} check(s) failed", flush=True)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
