"""Which learners a programme fits — without I/O.

The store narrows the candidates with indexes (place codes, then the birth-date range that the
age limits imply); :func:`reasons_against` then decides each candidate on everything else:
interests, the prior level the programme asks for, and whether the learner already completed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts.programmes import Programme
from contracts.vocabulary import Language
from services.notify.messages import inbox_message
from services.notify.preferences import Subscriber, normalise
from services.notify.scheduling import Schedule

__all__ = [
    "age_on",
    "birth_date_bounds",
    "completion_key",
    "fits",
    "inbox_message",
    "notification_id",
    "reasons_against",
]


def age_on(birth_date: date, day: date) -> int:
    """Completed years of age on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 29 February falls back to the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def birth_date_bounds(
    min_age: int | None, max_age: int | None, on: date
) -> tuple[date | None, date | None]:
    """The earliest and latest birth dates of people aged ``min_age``..``max_age`` on ``on``.

    ``age_on(b, on) >= n`` exactly when ``b <= _years_before(on, n)``, so the age range becomes
    a birth-date range an index can serve (birth dates are stored as ISO text, which sorts by
    date).
    """
    latest = _years_before(on, min_age) if min_age is not None else None
    earliest = _years_before(on, max_age + 1) + timedelta(days=1) if max_age is not None else None
    return earliest, latest


def age_reference_day(programme: Programme, today: date) -> date:
    """Ages are checked at the start of the programme (today if it has no start date)."""
    return programme.starts_on or today


def completion_key(pathway: str, title: str) -> str:
    """What identifies learning a learner has completed: its pathway and normalised title."""
    return f"{pathway}|{normalise(title)}"


def reasons_against(programme: Programme, learner: Subscriber, today: date) -> list[str]:
    """Why the programme should not be offered to the learner (empty when it fits).

    Offered where the learner lives or asked to hear about; open to their age at the start;
    their highest qualification level is at least the prior level required; it is in a pathway,
    topic and level they are interested in (no interests stated means any); and they have not
    already completed it. A programme that has ended fits no one.
    """
    reasons = []
    if not learner.active:
        reasons.append("learner unknown or merged")
    if not learner.places.intersection(programme.place_codes):
        reasons.append("not offered in the learner's places")
    if programme.ends_on is not None and programme.ends_on < today:
        reasons.append("programme has ended")
    if programme.min_age is not None or programme.max_age is not None:
        if learner.birth_date is None:
            reasons.append("age unknown")
        else:
            age = age_on(learner.birth_date, age_reference_day(programme, today))
            if programme.min_age is not None and age < programme.min_age:
                reasons.append("too young")
            if programme.max_age is not None and age > programme.max_age:
                reasons.append("too old")
    if programme.prior_vqf_level is not None and (
        learner.highest_vqf_level is None or learner.highest_vqf_level < programme.prior_vqf_level
    ):
        reasons.append("prior level not reached")
    if learner.pathways and programme.pathway not in learner.pathways:
        reasons.append("pathway not of interest")
    if (
        learner.topics
        and programme.topics
        and not learner.topics.intersection(normalise(t) for t in programme.topics)
    ):
        reasons.append("topics not of interest")
    level = programme.vqf_level
    if learner.levels and level is not None and level not in learner.levels:
        reasons.append("level not of interest")
    if completion_key(programme.pathway, programme.title) in learner.completed:
        reasons.append("already completed")
    return reasons


def _from_profile(profile: Mapping[str, Any]) -> Subscriber:
    home = profile.get("commune_code")
    birth = profile.get("birth_date")
    return Subscriber(
        learner_id=str(profile.get("_id", "")),
        active=True,
        birth_date=date.fromisoformat(birth) if birth else None,
        home=home,
        places=frozenset([home] if home else []),
        language=Language(profile.get("language", "vi")),
        pathways=frozenset(),
        topics=frozenset(),
        levels=frozenset(),
        channels=("inbox",),
        requested=("inbox",),
        email=None,
        phone=None,
        webhook_url=None,
        webhook_secret=None,
        schedule=Schedule(ZoneInfo("Asia/Ho_Chi_Minh"), None, False, time(18, 0)),
        delivery="immediate",
        quiet=None,
        time_zone="Asia/Ho_Chi_Minh",
        highest_vqf_level=None,
        completed=frozenset(),
    )


def fits(programme: Programme, learner: Subscriber | Mapping[str, Any], today: date) -> bool:
    """Whether the programme is open to the learner (a :class:`Subscriber`, or a bare profile
    with ``commune_code`` and ``birth_date``)."""
    who = learner if isinstance(learner, Subscriber) else _from_profile(learner)
    return not reasons_against(programme, who, today)


def notification_id(learner_id: str, subject_id: str, channel: str) -> str:
    """One notification per learner, subject (programme, recognition, credential) and channel,
    whatever is redelivered."""
    return f"{learner_id}:{subject_id}:{channel}"
