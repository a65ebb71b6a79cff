"""Who a programme fits, and the index-friendly bounds that find them (no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.programmes import ProgrammeAnnounced
from services.notify.matching import (
    age_on,
    birth_date_bounds,
    completion_key,
    reasons_against,
)
from services.notify.preferences import Subscriber, subscriber
from services.notify.projection import trail_summary
from services.notify.settings import DeliverySettings

TODAY = date(2026, 11, 27)


def programme(**extra: Any) -> ProgrammeAnnounced:
    base: dict[str, Any] = {
        "programme_id": "PG1",
        "provider_id": "P",
        "title": "Kỹ thuật tưới nhỏ giọt",
        "pathway": "vocational",
        "place_codes": ["22735"],
        "how_to_enrol": "Gọi 0259",
        "announced_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    base.update(extra)
    return ProgrammeAnnounced.model_validate(base)


def learner(preferences: dict[str, Any] | None = None, **profile: Any) -> Subscriber:
    doc: dict[str, Any] = {
        "_id": "L1",
        "profile": {
            "birth_date": "1990-05-14",
            "commune_code": "22735",
            "language": "vi",
            "interests": [],
            "topics": [],
            **profile,
        },
    }
    if preferences is not None:
        doc["preferences"] = preferences
    return subscriber(doc, DeliverySettings(), sms=False)


@pytest.mark.parametrize("on", [date(2028, 2, 29), date(2026, 3, 1), date(2026, 12, 31)])
def test_birth_date_bounds_agree_with_age_for_every_birthday(on: date) -> None:
    earliest, latest = birth_date_bounds(18, 35, on)
    assert earliest is not None and latest is not None
    day = date(1985, 1, 1)
    while day < date(2015, 1, 1):
        in_range = 18 <= age_on(day, on) <= 35
        assert in_range == (earliest <= day <= latest), day
        day += timedelta(days=1)


def test_open_age_limits_leave_the_range_open() -> None:
    assert birth_date_bounds(None, None, TODAY) == (None, None)
    assert birth_date_bounds(18, None, TODAY) == (None, date(2008, 11, 27))
    assert birth_date_bounds(None, 60, TODAY) == (date(1965, 11, 28), None)


def test_a_programme_fits_a_learner_of_its_place_and_age() -> None:
    assert reasons_against(programme(min_age=18, max_age=60), learner(), TODAY) == []
    assert reasons_against(programme(), learner(commune_code="22480"), TODAY) == [
        "not offered in the learner's places"
    ]
    assert "too old" in reasons_against(programme(max_age=30), learner(), TODAY)
    assert "programme has ended" in reasons_against(
        programme(ends_on=date(2026, 1, 1)), learner(), TODAY
    )


def test_places_a_learner_asks_for_count_besides_the_home_commune() -> None:
    far = learner({"places": ["22480"]}, commune_code="26734")
    assert reasons_against(programme(place_codes=["22480"]), far, TODAY) == []
    assert reasons_against(programme(place_codes=["26734"]), far, TODAY) == []


def test_the_prior_level_must_have_been_reached() -> None:
    wants_level_3 = programme(prior_vqf_level=3)
    assert "prior level not reached" in reasons_against(wants_level_3, learner(), TODAY)
    doc = {
        "_id": "L1",
        "profile": {"birth_date": "1990-05-14", "commune_code": "22735"},
        "trail": {"highest_vqf_level": 3, "completed": []},
    }
    assert (
        reasons_against(wants_level_3, subscriber(doc, DeliverySettings(), sms=False), TODAY) == []
    )


def test_interests_pathways_topics_and_levels() -> None:
    farming = programme(topics=["Nông nghiệp", "Tưới tiêu"], vqf_level=2)
    assert reasons_against(farming, learner(interests=["vocational"]), TODAY) == []
    assert reasons_against(farming, learner(interests=["online"]), TODAY) == [
        "pathway not of interest"
    ]
    # Topics compare as readers do: case and Unicode form do not matter.
    assert reasons_against(farming, learner(topics=["NÔNG NGHIỆP"]), TODAY) == []
    assert reasons_against(farming, learner(topics=["Tin học"]), TODAY) == [
        "topics not of interest"
    ]
    # What the learner sets overrides the profile's interests.
    chosen = learner({"interests": {"pathways": ["online"], "topics": [], "levels": [4, 5]}})
    assert reasons_against(farming, chosen, TODAY) == [
        "pathway not of interest",
        "level not of interest",
    ]


def test_learning_already_completed_is_not_offered_again() -> None:
    records = [
        {"pathway": "vocational", "title": "Kỹ thuật  TƯỚI nhỏ giọt", "status": "passed"},
        {"pathway": "vocational", "title": "Sơ cấp điện", "status": "failed", "vqf_level": 2},
        {"pathway": "regular", "title": "Tin học", "status": "passed", "vqf_level": 5},
        {
            "pathway": "regular",
            "title": "Kế toán",
            "status": "passed",
            "vqf_level": 6,
            "revoked": True,
        },
    ]
    trail = trail_summary(records)
    assert trail["highest_vqf_level"] == 5  # failed and revoked learning does not count
    assert completion_key("vocational", "Kỹ thuật tưới nhỏ giọt") in trail["completed"]
    doc = {"_id": "L1", "profile": {"birth_date": "1990-05-14", "commune_code": "22735"}}
    done = subscriber({**doc, "trail": trail}, DeliverySettings(), sms=False)
    assert reasons_against(programme(), done, TODAY) == ["already completed"]
    other_pathway = programme(pathway="continuing")
    assert reasons_against(other_pathway, done, TODAY) == []


def test_a_merged_or_unknown_learner_is_offered_nothing() -> None:
    merged = subscriber(
        {
            "_id": "L1",
            "profile": {"birth_date": "1990-05-14", "commune_code": "22735"},
            "merged_into": "L2",
        },
        DeliverySettings(),
        sms=False,
    )
    assert "learner unknown or merged" in reasons_against(programme(), merged, TODAY)
    unknown = subscriber({"_id": "L9"}, DeliverySettings(), sms=False)
    assert "learner unknown or merged" in reasons_against(programme(), unknown, TODAY)
