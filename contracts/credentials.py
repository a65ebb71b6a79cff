"""``credentials.v1`` (keyed by learner id): what the credential service decided and issued."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData
from contracts.vocabulary import Pathway, ShortText

TOPIC = "credentials.v1"
TRAIL_UPDATED = "vn.learningtrail.credentials.trail.updated.v1"
RECOGNITION_GRANTED = "vn.learningtrail.credentials.recognition.granted.v1"
RECOGNITION_REVOKED = "vn.learningtrail.credentials.recognition.revoked.v1"
CREDENTIAL_ISSUED = "vn.learningtrail.credentials.credential.issued.v1"
CREDENTIAL_REVOKED = "vn.learningtrail.credentials.credential.revoked.v1"
CREDENTIAL_VERIFIED = "vn.learningtrail.credentials.credential.verified.v1"


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


class RecognitionGranted(EventData):
    """Learning in one pathway was recognised toward another (liên thông).

    Emitted by the credential service when a recognition rule's conditions are met. Says which
    records, which rule and which rule version led to it, and what it means in words a learner
    understands. Consumed by notify, which tells the learner.
    """

    recognition_id: str = Field(description="Stable id: the same decision always has the same id.")
    learner_id: str
    rule_id: str
    rule_version: str
    record_ids: list[str] = Field(min_length=1, description="The records the decision rests on.")
    outcome_vi: ShortText = Field(description="What was recognised, in Vietnamese.")
    outcome_en: ShortText | None = None
    toward: ShortText | None = Field(
        default=None, description="The programme or level it counts toward."
    )
    credits: float | None = Field(default=None, ge=0, description="Credits recognised, if any.")
    granted_at: AwareDatetime


class RecognitionRevoked(EventData):
    """A recognition no longer holds because a record it rested on was corrected or revoked.

    Emitted by the credential service; consumed by notify.
    """

    recognition_id: str
    learner_id: str
    rule_id: str
    rule_version: str
    reason: ShortText
    revoked_at: AwareDatetime


class CredentialIssued(EventData):
    """A signed credential (CLR 2.0 with Open Badges 3.0 achievements) was issued to a learner.

    Emitted by the credential service; consumed by notify, which tells the learner.
    """

    credential_id: str = Field(description="The credential's id (a URL or urn:uuid).")
    learner_id: str
    record_ids: list[str] = Field(min_length=1)
    verify_url: str | None = Field(default=None, description="Where anyone can verify it.")
    issued_at: AwareDatetime


class CredentialRevoked(EventData):
    """A credential was revoked (its status list bit is set).

    Emitted by the credential service, e.g. when a record it contains is revoked.
    """

    credential_id: str
    learner_id: str
    reason: ShortText
    revoked_at: AwareDatetime


class CredentialVerified(EventData):
    """Someone checked a credential this service issued, for the first time that day.

    Emitted by the credential service when its verification — by id (the link behind the
    trail page's QR code), ``POST /v1/verify`` or the paste-in page — reaches a verdict on a
    credential it issued: at most once per credential per day (Vietnam time), whatever the
    verdict and however many checks follow, so the log grows with credentials checked, not
    with requests. It says nothing about who checked. Consumed by insights (the department's
    "credentials verified"); others may ignore it.
    """

    credential_id: str
    learner_id: str = Field(description="The holder (the Kafka key).")
    day: date = Field(description="The day (Asia/Ho_Chi_Minh) of the first check.")
    verdict: Literal["valid", "invalid", "indeterminate"] = Field(
        description="The verdict of that first check."
    )
    verified_at: AwareDatetime
