"""Fault injection against the real local stack. Each test breaks something for real —
``kill -9``, a broker or database restart, poison messages, a second instance — and then
counts what was accepted, lost and doubled. The figures go to ``RUN/reliability.jsonl``
(summarised in RELIABILITY.md)."""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cli import localstack


class Ledger:
    """Where a fault test writes its figures."""

    def __init__(self) -> None:
        self.path = localstack.RUN / "reliability.jsonl"

    def record(self, **figures: Any) -> None:
        figures["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(figures, ensure_ascii=False) + "\n")


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture(autouse=True)
def stack_restored() -> Iterator[None]:
    """Whatever a fault test broke is running and healthy again before the next test."""
    yield
    localstack.up()


def another_instance(
    service: str, name: str, public_base_url: str | None = None, **env: str
) -> localstack.Component:
    """A second instance of ``service`` on the next port but nine (same database, same
    consumer group), with ``env`` added; started and stopped by the test. Its public address
    is its own unless ``public_base_url`` (e.g. the first instance's, so that both issue under
    one identity) is given."""
    first = localstack.component(service)
    port = first.port + 10
    address = f"http://127.0.0.1:{port}"
    return dataclasses.replace(
        first,
        name=name,
        address=address,
        port=port,
        healthy=functools.partial(localstack.http_ready, port),
        env={
            **first.env,
            "LT_HTTP_PORT": str(port),
            "LT_PUBLIC_BASE_URL": public_base_url or address,
            **env,
        },
    )
