"""The chassis' HTTP app and its /metrics: who may read them, and what requests are labelled
with. The app is the real one from ``create_app``, served in-process so that the caller's
address can be chosen (a loopback caller, or one from elsewhere)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from services.common.http import Check, create_app
from services.common.metrics import Metrics, may_read_metrics
from services.common.settings import Settings

ADMIN = "adm_test-admin-token"
SCRAPER = "scrape-only-token"


def settings(metrics_token: str | None = SCRAPER) -> Settings:
    return Settings(
        service="learner",
        identity_hmac_key=SecretStr("k" * 32),
        token_secret=SecretStr("t" * 32),
        admin_token=SecretStr(ADMIN),
        metrics_token=SecretStr(metrics_token) if metrics_token else None,
    )


@asynccontextmanager
async def no_lifespan(_: FastAPI) -> AsyncIterator[None]:
    yield


def app_with_metrics(checks: dict[str, bool | Check] | None = None) -> tuple[FastAPI, Metrics]:
    metrics = Metrics("learner")

    async def readiness() -> dict[str, bool | Check]:
        return checks or {"mongodb": True, "kafka": True}

    app = create_app(
        settings=settings(),
        title="t",
        description="d",
        lifespan=no_lifespan,
        readiness=readiness,
        metrics=metrics,
    )

    @app.get("/v1/records/{record_id}")
    async def record(record_id: str) -> dict[str, str]:
        return {"record_id": record_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("unexpected")

    return app, metrics


def client(app: FastAPI, host: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50000), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://service")


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
async def test_metrics_need_no_credentials_from_this_host(host: str) -> None:
    app, _ = app_with_metrics()
    async with client(app, host) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "learningtrail_http_request_duration_seconds" in response.text


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        (f"Basic {SCRAPER}", 401),
        ("Bearer ", 401),
        (f"Bearer {SCRAPER}", 200),
        (f"bearer {ADMIN}", 200),
    ],
)
async def test_from_elsewhere_metrics_need_the_metrics_or_admin_token(
    authorization: str | None, status: int
) -> None:
    app, _ = app_with_metrics()
    headers = {"Authorization": authorization} if authorization else {}
    async with client(app, "203.0.113.7") as http:
        response = await http.get("/metrics", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "LT_METRICS_TOKEN" in response.json()["detail"]
        assert "learningtrail_" not in response.text


def test_without_a_metrics_token_only_the_admin_token_reads_from_elsewhere() -> None:
    plain = settings(metrics_token=None)
    assert not may_read_metrics("10.0.0.5", f"Bearer {SCRAPER}", plain)
    assert not may_read_metrics("10.0.0.5", "Bearer ", plain)
    assert not may_read_metrics(None, None, plain)
    assert may_read_metrics("10.0.0.5", f"Bearer {ADMIN}", plain)
    assert not may_read_metrics("testclient", None, plain)  # a name is not an address


async def test_requests_are_labelled_by_route_template_method_and_status() -> None:
    app, _ = app_with_metrics()
    async with client(app, "127.0.0.1") as http:
        for record_id in ("rec-1", "rec-2", "rec-3"):
            assert (await http.get(f"/v1/records/{record_id}")).status_code == 200
        assert (await http.get("/v1/nothing/secret-id-42")).status_code == 404
        assert (await http.post("/v1/records/rec-4")).status_code == 405
        assert (await http.get("/boom")).status_code == 500
        assert (await http.request("BREW", "/v1/records/rec-5")).status_code == 405
        text = (await http.get("/metrics")).text

    counts = {
        (labels["method"], labels["route"], labels["status"]): value
        for labels, value in samples(text, "learningtrail_http_request_duration_seconds_count")
    }
    assert counts[("GET", "/v1/records/{record_id}", "200")] == 3
    assert counts[("GET", "(unmatched)", "404")] == 1
    assert counts[("POST", "/v1/records/{record_id}", "405")] == 1
    assert counts[("GET", "/boom", "500")] == 1
    assert counts[("OTHER", "/v1/records/{record_id}", "405")] == 1
    for raw in ("rec-1", "secret-id-42", "BREW"):
        assert raw not in text, f"{raw} leaked into a label"


async def test_openmetrics_is_served_to_a_scraper_that_asks_for_it() -> None:
    app, _ = app_with_metrics()
    async with client(app, "127.0.0.1") as http:
        response = await http.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_readyz_reports_each_check_with_its_detail_and_healthz_stays_live() -> None:
    failing = Check(False, {"reason": "no partitions assigned and nothing consumed 61s after"})
    app, _ = app_with_metrics({"mongodb": True, "kafka": True, "consumer": failing})
    async with client(app, "198.51.100.1") as http:
        ready = await http.get("/readyz")
        live = await http.get("/healthz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "not ready",
        "checks": {"mongodb": True, "kafka": True, "consumer": False},
        "detail": {"consumer": failing.detail},
    }
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
