"""Notify on the real stack: the right programme reaches the right learners, updates re-match,
a withdrawal cancels what waits, and recognitions and credentials are told.

Also holds the helpers the other notify end-to-end tests share: a real SMTP server (aiosmtpd)
on the port the stack's notify relays to, a real HTTP receiver for webhooks, and a real Kafka
publisher for the events whose endpoints do not exist yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import BaseModel

from cli import localstack
from cli.mailsink import read_mail
from contracts import credentials, programmes
from contracts.credentials import CredentialIssued, RecognitionGranted
from contracts.envelope import Envelope as Event
from contracts.envelope import new_event_id
from contracts.programmes import ProgrammeUpdated, ProgrammeWithdrawn
from services.common.broker import EventLog, publish_event
from tests.conftest import Stack, eventually, national_id, new_provider, read_topic, submission

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


# a real SMTP server: the local stack's mail catcher (cli/mailsink.py)


@dataclass
class Mailbox:
    """What the stack's mail catcher received on notify's SMTP port (one .eml file each);
    addresses starting with 'reject' are refused there with 550, as a real server refuses an
    unknown mailbox."""

    folder: Path
    parsed: dict[str, EmailMessage] = field(default_factory=dict)

    @property
    def messages(self) -> list[tuple[float, EmailMessage]]:
        return read_mail(self.folder, self.parsed)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for _, m in self.messages if m["To"] == address]

    def arrivals(self, address: str) -> list[float]:
        return [t for t, m in self.messages if m["To"] == address]


# Other notify test modules import these fixtures, which makes each a fixture of its own
# there; the receiver is shared (one port), counted, and stopped after the last user.
_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session", name="mailbox")
def mailbox_fixture(stack: Stack) -> Mailbox:
    assert localstack.port_open(localstack.smtp_port(localstack.Ports.from_env())), (
        "the stack's mail catcher does not answer"
    )
    return Mailbox(localstack.mail_folder())


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


# a real HTTP receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A small HTTP/1.1 server in the test's event loop. Each path can be told to fail a number
    of times first, or to hold a request (never answer) until released."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    hold: dict[str, int] = field(default_factory=dict)  # path -> hold the n-th request
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode()
            if not request_line:
                return
            path = request_line.split()[1]
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode()) not in ("\r\n", "\n", ""):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append(Received(path, headers, body))
            status = 200
            if self.hold.get(path) == len(self.at(path)):
                await self.released.wait()
            elif self.failures.get(path, 0) > 0:
                self.failures[path] -= 1
                status = 503
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@pytest.fixture(scope="session", name="receiver")
async def receiver_fixture() -> AsyncIterator[Receiver]:
    if "receiver" not in _SHARED:
        found = Receiver()
        # the one internal destination the local notify is allowed to call
        port = localstack.webhook_receiver_port(localstack.Ports.from_env())
        server = await asyncio.start_server(found.handle, "127.0.0.1", port)
        found.port = server.sockets[0].getsockname()[1]
        _SHARED["receiver"] = [found, server, 0]
    _SHARED["receiver"][2] += 1
    yield _SHARED["receiver"][0]
    _SHARED["receiver"][2] -= 1
    if _SHARED["receiver"][2] == 0:
        found, server, _ = _SHARED.pop("receiver")
        found.released.set()
        server.close()


# a real Kafka publisher


@pytest.fixture(scope="session")
async def broker(stack: Stack) -> AsyncIterator[EventLog]:
    found = EventLog(stack.kafka, "notify-e2e")
    await found.start()
    yield found
    await found.stop()


async def publish(broker: EventLog, topic: str, kind: str, subject: str, data: BaseModel) -> None:
    await publish_event(
        broker, topic, Event[BaseModel](type=kind, source="/tests", subject=subject, data=data)
    )


# learners, programmes, and what notify says


def commune() -> str:
    return f"{random.randrange(10_000, 99_999)}"  # a place no other test uses


def local_clock(seconds_from_now: float = 0) -> str:
    """The learner's wall-clock time (HH:MM, as preferences take it) so many seconds away."""
    at = datetime.now(HCM) + timedelta(seconds=seconds_from_now)
    return at.strftime("%H:%M")


def next_local_minute(at_least: float) -> str:
    """The first whole minute (HH:MM, learner's time) at least ``at_least`` seconds away."""
    at = datetime.now(HCM) + timedelta(seconds=at_least + 59)
    return at.replace(second=0, microsecond=0).strftime("%H:%M")


async def new_learner(
    http: httpx.AsyncClient,
    stack: Stack,
    key: str,
    place: str,
    email_address: str | None = None,
    birth_date: str = "1990-05-14",
) -> str:
    body = submission(national_id(), f"N-{new_event_id()}", commune=place)
    body["learner"]["birth_date"] = birth_date
    if email_address:
        body["learner"]["email"] = email_address
    answer = await http.post(
        f"{stack.endpoints.learner}/v1/records", json=body, headers={"X-API-Key": key}
    )
    assert answer.status_code == 202, answer.text
    learner_id: str = answer.json()["learner_id"]
    # notify knows the learner once their profile arrived (before, GET answers the defaults)
    await eventually(
        lambda: preferences(http, stack, learner_id),
        lambda p: p.get("home_commune") == place and p.get("email") == email_address,
    )
    return learner_id


async def preferences(http: httpx.AsyncClient, stack: Stack, learner_id: str) -> dict[str, Any]:
    answer = await http.get(
        f"{stack.endpoints.notify}/v1/learners/{learner_id}/preferences",
        headers=stack.learner_token(learner_id),
    )
    found: dict[str, Any] = answer.json()
    return found


async def set_preferences(
    http: httpx.AsyncClient, stack: Stack, learner_id: str, **body: Any
) -> dict[str, Any]:
    answer = await http.put(
        f"{stack.endpoints.notify}/v1/learners/{learner_id}/preferences",
        json=body,
        headers=stack.learner_token(learner_id),
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def announce(http: httpx.AsyncClient, stack: Stack, key: str, **programme: Any) -> str:
    body = {
        "title": "Kỹ thuật tưới nhỏ giọt cho cây nho",
        "pathway": "vocational",
        "how_to_enrol": "Đăng ký tại Trung tâm, ĐT 0259 3864 123",
        **programme,
    }
    answer = await http.post(
        f"{stack.endpoints.learner}/v1/programmes", json=body, headers={"X-API-Key": key}
    )
    assert answer.status_code == 202, answer.text
    programme_id: str = answer.json()["programme_id"]
    return programme_id


async def inbox(http: httpx.AsyncClient, stack: Stack, learner_id: str) -> list[dict[str, Any]]:
    answer = await http.get(
        f"{stack.endpoints.notify}/v1/learners/{learner_id}/notifications",
        headers=stack.learner_token(learner_id),
    )
    assert answer.status_code == 200, answer.text
    notes: list[dict[str, Any]] = answer.json()["notifications"]
    return notes


async def deliveries(http: httpx.AsyncClient, stack: Stack, **query: str) -> list[dict[str, Any]]:
    answer = await http.get(
        f"{stack.endpoints.notify}/v1/admin/notifications", params=query, headers=stack.admin
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def by_channel(notes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n["channel"]: n for n in notes}


async def told(stack: Stack, learner_id: str) -> list[tuple[str, dict[str, Any]]]:
    """What notifications.v1 says about a learner: (event type, data)."""
    records = await read_topic(stack.kafka, "notifications.v1")
    return [
        (dict(r.headers)["ce_type"].decode(), json.loads(r.value))
        for r in records
        if r.key == learner_id.encode()
    ]


@pytest.fixture(name="centre")
async def centre_fixture(stack: Stack, http: httpx.AsyncClient) -> dict[str, Any]:
    return await new_provider(http, stack)


# the tests


async def test_a_programme_reaches_the_learners_it_fits_on_their_channels(
    stack: Stack, http: httpx.AsyncClient, centre: dict[str, Any], mailbox: Mailbox
) -> None:
    key, place = centre["api_key"], commune()
    fits = await new_learner(http, stack, key, place, f"fits-{place}@example.vn")
    young = await new_learner(
        http, stack, key, place, f"young-{place}@example.vn", birth_date="2012-01-01"
    )
    elsewhere = await new_learner(http, stack, key, commune(), f"far-{place}@example.vn")
    online_only = await new_learner(http, stack, key, place, f"online-{place}@example.vn")
    for learner_id in (fits, young, elsewhere, online_only):
        await set_preferences(http, stack, learner_id, quiet_hours=None)
    await set_preferences(
        http, stack, online_only, quiet_hours=None, interests={"pathways": ["online"]}
    )

    programme_id = await announce(
        http, stack, key, place_codes=[place], min_age=18, starts_on="2027-02-01"
    )

    notes = await eventually(lambda: inbox(http, stack, fits), lambda n: len(n) == 1)
    assert notes[0]["programme_id"] == programme_id and not notes[0]["read"]
    assert notes[0]["title"] == "Chương trình học mới gần bạn: Kỹ thuật tưới nhỏ giọt cho cây nho"
    assert "Khai giảng ngày 01/02/2027" in notes[0]["body"]
    mails = await eventually(lambda: _async(mailbox.to(f"fits-{place}@example.vn")), bool)
    assert len(mails) == 1
    text = body_of(mails[0])
    assert "Cách đăng ký: Đăng ký tại Trung tâm, ĐT 0259 3864 123" in text
    assert mails[0]["Subject"] == notes[0]["title"]
    assert mails[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"{stack.endpoints.notify}/v1/unsubscribe?token=" in text

    events = await eventually(lambda: told(stack, fits), lambda e: len(e) == 2)
    assert sorted((kind.split(".")[-2], data["channel"]) for kind, data in events) == [
        ("delivered", "email"),
        ("delivered", "inbox"),
    ]
    assert {data["subject_id"] for _, data in events} == {programme_id}

    # The read flag is the learner's to set.
    marked = await http.post(
        f"{stack.endpoints.notify}/v1/learners/{fits}/notifications/{notes[0]['id']}/read",
        headers=stack.learner_token(fits),
    )
    assert marked.status_code == 200 and marked.json()["read"]
    assert (await inbox(http, stack, fits))[0]["read"]

    await asyncio.sleep(1)  # a late, wrong notification would show by now
    for learner_id in (young, elsewhere, online_only):
        assert await inbox(http, stack, learner_id) == []
        assert await deliveries(http, stack, learner_id=learner_id) == []
    assert mailbox.to(f"young-{place}@example.vn") == []


async def _async(value: Any) -> Any:
    return value


async def test_an_update_re_matches_and_a_withdrawal_cancels_what_waits(
    stack: Stack,
    http: httpx.AsyncClient,
    centre: dict[str, Any],
    broker: EventLog,
    mailbox: Mailbox,
) -> None:
    key, place = centre["api_key"], commune()
    older = await new_learner(http, stack, key, place, f"older-{place}@example.vn", "1980-01-01")
    younger = await new_learner(
        http, stack, key, place, f"younger-{place}@example.vn", "2000-01-01"
    )
    for learner_id in (older, younger):  # emails wait for an evening digest
        await set_preferences(
            http,
            stack,
            learner_id,
            delivery="digest",
            digest_time=local_clock(3 * 3600),
            quiet_hours=None,
        )
    programme_id = await announce(http, stack, key, place_codes=[place], min_age=18)
    for learner_id in (older, younger):
        notes = await eventually(
            lambda lid=learner_id: deliveries(http, stack, learner_id=lid),
            lambda d: (
                {n["channel"]: n["state"] for n in d} == {"inbox": "sent", "email": "pending"}
            ),
        )
        assert by_channel(notes)["email"]["digest"]

    updated = ProgrammeUpdated(
        programme_id=programme_id,
        provider_id=centre["provider"]["id"],
        title="Kỹ thuật tưới nhỏ giọt (khóa tối)",
        pathway="vocational",
        place_codes=[place],
        min_age=18,
        max_age=40,
        how_to_enrol="Đăng ký tại Trung tâm, ĐT 0259 3864 123",
        announced_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
    )
    await publish(broker, programmes.TOPIC, programmes.PROGRAMME_UPDATED, programme_id, updated)

    # The older learner no longer fits: what waited for them is cancelled.
    older_email = await eventually(
        lambda: deliveries(http, stack, learner_id=older, channel="email"),
        lambda d: d[0]["state"] == "cancelled",
    )
    assert older_email[0]["cancel_reason"] == "no longer fits"
    # The younger one still fits: their waiting email now carries the new title.
    waiting = await eventually(
        lambda: pending_titles(http, stack, younger), lambda t: t and "khóa tối" in t[0]
    )
    assert waiting == ["Chương trình học mới gần bạn: Kỹ thuật tưới nhỏ giọt (khóa tối)"]

    withdrawn = ProgrammeWithdrawn(
        programme_id=programme_id,
        provider_id=updated.provider_id,
        reason="Không đủ học viên",
        withdrawn_at=datetime.now(UTC),
    )
    await publish(broker, programmes.TOPIC, programmes.PROGRAMME_WITHDRAWN, programme_id, withdrawn)
    younger_email = await eventually(
        lambda: deliveries(http, stack, learner_id=younger, channel="email"),
        lambda d: d[0]["state"] == "cancelled",
    )
    assert younger_email[0]["cancel_reason"] == "programme withdrawn"
    notes = await eventually(lambda: inbox(http, stack, younger), lambda n: n[0]["retracted"])
    assert notes[0]["retracted"] == "programme withdrawn"
    assert (
        mailbox.to(f"older-{place}@example.vn") == mailbox.to(f"younger-{place}@example.vn") == []
    )


async def pending_titles(http: httpx.AsyncClient, stack: Stack, learner_id: str) -> list[str]:
    """The titles of the learner's emails still waiting in the outbox."""
    pending = await deliveries(http, stack, learner_id=learner_id, channel="email", state="pending")
    return [p["title"] for p in pending]


async def test_recognitions_and_credentials_are_told(
    stack: Stack,
    http: httpx.AsyncClient,
    centre: dict[str, Any],
    broker: EventLog,
    mailbox: Mailbox,
) -> None:
    key, place = centre["api_key"], commune()
    learner_id = await new_learner(http, stack, key, place, f"proud-{place}@example.vn")
    await set_preferences(http, stack, learner_id, quiet_hours=None, language="en")
    recognition_id = f"rec-{new_event_id()}"
    granted = RecognitionGranted(
        recognition_id=recognition_id,
        learner_id=learner_id,
        rule_id="vocational-to-college",
        rule_version="2026.1",
        record_ids=["r1"],
        outcome_vi="Miễn học phần Tin học cơ sở",
        outcome_en="Exempt from Basic IT",
        granted_at=datetime.now(UTC),
    )
    issued = CredentialIssued(
        credential_id=f"urn:uuid:{new_event_id()}",
        learner_id=learner_id,
        record_ids=["r1", "r2"],
        verify_url="https://trail.example.vn/verify/1",
        issued_at=datetime.now(UTC),
    )
    await publish(broker, credentials.TOPIC, credentials.RECOGNITION_GRANTED, learner_id, granted)
    await publish(broker, credentials.TOPIC, credentials.CREDENTIAL_ISSUED, learner_id, issued)

    notes = await eventually(lambda: inbox(http, stack, learner_id), lambda n: len(n) == 2)
    assert {n["about"]: n["subject_id"] for n in notes} == {
        "recognition": recognition_id,
        "credential": issued.credential_id,
    }
    mails = await eventually(
        lambda: _async(mailbox.to(f"proud-{place}@example.vn")), lambda m: len(m) == 2
    )
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert subjects == [
        "A digital credential was issued to you",
        "Your learning has been recognised",
    ]
    assert any("Exempt from Basic IT" in body_of(m) for m in mails)
    # Redelivering the same events tells no one twice.
    await publish(broker, credentials.TOPIC, credentials.RECOGNITION_GRANTED, learner_id, granted)
    await asyncio.sleep(2)
    assert len(await inbox(http, stack, learner_id)) == 2
    assert len(mailbox.to(f"proud-{place}@example.vn")) == 2
