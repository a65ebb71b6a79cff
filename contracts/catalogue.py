"""The catalogue: every event type, its topic and its data model, in one place."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from contracts import (
    accounts,
    credentials,
    insights,
    learners,
    notifications,
    prior_learning,
    programmes,
    records,
    xapi,
)


@dataclass(frozen=True)
class TopicSpec:
    """A Kafka topic the system owns; ``compacted`` topics keep the latest event per key."""

    name: str
    key: str
    compacted: bool = False


@dataclass(frozen=True)
class EventType:
    """One event type: its CloudEvents ``type`` (``name``), its topic and its data model."""

    name: str
    topic: str
    data: type[BaseModel]


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(learners.TOPIC, key="learner_id", compacted=True),
    TopicSpec(records.TOPIC, key="learner_id"),
    TopicSpec(programmes.TOPIC, key="programme_id", compacted=True),
    TopicSpec(credentials.TOPIC, key="learner_id"),
    TopicSpec(notifications.TOPIC, key="learner_id"),
    TopicSpec(accounts.TOPIC, key="account_id"),
    TopicSpec(insights.TOPIC, key="report_id"),  # a subscription's events: subscription_id
    TopicSpec(prior_learning.TOPIC, key="learner_id"),
    TopicSpec(xapi.TOPIC, key="provider_id"),
)

EVENT_TYPES: tuple[EventType, ...] = (
    EventType(learners.LEARNER_REGISTERED, learners.TOPIC, learners.LearnerRegistered),
    EventType(learners.LEARNER_UPDATED, learners.TOPIC, learners.LearnerUpdated),
    EventType(learners.LEARNER_MERGED, learners.TOPIC, learners.LearnerMerged),
    EventType(records.LEARNING_RECORD_RECORDED, records.TOPIC, records.LearningRecordRecorded),
    EventType(records.LEARNING_RECORD_CORRECTED, records.TOPIC, records.LearningRecordCorrected),
    EventType(records.LEARNING_RECORD_REVOKED, records.TOPIC, records.LearningRecordRevoked),
    EventType(programmes.PROGRAMME_ANNOUNCED, programmes.TOPIC, programmes.ProgrammeAnnounced),
    EventType(programmes.PROGRAMME_UPDATED, programmes.TOPIC, programmes.ProgrammeUpdated),
    EventType(programmes.PROGRAMME_WITHDRAWN, programmes.TOPIC, programmes.ProgrammeWithdrawn),
    EventType(credentials.TRAIL_UPDATED, credentials.TOPIC, credentials.TrailUpdated),
    EventType(credentials.RECOGNITION_GRANTED, credentials.TOPIC, credentials.RecognitionGranted),
    EventType(credentials.RECOGNITION_REVOKED, credentials.TOPIC, credentials.RecognitionRevoked),
    EventType(credentials.CREDENTIAL_ISSUED, credentials.TOPIC, credentials.CredentialIssued),
    EventType(credentials.CREDENTIAL_REVOKED, credentials.TOPIC, credentials.CredentialRevoked),
    EventType(credentials.CREDENTIAL_VERIFIED, credentials.TOPIC, credentials.CredentialVerified),
    EventType(
        notifications.NOTIFICATION_DELIVERED,
        notifications.TOPIC,
        notifications.NotificationDelivered,
    ),
    EventType(
        notifications.NOTIFICATION_FAILED, notifications.TOPIC, notifications.NotificationFailed
    ),
    EventType(accounts.IDENTITY_BOUND, accounts.TOPIC, accounts.IdentityBound),
    EventType(accounts.IDENTITY_UNBOUND, accounts.TOPIC, accounts.IdentityUnbound),
    EventType(insights.REPORT_PUBLISHED, insights.TOPIC, insights.ReportPublished),
    EventType(insights.SUBSCRIPTION_CHANGED, insights.TOPIC, insights.ReportSubscriptionChanged),
    EventType(
        prior_learning.PRIOR_LEARNING_IMPORTED,
        prior_learning.TOPIC,
        prior_learning.PriorLearningImported,
    ),
    EventType(accounts.SESSIONS_SIGNED_OUT, accounts.TOPIC, accounts.SessionsSignedOut),
    EventType(xapi.STATEMENT_STORED, xapi.TOPIC, xapi.StatementStored),
)


def data_types_on(topic: str) -> dict[str, type[BaseModel]]:
    """Map each event type carried on ``topic`` to its data model (what a consumer accepts)."""
    return {e.name: e.data for e in EVENT_TYPES if e.topic == topic}


def dead_letter_topic(group: str) -> str:
    """The dead-letter topic of a consumer group."""
    return f"{group}.dlq"
