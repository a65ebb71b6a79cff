"""xAPI statements against the record batch intake, in the same run, on a running stack.

Against the stack ``uv run trail dev up`` started, it registers a training centre, sets a
mapping (completed courses → ``online`` records), links ``--learners`` agents to learners, and
then, for each batch size in ``--batches`` (100, 1,000), sends ``--total`` items three ways,
one request at a time per client and ``--clients`` clients at once:

* ``xapi stored``: ``POST /xapi/statements`` of statements whose actors are not linked —
  stored, announced on ``xapi-statements.v1``, nothing else;
* ``xapi mapped``: the same with linked actors and the mapped verb — each statement is stored,
  announced, and becomes a learning record through the record intake;
* ``records:batch``: ``POST /v1/records:batch`` of the same number of records.

It prints items per second for each (wall time of the phase) and each request's p50/p95 in ms,
and fails (exit 1) on any answer other than 200. Usage::

    uv run python bench/xapi.py [--total 10000] [--batches 100,1000] [--clients 2]
        [--learners 500]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import random
import statistics
import sys
import time
import uuid
from typing import Any

import httpx

from cli import localstack
from cli.config import Endpoints

VERB = "http://adlnet.gov/expapi/verbs/completed"
COURSE = "http://adlnet.gov/expapi/activities/course"
CODE = "https://learningtrail.vn/xapi/extensions/course-code"
HOURS = "https://learningtrail.vn/xapi/extensions/hours"
SITE = "https://lms.bench.example.edu.vn"


def national_id() -> str:
    return "0" + "".join(random.choices("0123456789", k=11))


def statement(user: str) -> dict[str, Any]:
    n = random.randrange(1, 400)
    return {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": SITE, "name": user}},
        "verb": {"id": VERB, "display": {"en": "completed"}},
        "object": {
            "id": f"{SITE}/course/{n}",
            "definition": {
                "type": COURSE,
                "name": {"vi": f"Khoá học trực tuyến số {n}"},
                "extensions": {CODE: f"OL-{n:03d}", HOURS: 30},
            },
        },
        "timestamp": "2025-06-20T09:00:00+07:00",
        "result": {"completion": True, "success": True},
    }


def record(nid: str) -> dict[str, Any]:
    n = random.randrange(1, 400)
    return {
        "provider_record_ref": f"BENCH-{uuid.uuid4().hex}",
        "learner": {"national_id": nid, "full_name": "Nguyễn Văn An", "birth_date": "1990-01-01"},
        "record": {
            "pathway": "online",
            "kind": "course",
            "title": f"Khoá học trực tuyến số {n}",
            "code": f"OL-{n:03d}",
            "hours": 30,
            "result": {"status": "passed"},
            "completed_on": "2025-06-20",
        },
    }


async def phase(
    http: httpx.AsyncClient,
    name: str,
    requests: list[tuple[str, dict[str, str], Any]],
    clients: int,
    items: int,
) -> dict[str, Any]:
    queue = list(reversed(requests))
    latencies: list[float] = []
    failures: list[str] = []

    async def client() -> None:
        while queue:
            url, headers, body = queue.pop()
            for _ in range(5):
                started = time.perf_counter()
                response = await http.post(url, json=body, headers=headers)
                if response.status_code in (429, 503):
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                elif name == "records:batch" and response.json()["failed"]:
                    failures.append(f"items failed: {response.json()['failed']}")
                break

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "name": name,
        "items_per_s": items / wall,
        "p50": statistics.median(latencies),
        "p95": latencies[math.ceil(len(latencies) * 0.95) - 1],
        "failures": failures,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--batches", default="100,1000")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--learners", type=int, default=500)
    args = parser.parse_args()
    endpoints = Endpoints.from_env()
    admin = {"Authorization": f"Bearer {localstack.dev_secrets()['LT_ADMIN_TOKEN']}"}
    learner = endpoints.learner
    async with httpx.AsyncClient(timeout=120) as http:
        created = (
            await http.post(
                f"{learner}/v1/admin/providers",
                json={
                    "name": "Trung tâm học trực tuyến (bench)",
                    "kind": "vocational_continuing_centre",
                    "unit_code": "22735",
                    "pathways": ["online"],
                },
                headers=admin,
            )
        ).json()
        pid, key = created["provider"]["id"], created["api_key"]
        api_key = {"X-API-Key": key}
        basic = base64.b64encode(f"{pid}:{key}".encode()).decode()
        xapi = {"Authorization": f"Basic {basic}", "X-Experience-API-Version": "2.0.0"}
        mapping = {
            "rules": [
                {
                    "verbs": [VERB],
                    "activity_types": [COURSE],
                    "pathway": "online",
                    "kind": "course",
                    "code": {"extension": CODE},
                    "hours": {"extension": HOURS},
                }
            ]
        }
        assert (
            await http.put(f"{learner}/v1/xapi/mapping", json=mapping, headers=api_key)
        ).status_code == 200
        users = [f"bench-{uuid.uuid4().hex[:10]}" for _ in range(args.learners)]
        nids = [national_id() for _ in users]
        for user, nid in zip(users, nids, strict=True):
            linked = await http.put(
                f"{learner}/v1/xapi/agent-links",
                json={
                    "agent": {"account": {"homePage": SITE, "name": user}},
                    "learner": {
                        "national_id": nid,
                        "full_name": "Nguyễn Văn An",
                        "birth_date": "1990-01-01",
                    },
                },
                headers=api_key,
            )
            assert linked.status_code == 200, linked.text
        rows: list[dict[str, Any]] = []
        for size in (int(b) for b in args.batches.split(",")):
            count = max(1, args.total // size)
            items = count * size
            stored = [
                (
                    f"{learner}/xapi/statements",
                    xapi,
                    [statement(f"unlinked-{uuid.uuid4().hex[:8]}") for _ in range(size)],
                )
                for _ in range(count)
            ]
            mapped = [
                (
                    f"{learner}/xapi/statements",
                    xapi,
                    [statement(random.choice(users)) for _ in range(size)],
                )
                for _ in range(count)
            ]
            batches = [
                (
                    f"{learner}/v1/records:batch",
                    api_key,
                    {"records": [record(random.choice(nids)) for _ in range(size)]},
                )
                for _ in range(count)
            ]
            for name, requests in (
                ("records:batch", batches),
                ("xapi stored", stored),
                ("xapi mapped", mapped),
            ):
                row = await phase(http, name, requests, args.clients, items)
                row["batch"] = size
                row["items"] = items
                rows.append(row)
                print(
                    f"{name:14} batch {size:5}: {row['items_per_s']:8.0f} items/s, "
                    f"p50 {row['p50']:7.0f} ms, p95 {row['p95']:7.0f} ms, "
                    f"{len(row['failures'])} failed",
                    flush=True,
                )
        sample = [s for _, _, body in mapped[:1] for s in body[:50]]
        reads: dict[str, list[float]] = {"by statementId": [], "agent filter, limit 10": []}
        for s in sample:
            for name, params in (
                ("by statementId", {"statementId": s["id"]}),
                ("agent filter, limit 10", {"agent": json.dumps(s["actor"]), "limit": "10"}),
            ):
                started = time.perf_counter()
                got = await http.get(f"{learner}/xapi/statements", params=params, headers=xapi)
                reads[name].append((time.perf_counter() - started) * 1000)
                assert got.status_code == 200, got.text
        for name, times in reads.items():
            print(f"GET {name}: p50 {statistics.median(times):.0f} ms ({len(times)} reads)")
    print("\n| batch | what | items | items/s | p50 ms | p95 ms |\n|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['batch']} | {row['name']} | {row['items']} | {row['items_per_s']:.0f} | "
            f"{row['p50']:.0f} | {row['p95']:.0f} |"
        )
    failed = [f for row in rows for f in row["failures"]]
    for failure in failed[:10]:
        print("FAILED", failure, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
