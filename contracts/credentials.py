"""``credentials.v1`` (keyed by learner id): what changed in a learner's trail."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData
from contracts.vocabulary import Pathway

TOPIC = "credentials.v1"
TRAIL_UPDATED = "vn.learningtrail.credentials.trail.updated.v1"


class TrailUpdated(EventData):
    """A learner's trail gained entries.

    Emitted by the credential service after it has stored one or more new records in the
    learner's trail (once per learner per consumed batch). Redelivery can repeat it with the
    same figures; consumers treat it as the latest state, not as a delta.
    """

    learner_id: str
    record_ids: list[str] = Field(min_length=1, description="Records added in this update.")
    entry_count: int = Field(ge=0, description="Entries in the trail after the update.")
    total_credits: float = Field(ge=0)
    total_hours: float = Field(ge=0)
    pathways: list[Pathway] = Field(description="Pathways the trail now spans.")
    updated_at: AwareDatetime
