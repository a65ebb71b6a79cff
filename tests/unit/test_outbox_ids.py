"""Which event ids the outbox relay, reading entries as a range of ids, will find."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts.envelope import derived_event_id, new_event_id
from services.common.outbox import relayable


def test_ids_made_now_or_before_are_relayable_and_others_are_refused() -> None:
    now = datetime.now(UTC)
    assert relayable(new_event_id(), now)
    assert relayable(derived_event_id("n-1:sent", now - timedelta(days=3)), now)
    # a generator a few milliseconds ahead (many ids in one millisecond) is still found
    assert relayable(derived_event_id("n-1:sent", now + timedelta(milliseconds=5)), now)
    assert not relayable(derived_event_id("n-1:sent", now + timedelta(hours=1)), now)
    assert not relayable(str(uuid.uuid4()), now)  # random: its "time" means nothing
    assert not relayable(new_event_id().upper(), now)  # sorts apart from the lower-case ids
    assert not relayable("n4", now)
