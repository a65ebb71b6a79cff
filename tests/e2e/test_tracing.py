"""One record, one trace, across the services — read back from what the services exported.

The local stack's trace sink (``cli/tracesink.py``) receives the services' OTLP/HTTP exports and
writes every span to ``RUN/traces.jsonl``; the services' JSON logs are in ``RUN/logs``. A record
submitted over HTTP must show up there as one connected trace: the learner's request and its
MongoDB calls, the credential consumer's processing and its MongoDB writes, the notify
consumer's processing — and log lines with the same trace id.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

from cli import localstack, tracesink
from services.common.telemetry import (
    NoOrphanClientSpans,
    context_from_traceparent,
    current_traceparent,
)
from tests.conftest import Stack, eventually, national_id, new_provider, submission
from tests.e2e.test_record_path import submit, trail_of

Span = dict[str, Any]
MONGO_WRITES = ("insert", "update", "delete", "findAndModify")


def spans_in(trace_id: str) -> list[Span]:
    """Every span of ``trace_id`` the sink has written so far."""
    path = localstack.traces_file()
    found = []
    for part in (path.with_name(path.name + ".1"), path):
        if not part.exists():
            continue
        with part.open(encoding="utf-8") as lines:
            for line in lines:
                if trace_id in line:
                    span = json.loads(line)
                    if span["trace_id"] == trace_id:
                        found.append(span)
    return found


def log_lines(service: str, trace_id: str) -> list[dict[str, Any]]:
    """The service's JSON log lines carrying ``trace_id``."""
    found = []
    for line in (
        (localstack.RUN / "logs" / f"{service}.log").read_text(errors="replace").split("\n")
    ):
        if trace_id not in line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("trace_id") == trace_id:
            found.append(entry)
    return found


async def consumer_counts(http: httpx.AsyncClient, stack: Stack) -> tuple[float, float]:
    """Records waiting and records consumed, summed over the two consuming services."""
    lag = consumed = 0.0
    for url in (stack.endpoints.credential, stack.endpoints.notify):
        text = (await http.get(f"{url}/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "learningtrail_consumer_lag":
                    lag += sample.value
                elif sample.name == "learningtrail_consumer_consumed_total":
                    consumed += sample.value
    return lag, consumed


async def quiet(http: httpx.AsyncClient, stack: Stack) -> None:
    """Wait until the consumers have caught up with what earlier tests sent, so that this
    test's events are not batched behind another trace's (a batch continues the trace of its
    first event and only links the others)."""
    previous = (-1.0, -1.0)
    for _ in range(120):
        now = await consumer_counts(http, stack)
        if now[0] == 0 and now == previous:
            return
        previous = now
        await asyncio.sleep(0.5)
    pytest.fail(f"the consumers did not settle: lag and consumed {previous}")


def ancestors(span: Span, by_id: dict[str, Span]) -> list[Span]:
    chain = []
    while span["parent_span_id"] in by_id:
        span = by_id[span["parent_span_id"]]
        chain.append(span)
    return chain


def complete(spans: list[Span]) -> bool:
    """The learner's request, its consumers and their MongoDB writes are all in, and every
    span's parent is too (the sink gets spans in batches, children often before parents)."""
    by_id = {s["span_id"]: s for s in spans}
    services = {s["service"] for s in spans if s["kind"] == "CONSUMER"}
    roots = [s for s in spans if s["parent_span_id"] not in by_id]
    return (
        {"learningtrail-credential", "learningtrail-notify"} <= services
        and len(roots) == 1
        and roots[0]["kind"] == "SERVER"
        and any(
            s["kind"] == "CLIENT" and s["name"].split(".")[-1] in MONGO_WRITES
            for s in spans
            if s["service"] == "learningtrail-credential"
        )
    )


async def test_one_record_is_one_trace_from_the_request_through_kafka_into_each_consumer(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    centre = await new_provider(http, stack)
    await quiet(http, stack)
    sink = localstack.traces_file()
    since = sink.stat().st_size if sink.exists() else 0
    answer = await submit(http, stack, centre["api_key"], submission(national_id(), "TRACE-1"))
    assert answer.status_code == 202, answer.text
    trace_id = answer.headers["X-Trace-Id"]
    learner_id = answer.json()["learner_id"]
    await eventually(lambda: trail_of(http, stack, learner_id), lambda t: t.get("entry_count") == 1)

    async def spans() -> list[Span]:
        return spans_in(trace_id)

    found = await eventually(spans, complete, within=30)
    by_id = {s["span_id"]: s for s in found}
    assert {s["trace_id"] for s in found} == {trace_id}

    # the learner: the HTTP server span is the root, its MongoDB calls are its children
    (server,) = [s for s in found if s["parent_span_id"] is None]
    assert (server["service"], server["kind"], server["name"]) == (
        "learningtrail-learner",
        "SERVER",
        "POST /v1/records",
    )
    assert server["attributes"]["http.route"] == "/v1/records"
    learner_mongo = [
        s
        for s in found
        if s["service"] == "learningtrail-learner"
        and s["kind"] == "CLIENT"
        and s["attributes"].get("db.system") == "mongodb"
    ]
    assert learner_mongo and all(server in ancestors(s, by_id) for s in learner_mongo)
    assert {s["attributes"]["db.name"] for s in learner_mongo} == {"lt_learner"}

    # credential: its consumer span continues the request's trace (from the event's
    # traceparent), and its MongoDB writes are children of that span
    processes = [s for s in found if s["name"] == "credential process"]
    assert processes and all(
        p["kind"] == "CONSUMER" and p["service"] == "learningtrail-credential" for p in processes
    )
    assert all(server in ancestors(p, by_id) for p in processes)
    assert all(p["attributes"]["messaging.consumer.group.name"] == "credential" for p in processes)
    writes = [
        s
        for s in found
        if s["service"] == "learningtrail-credential"
        and s["kind"] == "CLIENT"
        and s["name"].split(".")[-1] in MONGO_WRITES
    ]
    assert writes and all(by_id[w["parent_span_id"]] in processes for w in writes)
    assert {w["attributes"]["db.name"] for w in writes} == {"lt_credential"}

    # notify: it consumed the learner's events in the same trace, and wrote what it learnt
    notify = [s for s in found if s["name"] == "notify process"]
    assert notify and all(server in ancestors(n, by_id) for n in notify)
    assert any(
        s["service"] == "learningtrail-notify"
        and s["kind"] == "CLIENT"
        and s["parent_span_id"] in {n["span_id"] for n in notify}
        for s in found
    )

    # the logs of that request and of its processing carry the same trace id
    learner_logs = await eventually(
        lambda: asyncio.to_thread(log_lines, "learner", trace_id),
        lambda lines: any("POST /v1/records" in line["message"] for line in lines),
    )
    assert any(line["message"] == "event appended" for line in learner_logs)
    credential_logs = log_lines("credential", trace_id)
    assert any(line["message"] == "trail updated" for line in credential_logs)
    assert all(line["span_id"] in by_id for line in learner_logs + credential_logs)

    # meanwhile the outbox workers polled MongoDB several times a second: none of those
    # one-span traces was recorded
    with sink.open(encoding="utf-8") as written:
        written.seek(since)
        recent = [json.loads(line) for line in written.read().splitlines()]
    orphans = [s for s in recent if s["kind"] == "CLIENT" and s["parent_span_id"] is None]
    assert recent and orphans == []


def test_only_mongodb_calls_outside_any_request_or_batch_go_unrecorded() -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(root=NoOrphanClientSpans()))
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("probe")
    with tracer.start_as_current_span("lt_notify.find", kind=SpanKind.CLIENT) as poll:
        assert not poll.is_recording()
    for kind in (SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.INTERNAL):
        with (
            tracer.start_as_current_span(f"root {kind.name}", kind=kind),
            tracer.start_as_current_span("lt_x.update", kind=SpanKind.CLIENT),
        ):
            pass
    names = [(s.name, s.parent is None) for s in exported.get_finished_spans()]
    assert ("lt_notify.find", True) not in names
    assert names.count(("lt_x.update", False)) == 3
    assert {n for n, root in names if root} == {"root SERVER", "root CONSUMER", "root INTERNAL"}


def test_a_sample_ratio_keeps_that_share_of_traces_and_whole_traces_only() -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(root=NoOrphanClientSpans(0.25)))
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer = provider.get_tracer("probe")
    kept = 0
    for n in range(2000):
        with tracer.start_as_current_span(f"request {n}", kind=SpanKind.SERVER) as root:
            kept += root.is_recording()
            traceparent = current_traceparent()
            assert traceparent is not None  # logs and events carry the id either way
            # downstream (a consumer in another process) follows the decision carried along
            remote = context_from_traceparent(traceparent)
            with tracer.start_as_current_span("consume", context=remote) as child:
                assert child.is_recording() == root.is_recording()
    assert 400 < kept < 600  # a quarter of 2,000, give or take what chance allows
    roots = {s.context.trace_id for s in exported.get_finished_spans() if s.parent is None}
    children = {s.context.trace_id for s in exported.get_finished_spans() if s.parent}
    assert len(roots) == kept and children == roots


# the trace sink itself, with the real OTLP exporter


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    out = tmp_path / "traces.jsonl"
    server = tracesink.ThreadingHTTPServer(
        ("127.0.0.1", 0), tracesink.make_handler(tracesink.SpanFile(out, 10_000_000))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", out
    server.shutdown()
    server.server_close()


def test_the_trace_sink_writes_what_the_otlp_exporter_sends(sink: tuple[str, Path]) -> None:
    url, out = sink
    provider = TracerProvider(resource=Resource.create({"service.name": "learningtrail-probe"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    tracer = provider.get_tracer("probe")
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent,
        tracer.start_as_current_span(
            "lt_probe.update", kind=SpanKind.CLIENT, attributes={"db.system": "mongodb", "n": 3}
        ),
    ):
        pass
    provider.shutdown()

    child, root = (json.loads(line) for line in out.read_text().splitlines())
    context = parent.get_span_context()
    assert root["trace_id"] == child["trace_id"] == f"{context.trace_id:032x}"
    assert root["span_id"] == f"{context.span_id:016x}" == child["parent_span_id"]
    assert root["parent_span_id"] is None
    assert (root["name"], root["kind"], root["service"]) == (
        "parent",
        "SERVER",
        "learningtrail-probe",
    )
    assert child["kind"] == "CLIENT"
    assert child["attributes"] == {"db.system": "mongodb", "n": 3}
    assert root["start"] <= child["start"] <= child["end"] <= root["end"]


def test_the_trace_sink_refuses_what_is_not_otlp(sink: tuple[str, Path]) -> None:
    url, out = sink
    as_json = httpx.post(f"{url}/v1/traces", json={"resourceSpans": []})
    assert as_json.status_code == 415
    garbage = httpx.post(
        f"{url}/v1/traces",
        content=gzip.compress(b"\xff\xfe not protobuf"),
        headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert garbage.status_code == 400
    assert httpx.get(f"{url}/healthz").text == "ok"
    assert not out.exists() or out.read_text() == ""
