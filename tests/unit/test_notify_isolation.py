"""One learner's bad stored data fails one decision (no I/O): what notify reads back from a
subscription is checked as strictly as what the API takes, and a failure stays with its owner."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest

from contracts.programmes import Programme
from services.notify.isolation import DATA_ERRORS, Isolation
from services.notify.matchmaker import Matchmaker
from services.notify.preferences import subscriber
from services.notify.scheduling import QuietHours
from services.notify.settings import DeliverySettings

SETTINGS = DeliverySettings()


def _doc(learner_id: str, **preferences: Any) -> dict[str, Any]:
    return {
        "_id": learner_id,
        "profile": {"commune_code": "99903", "birth_date": "1990-05-14"},
        "preferences": preferences,
    }


BAD = {
    "quiet hours with offsets": {"quiet_hours": {"start": "21:00+05:00", "end": "07:00-11:00"}},
    "quiet hours with seconds and fraction": {"quiet_hours": {"start": "21:00:00.5", "end": "7"}},
    "a digest time with an offset": {"digest_time": "18:00Z"},
    "an unknown time zone": {"time_zone": "Mars/Olympus"},
    "a file as a time zone": {"time_zone": "../../etc/passwd"},
    "the host's local time": {"time_zone": "localtime"},
}


@pytest.mark.parametrize("preferences", BAD.values(), ids=BAD.keys())
def test_bad_stored_preferences_do_not_make_a_subscriber(preferences: dict[str, Any]) -> None:
    with pytest.raises(DATA_ERRORS):
        subscriber(_doc("bad", **preferences), SETTINGS, sms=False)


def test_preferences_stored_before_hh_mm_are_still_read() -> None:
    found = subscriber(
        _doc("old", quiet_hours={"start": "21:00:00", "end": "07:00:00"}, digest_time="18:30:00"),
        SETTINGS,
        sms=False,
    )
    assert found.quiet is not None and found.quiet.start == time(21, 0)
    assert found.schedule.digest_time == time(18, 30)


def test_quiet_hours_refuse_aware_times() -> None:
    with pytest.raises(ValueError, match="wall-clock"):
        QuietHours(time(21, 0, tzinfo=UTC), time(7, 0))


def test_a_programme_is_planned_for_everyone_but_the_learner_whose_data_is_bad() -> None:
    isolation = Isolation()
    matchmaker = Matchmaker(None, SETTINGS, "t" * 32, wake=lambda: None, isolation=isolation)  # type: ignore[arg-type]
    docs = [_doc("a"), _doc("bad", **BAD["quiet hours with offsets"]), _doc("b")]
    learners = matchmaker.subscribers(docs)
    assert [s.learner_id for s in learners] == ["a", "b"]
    programme = Programme(
        programme_id="p-1",
        provider_id="c-1",
        title="Nuôi dê an toàn",
        pathway="vocational",  # type: ignore[arg-type]
        place_codes=["99903"],
        how_to_enrol="Tại trung tâm",
        announced_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    planned = matchmaker._plan_programme(programme, learners, datetime(2026, 6, 1, tzinfo=UTC))
    assert {p["learner_id"] for p in planned} == {"a", "b"}
    assert isolation.counter.labels("subscriber")._value.get() == 1


def test_isolation_catches_data_errors_only() -> None:
    isolation = Isolation()

    def decide(n: int) -> int:
        if n == 2:
            raise ConnectionError("an outage is not one learner's data")
        return 10 // n

    assert isolation.each("match", [1, 0, 5], decide, str) == [10, 2]
    with pytest.raises(ConnectionError):
        isolation.each("match", [1, 2], decide, str)
