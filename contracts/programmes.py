"""``programmes.v1`` (compacted, keyed by programme id): learning opportunities on offer."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData
from contracts.vocabulary import Pathway, ShortText, Text, UnitCode

TOPIC = "programmes.v1"
PROGRAMME_ANNOUNCED = "vn.learningtrail.programmes.programme.announced.v1"


class ProgrammeAnnounced(EventData):
    """A training centre announced a programme learners may enrol in.

    Emitted by the learner service when a provider announces a programme; consumed by the
    notify service, which tells the learners it fits.
    """

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
    announced_at: AwareDatetime
