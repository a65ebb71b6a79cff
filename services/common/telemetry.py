"""OpenTelemetry tracing: one tracer provider per process, W3C trace context across Kafka."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()


def configure_tracing(service: str, otlp_endpoint: str | None) -> TracerProvider:
    """Install the tracer provider; spans are exported over OTLP/HTTP when an endpoint is set."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"learningtrail-{service}"})
    )
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
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
