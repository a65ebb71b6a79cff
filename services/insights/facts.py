"""What the figures need from each event, as one small document per fact — no I/O.

Every fact is keyed so that storing it twice changes nothing (the event id, or the id of the
thing that can happen to an entity only once), and nothing is ever updated in place: a
correction is a newer version of a record, a revocation a fact of its own, a merge a fact of
its own. Which version counts is decided when the figures are computed
(:mod:`services.insights.figures`), so events arriving late or out of order — a correction,
a revocation, a merge read after the records it moves — give the same figures as events in
order, and a replay of the log gives the same documents as the live consumer.

No name, national ID, contact or free text is kept: only ids, dates, codes and numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from contracts.credentials import (
    CredentialIssued,
    CredentialRevoked,
    CredentialVerified,
    RecognitionGranted,
    RecognitionRevoked,
)
from contracts.envelope import Envelope
from contracts.learners import LearnerMerged, LearnerProfile, LearnerRegistered, LearnerUpdated
from contracts.notifications import NotificationDelivered
from contracts.programmes import Programme, ProgrammeUpdated, ProgrammeWithdrawn
from contracts.records import (
    LearningRecordContent,
    LearningRecordCorrected,
    LearningRecordRecorded,
    LearningRecordRevoked,
)

Fact = dict[str, Any]

# each kind of fact, and what it is (the store packs a batch's facts of every kind together)
LEARNER_VERSIONS = "learner_versions"  # a learner's profile as of an event (birth date, commune)
MERGES = "merges"  # a learner id that ceased to exist → the one it lives on as
RECORD_VERSIONS = "record_versions"  # a record's content as recorded, then as each correction
RECORD_REVOCATIONS = "record_revocations"  # a record withdrawn (final)
RECOGNITION_VERSIONS = "recognition_versions"  # a recognition granted or revoked, as of when
CREDENTIAL_VERSIONS = "credential_versions"  # a credential issued or revoked
PROGRAMME_VERSIONS = "programme_versions"  # a programme announced, updated or withdrawn
DELIVERIES = "deliveries"  # a notification delivered to a learner (one per notification)
VERIFICATIONS = "verifications"  # a credential checked by someone, once per credential and day
PROJECTED = (
    LEARNER_VERSIONS,
    MERGES,
    RECORD_VERSIONS,
    RECORD_REVOCATIONS,
    RECOGNITION_VERSIONS,
    CREDENTIAL_VERSIONS,
    PROGRAMME_VERSIONS,
    DELIVERIES,
    VERIFICATIONS,
)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _content(data: LearningRecordContent) -> Fact:
    return {
        "pathway": data.pathway.value,
        "kind": data.kind.value,
        "vqf_level": data.vqf_level,
        "general_education_level": (
            data.general_education_level.value if data.general_education_level else None
        ),
        "credits": data.credits,
        "hours": data.hours,
        "status": data.result.status.value,
        "completed_on": data.completed_on.isoformat(),
    }


def facts_of(event: Envelope[BaseModel]) -> list[tuple[str, Fact]]:
    """The facts one event adds, as (collection, document) pairs; none for an event the
    figures do not use."""
    data = event.data
    at: str
    if isinstance(data, LearnerProfile):
        at = (
            (
                data.registered_at
                if isinstance(data, LearnerRegistered)
                else data.updated_at
                if isinstance(data, LearnerUpdated)
                else event.time
            )
            .astimezone(UTC)
            .isoformat()
        )
        return [
            (
                LEARNER_VERSIONS,
                {
                    "_id": event.id,
                    "learner_id": data.learner_id,
                    "at": at,
                    "birth_date": data.birth_date.isoformat(),
                    # only where known: facts stored before learners carried a sex stay equal
                    # to their replay
                    **({"sex": data.sex.value} if data.sex else {}),
                    "commune_code": data.commune_code,
                },
            )
        ]
    if isinstance(data, LearnerMerged):
        return [(MERGES, {"_id": data.learner_id, "into": data.merged_into})]
    if isinstance(data, LearningRecordRecorded | LearningRecordCorrected):
        corrected = isinstance(data, LearningRecordCorrected)
        at = _utc(
            data.corrected_at if isinstance(data, LearningRecordCorrected) else data.recorded_at
        )
        return [
            (
                RECORD_VERSIONS,
                {
                    "_id": event.id,
                    "record_id": data.record_id,
                    "learner_id": data.learner_id,
                    "provider_id": data.provider_id,
                    "provider_name": (
                        data.provider_name if isinstance(data, LearningRecordRecorded) else None
                    ),
                    "version": 1 if corrected else 0,
                    "at": at,
                    **_content(data),
                },
            )
        ]
    if isinstance(data, LearningRecordRevoked):
        return [(RECORD_REVOCATIONS, {"_id": data.record_id, "at": _utc(data.revoked_at)})]
    if isinstance(data, RecognitionGranted):
        return [
            (
                RECOGNITION_VERSIONS,
                {
                    "_id": event.id,
                    "recognition_id": data.recognition_id,
                    "learner_id": data.learner_id,
                    "rule_id": data.rule_id,
                    "record_ids": sorted(data.record_ids),
                    "credits": data.credits,
                    "state": "granted",
                    "at": _utc(data.granted_at),
                },
            )
        ]
    if isinstance(data, RecognitionRevoked):
        return [
            (
                RECOGNITION_VERSIONS,
                {
                    "_id": event.id,
                    "recognition_id": data.recognition_id,
                    "learner_id": data.learner_id,
                    "rule_id": data.rule_id,
                    "record_ids": [],
                    "credits": None,
                    "state": "revoked",
                    "at": _utc(data.revoked_at),
                },
            )
        ]
    if isinstance(data, CredentialIssued | CredentialRevoked):
        issued = isinstance(data, CredentialIssued)
        return [
            (
                CREDENTIAL_VERSIONS,
                {
                    "_id": event.id,
                    "credential_id": data.credential_id,
                    "learner_id": data.learner_id,
                    "state": "issued" if issued else "revoked",
                    "at": (
                        data.issued_at if isinstance(data, CredentialIssued) else data.revoked_at
                    )
                    .astimezone(UTC)
                    .isoformat(),
                },
            )
        ]
    if isinstance(data, CredentialVerified):
        return [
            (
                VERIFICATIONS,
                {
                    "_id": f"{data.credential_id}|{data.day.isoformat()}",
                    "credential_id": data.credential_id,
                    "learner_id": data.learner_id,
                    "day": data.day.isoformat(),
                },
            )
        ]
    if isinstance(data, Programme):
        updated = isinstance(data, ProgrammeUpdated)
        return [
            (
                PROGRAMME_VERSIONS,
                {
                    "_id": event.id,
                    "programme_id": data.programme_id,
                    "provider_id": data.provider_id,
                    "pathway": data.pathway.value,
                    "place_codes": list(data.place_codes),
                    "announced_at": _utc(data.announced_at),
                    "state": "announced",
                    "at": (
                        data.updated_at if isinstance(data, ProgrammeUpdated) else data.announced_at
                    )
                    .astimezone(UTC)
                    .isoformat(),
                    "version": 1 if updated else 0,
                },
            )
        ]
    if isinstance(data, ProgrammeWithdrawn):
        return [
            (
                PROGRAMME_VERSIONS,
                {
                    "_id": event.id,
                    "programme_id": data.programme_id,
                    "provider_id": data.provider_id,
                    "pathway": None,
                    "place_codes": [],
                    "announced_at": None,
                    "state": "withdrawn",
                    "at": _utc(data.withdrawn_at),
                    "version": 2,
                },
            )
        ]
    if isinstance(data, NotificationDelivered):
        return [
            (
                DELIVERIES,
                {
                    "_id": data.notification_id,
                    "learner_id": data.learner_id,
                    "about": data.about,
                    "subject_id": data.subject_id,
                    "at": _utc(data.delivered_at),
                },
            )
        ]
    return []


def grouped(events: list[Envelope[BaseModel]]) -> dict[str, list[Fact]]:
    """The facts of a batch of events, by collection (the first of one id stands)."""
    found: dict[str, dict[str, Fact]] = {}
    for event in events:
        for collection, fact in facts_of(event):
            found.setdefault(collection, {}).setdefault(fact["_id"], fact)
    return {name: list(facts.values()) for name, facts in found.items()}


def latest(versions: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The version that counts: the newest by time, then by version number (a correction made
    in the same instant as its record follows it), then by event id (UUIDv7, in order)."""
    return max(versions, key=lambda v: (v["at"], v.get("version", 0), v["_id"]))
