"""Which learners a programme fits, and what to tell them — without I/O."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.programmes import ProgrammeAnnounced


def age_on(birth_date: date, day: date) -> int:
    """Completed years of age on ``day``."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def fits(programme: ProgrammeAnnounced, learner: dict[str, Any], today: date) -> bool:
    """Whether the programme is open to the learner: offered where they live, for their age,
    and not already over."""
    if learner.get("commune_code") not in programme.place_codes:
        return False
    if programme.ends_on is not None and programme.ends_on < today:
        return False
    birth = learner.get("birth_date")
    if birth and (programme.min_age is not None or programme.max_age is not None):
        age = age_on(date.fromisoformat(birth), programme.starts_on or today)
        if programme.min_age is not None and age < programme.min_age:
            return False
        if programme.max_age is not None and age > programme.max_age:
            return False
    return True


def inbox_message(programme: ProgrammeAnnounced, language: str) -> tuple[str, str]:
    """Title and body of the in-app message about a programme, in the learner's language."""
    if language == "en":
        title = f"New programme near you: {programme.title}"
        when = f" Starts {programme.starts_on.isoformat()}." if programme.starts_on else ""
        body = f"{programme.title}.{when} How to enrol: {programme.how_to_enrol}"
    else:
        title = f"Chương trình học mới gần bạn: {programme.title}"
        when = (
            f" Khai giảng ngày {programme.starts_on.strftime('%d/%m/%Y')}."
            if programme.starts_on
            else ""
        )
        body = f"{programme.title}.{when} Cách đăng ký: {programme.how_to_enrol}"
    return title, body


def notification_id(learner_id: str, programme_id: str, channel: str) -> str:
    """One notification per learner, programme and channel, whatever is redelivered."""
    return f"{learner_id}:{programme_id}:{channel}"
