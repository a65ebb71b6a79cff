"""The envelope and its Kafka binding."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.catalogue import EVENT_TYPES, TOPICS, data_types_on
from contracts.envelope import (
    ContractError,
    Envelope,
    derived_event_id,
    event_ids_before,
    from_kafka,
    new_event_id,
    to_kafka,
)
from contracts.learners import LEARNER_REGISTERED, LearnerRegistered
from contracts.records import TOPIC as RECORDS


def _registered() -> Envelope[LearnerRegistered]:
    return Envelope[LearnerRegistered](
        type=LEARNER_REGISTERED,
        source="/learner",
        subject="L1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        data=LearnerRegistered(
            learner_id="L1",
            full_name="Nguyễn Thị Hương",
            birth_date=date(1990, 5, 14),
            registered_at=datetime(2026, 1, 2, tzinfo=UTC),
        ),
    )


def _headers(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items()]


def test_round_trip_keeps_every_attribute() -> None:
    sent = _registered()
    key, value, headers = to_kafka(sent)
    assert key == b"L1"
    assert headers["ce_type"] == LEARNER_REGISTERED
    assert headers["ce_traceparent"] == sent.traceparent
    received = from_kafka(_headers(headers), value, data_types_on("learners.v1"))
    assert received == sent


def test_event_ids_are_time_ordered_uuid7() -> None:
    first, second = _registered(), _registered()
    assert first.id[14] == "7"
    assert first.id < second.id


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h, v: (h[:-1], v), "missing CloudEvents headers"),
        (lambda h, v: ([*h[:1], ("ce_type", b"x.y"), *h[2:]], v), "unknown event type"),
        (lambda h, v: (h, b"{not json"), "invalid vn.learningtrail.learners"),
        (lambda h, v: (h, b'{"learner_id": "L1"}'), "full_name: Field required"),
        (lambda h, v: (h, None), "tombstone"),
        (lambda h, v: ([("ce_id", b"\xff\xfe"), *h[1:]], v), "not UTF-8"),
    ],
)
def test_undecodable_records_say_why(mutate, reason) -> None:  # type: ignore[no-untyped-def]
    _, value, headers = to_kafka(_registered())
    ordered = [
        (k, headers[k].encode())
        for k in ("ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "ce_subject")
    ]
    bad_headers, bad_value = mutate(ordered, value)
    with pytest.raises(ContractError, match=reason):
        from_kafka(bad_headers, bad_value, data_types_on("learners.v1"))


def test_a_record_event_is_not_accepted_on_the_learner_topic() -> None:
    _, value, headers = to_kafka(_registered())
    with pytest.raises(ContractError, match="unknown event type"):
        from_kafka(_headers(headers), value, data_types_on(RECORDS))


def test_readers_ignore_fields_a_later_minor_version_adds() -> None:
    _, value, headers = to_kafka(_registered())
    newer = value[:-1] + ', "nickname": "Hương"}'.encode()
    received = from_kafka(_headers(headers), newer, data_types_on("learners.v1"))
    assert received.data == _registered().data


def test_catalogue_names_follow_the_convention_and_topics_exist() -> None:
    topics = {t.name for t in TOPICS}
    for event in EVENT_TYPES:
        parts = event.name.split(".")
        assert parts[:2] == ["vn", "learningtrail"] and len(parts) == 6
        assert parts[-1] == "v1" and event.topic in topics
        assert event.data.__doc__, f"{event.name} must say when it is emitted"


def test_text_is_nfc_with_diacritics_kept() -> None:
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Hu\u031bo\u031bng"
    data = LearnerRegistered(
        learner_id="L1",
        full_name=decomposed,
        birth_date=date(1990, 1, 1),
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert data.full_name == "Nguyễn Thị Hương"


def test_a_derived_event_id_is_the_same_for_the_same_fact_and_a_valid_uuid7() -> None:
    at = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)
    first = derived_event_id("n-1:sent", at)
    assert first == derived_event_id("n-1:sent", at.replace(microsecond=123999))  # ms only
    assert first != derived_event_id("n-1:failed", at) != derived_event_id("n-2:sent", at)
    parsed = uuid.UUID(first)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == int(at.timestamp() * 1000)  # ordered by time like new ids


def test_event_ids_made_before_a_time_sort_below_its_bound_and_later_ones_above() -> None:
    now = datetime.now(UTC)
    bound = event_ids_before(now)
    made_now = new_event_id()
    earlier = [derived_event_id(f"n-{i}:sent", now - timedelta(milliseconds=i)) for i in (1, 900)]
    later = [derived_event_id("n-1:sent", now + timedelta(milliseconds=1)), made_now]
    assert all(e < bound for e in earlier)
    assert all(e > bound for e in later)
    assert derived_event_id("n-3:sent", now) > bound  # the same millisecond is not before it
