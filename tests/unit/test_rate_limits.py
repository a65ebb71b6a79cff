"""Rate limits keyed on what the deployment can vouch for (issue 16, finding 7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from services.common.problems import Problem
from services.common.runtime import serve
from services.common.settings import Settings
from services.learner.api import deps
from services.learner.ratelimit import RateLimiter


def test_a_full_table_forgets_the_longest_idle_caller_not_everyone() -> None:
    limiter = RateLimiter(per_minute=2, max_callers=3)
    for _ in range(2):
        assert limiter.check("busy", now=0.0) is None
    assert limiter.check("busy", now=0.0) is not None  # spent
    for n in range(10):  # many new callers (spoofed or real) fill the table
        limiter.check(f"new-{n}", now=0.0)
        assert limiter.check("busy", now=0.0) is not None, "the busy caller kept its bucket"
    assert len(limiter) == 3


@dataclass
class _Providers:
    """Two keys of one training centre, as ``Providers.authenticate`` answers for them."""

    async def authenticate(self, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        scopes = ["records:write", "programmes:write"]
        return {"_id": "centre-1"}, {"key_id": f"id-{key}", "scopes": scopes}


def _services(per_minute: int, claims_per_minute: int = 5) -> Any:
    return deps.Services(
        records=None,  # type: ignore[arg-type]
        programmes=None,  # type: ignore[arg-type]
        providers=_Providers(),  # type: ignore[arg-type]
        profiles=None,  # type: ignore[arg-type]
        accounts=None,  # type: ignore[arg-type]
        sessions=None,  # type: ignore[arg-type]
        limiter=RateLimiter(per_minute=per_minute),
        claim_account_limiter=RateLimiter(per_minute=claims_per_minute),
        claim_address_limiter=RateLimiter(per_minute=claims_per_minute * 6),
    )


def test_claim_code_guesses_have_a_bucket_of_their_own() -> None:
    """The claim limiter is used even while empty (an empty one is falsy: it once fell back
    to the 600-a-minute general limiter, and guessing went unlimited)."""
    svc = _services(per_minute=600, claims_per_minute=2)
    deps.throttle(svc, "account:A", svc.claim_account_limiter)
    deps.throttle(svc, "account:A", svc.claim_account_limiter)
    with pytest.raises(Problem) as refused:
        deps.throttle(svc, "account:A", svc.claim_account_limiter)
    assert refused.value.status == 429 and "2 requests a minute" in refused.value.detail
    deps.throttle(svc, "account:B", svc.claim_account_limiter)  # another account is not held
    deps.throttle(svc, "account:A")  # nor the general limit


async def test_rotating_a_key_does_not_give_a_fresh_bucket() -> None:
    svc = _services(per_minute=2)
    await deps.records_writer("old-key", svc)
    await deps.records_writer("old-key", svc)
    with pytest.raises(Problem) as refused:
        await deps.records_writer("new-key", svc)
    assert refused.value.status == 429


def _served_with(monkeypatch: pytest.MonkeyPatch, **settings: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: seen.update(kwargs))
    secrets = {"identity_hmac_key": "k" * 32, "token_secret": "t" * 32, "admin_token": "a" * 32}
    serve(None, Settings(**secrets, **settings))  # type: ignore[arg-type]
    return seen


def test_no_proxy_is_trusted_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    default = _served_with(monkeypatch)
    assert default["proxy_headers"] is False and default["forwarded_allow_ips"] == []
    behind = _served_with(monkeypatch, trusted_proxies="10.0.0.5, 10.1.0.0/16")
    assert behind["proxy_headers"] is True
    assert behind["forwarded_allow_ips"] == ["10.0.0.5", "10.1.0.0/16"]
    with pytest.raises(ValueError):
        _served_with(monkeypatch, trusted_proxies="*")
