"""OpenTelemetry tracing: one tracer provider per process, W3C trace context across Kafka."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

_propagator = TraceContextTextMapPropagator()


class NoOrphanClientSpans(Sampler):
    """For spans that start a trace: a client span (a MongoDB call) that no request or
    consumer batch encloses — the outbox workers polling, index creation at start-up — is
    not recorded, so the trace backend holds the traces of records, not a stream of one-span
    polls. Of every other root span, the share ``ratio`` is (by trace id, so that every
    process decides alike). Spans with a parent follow their parent: see ParentBased."""

    def __init__(self, ratio: float = 1.0) -> None:
        self.ratio = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        """Drop a root client span; record and sample the ratio's share of the others."""
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP, None, trace_state)
        return self.ratio.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        """The sampler's name, as the SDK reports it."""
        return f"NoOrphanClientSpans{{{self.ratio.get_description()}}}"


def configure_tracing(
    service: str,
    otlp_endpoint: str | None,
    schedule_delay_ms: int = 5000,
    sample_ratio: float = 1.0,
) -> TracerProvider:
    """Install the tracer provider; spans are exported over OTLP/HTTP when an endpoint is set,
    in batches sent every ``schedule_delay_ms`` (small in development, so traces show at once),
    of the share ``sample_ratio`` of traces."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"learningtrail-{service}"}),
        sampler=ParentBased(root=NoOrphanClientSpans(sample_ratio)),
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=otlp_endpoint), schedule_delay_millis=schedule_delay_ms
            )
        )
    trace.set_tracer_provider(provider)
    return provider


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the active span, to stamp on an outgoing event."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    """The remote context an incoming event was emitted in, if it carried one."""
    if not traceparent:
        return None
    ctx = _propagator.extract({"traceparent": traceparent})
    return ctx if trace.get_current_span(ctx).get_span_context().is_valid else None


def links_from(traceparents: Iterable[str | None]) -> list[Link]:
    """Span links to every remote context in a batch."""
    links = []
    for tp in traceparents:
        ctx = context_from_traceparent(tp)
        if ctx is not None:
            links.append(Link(trace.get_current_span(ctx).get_span_context()))
    return links
