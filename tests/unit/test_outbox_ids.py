"""Which event ids the outbox relay, reading entries as a range of ids, will find."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts.envelope import derived_event_id, new_event_id
from services.common.outbox import relay_bound, relayable


def test_ids_made_now_or_before_are_relayable_and_others_are_refused() -> None:
    now = datetime.now(UTC)
    bound = relay_bound(now)
    assert relayable(new_event_id(), bound)
    assert relayable(derived_event_id("n-1:sent", now - timedelta(days=3)), bound)
    # a generator a few milliseconds ahead (many ids in one millisecond) is still found
    assert relayable(derived_event_id("n-1:sent", now + timedelta(milliseconds=5)), bound)
    assert not relayable(derived_event_id("n-1:sent", now + timedelta(hours=1)), bound)
    assert not relayable(str(uuid.uuid4()), bound)  # random: its "time" means nothing
    assert not relayable(new_event_id().upper(), bound)  # sorts apart from the lower-case ids
    assert not relayable("n4", bound)
