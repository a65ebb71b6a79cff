"""A learner's notification preferences and what they add up to — without I/O.

Preferences are built from two sources: the profile on ``learners.v1`` (contact details,
language, interests, home commune) gives the defaults, and what the learner sets through the
API overrides them field by field. A one-click unsubscribe removes a channel until the learner
turns it on again with a ``PUT``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from contracts.notifications import Channel
from contracts.vocabulary import ClockTime, Language, Pathway, ShortText, UnitCode
from services.common.outbound import IPAddress, url_refusal
from services.notify.scheduling import QuietHours, Schedule
from services.notify.settings import DeliverySettings

CHANNELS: tuple[Channel, ...] = ("inbox", "email", "webhook", "sms")
Delivery = Literal["immediate", "digest"]


def normalise(text: str) -> str:
    """Text compared as a reader would: NFC, case-folded, inner blanks collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


class QuietWindow(BaseModel):
    """Local wall-clock window with no pushed messages, e.g. 21:00–07:00 (may wrap midnight)."""

    model_config = ConfigDict(extra="forbid")

    start: ClockTime = Field(examples=["21:00"])
    end: ClockTime = Field(examples=["07:00"])


class Interests(BaseModel):
    """What the learner wants to hear about; an empty list means "anything"."""

    model_config = ConfigDict(extra="forbid")

    pathways: list[Pathway] = Field(default_factory=list, max_length=8)
    topics: list[ShortText] = Field(default_factory=list, max_length=30)
    levels: list[int] = Field(
        default_factory=list, max_length=8, description="VQF levels (1–8) of interest."
    )

    @field_validator("levels")
    @classmethod
    def _vqf(cls, value: list[int]) -> list[int]:
        if any(not 1 <= level <= 8 for level in value):
            raise ValueError("VQF levels are 1 to 8")
        return sorted(set(value))


class Webhook(BaseModel):
    """A partner app that receives this learner's messages, signed with ``secret``."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(examples=["https://app.partner.vn/hooks/learning-trail"])
    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="Shared with the partner to verify X-LT-Signature; generated if omitted.",
    )


class PreferencesInput(BaseModel):
    """What a learner sets; every field left out takes its default (from the profile)."""

    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] | None = Field(
        default=None, description="inbox, email, webhook, sms; default: inbox and email."
    )
    language: Language | None = None
    interests: Interests | None = None
    places: list[UnitCode] | None = Field(
        default=None,
        max_length=50,
        description="Administrative units to hear about besides the home commune.",
    )
    quiet_hours: QuietWindow | None = Field(
        default=None, description="Default 21:00–07:00; start = end means none."
    )
    time_zone: str | None = Field(
        default=None, max_length=64, examples=["Asia/Ho_Chi_Minh"], description="An IANA zone."
    )
    delivery: Delivery | None = Field(
        default=None, description="immediate, or one digest a day of new programmes."
    )
    digest_time: ClockTime | None = Field(default=None, examples=["18:00"])
    webhook: Webhook | None = None

    @field_validator("channels")
    @classmethod
    def _unique(cls, value: list[Channel] | None) -> list[Channel] | None:
        return None if value is None else [c for c in CHANNELS if c in value]

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value


# What a zoneinfo directory holds besides zones: the host's own setting and rule files.
_NOT_ZONES = ("localtime", "posixrules", "Factory")


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(
        name
        for name in available_timezones()
        if name not in _NOT_ZONES and not name.startswith(("posix/", "right/"))
    )


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (one of ``zoneinfo.available_timezones()``, so no file
    paths, no ``localtime``), or ``ValueError``."""
    if name not in _zone_names():
        raise ValueError("not an IANA time zone, e.g. Asia/Ho_Chi_Minh")
    return ZoneInfo(name)


_STORED_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:00)?$")


def clock_time(value: object) -> time:
    """A stored local time read back: ``HH:MM`` (``HH:MM:00`` as stored before), naive;
    anything else (an offset, say) is ``ValueError``."""
    if not isinstance(value, str) or not _STORED_CLOCK.fullmatch(value):
        raise ValueError("a stored local time is HH:MM")
    return time.fromisoformat(value)


@dataclass(frozen=True)
class Subscriber:
    """Everything matching and delivery need to know about one learner, defaults applied."""

    learner_id: str
    active: bool
    birth_date: date | None
    home: str | None
    places: frozenset[str]
    language: Language
    pathways: frozenset[Pathway]
    topics: frozenset[str]
    levels: frozenset[int]
    channels: tuple[Channel, ...]
    requested: tuple[Channel, ...]
    email: str | None
    phone: str | None
    webhook_url: str | None
    webhook_secret: str | None
    schedule: Schedule
    delivery: Delivery
    quiet: QuietWindow | None
    time_zone: str
    highest_vqf_level: int | None
    completed: frozenset[str]


def _quiet(stored: Mapping[str, Any], settings: DeliverySettings) -> QuietWindow | None:
    if "quiet_hours" in stored:
        raw = stored["quiet_hours"]
        if raw is None:
            return None
        return QuietWindow.model_construct(
            start=clock_time(raw["start"]), end=clock_time(raw["end"])
        )
    if settings.default_quiet_start is None or settings.default_quiet_end is None:
        return None
    return QuietWindow(start=settings.default_quiet_start, end=settings.default_quiet_end)


def subscriber(doc: Mapping[str, Any], settings: DeliverySettings, sms: bool) -> Subscriber:
    """The effective preferences of the learner whose subscription document is ``doc``.

    ``doc`` holds ``profile`` (from ``learners.v1``), ``preferences`` (what the learner set,
    only the fields they gave), ``unsubscribed`` (channels stopped by a link) and ``trail``
    (highest level, completed learning). A channel is used only if the learner wants it and
    it can reach them: an address for email, a URL for webhooks, a phone and a gateway for SMS.
    """
    profile: Mapping[str, Any] = doc.get("profile") or {}
    stored: Mapping[str, Any] = doc.get("preferences") or {}
    trail: Mapping[str, Any] = doc.get("trail") or {}
    email = profile.get("email")
    phone = profile.get("phone")
    webhook = stored.get("webhook") or {}
    asked = (
        stored["channels"]
        if stored.get("channels") is not None
        else (["inbox", "email"] if email else ["inbox"])
    )
    requested = tuple(c for c in CHANNELS if c in asked)
    reachable = {
        "inbox": True,
        "email": bool(email),
        "webhook": bool(webhook.get("url")),
        "sms": bool(phone) and sms,
    }
    stopped = set(doc.get("unsubscribed") or ())
    channels = tuple(c for c in requested if reachable[c] and c not in stopped)
    interests: Mapping[str, Any] = stored.get("interests") or {}
    pathways = interests.get("pathways") if stored.get("interests") else profile.get("interests")
    topics = interests.get("topics") if stored.get("interests") else profile.get("topics")
    home = profile.get("commune_code")
    places = frozenset([*([home] if home else []), *(stored.get("places") or [])])
    zone_name = stored.get("time_zone") or settings.default_time_zone
    quiet = _quiet(stored, settings)
    delivery: Delivery = stored.get("delivery") or "immediate"
    digest_time = (
        clock_time(stored["digest_time"])
        if stored.get("digest_time")
        else settings.default_digest_time
    )
    birth = profile.get("birth_date")
    return Subscriber(
        learner_id=str(doc["_id"]),
        active=bool(profile) and not doc.get("merged_into"),
        birth_date=date.fromisoformat(birth) if birth else None,
        home=home,
        places=places,
        language=Language(stored.get("language") or profile.get("language") or "vi"),
        pathways=frozenset(Pathway(p) for p in pathways or ()),
        topics=frozenset(normalise(t) for t in topics or ()),
        levels=frozenset(interests.get("levels") or ()),
        channels=channels,
        requested=requested,
        email=email,
        phone=phone,
        webhook_url=webhook.get("url"),
        webhook_secret=webhook.get("secret"),
        schedule=Schedule(
            zone=zone(zone_name),
            quiet=QuietHours(quiet.start, quiet.end) if quiet else None,
            digest=delivery == "digest",
            digest_time=digest_time,
        ),
        delivery=delivery,
        quiet=quiet,
        time_zone=zone_name,
        highest_vqf_level=trail.get("highest_vqf_level"),
        completed=frozenset(trail.get("completed") or ()),
    )


def stored_preferences(
    given: PreferencesInput, previous: Mapping[str, Any], new_secret: str
) -> dict[str, Any]:
    """What to keep of a ``PUT``: the fields the learner gave, as JSON. A webhook keeps its
    secret while its URL stays the same; a new URL without a secret gets ``new_secret``."""
    stored = given.model_dump(mode="json", exclude_unset=True)
    webhook = stored.get("webhook")
    if webhook is not None and webhook.get("secret") is None:
        old = previous.get("webhook") or {}
        same = old.get("url") == webhook["url"] and old.get("secret")
        webhook["secret"] = old["secret"] if same else new_secret
    return stored


def webhook_refusal(url: str, allow: frozenset[tuple[IPAddress, int]]) -> str | None:
    """Why a webhook URL is not accepted (None if it is): partner apps are public HTTPS
    endpoints; a loopback, private or internal destination would let a learner make this
    service call into its own network. This is the early answer on the URL's text; the
    address is checked again when each connection is made (services/common/outbound.py)."""
    refusal = url_refusal(url, allow)
    return None if refusal is None else f"a webhook {refusal}"
