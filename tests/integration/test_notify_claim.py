"""The delivery workers' claim on the real database server: a page of the queue in the order
it was queued, and a learner's digest notifications together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from services.common.mongo import Document
from services.notify.store import NotifyStore


def planned(nid: str, learner_id: str, channel: str, due_at: datetime, digest: bool) -> Document:
    return {
        "_id": nid,
        "learner_id": learner_id,
        "channel": channel,
        "state": "pending",
        "due_at": due_at,
        "digest": digest,
        "attempts": 0,
        "created_at": due_at,
        "title": "Khóa học mới",
        "about": "programme",
        "subject_id": "p1",
    }


async def test_a_claim_takes_a_page_in_queue_order_and_a_learners_due_digests_with_it(
    db: AsyncDatabase[Document],
) -> None:
    store = NotifyStore(db)
    await store.ensure_indexes()
    now = datetime.now(UTC)
    due, later = now - timedelta(minutes=1), now + timedelta(hours=6)
    await store.put_planned([planned("b1", "B", "email", due, False)], ("title",))
    await store.put_planned(
        [
            planned("a1", "A", "email", due, True),
            planned("a2", "A", "email", due, True),
            planned("a3", "A", "email", due, True),
            planned("a4", "A", "email", later, True),  # not due yet
            planned("a5", "A", "inbox", due, False),  # another channel
        ],
        ("title",),
    )
    for filler in range(30):  # more due email than one claim takes
        await store.put_planned([planned(f"c{filler:02}", "C", "email", due, False)], ("title",))

    _, first = await store.claim("email", "worker", now, 60, 1)
    _, second = await store.claim("email", "worker", now, 60, 1)
    _, third = await store.claim("email", "worker", now, 60, 2)

    assert [d["_id"] for d in first] == ["b1"]  # queued first, claimed first
    assert sorted(d["_id"] for d in second) == ["a1", "a2", "a3"]  # the due digests together
    assert all(d["state"] == "sending" and d["attempts"] == 1 for d in second)
    assert [d["_id"] for d in third] == ["c00", "c01"]
