"""``programmes.v1`` (compacted, keyed by programme id): learning opportunities on offer.

Compacted: every event carries the programme's whole current description (or its withdrawal).
"""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData
from contracts.vocabulary import Pathway, ShortText, Text, UnitCode

TOPIC = "programmes.v1"
PROGRAMME_ANNOUNCED = "vn.learningtrail.programmes.programme.announced.v1"
PROGRAMME_UPDATED = "vn.learningtrail.programmes.programme.updated.v1"
PROGRAMME_WITHDRAWN = "vn.learningtrail.programmes.programme.withdrawn.v1"


class Programme(EventData):
    """A programme's whole description, as announcements and updates carry it."""

    programme_id: str
    provider_id: str
    title: ShortText
    description: Text | None = None
    pathway: Pathway
    vqf_level: int | None = Field(default=None, ge=1, le=8)
    place_codes: list[UnitCode] = Field(
        min_length=1, description="Administrative units (communes) where it is offered."
    )
    starts_on: date | None = None
    ends_on: date | None = None
    min_age: int | None = Field(default=None, ge=0, le=120)
    max_age: int | None = Field(default=None, ge=0, le=120)
    topics: list[ShortText] = Field(default_factory=list)
    how_to_enrol: ShortText
    capacity: int | None = Field(default=None, ge=1)
    fee_vnd: int | None = Field(default=None, ge=0, description="Fee in đồng; 0 when free.")
    prior_vqf_level: int | None = Field(
        default=None, ge=1, le=8, description="Qualification level a learner must already hold."
    )
    announced_at: AwareDatetime


class ProgrammeAnnounced(Programme):
    """A training centre announced a programme learners may enrol in.

    Emitted by the learner service when a provider announces a programme; consumed by the
    notify service, which tells the learners it fits.
    """


class ProgrammeUpdated(Programme):
    """A training centre changed an announced programme; the whole new description.

    Emitted by the learner service; notify re-matches learners against it.
    """

    updated_at: AwareDatetime


class ProgrammeWithdrawn(EventData):
    """A training centre withdrew a programme; pending messages about it are cancelled.

    Emitted by the learner service; consumed by notify.
    """

    programme_id: str
    provider_id: str
    reason: ShortText
    withdrawn_at: AwareDatetime
