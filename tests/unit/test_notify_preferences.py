"""Preferences: defaults from the profile, what the learner sets, what can reach them (no I/O)."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.vocabulary import Language
from services.common.outbound import IPAddress, parse_destinations
from services.notify.preferences import (
    PreferencesInput,
    stored_preferences,
    subscriber,
    webhook_refusal,
)
from services.notify.settings import DeliverySettings

PROFILE = {
    "birth_date": "1990-05-14",
    "commune_code": "22735",
    "email": "huong@example.vn",
    "phone": "+84912345678",
    "language": "vi",
    "interests": ["vocational"],
    "topics": ["Nông nghiệp"],
}


def doc(**extra: Any) -> dict[str, Any]:
    return {"_id": "L1", "profile": PROFILE, **extra}


def test_defaults_come_from_the_profile_and_the_service() -> None:
    learner = subscriber(doc(), DeliverySettings(), sms=True)
    assert learner.channels == ("inbox", "email")  # SMS only when asked for
    assert learner.language == Language.VI
    assert learner.time_zone == "Asia/Ho_Chi_Minh"
    assert learner.quiet is not None and (learner.quiet.start, learner.quiet.end) == (
        time(21, 0),
        time(7, 0),
    )
    assert learner.delivery == "immediate" and not learner.schedule.digest
    assert learner.places == {"22735"}
    no_email = subscriber(
        {"_id": "L2", "profile": {**PROFILE, "email": None}}, DeliverySettings(), sms=True
    )
    assert no_email.channels == ("inbox",)


def test_what_the_learner_sets_overrides_the_defaults() -> None:
    prefs = PreferencesInput.model_validate(
        {
            "channels": ["sms", "inbox", "webhook"],
            "language": "en",
            "quiet_hours": None,
            "time_zone": "Europe/Paris",
            "delivery": "digest",
            "digest_time": "19:30",
            "places": ["22480"],
            "webhook": {"url": "https://app.partner.vn/hook"},
        }
    )
    stored = stored_preferences(prefs, {}, new_secret="n" * 32)
    learner = subscriber(doc(preferences=stored), DeliverySettings(), sms=True)
    assert learner.channels == ("inbox", "webhook", "sms")  # in a fixed order
    assert learner.language == Language.EN
    assert learner.quiet is None and learner.schedule.quiet is None
    assert learner.schedule.digest and learner.schedule.digest_time == time(19, 30)
    assert str(learner.schedule.zone) == "Europe/Paris"
    assert learner.places == {"22735", "22480"}
    assert learner.webhook_secret == "n" * 32
    # Fields left out of a PUT take their defaults, not what was set before.
    again = stored_preferences(PreferencesInput(), stored, new_secret="x" * 32)
    assert subscriber(doc(preferences=again), DeliverySettings(), sms=True).language == Language.VI


def test_a_channel_that_cannot_reach_the_learner_or_was_unsubscribed_is_not_used() -> None:
    stored = {"channels": ["inbox", "email", "sms", "webhook"]}
    learner = subscriber(doc(preferences=stored), DeliverySettings(), sms=False)
    assert learner.channels == ("inbox", "email")  # no gateway, no webhook URL
    stopped = subscriber(
        doc(preferences=stored, unsubscribed=["email"]), DeliverySettings(), sms=True
    )
    assert stopped.channels == ("inbox", "sms")
    assert stopped.requested == ("inbox", "email", "webhook", "sms")


def test_a_webhook_keeps_its_secret_until_its_url_changes() -> None:
    url = "https://app.partner.vn/hook"
    first = stored_preferences(
        PreferencesInput.model_validate({"webhook": {"url": url}}), {}, new_secret="a" * 32
    )
    same = stored_preferences(
        PreferencesInput.model_validate({"webhook": {"url": url}}), first, new_secret="b" * 32
    )
    moved = stored_preferences(
        PreferencesInput.model_validate({"webhook": {"url": url + "2"}}), first, "c" * 32
    )
    own = stored_preferences(
        PreferencesInput.model_validate({"webhook": {"url": url, "secret": "d" * 20}}), first, "e"
    )
    assert [p["webhook"]["secret"] for p in (first, same, moved, own)] == [
        "a" * 32,
        "a" * 32,
        "c" * 32,
        "d" * 20,
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"time_zone": "Asia/Hanoi_City"},
        {"channels": ["pigeon"]},
        {"interests": {"levels": [9]}},
        {"places": ["Phan Rang"]},
        {"quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"colour": "blue"},
    ],
)
def test_nonsense_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PreferencesInput.model_validate(body)


def test_webhooks_go_to_public_https_addresses_unless_a_destination_is_allowed() -> None:
    none: frozenset[tuple[IPAddress, int]] = frozenset()
    assert webhook_refusal("https://app.partner.vn/hook", none) is None
    assert webhook_refusal("http://app.partner.vn/hook", none) == "a webhook must use https"
    for private in (
        "https://127.0.0.1/h",
        "https://10.1.2.3/h",
        "https://[::1]/h",
        "https://[::ffff:127.0.0.1]/h",
    ):
        assert "must be a public address" in str(webhook_refusal(private, none)), private
    for internal in (
        "https://localhost/h",
        "https://localhost./h",
        "https://vm/",
        "https://learner:8081/",
    ):
        assert "not a local or internal one" in str(webhook_refusal(internal, none)), internal
    allowed = parse_destinations("127.0.0.1:9000")
    assert webhook_refusal("http://127.0.0.1:9000/h", allowed) is None
    assert webhook_refusal("http://127.0.0.1:9001/h", allowed) is not None  # that port only
