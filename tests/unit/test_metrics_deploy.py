"""docker-compose.yml's Jaeger and Prometheus, checked by reading them (no Docker here)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
PROMETHEUS = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
SERVICES = ("learner", "credential", "notify", "insights")


def test_traces_go_to_jaegers_otlp_http_receiver() -> None:
    jaeger = COMPOSE["services"]["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/")
    assert jaeger["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert "16686:16686" in jaeger["ports"]
    for name in SERVICES:
        endpoint = urlsplit(COMPOSE["services"][name]["environment"]["LT_OTLP_ENDPOINT"])
        assert (endpoint.hostname, endpoint.port, endpoint.path) == ("jaeger", 4318, "/v1/traces")


def test_prometheus_scrapes_every_service_with_the_metrics_token() -> None:
    prometheus = COMPOSE["services"]["prometheus"]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    (job,) = PROMETHEUS["scrape_configs"]
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    port = (ROOT / "Dockerfile").read_text().split("LT_HTTP_PORT=")[1].split()[0]
    assert targets == {f"{name}:{port}" for name in SERVICES}
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    (secret,) = prometheus["secrets"]
    assert job["authorization"]["credentials_file"] == f"/run/secrets/{secret}"
    assert COMPOSE["secrets"][secret] == {"environment": "LT_METRICS_TOKEN"}
    for name in SERVICES:
        assert "LT_METRICS_TOKEN" in COMPOSE["services"][name]["environment"]
