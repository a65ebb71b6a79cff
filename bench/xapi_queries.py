"""xAPI statement queries (``GET /xapi/statements`` with filters) as the store grows.

Against the stack ``uv run trail dev up`` started, it registers a training centre and stores
statements for it in steps up to each of ``--sizes`` (10,000 and 100,000): they are made by the
LRS's own code (``Statements._doc``, the query keys and index entries) and written straight into
the learner's database, in batches of 1,000 — the same documents ``POST /xapi/statements``
writes, without their events (the intake has its own benchmark, ``bench/xapi.py``). Statements
are spread over ``--agents`` agents, 400 activities, 3 verbs and 50 registrations.

At each size it sends each query ``--reads`` times, one at a time, and prints the p50 wall time
and the processor time the learner service and FerretDB spent per query (from /proc: the wall
time is noisy on a shared machine). ``--before`` also times, at each size, the query main used
to make on ``xapi_statement_index`` (filter on the fields, sort by stored time, limit), sent
straight to the database: what the filtered queries cost before the query keys. Usage::

    uv run python bench/xapi_queries.py [--sizes 10000,100000] [--agents 100] [--reads 20]
        [--before]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
from pymongo import DESCENDING, AsyncMongoClient

from cli import localstack
from cli.config import Endpoints
from services.learner.xapi.keys import statement_keys
from services.learner.xapi.statements import Statements, _index_entry

VERBS = [f"http://adlnet.gov/expapi/verbs/{v}" for v in ("completed", "attempted", "passed")]
SITE = "https://lms.bench.example.edu.vn"
TICKS = os.sysconf("SC_CLK_TCK")


def statement(agent: int, registration: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"account": {"homePage": SITE, "name": f"agent-{agent}"}},
        "verb": {"id": random.choice(VERBS), "display": {"en": "completed"}},
        "object": {"id": f"{SITE}/course/{random.randrange(400)}"},
        "context": {"registration": registration},
        "result": {"completion": True},
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pids() -> dict[str, int]:
    return {
        name: pid
        for name, pid, _, _ in localstack.status()
        if name in ("learner", "ferretdb") and pid
    }


async def load(db: Any, provider: dict[str, Any], count: int, agents: int, regs: list[str]) -> None:
    make = Statements._doc  # the LRS's own documents, made without a request
    start = datetime.now(UTC) - timedelta(days=30)
    for first in range(0, count, 1000):
        docs = []
        for i in range(first, min(count, first + 1000)):
            at = start + timedelta(milliseconds=i * 7)
            doc = make(
                cast(Any, None),
                provider,
                statement(random.randrange(agents), random.choice(regs)),
                uuid.uuid4().hex,
                at.replace(microsecond=at.microsecond // 1000 * 1000),
                False,
            )
            doc.pop("pending")
            docs.append(doc)
        await db["xapi_statements"].insert_many(docs, ordered=False)
        await db["xapi_statement_index"].insert_many([_index_entry(d) for d in docs])
        await db["xapi_statement_keys"].insert_many(
            [{"_id": k, "statement": d["_id"]} for d in docs for k in statement_keys(d)],
            ordered=False,
        )


def old_query(pid: str, filters: dict[str, Any]) -> dict[str, Any]:
    return {"provider_id": pid, "voided": False, **filters}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--before", action="store_true")
    args = parser.parse_args()
    endpoints = Endpoints.from_env()
    ports = localstack.Ports.from_env()
    admin = {"Authorization": f"Bearer {localstack.dev_secrets()['LT_ADMIN_TOKEN']}"}
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(localstack.mongodb_uri(ports))
    db = client["lt_learner"]
    regs = [str(uuid.uuid4()) for _ in range(50)]
    stored = 0
    async with httpx.AsyncClient(timeout=300) as http:
        created = (
            await http.post(
                f"{endpoints.learner}/v1/admin/providers",
                json={
                    "name": "Trung tâm học trực tuyến (bench truy vấn)",
                    "kind": "vocational_continuing_centre",
                    "unit_code": "22735",
                    "pathways": ["online"],
                },
                headers=admin,
            )
        ).json()
        pid, key = created["provider"]["id"], created["api_key"]
        provider = (await client["lt_learner"]["providers"].find_one({"_id": pid})) or {"_id": pid}
        basic = base64.b64encode(f"{pid}:{key}".encode()).decode()
        xapi = {"Authorization": f"Basic {basic}", "X-Experience-API-Version": "2.0.0"}
        agent = json.dumps({"account": {"homePage": SITE, "name": "agent-7"}})
        queries: list[tuple[str, dict[str, str]]] = [
            ("agent, limit 10", {"agent": agent, "limit": "10"}),
            ("agent + verb, limit 10", {"agent": agent, "verb": VERBS[2], "limit": "10"}),
            ("activity, limit 10", {"activity": f"{SITE}/course/7", "limit": "10"}),
            ("registration, limit 10", {"registration": regs[3], "limit": "10"}),
            (
                "agent, ascending, limit 10",
                {"agent": agent, "ascending": "true", "limit": "10"},
            ),
            ("no filter, limit 100", {"limit": "100"}),
        ]
        print("| stored | query | p50 ms (wall) | learner CPU ms/query | FerretDB CPU ms/query |")
        print("|---|---|---|---|---|")
        for size in (int(s) for s in args.sizes.split(",")):
            started = time.perf_counter()
            await load(db, provider, size - stored, args.agents, regs)
            print(
                f"(loaded {size - stored} in {time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
            stored = size
            for name, params in queries:
                procs = pids()
                cpu = {n: cpu_seconds(p) for n, p in procs.items()}
                times = []
                for _ in range(args.reads):
                    t0 = time.perf_counter()
                    got = await http.get(
                        f"{endpoints.learner}/xapi/statements", params=params, headers=xapi
                    )
                    times.append((time.perf_counter() - t0) * 1000)
                    assert got.status_code == 200, got.text
                    assert got.json()["statements"], name
                used = {n: (cpu_seconds(p) - cpu[n]) * 1000 / args.reads for n, p in procs.items()}
                print(
                    f"| {size:,} | {name} | {statistics.median(times):.0f} | "
                    f"{used.get('learner', 0):.0f} | {used.get('ferretdb', 0):.0f} |",
                    flush=True,
                )
            # paging: the next page through the ``more`` link
            first = (
                await http.get(
                    f"{endpoints.learner}/xapi/statements",
                    params={"agent": agent, "limit": "10"},
                    headers=xapi,
                )
            ).json()
            t0 = time.perf_counter()
            page = await http.get(f"{endpoints.learner}{first['more']}", headers=xapi)
            assert page.status_code == 200 and page.json()["statements"]
            print(f"| {size:,} | next page (more) | {(time.perf_counter() - t0) * 1000:.0f} | | |")
            if args.before:
                procs = pids()
                cpu = {n: cpu_seconds(p) for n, p in procs.items()}
                reads = max(1, args.reads // 5)
                key_of = f"account:{SITE}|agent-7"
                sample = await db["xapi_statement_index"].find_one({"provider_id": pid})
                key_of = (sample or {}).get("agents", [key_of])[0]
                times = []
                for _ in range(reads):
                    t0 = time.perf_counter()
                    cursor = (
                        db["xapi_statement_index"]
                        .find(old_query(pid, {"agents": key_of}), {"stored": 1})
                        .sort([("stored", DESCENDING), ("statement_id", DESCENDING)])
                        .limit(11)
                    )
                    assert [d async for d in cursor]
                    times.append((time.perf_counter() - t0) * 1000)
                used = (
                    cpu_seconds(procs["ferretdb"]) - cpu["ferretdb"] if "ferretdb" in procs else 0
                )
                print(
                    f"| {size:,} | BEFORE: main's agent query, limit 10 (database only) | "
                    f"{statistics.median(times):.0f} | | {used * 1000 / reads:.0f} |",
                    flush=True,
                )
    await client.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
