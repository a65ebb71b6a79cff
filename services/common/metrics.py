"""Prometheus metrics: one registry per process, served at ``/metrics``.

What happens on the request path (HTTP latency) is counted as it happens. What another part
already keeps (the consumer's counters) is read from it at scrape time, and what is a state of
the world — consumer lag, the outbox backlog, whether MongoDB and Kafka answer — is asked for
at scrape time too, so that a scrape always shows the present and nothing polls in between.

Names start with ``learningtrail_``; labels never carry ids (routes are templates, not paths).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.consumer import ConsumerStats
from services.common.settings import Settings

_log = logging.getLogger("learningtrail.metrics")

# Seconds; from a cached read to a batch of 1,000 records appended with acks=all.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A request no route matched (a 404 scanner, a typo): one label value, not one per path.
UNMATCHED = "(unmatched)"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

K = TypeVar("K", bound=tuple[str, ...])


class SourcedGauge:
    """A gauge whose samples are asked for (asynchronously) just before each scrape.

    Every sample is replaced at each refresh, so a partition no longer assigned or a state
    now empty disappears rather than showing its last value for ever.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        source: Callable[[], Awaitable[Mapping[K, float]]],
        timeout: float,
    ) -> None:
        self.name = name
        self.timeout = timeout
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._source = source
        self.samples: list[tuple[tuple[str, ...], float]] = []
        self.up = False

    async def refresh(self) -> None:
        """Ask the source; on failure or timeout there are no samples and ``up`` is False."""
        try:
            found = await asyncio.wait_for(self._source(), self.timeout)
        except Exception as exc:
            _log.warning("metric source failed", extra={"metric": self.name, "error": repr(exc)})
            self.samples, self.up = [], False
            return
        self.samples = [(tuple(labels), float(value)) for labels, value in found.items()]
        self.up = True

    def collect(self) -> Iterable[Metric]:
        """The samples of the last refresh."""
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for labels, value in self.samples:
            family.add_metric(labels, value)
        yield family


class ConsumerCollector:
    """The batch consumer's own counters, read from its ``stats`` at each scrape."""

    def __init__(self, group: str, stats: Callable[[], ConsumerStats]) -> None:
        self.group = group
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        """Consumed, failed-batch and dead-lettered totals of the service's consumer group."""
        stats = self._stats()
        for name, documentation, value in (
            (
                "learningtrail_consumer_consumed",
                "Events the consumer group's handler applied.",
                stats.consumed,
            ),
            (
                "learningtrail_consumer_failed_batches",
                "Batches that failed: an outage waited out, or a poison event isolated.",
                stats.failed_batches,
            ),
            (
                "learningtrail_consumer_dead_lettered",
                "Events sent to the group's dead-letter topic.",
                stats.dead_lettered,
            ),
        ):
            family = CounterMetricFamily(name, documentation, labels=("group",))
            family.add_metric((self.group,), value)
            yield family


class SourcesUpCollector:
    """Whether each scrape-time source answered on the last scrape."""

    def __init__(self, gauges: list[SourcedGauge]) -> None:
        self._gauges = gauges

    def collect(self) -> Iterable[Metric]:
        """One sample per sourced gauge: 1 if its source answered, else 0."""
        family = GaugeMetricFamily(
            "learningtrail_metric_source_up",
            "Whether the source of a scrape-time metric answered (0: its samples are missing).",
            labels=("metric",),
        )
        for gauge in self._gauges:
            family.add_metric((gauge.name,), 1.0 if gauge.up else 0.0)
        yield family


class Metrics:
    """The process's registry and the metrics every service has.

    A registry of its own rather than prometheus_client's global one, so that what ``/metrics``
    shows is exactly what this process registered.
    """

    def __init__(self, service: str, source_timeout: float = 8.0) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        Info(
            "learningtrail_service", "Which service this process is.", registry=self.registry
        ).info({"service": service})
        self.http_request_duration = Histogram(
            "learningtrail_http_request_duration_seconds",
            "HTTP requests served, by method, route template and status, and how long they took.",
            ("method", "route", "status"),
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.source_timeout = source_timeout
        self._gauges: list[SourcedGauge] = []
        self.registry.register(SourcesUpCollector(self._gauges))
        self._lock = asyncio.Lock()

    def gauge_from(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        source: Callable[[], Awaitable[Mapping[K, float]]],
    ) -> None:
        """A gauge read from ``source`` at each scrape: label values (in ``labelnames``
        order) to value."""
        gauge = SourcedGauge(name, documentation, labelnames, source, self.source_timeout)
        self.registry.register(gauge)
        self._gauges.append(gauge)

    def counter(self, name: str, documentation: str, labelnames: Sequence[str]) -> Counter:
        """A counter of this process's registry (``_total`` is added to ``name``)."""
        return Counter(name, documentation, labelnames, registry=self.registry)

    def watch_consumer(self, group: str, stats: Callable[[], ConsumerStats]) -> None:
        """Expose a batch consumer's counters."""
        self.registry.register(ConsumerCollector(group, stats))

    async def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """Refresh the scrape-time gauges (all at once), then render in the format the
        scraper asked for (Prometheus text, or OpenMetrics); returns body and content type."""
        async with self._lock:  # one refresh at a time: two scrapes never interleave samples
            await asyncio.gather(*(g.refresh() for g in self._gauges))
            encoder, content_type = choose_encoder(accept or "")
            return encoder(self.registry), content_type


class HttpMetricsMiddleware:
    """Times every HTTP request into the duration histogram, labelled by the route template
    the router matched (``/v1/records/{record_id}``), never by the raw path."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an error escaping the app is a 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # the router puts the route it matched into the scope (a 405's partial match too)
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            self.histogram.labels(method, template, str(status)).observe(
                time.perf_counter() - started
            )


def may_read_metrics(
    client_host: str | None, authorization: str | None, settings: Settings
) -> bool:
    """Who may read ``/metrics``: a caller on this host (loopback), or one presenting the
    metrics token (a scraper's) or the admin token as ``Authorization: Bearer``."""
    if client_host and _is_loopback(client_host):
        return True
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    presented = token.strip().encode()
    allowed = [settings.admin_token]
    if settings.metrics_token is not None:
        allowed.append(settings.metrics_token)
    # every token compared, in constant time each, whichever matches
    matches = [hmac.compare_digest(presented, t.get_secret_value().encode()) for t in allowed]
    return any(matches)


def _is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # not an address (e.g. a Unix socket peer's name)
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_loopback
