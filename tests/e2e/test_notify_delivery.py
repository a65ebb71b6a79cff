"""Notify's delivery on the real stack: signed webhooks retried until the receiver recovers,
permanent failures recorded and published, quiet hours, digests, one-click unsubscribe, and no
duplicate after the notify process is killed mid-delivery and restarted."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from datetime import datetime, timedelta
from typing import Any

import httpx

from cli import localstack
from tests.conftest import Stack, eventually
from tests.e2e.test_notify_matching import (
    HCM,
    Mailbox,
    Receiver,
    announce,
    body_of,
    by_channel,
    centre_fixture,  # noqa: F401 - the fixtures centre, mailbox and receiver
    commune,
    deliveries,
    inbox,
    local_clock,
    mailbox_fixture,  # noqa: F401
    new_learner,
    next_local_minute,
    preferences,
    receiver_fixture,  # noqa: F401
    set_preferences,
    told,
)


async def mails(mailbox: Mailbox, address: str) -> list[Any]:
    return mailbox.to(address)


async def test_webhooks_are_signed_and_retried_until_the_receiver_recovers(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], receiver: Receiver
) -> None:
    key, place = centre["api_key"], commune()
    learner_id = await new_learner(http, stack, key, place)
    path = f"/hooks/{place}"
    receiver.failures[path] = 2  # the partner's app is down for the first two attempts
    prefs = await set_preferences(
        http,
        stack,
        learner_id,
        channels=["webhook"],
        quiet_hours=None,
        webhook={"url": receiver.url(path)},
    )
    secret = prefs["webhook"]["secret"]
    programme_id = await announce(http, stack, key, place_codes=[place])

    calls = await eventually(lambda: _list(receiver.at(path)), lambda c: len(c) == 3)
    for call in calls:  # every attempt is signed over its timestamp and exact body
        timestamp = call.headers["x-lt-timestamp"]
        expected = hmac.new(
            secret.encode(), timestamp.encode() + b"." + call.body, hashlib.sha256
        ).hexdigest()
        assert call.headers["x-lt-signature"] == f"sha256={expected}"
        assert abs(int(timestamp) - time.time()) < 120
        assert call.headers["x-lt-delivery-id"] == f"{learner_id}:{programme_id}:webhook"
    payload = calls[-1].json
    assert payload["notifications"][0]["subject_id"] == programme_id
    assert payload["notifications"][0]["data"]["place_codes"] == [place]
    assert "Cách đăng ký" in payload["body"]
    assert payload["unsubscribe_url"].startswith(f"{stack.endpoints.notify}/v1/unsubscribe?token=")

    status = await eventually(
        lambda: deliveries(http, stack, learner_id=learner_id),
        lambda d: d and d[0]["state"] == "sent",
    )
    assert status[0]["attempts"] == 3 and status[0]["last_error"] == "HTTP 503"
    events = await eventually(lambda: told(stack, learner_id), bool)
    assert [(kind.split(".")[-2], data["attempts"]) for kind, data in events] == [("delivered", 3)]
    assert await inbox(http, stack, learner_id) == []  # the inbox was not chosen


async def _list(value: list[Any]) -> list[Any]:
    return list(value)


async def test_a_permanent_failure_is_recorded_and_published_not_retried(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], mailbox: Mailbox
) -> None:
    key, place = centre["api_key"], commune()
    learner_id = await new_learner(http, stack, key, place, f"reject-{place}@example.vn")
    await set_preferences(http, stack, learner_id, channels=["email"], quiet_hours=None)
    await announce(http, stack, key, place_codes=[place])
    status = await eventually(
        lambda: deliveries(http, stack, learner_id=learner_id),
        lambda d: d and d[0]["state"] == "failed",
    )
    assert status[0]["attempts"] == 1
    assert status[0]["last_error"].startswith("SMTP 550")
    events = await eventually(lambda: told(stack, learner_id), bool)
    assert len(events) == 1 and events[0][0].endswith("notification.failed.v1")
    assert events[0][1]["error"].startswith("SMTP 550")
    await asyncio.sleep(2)  # long enough for a (wrong) retry with the stack's 1 s back-off
    assert (await deliveries(http, stack, learner_id=learner_id))[0]["attempts"] == 1


async def test_quiet_hours_defer_pushed_messages_to_the_end_of_the_window(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], mailbox: Mailbox
) -> None:
    key, place = centre["api_key"], commune()
    address = f"night-{place}@example.vn"
    learner_id = await new_learner(http, stack, key, place, address)
    ends = next_local_minute(8)  # quiet hours are HH:MM: the window ends on a whole minute
    await set_preferences(
        http, stack, learner_id, quiet_hours={"start": local_clock(-120), "end": ends}
    )
    await announce(http, stack, key, place_codes=[place])

    notes = await eventually(
        lambda: deliveries(http, stack, learner_id=learner_id),
        lambda d: by_channel(d).get("inbox", {}).get("state") == "sent" and len(d) == 2,
    )
    email = by_channel(notes)["email"]
    assert email["state"] == "pending"  # the inbox is filled at once; email waits
    due = datetime.fromisoformat(email["due_at"]).astimezone(HCM)
    assert due.strftime("%H:%M:%S") == ends + ":00"
    if datetime.now(HCM) < due - timedelta(seconds=1):  # a slow machine may be past it already
        assert await mails(mailbox, address) == []
    arrived = await eventually(lambda: mails(mailbox, address), bool, within=90)
    assert len(arrived) == 1
    assert mailbox.arrivals(address)[0] >= due.timestamp()


async def test_a_digest_groups_a_learners_programmes_into_one_message(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], mailbox: Mailbox
) -> None:
    key, place = centre["api_key"], commune()
    address = f"digest-{place}@example.vn"
    learner_id = await new_learner(http, stack, key, place, address)
    await set_preferences(
        http,
        stack,
        learner_id,
        delivery="digest",
        digest_time=local_clock(3 * 3600),
        quiet_hours=None,
    )
    first = await announce(http, stack, key, place_codes=[place], title="Trồng nho an toàn")
    second = await announce(http, stack, key, place_codes=[place], title="Nuôi cừu Phan Rang")
    waiting = await eventually(
        lambda: deliveries(http, stack, learner_id=learner_id, channel="email"),
        lambda d: len(d) == 2 and all(n["state"] == "pending" and n["digest"] for n in d),
    )
    assert {n["subject_id"] for n in waiting} == {first, second}
    await eventually(lambda: inbox(http, stack, learner_id), lambda n: len(n) == 2)  # no wait

    # The learner moves the digest to the next minute: both go, as one message.
    soon = next_local_minute(2)
    await set_preferences(
        http, stack, learner_id, delivery="digest", digest_time=soon, quiet_hours=None
    )
    arrived = await eventually(lambda: mails(mailbox, address), bool, within=90)
    await asyncio.sleep(1.5)
    arrived = mailbox.to(address)
    assert len(arrived) == 1
    assert arrived[0]["Subject"] == "Bạn có 2 chương trình học mới phù hợp"
    text = body_of(arrived[0])
    assert "Trồng nho an toàn" in text and "Nuôi cừu Phan Rang" in text
    assert sorted(arrived[0]["X-LT-Notification-Ids"].split(",")) == sorted(
        n["id"] for n in waiting
    )
    sent = await deliveries(http, stack, learner_id=learner_id, channel="email")
    assert [n["state"] for n in sent] == ["sent", "sent"]


async def test_the_unsubscribe_link_is_honoured(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], mailbox: Mailbox
) -> None:
    key, place = centre["api_key"], commune()
    address = f"enough-{place}@example.vn"
    learner_id = await new_learner(http, stack, key, place, address)
    await set_preferences(http, stack, learner_id, quiet_hours=None)
    await announce(http, stack, key, place_codes=[place], title="Khóa thứ nhất")
    first = await eventually(lambda: mails(mailbox, address), bool)
    link = first[0]["List-Unsubscribe"].strip("<>")
    assert link in body_of(first[0])

    assert first[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # RFC 8058

    forged = await http.post(link[:-3] + "abc")
    assert forged.status_code == 400
    opened = await http.get(link)  # what a mail scanner does: a page, nothing changed
    assert opened.status_code == 200 and '<form method="post"' in opened.text
    assert (await preferences(http, stack, learner_id))["unsubscribed"] == []
    one_click = {"List-Unsubscribe": "One-Click"}
    clicked = await http.post(link, data=one_click)  # one click, no login
    assert clicked.status_code == 200 and "Đã hủy đăng ký" in clicked.text
    assert (await http.post(link, data=one_click)).status_code == 200  # twice changes nothing
    prefs = await preferences(http, stack, learner_id)
    assert prefs["unsubscribed"] == ["email"] and prefs["active_channels"] == ["inbox"]

    await announce(http, stack, key, place_codes=[place], title="Khóa thứ hai")
    await eventually(lambda: inbox(http, stack, learner_id), lambda n: len(n) == 2)
    await asyncio.sleep(1.5)
    assert len(mailbox.to(address)) == 1
    assert [n["channel"] for n in await deliveries(http, stack, learner_id=learner_id)].count(
        "email"
    ) == 1

    # Asking for email again is the learner's choice: the programme they did not hear of by
    # email now comes; the one they did is not sent again.
    await set_preferences(http, stack, learner_id, quiet_hours=None, channels=["inbox", "email"])
    both = await eventually(lambda: mails(mailbox, address), lambda m: len(m) == 2)
    await asyncio.sleep(1.5)
    assert len(mailbox.to(address)) == 2
    assert [str(m["Subject"]).rsplit(": ", 1)[1] for m in both] == [
        "Khóa thứ nhất",
        "Khóa thứ hai",
    ]


async def test_no_duplicate_after_the_worker_is_killed_and_restarted(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], receiver: Receiver
) -> None:
    key, place = centre["api_key"], commune()
    path = f"/crash/{place}"
    learners = [await new_learner(http, stack, key, place) for _ in range(6)]
    for learner_id in learners:
        await set_preferences(
            http,
            stack,
            learner_id,
            channels=["webhook"],
            quiet_hours=None,
            webhook={"url": receiver.url(path)},
        )
    receiver.hold[path] = 3  # the third request hangs: notify is killed while it waits
    receiver.released.clear()
    programme_id = await announce(http, stack, key, place_codes=[place])
    await eventually(lambda: _list(receiver.at(path)), lambda c: len(c) == 3)
    notify = localstack.component("notify")
    localstack.stop(notify, kill=True)  # SIGKILL: no clean shutdown
    receiver.released.set()
    # in a thread: the receiver runs in this event loop and must answer meanwhile
    await asyncio.to_thread(localstack.start, notify)

    expected = {f"{lid}:{programme_id}:webhook" for lid in learners}
    await eventually(
        lambda: deliveries(http, stack, subject_id=programme_id),
        lambda d: len(d) == 6 and all(n["state"] == "sent" for n in d),
    )
    await asyncio.sleep(1.5)
    ids = [r.headers["x-lt-delivery-id"] for r in receiver.at(path)]
    assert set(ids) == expected
    held = receiver.at(path)[2].headers["x-lt-delivery-id"]
    # Those answered before the crash are not sent again; the one in flight when the process
    # died goes again with the same id (at-least-once, documented); every other goes once.
    assert {i: ids.count(i) for i in ids} == {i: 2 if i == held else 1 for i in expected}
