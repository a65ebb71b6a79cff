"""/metrics, /readyz and /healthz on the running stack: the numbers follow what happens."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from cli import localstack
from services.common.mongo import Document
from services.notify.store import NotifyStore
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit, trail_of

Samples = dict[tuple[tuple[str, str], ...], float]


async def scrape(http: httpx.AsyncClient, url: str) -> str:
    response = await http.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    return response.text


def values(text: str, name: str) -> Samples:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def total(text: str, name: str) -> float:
    return sum(values(text, name).values())


async def test_every_service_serves_metrics_to_the_operator_on_this_host(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    for service, url in (
        ("learner", stack.endpoints.learner),
        ("credential", stack.endpoints.credential),
        ("notify", stack.endpoints.notify),
    ):
        response = await http.get(f"{url}/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        assert values(text, "learningtrail_service_info") == {(("service", service),): 1}
        assert values(text, "learningtrail_readiness")[(("check", "mongodb"),)] == 1
        assert values(text, "learningtrail_readiness")[(("check", "kafka"),)] == 1
        assert "process_resident_memory_bytes" in text
        consumes = service != "learner"
        assert (("check", "consumer"),) in values(text, "learningtrail_readiness") or not consumes
        assert bool(values(text, "learningtrail_consumer_consumed_total")) == consumes


async def test_request_latency_is_labelled_by_route_template_not_by_path(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    learner_id = f"metrics-{uuid.uuid4()}"
    trail = await http.get(
        f"{stack.endpoints.credential}/v1/learners/{learner_id}/trail",
        headers=stack.learner_token(learner_id),
    )
    assert trail.status_code in (200, 404)
    stray = f"/v1/no-such-{uuid.uuid4().hex}"
    assert (await http.get(f"{stack.endpoints.credential}{stray}")).status_code == 404
    text = await scrape(http, stack.endpoints.credential)
    counts = values(text, "learningtrail_http_request_duration_seconds_count")
    routes = {dict(labels)["route"] for labels in counts}
    assert "/v1/learners/{learner_id}/trail" in routes
    assert "(unmatched)" in routes
    assert learner_id not in text and stray not in text
    key = (
        ("method", "GET"),
        ("route", "/v1/learners/{learner_id}/trail"),
        ("status", str(trail.status_code)),
    )
    assert counts[key] >= 1
    buckets = values(text, "learningtrail_http_request_duration_seconds_bucket")
    assert buckets[tuple(sorted({**dict(key), "le": "+Inf"}.items()))] == counts[key]


async def test_consumer_counts_and_lag_follow_a_submission(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    before = {
        url: total(await scrape(http, url), "learningtrail_consumer_consumed_total")
        for url in (stack.endpoints.credential, stack.endpoints.notify)
    }
    centre = await new_provider(http, stack)
    answer = await submit(http, stack, centre["api_key"], submission(national_id(), "METRICS-1"))
    assert answer.status_code == 202
    learner_id = answer.json()["learner_id"]
    await eventually(lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 1)

    for url in (stack.endpoints.credential, stack.endpoints.notify):
        # the learner's registration and the record, at least, were consumed
        text = await eventually(
            lambda u=url: scrape(http, u),  # type: ignore[misc]
            lambda t, u=url: total(t, "learningtrail_consumer_consumed_total") >= before[u] + 2,  # type: ignore[misc]
        )
        lag = values(text, "learningtrail_consumer_lag")
        topics = {dict(labels)["topic"] for labels in lag}
        assert {"learners.v1", "learning-records.v1"} <= topics
        assert all(dict(labels)["partition"].isdigit() for labels in lag)
        assigned = total(text, "learningtrail_consumer_assigned_partitions")
        ready = (await http.get(f"{url}/readyz")).json()
        assert assigned > 0 and ready["detail"]["consumer"]["assigned_partitions"] == assigned
        await eventually(
            lambda u=url: scrape(http, u),  # type: ignore[misc]
            lambda t: total(t, "learningtrail_consumer_lag") == 0,
        )


async def test_the_outbox_backlog_counts_what_waits_by_channel_and_state(
    stack: Stack, http: httpx.AsyncClient, mongo: AsyncMongoClient[Document]
) -> None:
    notifications = mongo["lt_notify"]["notifications"]
    queue = mongo["lt_notify"]["delivery_queue"]  # what waits, as the service queues it
    now = datetime.now(UTC)
    # due in a far future, so that no worker takes them while they are counted
    waiting = [
        {
            "_id": f"metrics-test-{uuid.uuid4()}",
            "learner_id": f"metrics-test-{uuid.uuid4()}",
            "channel": "sms",
            "state": "pending",
            "due_at": datetime(2999, 1, 1, tzinfo=UTC),
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        for _ in range(3)
    ]
    key = (("channel", "sms"), ("state", "pending"))

    async def gauge_and_count() -> tuple[int, float, int]:
        counted = await queue.count_documents({"channel": "sms", "state": "pending"})
        text = await scrape(http, stack.endpoints.notify)
        again = await queue.count_documents({"channel": "sms", "state": "pending"})
        return counted, values(text, "learningtrail_outbox_notifications").get(key, -1), again

    await notifications.insert_many(waiting)
    fields = ("_id", "learner_id", "channel", "state", "due_at")
    await queue.insert_many([{k: d[k] for k in fields} | {"queued_at": now} for d in waiting])
    try:
        with_them = await eventually(
            gauge_and_count, lambda v: v[0] == v[1] == v[2] and v[1] >= len(waiting)
        )
    finally:
        await notifications.delete_many({"_id": {"$in": [d["_id"] for d in waiting]}})
        await queue.delete_many({"_id": {"$in": [d["_id"] for d in waiting]}})
    await eventually(gauge_and_count, lambda v: v[0] == v[1] == v[2] and v[1] < with_them[1])

    text = await scrape(http, stack.endpoints.notify)
    pairs = {
        (dict(labels)["channel"], dict(labels)["state"])
        for labels in values(text, "learningtrail_outbox_notifications")
    }
    assert pairs == {
        (channel, state)
        for channel in ("inbox", "email", "webhook", "sms")
        for state in ("pending", "sending")
    }


async def test_the_outbox_count_is_exact_per_channel_and_state(
    mongo: AsyncMongoClient[Document],
) -> None:
    """Planned, claimed and sent through the store: the gauge's counts follow the delivery
    queue, what was sent leaves it, and its event waits in the outbox."""
    db = mongo[f"lt_metrics_test_{uuid.uuid4().hex[:8]}"]
    store = NotifyStore(db)
    now = datetime.now(UTC)
    earlier = now - timedelta(seconds=1)
    docs = [
        {
            "_id": f"n{i}",
            "learner_id": f"l{i}",
            "channel": channel,
            "state": "pending",
            "due_at": earlier,
            "digest": False,
            "attempts": 0,
            "created_at": earlier,
            "title": "t",
            "about": "programme",
            "subject_id": "p1",
        }
        for i, channel in enumerate(["email"] * 4 + ["inbox"] * 2)
    ]
    pairs = (("inbox", "email", "sms"), ("pending", "sending"))
    try:
        await store.ensure_indexes()
        assert await store.put_planned(docs, ("title",)) == 6
        planned = await store.count_by_channel_and_state(*pairs)
        _, emails = await store.claim("email", "test", now, 60, 1)
        lease, inbox = await store.claim("inbox", "test", now, 60, 10)
        claimed = await store.count_by_channel_and_state(*pairs)
        sent = await store.finish([d["_id"] for d in inbox], lease, "sent", now)
        after_sending = await store.count_by_channel_and_state(*pairs)
        waiting = [e["doc_id"] for e in await store.outbox.due(now + timedelta(hours=1), 10)]
        left = sorted([d["_id"] async for d in store.queue.find({})])
    finally:
        await mongo.drop_database(db.name)
    none = dict.fromkeys(((c, s) for c in pairs[0] for s in pairs[1]), 0)
    assert planned == none | {("email", "pending"): 4, ("inbox", "pending"): 2}
    assert [d["_id"] for d in emails] == ["n0"] and len(inbox) == 2
    assert claimed == none | {
        ("email", "pending"): 3,
        ("email", "sending"): 1,
        ("inbox", "sending"): 2,
    }
    assert sorted(d["_id"] for d in sent) == ["n4", "n5"]
    assert after_sending == none | {("email", "pending"): 3, ("email", "sending"): 1}
    assert sorted(waiting) == ["n4", "n5"]  # their events wait in the outbox
    assert left == ["n0", "n1", "n2", "n3"]


async def test_readyz_shows_the_consumer_and_a_database_outage_while_healthz_stays_live(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    credential = (await http.get(f"{stack.endpoints.credential}/readyz")).json()
    assert credential["status"] == "ready"
    assert credential["checks"] == {
        "mongodb": True,
        "kafka": True,
        "consumer": True,
        "outbox": True,
    }
    assert credential["detail"]["consumer"]["group"] == "credential"
    notify = (await http.get(f"{stack.endpoints.notify}/readyz")).json()
    assert notify["checks"] == {"mongodb": True, "kafka": True, "consumer": True, "outbox": True}
    learner = (await http.get(f"{stack.endpoints.learner}/readyz")).json()
    assert learner["status"] == "ready"
    assert learner["checks"] == {"mongodb": True, "kafka": True, "outbox": True}
    assert set(learner["detail"]["outbox"]) == {"waiting", "oldest_seconds"}

    if os.environ.get("MONGODB_URI"):
        pytest.skip("the stack uses an external MongoDB, which this test must not stop")
    ferretdb = localstack.component("ferretdb")
    localstack.stop(ferretdb)
    try:
        down = await http.get(f"{stack.endpoints.learner}/readyz")
        assert down.status_code == 503
        assert down.json()["checks"] == {"mongodb": False, "kafka": True}  # no outbox to read
        live = await http.get(f"{stack.endpoints.learner}/healthz")
        assert (live.status_code, live.json()) == (200, {"status": "ok"})
        text = await scrape(http, stack.endpoints.learner)
        assert values(text, "learningtrail_readiness")[(("check", "mongodb"),)] == 0
    finally:
        localstack.start(ferretdb)
    for url in (stack.endpoints.learner, stack.endpoints.credential, stack.endpoints.notify):
        await eventually(
            lambda u=url: http.get(f"{u}/readyz"),  # type: ignore[misc]
            lambda r: r.status_code == 200,
        )
