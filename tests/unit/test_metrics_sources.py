"""Metrics read at scrape time: what a source returns now is what the scrape shows, a source
that fails shows nothing (and says so), and the consumer's readiness decision."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from services.common.consumer import ConsumerStats
from services.common.metrics import Metrics
from services.common.runtime import consumer_check


def values(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def scrape(metrics: Metrics) -> str:
    body, _ = await metrics.exposition(None)
    return body.decode()


async def test_a_partition_no_longer_assigned_disappears_from_the_lag() -> None:
    metrics = Metrics("credential")
    lags = {("credential", "learners.v1", "0"): 5.0, ("credential", "learners.v1", "1"): 0.0}

    async def lag() -> dict[tuple[str, str, str], float]:
        return dict(lags)

    metrics.gauge_from("learningtrail_consumer_lag", "lag", ("group", "topic", "partition"), lag)
    first = values(await scrape(metrics), "learningtrail_consumer_lag")
    assert first[(("group", "credential"), ("partition", "0"), ("topic", "learners.v1"))] == 5
    del lags[("credential", "learners.v1", "0")]
    second = values(await scrape(metrics), "learningtrail_consumer_lag")
    assert list(second) == [(("group", "credential"), ("partition", "1"), ("topic", "learners.v1"))]


async def test_a_failing_or_slow_source_shows_no_samples_and_is_reported_down() -> None:
    metrics = Metrics("notify", source_timeout=0.2)
    calls = {"n": 0}

    async def outbox() -> dict[tuple[str, str], int]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("MongoDB unreachable")
        if calls["n"] == 3:
            await asyncio.sleep(5)
        return {("email", "pending"): 7}

    metrics.gauge_from(
        "learningtrail_outbox_notifications", "backlog", ("channel", "state"), outbox
    )
    up = "learningtrail_metric_source_up"
    key = (("metric", "learningtrail_outbox_notifications"),)
    ok = await scrape(metrics)
    assert values(ok, "learningtrail_outbox_notifications") == {
        (("channel", "email"), ("state", "pending")): 7
    }
    assert values(ok, up)[key] == 1
    for _ in ("error", "timeout"):
        down = await scrape(metrics)
        assert values(down, "learningtrail_outbox_notifications") == {}
        assert values(down, up)[key] == 0
    assert values(await scrape(metrics), up)[key] == 1


async def test_consumer_counters_are_read_from_its_stats_at_each_scrape() -> None:
    metrics = Metrics("notify")
    stats = ConsumerStats()
    metrics.watch_consumer("notify", lambda: stats)
    stats.consumed, stats.failed_batches, stats.dead_lettered = 40, 2, 1
    text = await scrape(metrics)
    group = (("group", "notify"),)
    assert values(text, "learningtrail_consumer_consumed_total") == {group: 40}
    assert values(text, "learningtrail_consumer_failed_batches_total") == {group: 2}
    assert values(text, "learningtrail_consumer_dead_lettered_total") == {group: 1}
    stats.consumed += 2
    assert values(await scrape(metrics), "learningtrail_consumer_consumed_total") == {group: 42}


def test_each_process_has_its_own_registry() -> None:
    one, two = Metrics("learner"), Metrics("credential")
    one.http_request_duration.labels("GET", "/healthz", "200").observe(0.01)
    assert one.registry is not two.registry
    assert (
        two.registry.get_sample_value(
            "learningtrail_http_request_duration_seconds_count",
            {"method": "GET", "route": "/healthz", "status": "200"},
        )
        is None
    )


def test_a_consumer_is_ready_once_assigned_or_consuming_and_not_after_grace_without() -> None:
    idle = ConsumerStats()
    busy = ConsumerStats(consumed=3)
    assert consumer_check("credential", idle, 12, 1.0, 60).ok
    assert consumer_check("credential", idle, 12, 600.0, 60).ok
    assert consumer_check("credential", busy, 0, 600.0, 60).ok  # between rebalances
    joining = consumer_check("credential", idle, 0, 5.0, 60)
    assert joining.ok and joining.detail["state"] == "joining the consumer group"
    stuck = consumer_check("credential", idle, 0, 61.0, 60)
    assert not stuck.ok
    assert (
        stuck.detail["reason"] == "no partitions assigned and nothing consumed 61s after start-up"
    )
    assert stuck.detail["assigned_partitions"] == 0 and stuck.detail["group"] == "credential"
    assert not consumer_check("credential", busy, 12, None, 60).ok
