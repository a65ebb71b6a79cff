"""A centre's live API key is looked up once per ``KEY_CACHE_SECONDS``; revoking or
deactivating through the same instance takes effect at once (the store is a stand-in that
counts reads: the cache, not MongoDB, is under test here)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from services.common.tokens import api_key_hash
from services.learner import providers as providers_module
from services.learner.providers import KEY_CACHE_SECONDS, ProviderChange, Providers

SECRET = "lt_test_secret_key_0123456789"


class CountingStore:
    def __init__(self) -> None:
        self.keys = {
            api_key_hash(SECRET): {
                "_id": api_key_hash(SECRET),
                "key_id": "K1",
                "provider_id": "P1",
                "scopes": ["records:write"],
                "revoked_at": None,
            }
        }
        self.providers: dict[str, dict[str, Any]] = {"P1": {"_id": "P1", "active": True}}
        self.reads = 0

    async def key(self, key_hash: str) -> dict[str, Any] | None:
        self.reads += 1
        found = self.keys.get(key_hash)
        return dict(found) if found else None

    async def provider(self, provider_id: str) -> dict[str, Any] | None:
        self.reads += 1
        found = self.providers.get(provider_id)
        return dict(found) if found else None

    async def revoke_key(self, provider_id: str, key_id: str, at: datetime) -> bool:
        for key in self.keys.values():
            if key["key_id"] == key_id:
                key["revoked_at"] = at
        return True

    async def update_provider(self, provider_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        self.providers[provider_id].update(changes)
        return self.providers[provider_id]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_000.0]
    monkeypatch.setattr(providers_module.time, "monotonic", lambda: now[0])
    return now


async def test_a_live_key_is_read_once_then_reused_until_the_time_is_up(clock: list[float]) -> None:
    store = CountingStore()
    providers = Providers(store)  # type: ignore[arg-type]
    assert await providers.authenticate(SECRET) is not None
    assert await providers.authenticate(SECRET) is not None
    assert store.reads == 2  # the key and its centre, once
    clock[0] += KEY_CACHE_SECONDS + 0.1
    assert await providers.authenticate(SECRET) is not None
    assert store.reads == 4


async def test_revoking_through_this_instance_takes_effect_at_once(clock: list[float]) -> None:
    store = CountingStore()
    providers = Providers(store)  # type: ignore[arg-type]
    assert await providers.authenticate(SECRET) is not None
    await providers.revoke("P1", "K1")
    assert await providers.authenticate(SECRET) is None


async def test_deactivating_the_centre_through_this_instance_takes_effect_at_once(
    clock: list[float],
) -> None:
    store = CountingStore()
    providers = Providers(store)  # type: ignore[arg-type]
    assert await providers.authenticate(SECRET) is not None
    await providers.change("P1", ProviderChange(active=False))
    assert await providers.authenticate(SECRET) is None


async def test_a_revocation_by_another_instance_holds_within_the_cache_time(
    clock: list[float],
) -> None:
    store = CountingStore()
    providers = Providers(store)  # type: ignore[arg-type]
    assert await providers.authenticate(SECRET) is not None
    store.keys[api_key_hash(SECRET)]["revoked_at"] = datetime(2026, 12, 1)  # elsewhere
    clock[0] += KEY_CACHE_SECONDS + 0.1
    assert await providers.authenticate(SECRET) is None


async def test_a_refused_key_is_never_remembered(clock: list[float]) -> None:
    store = CountingStore()
    providers = Providers(store)  # type: ignore[arg-type]
    assert await providers.authenticate("lt_wrong") is None
    assert await providers.authenticate("lt_wrong") is None
    assert store.reads == 2


async def test_a_lookup_under_way_during_a_revocation_is_not_remembered(
    clock: list[float],
) -> None:
    """The key is read, then revoked (through this instance) before the lookup ends: that
    lookup's answer is not kept, so the next request reads the revocation."""
    store = CountingStore()
    providers = Providers(store)  # type: ignore[arg-type]
    reading, revoked = asyncio.Event(), asyncio.Event()
    read_key = store.key

    async def slow_key(key_hash: str) -> dict[str, Any] | None:
        found = await read_key(key_hash)
        reading.set()
        await revoked.wait()
        return found

    store.key = slow_key  # type: ignore[method-assign]
    lookup = asyncio.create_task(providers.authenticate(SECRET))
    await reading.wait()
    await providers.revoke("P1", "K1")
    revoked.set()
    assert await lookup is not None  # it began before the revocation
    store.key = read_key  # type: ignore[method-assign]
    assert await providers.authenticate(SECRET) is None
