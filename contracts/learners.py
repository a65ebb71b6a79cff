"""``learners.v1`` (compacted, keyed by learner id): who the learners are.

The topic is compacted, so only the latest event per learner survives: every event carries the
learner's whole current profile (or, for a merge, where the learner went), never a delta.
No national ID number ever appears here: the learner service keeps only a keyed hash of it and
identifies learners everywhere else by ``learner_id``.
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, EmailStr, Field

from contracts.envelope import EventData
from contracts.vocabulary import Language, Pathway, Sex, ShortText, UnitCode

TOPIC = "learners.v1"
LEARNER_REGISTERED = "vn.learningtrail.learners.learner.registered.v1"
LEARNER_UPDATED = "vn.learningtrail.learners.learner.updated.v1"
LEARNER_MERGED = "vn.learningtrail.learners.learner.merged.v1"


class LearnerProfile(EventData):
    """A learner's current profile, as every learner event carries it."""

    learner_id: str = Field(description="Stable learner id (UUIDv7).")
    full_name: ShortText = Field(description="Full name as given, NFC, diacritics kept.")
    birth_date: date
    sex: Sex | None = Field(
        default=None,
        description="As a training centre recorded it when the learner first became known "
        "(optional since 1.x: absent means not known).",
    )
    commune_code: UnitCode | None = Field(
        default=None, description="Administrative unit (commune) where the learner lives."
    )
    email: EmailStr | None = None
    phone: str | None = Field(default=None, description="E.164 phone number, e.g. +84912345678.")
    preferred_language: Language = Language.VI
    interests: list[Pathway] = Field(default_factory=list)
    topics: list[ShortText] = Field(default_factory=list, description="Topics of interest.")


class LearnerRegistered(LearnerProfile):
    """A learner became known to the system.

    Emitted by the learner service the first time a training centre records learning for a
    national ID it has not seen, or when a learner registers. Consumers: credential (the
    trail's holder name) and notify (where and how to reach the learner).
    """

    registered_at: AwareDatetime


class LearnerUpdated(LearnerProfile):
    """A learner's profile changed (the learner corrected it, or the department did).

    Emitted by the learner service with the whole profile after the change. Consumers replace
    what they kept about the learner.
    """

    updated_at: AwareDatetime


class LearnerMerged(EventData):
    """Two learner records were found to be one person; ``learner_id`` lives on as
    ``merged_into``.

    Emitted by the learner service when the department merges learners. Consumers move
    everything they keep under ``learner_id`` to ``merged_into``; later events never use
    ``learner_id`` again.
    """

    learner_id: str = Field(description="The learner id that ceases to exist.")
    merged_into: str = Field(description="The learner id that remains.")
    reason: ShortText
    merged_at: AwareDatetime
