"""How long a province-year report takes with 100,000 records.

Fills a throwaway database (``lt_insights_bench``, dropped first) with the facts the insights
consumer would store for N learners in the communes of one province (a third of them under
pre-2025 commune codes) and N learning records over one year — 5 % corrected, 2 % revoked,
1 % of learners merged — plus recognitions, credentials, programmes and deliveries, all made
from contract events through the consumer's own code (``facts.grouped`` and
``InsightsStore.add``). Then it times what ``GET /v1/figures?period=YEAR&unit=PROVINCE`` and
``trail report`` do:

- reading every fact from the database (``InsightsStore.facts``);
- resolving them (latest versions, merges, revocations) and counting every indicator;
- building the workbook, the CSV and the printable page (with its charts).

Usage (the local stack's database; ports from LT_DEV_*)::

    uv run python bench/insights_report.py --records 100000

The intake itself (records through the learner service and Kafka) is measured by
``bench/e2e.py``; this measures the report once the facts are stored.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from pymongo import AsyncMongoClient

from cli import localstack
from contracts.credentials import CredentialIssued, RecognitionGranted
from contracts.envelope import Envelope
from contracts.learners import LearnerMerged, LearnerRegistered
from contracts.notifications import NotificationDelivered
from contracts.programmes import ProgrammeAnnounced
from contracts.records import (
    LearningRecordCorrected,
    LearningRecordRecorded,
    LearningRecordRevoked,
    Result,
)
from contracts.vocabulary import Pathway, RecordKind, ResultStatus
from services.insights.facts import grouped
from services.insights.figures import Period, Scope, figures, resolve
from services.insights.figures_page import render
from services.insights.snapshot import Snapshot
from services.insights.store import InsightsStore
from services.insights.units import catalogue
from services.insights.workbook import csv_bytes, workbook_bytes

DATABASE = "lt_insights_bench"


def _event(data: BaseModel) -> Envelope[BaseModel]:
    return Envelope[BaseModel](type="bench", source="/bench", subject="x", data=data)


def synthetic_log(
    records: int, province: str, year: int, seed: int = 7
) -> list[Envelope[BaseModel]]:
    rng = random.Random(seed)
    units = catalogue()
    communes = units.communes_in(province)
    old_codes = sorted(c for c, n in units.successors.items() if n in set(communes) and c != n)
    at = datetime(year, 1, 1, tzinfo=UTC)
    learners = max(1, records // 3)
    log: list[Envelope[BaseModel]] = []
    for i in range(learners):
        commune = rng.choice(old_codes) if old_codes and i % 3 == 0 else rng.choice(communes)
        log.append(
            _event(
                LearnerRegistered(
                    learner_id=f"L{i}",
                    full_name="Nguyễn Văn An",
                    birth_date=date(rng.randint(1950, 2010), rng.randint(1, 12), 1),
                    commune_code=commune,
                    registered_at=at,
                )
            )
        )
    pathways = list(Pathway)
    for r in range(records):
        learner = f"L{rng.randrange(learners)}"
        day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
        content: dict[str, Any] = {
            "pathway": rng.choice(pathways),
            "kind": rng.choice(list(RecordKind)),
            "title": "Khóa học",
            "hours": float(rng.randint(4, 300)),
            "credits": float(rng.randint(0, 6)),
            "vqf_level": rng.choice([None, 1, 2, 3, 4]),
            "result": Result(
                status=rng.choice(
                    [ResultStatus.PASSED, ResultStatus.COMPLETED, ResultStatus.FAILED]
                )
            ),
            "completed_on": day,
        }
        log.append(
            _event(
                LearningRecordRecorded(
                    record_id=f"R{r}",
                    learner_id=learner,
                    provider_id=f"centre-{r % 40}",
                    provider_record_ref=f"ref-{r}",
                    recorded_at=at,
                    provider_name=f"Trung tâm {r % 40}",
                    **content,
                )
            )
        )
        if r % 20 == 0:
            log.append(
                _event(
                    LearningRecordCorrected(
                        record_id=f"R{r}",
                        learner_id=learner,
                        provider_id=f"centre-{r % 40}",
                        reason="đính chính",
                        corrected_at=at + timedelta(days=400),
                        **{**content, "hours": 10.0},
                    )
                )
            )
        if r % 50 == 1:
            log.append(
                _event(
                    LearningRecordRevoked(
                        record_id=f"R{r}",
                        learner_id=learner,
                        provider_id=f"centre-{r % 40}",
                        reason="cấp nhầm",
                        revoked_at=at + timedelta(days=400),
                    )
                )
            )
        if r % 10 == 2:
            log.append(
                _event(
                    RecognitionGranted(
                        recognition_id=f"G{r}",
                        learner_id=learner,
                        rule_id="continuing-credit",
                        rule_version="1",
                        record_ids=[f"R{r}"],
                        outcome_vi="Công nhận",
                        granted_at=at + timedelta(days=rng.randrange(365)),
                    )
                )
            )
        if r % 25 == 3:
            log.append(
                _event(
                    CredentialIssued(
                        credential_id=f"C{r}",
                        learner_id=learner,
                        record_ids=[f"R{r}"],
                        issued_at=at + timedelta(days=rng.randrange(365)),
                    )
                )
            )
    for i in range(0, learners, 100):
        log.append(
            _event(
                LearnerMerged(
                    learner_id=f"L{i}", merged_into=f"L{i + 1}", reason="trùng", merged_at=at
                )
            )
        )
    for p in range(200):
        log.append(
            _event(
                ProgrammeAnnounced(
                    programme_id=f"P{p}",
                    provider_id=f"centre-{p % 40}",
                    title="Chương trình",
                    pathway=rng.choice(pathways),
                    place_codes=rng.sample(communes, 3),
                    how_to_enrol="Liên hệ trung tâm",
                    announced_at=at + timedelta(days=rng.randrange(365)),
                )
            )
        )
    for i in range(0, learners, 2):
        log.append(
            _event(
                NotificationDelivered(
                    notification_id=f"L{i}:P{i % 200}:inbox",
                    learner_id=f"L{i}",
                    channel="inbox",
                    about="programme",
                    subject_id=f"P{i % 200}",
                    attempts=1,
                    delivered_at=at + timedelta(days=rng.randrange(365)),
                )
            )
        )
    return log


async def main(records: int, province: str, year: int) -> None:
    uri = localstack.mongodb_uri(localstack.Ports.from_env())
    client: AsyncMongoClient[Any] = AsyncMongoClient(uri, tz_aware=True)
    await client.drop_database(DATABASE)
    store = InsightsStore(client[DATABASE])
    started = time.perf_counter()
    log = synthetic_log(records, province, year)
    for start in range(0, len(log), 2_000):
        await store.add(grouped(log[start : start + 2_000]))
    stored = time.perf_counter() - started
    units = catalogue()
    scope = Scope(units.resolve(province))
    period = Period.parse(str(year))
    timings: dict[str, float] = {}
    t = time.perf_counter()
    facts = await store.facts()
    timings["read facts"] = time.perf_counter() - t
    t = time.perf_counter()
    state = resolve(facts, units)
    timings["resolve"] = time.perf_counter() - t
    t = time.perf_counter()
    found = figures(state, units, period, scope, await store.populations())
    timings["count indicators"] = time.perf_counter() - t
    t = time.perf_counter()
    workbook_bytes(found)
    timings["workbook"] = time.perf_counter() - t
    t = time.perf_counter()
    csv_bytes(found)
    timings["csv"] = time.perf_counter() - t
    t = time.perf_counter()
    render(found, "vi")
    timings["page with charts"] = time.perf_counter() - t
    facts_count = sum(len(v) for v in facts.values())
    print(f"{len(log)} events → {facts_count} facts stored in {stored:.1f}s")
    print("| step | seconds |\n| --- | --- |")
    for step, seconds in timings.items():
        print(f"| {step} | {seconds:.2f} |")
    print(f"| **province-year report, all steps** | **{sum(timings.values()):.2f}** |")
    # what a figures request costs through the service's snapshot (services/insights/snapshot.py)
    snapshot = Snapshot(store)
    populations = await store.populations()
    requests: dict[str, float] = {}
    for name, asked in (
        ("first request (read, resolve, count)", scope),
        ("the same request again", scope),
        (
            "another unit, same facts (count only)",
            Scope(units.resolve(sorted(units.communes_in(province))[0])),
        ),
    ):
        t = time.perf_counter()
        await snapshot.figures(period, asked, populations)
        requests[name] = time.perf_counter() - t
    more = synthetic_log(100, province, year, seed=8)
    await store.add(grouped(more))
    t = time.perf_counter()
    await snapshot.figures(period, scope, populations)
    requests["after one more batch of 100 records (new packs, resolve, count)"] = (
        time.perf_counter() - t
    )
    print("| figures request through the snapshot | seconds |\n| --- | --- |")
    for step, seconds in requests.items():
        print(f"| {step} | {seconds:.2f} |")
    await client.drop_database(DATABASE)
    await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--province", default="56")
    parser.add_argument("--year", type=int, default=2026)
    args = parser.parse_args()
    asyncio.run(main(args.records, args.province, args.year))
