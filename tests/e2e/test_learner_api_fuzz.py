"""Schema-driven fuzzing of the learner service's API: whatever is sent, never a 500.

Schemathesis generates requests from the service's own OpenAPI document (valid and invalid
bodies, odd strings, boundaries) and sends them to the running service with real
credentials, so the deep paths — validation, intake, Kafka appends — are exercised too.
"""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import Stack

EXAMPLES_PER_OPERATION = 30


def test_no_request_makes_the_service_fail(stack: Stack) -> None:
    body = {
        "name": "Trung tâm kiểm thử",
        "kind": "school",
        "unit_code": "22735",
        "pathways": ["regular", "continuing", "vocational", "recognition"],
    }
    created = httpx.post(
        f"{stack.endpoints.learner}/v1/admin/providers", json=body, headers=stack.admin, timeout=10
    ).json()
    credentials = {**stack.admin, "X-API-Key": created["api_key"]}
    schema = schemathesis.openapi.from_url(f"{stack.endpoints.learner}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # rotating the key would lock the rest of the run out: fuzz it last
    operations.sort(key=lambda op: op.path == "/v1/keys:rotate")
    assert len(operations) >= 15
    failures: list[str] = []
    statuses: dict[tuple[str, int], int] = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def probe(case: Any) -> None:
            response = case.call(headers=credentials, timeout=30)
            statuses[(case.method, response.status_code)] = (
                statuses.get((case.method, response.status_code), 0) + 1
            )
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )
            elif response.status_code >= 400:
                found = response.headers.get("content-type") or [""]
                kind = found[0] if isinstance(found, list) else found
                if kind != "application/problem+json":
                    failures.append(f"{case.method} {case.formatted_path}: {kind} error body")

        probe()
    assert any(200 <= code < 300 for _, code in statuses), f"nothing got through: {statuses}"
    assert failures == [], "\n".join(sorted(set(failures))[:20])
