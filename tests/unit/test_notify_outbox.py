"""The outbox's rules: what is planned, which failures are retried, and how (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.notify.channels import Delivery
from services.notify.messages import Message
from services.notify.outbox import (
    FAILED,
    PENDING,
    Outcome,
    after_failure,
    http_outcome,
    plan,
    smtp_outcome,
)
from services.notify.preferences import subscriber
from services.notify.settings import DeliverySettings
from services.notify.signing import read_unsubscribe_token
from services.notify.store import record_field, record_id_of, settled
from services.notify.worker import deliveries

NOON_HCM = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # 12:00 in Hồ Chí Minh City
NIGHT_HCM = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # 23:00
LINKS = ("https://notify.example.vn", "token-secret")


def learner(**preferences: Any) -> Any:
    doc = {
        "_id": "L1",
        "profile": {"birth_date": "1990-05-14", "commune_code": "22735", "email": "a@b.vn"},
        "preferences": preferences,
    }
    return subscriber(doc, DeliverySettings(), sms=False)


def test_one_notification_per_channel_each_with_its_own_unsubscribe_link() -> None:
    docs = plan(learner(), "programme", "PG1", Message("T", "B"), {"x": 1}, NOON_HCM, LINKS)
    assert [d["_id"] for d in docs] == ["L1:PG1:inbox", "L1:PG1:email"]
    assert all(d["state"] == PENDING and d["attempts"] == 0 for d in docs)
    assert all(d["due_at"] == NOON_HCM for d in docs)
    for doc in docs:
        url = doc["unsubscribe_url"]
        assert url.startswith("https://notify.example.vn/v1/unsubscribe?token=")
        assert read_unsubscribe_token("token-secret", url.split("token=")[1]) == (
            "L1",
            doc["channel"],
        )


def test_at_night_email_waits_but_the_inbox_does_not() -> None:
    inbox, email = plan(learner(), "programme", "PG1", Message("T", "B"), {}, NIGHT_HCM, LINKS)
    assert inbox["due_at"] == NIGHT_HCM
    assert email["due_at"] == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)  # 07:00 local


def test_digest_learners_wait_for_the_digest_for_programmes_only() -> None:
    who = learner(delivery="digest", digest_time="18:00", quiet_hours=None)
    inbox, email = plan(who, "programme", "PG1", Message("T", "B"), {}, NOON_HCM, LINKS)
    assert not inbox["digest"] and inbox["due_at"] == NOON_HCM
    assert email["digest"] and email["due_at"] == datetime(2026, 11, 27, 11, 0, tzinfo=UTC)
    _, told = plan(who, "credential", "C1", Message("T", "B"), {}, NOON_HCM, LINKS)
    assert not told["digest"] and told["due_at"] == NOON_HCM


def test_which_answers_are_worth_retrying() -> None:
    assert http_outcome(204).verdict == "sent"
    assert [http_outcome(s).verdict for s in (408, 429, 500, 502, 503)] == ["retry"] * 5
    assert [http_outcome(s).verdict for s in (301, 400, 401, 404, 410)] == ["permanent"] * 5
    assert http_outcome(503, "120").retry_after == 120
    assert smtp_outcome(550, "no such mailbox") == Outcome("permanent", "SMTP 550 no such mailbox")
    assert smtp_outcome(451, "try later").verdict == "retry"


def test_after_a_failure_retry_with_back_off_until_the_last_attempt() -> None:
    who = learner(quiet_hours=None)
    retry = after_failure(Outcome("retry", "HTTP 503"), 2, 5, NOON_HCM, 4.0, who)
    assert retry.state == PENDING and retry.due_at == NOON_HCM + timedelta(seconds=4)
    asked = after_failure(Outcome("retry", "HTTP 429", 60), 2, 5, NOON_HCM, 4.0, who)
    assert asked.due_at == NOON_HCM + timedelta(seconds=60)
    assert after_failure(Outcome("retry", "HTTP 503"), 5, 5, NOON_HCM, 4.0, who).state == FAILED
    assert after_failure(Outcome("permanent", "HTTP 410"), 1, 5, NOON_HCM, 4.0, who).state == FAILED


def test_a_retry_never_lands_in_quiet_hours() -> None:
    step = after_failure(Outcome("retry", "x"), 1, 5, NIGHT_HCM, 30.0, learner())
    assert step.due_at == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


def test_a_learners_digest_notifications_go_as_one_message() -> None:
    who = learner()
    claimed = [
        {"_id": "L1:P1:email", "learner_id": "L1", "digest": True},
        {"_id": "L1:C1:email", "learner_id": "L1", "digest": False},
        {"_id": "L1:P2:email", "learner_id": "L1", "digest": True},
    ]
    grouped = deliveries(claimed, {"L1": who})
    assert [d.ids for d in grouped] == [["L1:C1:email"], ["L1:P1:email", "L1:P2:email"]]
    assert grouped[0].delivery_id == "L1:C1:email"
    assert grouped[1].delivery_id.startswith("digest-")
    assert grouped[1].delivery_id == Delivery(who, list(reversed(claimed[::2]))).delivery_id


def test_any_record_id_is_a_field_name_and_back() -> None:
    for rid in ("0192f1c2-7d3e-7a00-8000-000000000001", "r.1", "$r", "%2E", "a%b.c$d", "12"):
        field = record_field(rid)
        assert "." not in field and "$" not in field
        assert record_id_of(field) == rid


def test_only_what_can_never_be_pending_again_is_settled() -> None:
    assert settled({"state": "sent"}) and settled({"state": "failed"})
    assert settled({"state": "cancelled", "cancel_reason": "learner merged"})
    assert not settled({"state": "cancelled", "cancel_reason": "no longer fits"})
    assert not settled({"state": "cancelled", "cancel_reason": "channel turned off"})
    assert not settled({"state": "pending"}) and not settled({"state": "sending"})
