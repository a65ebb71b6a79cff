"""Schema-driven fuzzing of every service's API: whatever is sent, never a 5xx, and every
error is problem+json.

Schemathesis generates requests from each service's own OpenAPI document (valid and invalid
bodies, odd strings, boundaries, hostile Unicode) and sends them to the running service with
real credentials (the department's token, a training centre's key), so the deep paths —
validation, intake, Kafka appends, matching, issuing — are exercised too.

The budget is fixed so that CI stays fast: ``EXAMPLES_PER_OPERATION`` cases for each of the
~45 operations, no shrinking database, about a minute per service on a laptop.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.conftest import Stack

EXAMPLES_PER_OPERATION = 25
MINIMUM_OPERATIONS = {"learner": 15, "credential": 6, "notify": 7}


def _credentials(stack: Stack, service: str) -> dict[str, str]:
    if service != "learner":
        return stack.admin
    body = {
        "name": "Trung tâm kiểm thử",
        "kind": "school",
        "unit_code": "22735",
        "pathways": ["regular", "continuing", "vocational", "recognition"],
    }
    created = httpx.post(
        f"{stack.endpoints.learner}/v1/admin/providers", json=body, headers=stack.admin, timeout=10
    ).json()
    return {**stack.admin, "X-API-Key": created["api_key"]}


def _is_problem(response: Any) -> bool:
    found = response.headers.get("content-type") or [""]
    kind = found[0] if isinstance(found, list) else found
    return str(kind).startswith("application/problem+json")


@pytest.mark.parametrize("service", ["learner", "credential", "notify"])
def test_no_request_makes_a_service_fail(stack: Stack, service: str) -> None:
    base: str = getattr(stack.endpoints, service)
    credentials = _credentials(stack, service)
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # rotating a key would lock the rest of the run out: fuzz those last
    operations.sort(key=lambda op: op.path.endswith(":rotate"))
    assert len(operations) >= MINIMUM_OPERATIONS[service]
    failures: list[str] = []
    statuses: dict[tuple[str, int], int] = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],  # a fixed budget: no shrinking
        )
        def probe(case: Any) -> None:
            response = case.call(headers=credentials, timeout=30)
            where = (case.method, response.status_code)
            statuses[where] = statuses.get(where, 0) + 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code}: "
                    f"{response.text[:300]}"
                )
            elif response.status_code >= 400 and not _is_problem(response):
                failures.append(f"{case.method} {case.formatted_path}: not a problem+json error")

        probe()
    assert any(200 <= code < 300 for _, code in statuses), f"nothing got through: {statuses}"
    assert failures == [], "\n".join(sorted(set(failures))[:20])
