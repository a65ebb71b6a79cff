"""``notifications.v1`` (keyed by learner id): what the notify service delivered, or could not."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData

TOPIC = "notifications.v1"
NOTIFICATION_DELIVERED = "vn.learningtrail.notifications.notification.delivered.v1"
NOTIFICATION_FAILED = "vn.learningtrail.notifications.notification.failed.v1"

Channel = Literal["inbox", "email", "webhook", "sms"]
About = Literal["programme", "recognition", "credential"]


class NotificationDelivered(EventData):
    """A notification reached its channel (accepted by the SMTP server, the partner's webhook,
    the SMS gateway, or put in the inbox).

    Emitted by the notify service once per notification.
    """

    notification_id: str = Field(description="learner:subject:channel — one per that triple.")
    learner_id: str
    channel: Channel
    about: About
    subject_id: str = Field(description="The programme, recognition or credential id.")
    attempts: int = Field(ge=1)
    delivered_at: AwareDatetime


class NotificationFailed(EventData):
    """A notification could not be delivered after its last allowed attempt (or the failure is
    permanent, such as a rejected address).

    Emitted by the notify service once per notification that gives up.
    """

    notification_id: str
    learner_id: str
    channel: Channel
    about: About
    subject_id: str
    attempts: int = Field(ge=1)
    error: str
    failed_at: AwareDatetime
