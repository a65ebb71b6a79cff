"""The event envelope, aligned with CloudEvents 1.0, and its Kafka binding.

On Kafka the envelope's attributes travel as ``ce_*`` headers (CloudEvents Kafka protocol
binding, binary content mode), the ``data`` as a UTF-8 JSON value, and the key is the event's
``subject`` (the learner id, or the programme id on ``programmes.v1``).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Generic, TypeVar

import uuid_utils
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from contracts.text import STORED

SPEC_VERSION = "1.0"
JSON_CONTENT_TYPE = "application/json"
TYPE_PREFIX = "vn.learningtrail."

DataT = TypeVar("DataT", bound=BaseModel)


class ContractError(ValueError):
    """A message does not satisfy the contract; ``reason`` says why, for a dead-letter header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_event_id() -> str:
    """Return a fresh UUIDv7 (time-ordered) as text, used for event and record ids."""
    return str(uuid_utils.uuid7())


def derived_event_id(name: str, at: datetime) -> str:
    """A UUIDv7 made from a name and a time instead of randomness: the same fact (``name``,
    e.g. "<notification id>:sent") announced again gets the same id, so consumers that drop
    repeated ids see it once. The time part is ``at`` to the millisecond."""
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    tail = int.from_bytes(hashlib.sha256(name.encode()).digest()[:10], "big")
    rand_a = tail >> 68  # 12 bits
    rand_b = tail & ((1 << 62) - 1)  # 62 bits
    value = (millis << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def event_ids_before(at: datetime) -> str:
    """The text that every event id made before ``at`` (to the millisecond) sorts below and
    every later one sorts above: a UUIDv7's text begins with its time in hexadecimal."""
    hex_millis = f"{int(at.timestamp() * 1000) & ((1 << 48) - 1):012x}"
    return f"{hex_millis[:8]}-{hex_millis[8:]}"


def utc_now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class EventData(BaseModel):
    """Base of every event payload: immutable; readers ignore fields a later minor adds."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(BaseModel, Generic[DataT]):
    """One event: CloudEvents attributes plus the typed ``data``.

    ``type`` is ``vn.learningtrail.<family>.<noun>.<verb>.v<major>``; ``subject`` is the
    learner id (programme id for programme events) and doubles as the Kafka key, so that one
    learner's events keep their order.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_event_id, description="UUIDv7 of this event.")
    type: str = Field(
        description="Event type, e.g. vn.learningtrail.records.learning_record.recorded.v1"
    )
    source: str = Field(description="The service that emitted the event, e.g. /learner.")
    subject: str = Field(description="Learner id, or programme id for programme events.")
    time: AwareDatetime = Field(default_factory=utc_now, description="When it happened (UTC).")
    specversion: str = SPEC_VERSION
    datacontenttype: str = JSON_CONTENT_TYPE
    traceparent: str | None = Field(
        default=None, description="W3C trace context of the operation that emitted the event."
    )
    data: DataT


KafkaHeaders = list[tuple[str, bytes]]


def to_kafka(envelope: Envelope[DataT]) -> tuple[bytes, bytes, dict[str, str]]:
    """Encode an envelope as (key, value, headers) for the Kafka binary content mode."""
    headers = {
        "ce_id": envelope.id,
        "ce_type": envelope.type,
        "ce_source": envelope.source,
        "ce_subject": envelope.subject,
        "ce_time": envelope.time.astimezone(UTC).isoformat(),
        "ce_specversion": envelope.specversion,
        "content-type": envelope.datacontenttype,
    }
    if envelope.traceparent:
        headers["ce_traceparent"] = envelope.traceparent
    value = envelope.data.model_dump_json(exclude_none=True).encode()
    return envelope.subject.encode(), value, headers


def read_headers(raw: KafkaHeaders) -> dict[str, str]:
    """Decode Kafka headers to text; a header that is not UTF-8 is a contract error."""
    headers: dict[str, str] = {}
    for name, value in raw:
        try:
            headers[name] = value.decode("utf-8") if value is not None else ""
        except UnicodeDecodeError as exc:
            raise ContractError(f"header {name!r} is not UTF-8") from exc
    return headers


def from_kafka(
    raw_headers: KafkaHeaders, value: bytes | None, data_types: dict[str, type[BaseModel]]
) -> Envelope[BaseModel]:
    """Decode a Kafka record into an envelope whose data is validated against its type.

    ``data_types`` maps the event types the caller understands to their data models. Raises
    :class:`ContractError` with a reason fit for a dead-letter header when the record is not a
    valid event of one of those types.
    """
    headers = read_headers(raw_headers)
    missing = [
        h for h in ("ce_id", "ce_type", "ce_source", "ce_subject", "ce_time") if h not in headers
    ]
    if missing:
        raise ContractError(f"missing CloudEvents headers: {', '.join(missing)}")
    event_type = headers["ce_type"]
    model = data_types.get(event_type)
    if model is None:
        raise ContractError(f"unknown event type {event_type!r} on this topic")
    if headers.get("ce_specversion", SPEC_VERSION) != SPEC_VERSION:
        raise ContractError(f"unsupported specversion {headers['ce_specversion']!r}")
    if value is None:
        raise ContractError("empty value (tombstone) where an event was expected")
    try:
        # the producer validated what a person wrote; a rule added since must not drop it
        data = model.model_validate_json(value, context=STORED)
    except ValidationError as exc:
        raise ContractError(f"invalid {event_type} data: {_first_errors(exc)}") from exc
    try:
        return Envelope[BaseModel](
            id=headers["ce_id"],
            type=event_type,
            source=headers["ce_source"],
            subject=headers["ce_subject"],
            time=datetime.fromisoformat(headers["ce_time"]),
            specversion=headers.get("ce_specversion", SPEC_VERSION),
            datacontenttype=headers.get("content-type", JSON_CONTENT_TYPE),
            traceparent=headers.get("ce_traceparent"),
            data=data,
        )
    except (ValidationError, ValueError) as exc:
        raise ContractError(f"invalid envelope: {exc}") from exc


def _first_errors(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
