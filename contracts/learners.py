"""``learners.v1`` (compacted, keyed by learner id): who the learners are.

No national ID number ever appears here: the learner service keeps only a keyed hash of it
and identifies learners everywhere else by ``learner_id``.
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, EmailStr, Field

from contracts.envelope import EventData
from contracts.vocabulary import Language, Pathway, ShortText, UnitCode

TOPIC = "learners.v1"
LEARNER_REGISTERED = "vn.learningtrail.learners.learner.registered.v1"


class LearnerRegistered(EventData):
    """A learner became known to the system.

    Emitted by the learner service the first time a training centre records learning for a
    national ID it has not seen (or when a learner registers). Consumers: credential (the
    trail's holder name) and notify (where and how to reach the learner).
    """

    learner_id: str = Field(description="Stable learner id (UUIDv7).")
    full_name: ShortText = Field(description="Full name as given, NFC, diacritics kept.")
    birth_date: date
    commune_code: UnitCode | None = Field(
        default=None, description="Administrative unit (commune) where the learner lives."
    )
    email: EmailStr | None = None
    preferred_language: Language = Language.VI
    interests: list[Pathway] = Field(default_factory=list)
    registered_at: AwareDatetime
