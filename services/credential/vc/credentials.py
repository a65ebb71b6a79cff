"""Building and issuing the credentials: one Open Badges 3.0 ``AchievementCredential`` per
learning record, gathered in a CLR 2.0 ``ClrCredential`` for the learner — each signed on its
own with the issuer's current key.

Record fields map onto OB 3.0 as follows: title → ``achievement.name``, description →
``achievement.description`` (and the criteria narrative unless one is given), achievement
type → ``achievement.achievementType`` (the OB vocabulary or ``ext:…``), credits →
``achievement.creditsAvailable`` and ``creditsEarned``, completion date → ``activityEndDate``
and ``awardedDate``, hours and level → a ``ResultDescription`` on the achievement
(``ext:LearningHours``, ``ext:QualificationLevel``) with the learner's ``Result``, the
training centre → ``achievement.creator``, course code → ``achievement.humanCode``, the
grade → a ``Result`` with its ``ResultDescription`` (the scale's type, bounds or allowed
values, and pass mark: see :func:`grade_description`), the language → ``inLanguage`` ``vi``,
the level's place in the qualification frameworks → ``alignment`` (given ready-made: see
:mod:`services.credential.frameworks`), field → ``fieldOfStudy``, badges → ``image`` of the
issuer, the creator and the achievement (URLs or ``data:`` URIs).
The learner's name travels only as a salted SHA-256 ``IdentityObject`` (OB 3.0's advice: a
receiving school that knows the name can check it; nobody reads it off the credential).
All text is normalised to NFC before signing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from services.credential.vc.contexts import (
    CLR_V2P0_CONTEXT,
    OB_V3P0_CONTEXT,
    OB_V3P0_EXTENSIONS,
    VC_V2,
)
from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.keys import KeyRing
from services.credential.vc.proofs import iso_datetime, sign
from services.credential.vc.statuslist import status_entry

OB_SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
CLR_SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
)
SCHEMA_VALIDATOR_TYPE = "1EdTechJsonSchemaValidator2019"
ACHIEVEMENT_CONTEXTS = (VC_V2, OB_V3P0_CONTEXT, OB_V3P0_EXTENSIONS)
CLR_CONTEXTS = (VC_V2, CLR_V2P0_CONTEXT, OB_V3P0_CONTEXT, OB_V3P0_EXTENSIONS)
HOURS_RESULT_TYPE = "ext:LearningHours"
LEVEL_RESULT_TYPE = "ext:QualificationLevel"
LANGUAGE = "vi"
NUMERIC_SCALE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*[-–]\s*(\d+(?:[.,]\d+)?)\s*$")
LETTER_SCALE = re.compile(r"^\s*([A-Z])\s*[-–]\s*([A-Z])\s*$")
# The Vietnamese performance levels (xếp loại), best first, as training centres write them.
PERFORMANCE_LEVELS = ("Xuất sắc", "Giỏi", "Khá", "Trung bình khá", "Trung bình", "Yếu", "Kém")
RESULT_STATUS = {"passed": "Completed", "completed": "Completed", "failed": "Failed"}


class CredentialInputError(ValueError):
    """The values given cannot make a valid credential; the message says which."""


def nfc(text: str) -> str:
    """``text`` in Unicode NFC (Vietnamese diacritics composed), stripped."""
    return unicodedata.normalize("NFC", text).strip()


@dataclass(frozen=True)
class Address:
    """A postal address as OB 3.0's ``Address``: the province as the region."""

    country: str = "Việt Nam"
    country_code: str = "VN"
    region: str | None = None
    locality: str | None = None
    street: str | None = None


@dataclass(frozen=True)
class IssuerProfile:
    """The issuer (the department) as an OB ``Profile``; ``id`` is its ``did:web`` DID;
    ``official`` the person authorised to issue; ``parent_org`` the body it answers to
    (the provincial People's Committee)."""

    id: str
    name: str
    url: str | None = None
    email: str | None = None
    official: str | None = None
    address: Address | None = None
    parent_org: str | None = None
    image: str | None = None
    """The department's badge: a URL or ``data:`` URI."""


@dataclass(frozen=True)
class Provider:
    """The training centre that delivered the learning, as the achievement's creator."""

    id: str
    name: str
    image: str | None = None
    """The centre's badge: a URL or ``data:`` URI."""


@dataclass(frozen=True)
class Learner:
    """The learner: ``id`` is an IRI (e.g. ``urn:uuid:<learner id>``), ``name`` as written."""

    id: str
    name: str


@dataclass(frozen=True)
class LearningRecord:
    """One completed piece of learning, as the trail holds it."""

    record_id: str
    title: str
    description: str
    achievement_type: str
    completion_date: date | datetime
    credits: float | None = None
    hours: float | None = None
    level: str | None = None
    criteria: str | None = None
    field_of_study: str | None = None
    provider: Provider | None = None
    achievement_id: str | None = None
    code: str | None = None
    grade: str | None = None
    grade_scale: str | None = None
    result_status: str | None = None
    """``passed``, ``completed`` or ``failed``, as the training centre reported it."""
    alignments: tuple[Mapping[str, Any], ...] = ()
    """OB 3.0 ``Alignment`` objects: the record's level in the qualification frameworks."""
    image: str | None = None
    """The achievement's badge: a URL or ``data:`` URI."""


StatusBit = tuple[str, int]
"""A revocation bit: the status list credential's URL and the bit's index in it."""


@dataclass(frozen=True)
class StatusPlan:
    """Where each credential's revocation bit lives: the CLR's and each record's achievement
    credential's (by ``record_id``), each in whichever list of the series holds it. A
    credential without a bit gets no ``credentialStatus``."""

    clr: StatusBit | None = None
    records: Mapping[str, StatusBit] = field(default_factory=dict)

    @classmethod
    def in_one_list(
        cls, list_url: str, clr_index: int | None, record_indices: Mapping[str, int]
    ) -> StatusPlan:
        """A plan whose bits all live in one list."""
        return cls(
            clr=(list_url, clr_index) if clr_index is not None else None,
            records={r: (list_url, i) for r, i in record_indices.items()},
        )


def _iri(value: str, what: str) -> str:
    if ":" not in value or value.startswith(":") or any(c.isspace() for c in value):
        raise CredentialInputError(f"{what} must be an absolute IRI, not {value!r}")
    return value


def _moment(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return iso_datetime(value if value.tzinfo else value.replace(tzinfo=UTC))
    return iso_datetime(datetime.combine(value, time(0, 0), tzinfo=UTC))


def _urn(namespace: str, name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{namespace}/{name}')}"


def image(uri: str, caption: str) -> dict[str, Any]:
    """An OB 3.0 ``Image``: its URL or ``data:`` URI and a caption."""
    return {"id": _iri(uri, "image"), "type": "Image", "caption": nfc(caption)}


def issuer_profile(issuer: IssuerProfile) -> dict[str, Any]:
    """The issuer as an OB 3.0 ``Profile`` object."""
    profile: dict[str, Any] = {
        "id": _iri(issuer.id, "issuer id"),
        "type": ["Profile"],
        "name": nfc(issuer.name),
    }
    if issuer.url:
        profile["url"] = issuer.url
    if issuer.email:
        profile["email"] = issuer.email
    if issuer.image:
        profile["image"] = image(issuer.image, issuer.name)
    if issuer.official:
        profile["official"] = nfc(issuer.official)
    if issuer.address:
        address: dict[str, Any] = {
            "type": ["Address"],
            "addressCountry": nfc(issuer.address.country),
            "addressCountryCode": issuer.address.country_code,
        }
        for key, value in (
            ("addressRegion", issuer.address.region),
            ("addressLocality", issuer.address.locality),
            ("streetAddress", issuer.address.street),
        ):
            if value:
                address[key] = nfc(value)
        profile["address"] = address
    if issuer.parent_org:
        profile["parentOrg"] = {
            "id": _urn(issuer.id, f"parent/{nfc(issuer.parent_org)}"),
            "type": ["Profile"],
            "name": nfc(issuer.parent_org),
        }
    return profile


def achievement(record: LearningRecord, issuer: IssuerProfile) -> dict[str, Any]:
    """The OB 3.0 ``Achievement`` a record stands for."""
    achievement_id = record.achievement_id or _urn(
        issuer.id,
        f"achievements/{nfc(record.provider.id if record.provider else '')}/{nfc(record.title)}",
    )
    if not nfc(record.title) or not nfc(record.description):
        raise CredentialInputError(f"record {record.record_id}: title and description are needed")
    item: dict[str, Any] = {
        "id": _iri(achievement_id, "achievement id"),
        "type": ["Achievement"],
        "achievementType": record.achievement_type,
        "name": nfc(record.title),
        "description": nfc(record.description),
        "criteria": {"narrative": nfc(record.criteria or record.description)},
    }
    if record.credits is not None:
        if record.credits < 0:
            raise CredentialInputError(f"record {record.record_id}: credits are not negative")
        item["creditsAvailable"] = float(record.credits)
    if record.code:
        item["humanCode"] = nfc(record.code)
    item["inLanguage"] = LANGUAGE
    if record.field_of_study:
        item["fieldOfStudy"] = nfc(record.field_of_study)
    if record.provider:
        item["creator"] = {
            "id": _iri(record.provider.id, "provider id"),
            "type": ["Profile"],
            "name": nfc(record.provider.name),
        }
        if record.provider.image:
            item["creator"]["image"] = image(record.provider.image, record.provider.name)
    if record.image:
        item["image"] = image(record.image, record.title)
    if record.alignments:
        item["alignment"] = [dict(a) for a in record.alignments]
    descriptions = []
    grade = grade_description(record, achievement_id)
    if grade is not None:
        descriptions.append(grade)
    if record.hours is not None:
        descriptions.append(
            {
                "id": _urn(achievement_id, "results/hours"),
                "type": ["ResultDescription"],
                "name": "Learning hours",
                "resultType": HOURS_RESULT_TYPE,
            }
        )
    if record.level:
        descriptions.append(
            {
                "id": _urn(achievement_id, "results/level"),
                "type": ["ResultDescription"],
                "name": "Qualification level",
                "resultType": LEVEL_RESULT_TYPE,
            }
        )
    if descriptions:
        item["resultDescription"] = descriptions
    return item


def _number(text: str) -> str:
    return text.replace(",", ".")


def grade_description(record: LearningRecord, achievement_id: str) -> dict[str, Any] | None:
    """The ``ResultDescription`` of a record's grade, read from its scale: ``0-10`` (any
    ``low-high``) a ``ScaledScore`` with ``valueMin``/``valueMax`` and, as pass mark, half
    the scale (5 of 0–10, the Vietnamese convention); ``A-F`` a ``LetterGrade`` with its
    allowed letters; a Vietnamese performance level (``Giỏi``, ``Khá``…) a
    ``PerformanceLevel`` with the levels allowed. None when there is no grade."""
    if not record.grade:
        return None
    scale = nfc(record.grade_scale or "")
    described: dict[str, Any] = {
        "id": _urn(achievement_id, "results/grade"),
        "type": ["ResultDescription"],
        "name": f"Kết quả ({scale})" if scale else "Kết quả",
    }
    numeric = NUMERIC_SCALE.match(scale)
    letters = LETTER_SCALE.match(scale)
    if numeric:
        low, high = (float(_number(v)) for v in numeric.groups())
        described |= {
            "resultType": "ScaledScore",
            "valueMin": f"{low:g}",
            "valueMax": f"{high:g}",
            "requiredValue": f"{low + (high - low) / 2:g}",
        }
    elif letters and letters.group(1) <= letters.group(2):
        first, last = (ord(c) for c in letters.groups())
        allowed = [chr(c) for c in range(first, last + 1) if chr(c) != "E" or last == ord("E")]
        described |= {"resultType": "LetterGrade", "allowedValue": allowed}
    elif nfc(record.grade) in PERFORMANCE_LEVELS:
        described |= {"resultType": "PerformanceLevel", "allowedValue": list(PERFORMANCE_LEVELS)}
    else:
        described["resultType"] = "Result"
    return described


def _results(record: LearningRecord, achievement_id: str) -> list[dict[str, Any]]:
    results = []
    if record.grade:
        grade: dict[str, Any] = {
            "type": ["Result"],
            "resultDescription": _urn(achievement_id, "results/grade"),
            "value": _number(nfc(record.grade))
            if NUMERIC_SCALE.match(nfc(record.grade_scale or ""))
            else nfc(record.grade),
        }
        if record.result_status in RESULT_STATUS:
            grade["status"] = RESULT_STATUS[record.result_status]
        results.append(grade)
    if record.hours is not None:
        if record.hours < 0:
            raise CredentialInputError(f"record {record.record_id}: hours are not negative")
        results.append(
            {
                "type": ["Result"],
                "resultDescription": _urn(achievement_id, "results/hours"),
                "value": f"{record.hours:g}",
            }
        )
    if record.level:
        results.append(
            {
                "type": ["Result"],
                "resultDescription": _urn(achievement_id, "results/level"),
                "value": nfc(record.level),
            }
        )
    return results


def identity_hash(value: str, salt: str) -> str:
    """OB 3.0's ``IdentityHash``: ``sha256$`` and the hex SHA-256 of the value (NFC) followed
    by the salt."""
    return "sha256$" + hashlib.sha256((nfc(value) + salt).encode("utf-8")).hexdigest()


def learner_identifier(learner: Learner, salt: str) -> dict[str, Any]:
    """The learner's name as an OB ``IdentityObject``, salted and hashed: whoever knows the
    name can check it (:func:`identity_hash` with the ``salt`` given), nobody can read it."""
    return {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": True,
        "identityHash": identity_hash(learner.name, salt),
        "salt": salt,
    }


def new_salt() -> str:
    """A fresh salt for one credential's identifiers (16 random bytes, hex)."""
    return secrets.token_hex(16)


def build_achievement_credential(
    learner: Learner,
    record: LearningRecord,
    issuer: IssuerProfile,
    credential_id: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    status: Mapping[str, Any] | None = None,
    salt: str | None = None,
) -> dict[str, Any]:
    """The unsigned OB 3.0 ``AchievementCredential`` for one record of a learner."""
    item = achievement(record, issuer)
    subject: dict[str, Any] = {
        "id": _iri(learner.id, "learner id"),
        "type": ["AchievementSubject"],
        "identifier": [learner_identifier(learner, salt or new_salt())],
        "achievement": item,
        "activityEndDate": _moment(record.completion_date),
    }
    if record.credits is not None:
        subject["creditsEarned"] = float(record.credits)
    results = _results(record, item["id"])
    if results:
        subject["result"] = results
    credential: dict[str, Any] = {
        "@context": list(ACHIEVEMENT_CONTEXTS),
        "id": _iri(credential_id, "credential id"),
        "type": ["VerifiableCredential", "AchievementCredential"],
        "name": item["name"],
        "description": item["description"],
        "issuer": issuer_profile(issuer),
        "validFrom": iso_datetime(valid_from),
        "awardedDate": _moment(record.completion_date),
        "credentialSubject": subject,
        "credentialSchema": [{"id": OB_SCHEMA_URL, "type": SCHEMA_VALIDATOR_TYPE}],
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise CredentialInputError("validUntil must be after validFrom")
        credential["validUntil"] = iso_datetime(valid_until)
    if status is not None:
        credential["credentialStatus"] = dict(status)
    return credential


def build_clr_credential(
    learner: Learner,
    achievement_credentials: Sequence[Mapping[str, Any]],
    issuer: IssuerProfile,
    credential_id: str,
    valid_from: datetime,
    name: str,
    valid_until: datetime | None = None,
    status: Mapping[str, Any] | None = None,
    salt: str | None = None,
) -> dict[str, Any]:
    """The unsigned CLR 2.0 ``ClrCredential`` embedding the (signed) achievement
    credentials and listing their achievements; ``awardedDate`` is when it is issued."""
    if not achievement_credentials:
        raise CredentialInputError("a CLR holds at least one achievement credential")
    achievements = []
    seen: set[str] = set()
    for embedded in achievement_credentials:
        item = embedded["credentialSubject"]["achievement"]
        if item["id"] not in seen:
            seen.add(item["id"])
            achievements.append(item)
    credential: dict[str, Any] = {
        "@context": list(CLR_CONTEXTS),
        "id": _iri(credential_id, "credential id"),
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": nfc(name),
        "issuer": issuer_profile(issuer),
        "validFrom": iso_datetime(valid_from),
        "awardedDate": iso_datetime(valid_from),
        "credentialSubject": {
            "id": _iri(learner.id, "learner id"),
            "type": ["ClrSubject"],
            "identifier": [learner_identifier(learner, salt or new_salt())],
            "verifiableCredential": [dict(c) for c in achievement_credentials],
            "achievement": achievements,
        },
        "credentialSchema": [{"id": CLR_SCHEMA_URL, "type": SCHEMA_VALIDATOR_TYPE}],
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise CredentialInputError("validUntil must be after validFrom")
        credential["validUntil"] = iso_datetime(valid_until)
    if status is not None:
        credential["credentialStatus"] = dict(status)
    return credential


def achievement_credential_id(clr_id: str, record_id: str) -> str:
    """The id given to a record's achievement credential inside the CLR ``clr_id``."""
    return _urn(clr_id, f"records/{record_id}")


def issue_achievement_credential(
    learner: Learner,
    record: LearningRecord,
    issuer: IssuerProfile,
    key_ring: KeyRing,
    loader: LocalDocumentLoader,
    credential_id: str,
    issued_at: datetime,
    valid_until: datetime | None = None,
    status: Mapping[str, Any] | None = None,
    salt: str | None = None,
) -> dict[str, Any]:
    """One signed OB 3.0 ``AchievementCredential`` (signed with the ring's current key)."""
    if issuer.id != key_ring.controller:
        raise CredentialInputError("the issuer id must be the key ring's DID")
    unsigned = build_achievement_credential(
        learner, record, issuer, credential_id, issued_at, valid_until, status, salt
    )
    return sign(unsigned, key_ring.current, key_ring.verification_method(), issued_at, loader)


def issue_clr(
    learner: Learner,
    records: Sequence[LearningRecord],
    issuer: IssuerProfile,
    key_ring: KeyRing,
    loader: LocalDocumentLoader,
    clr_id: str,
    issued_at: datetime,
    name: str | None = None,
    valid_until: datetime | None = None,
    status: StatusPlan | None = None,
) -> dict[str, Any]:
    """A signed CLR 2.0 ``ClrCredential`` for ``learner`` embedding one signed OB 3.0
    ``AchievementCredential`` per record; each credential gets a revocation entry when
    ``status`` gives it an index."""
    if not records:
        raise CredentialInputError("a CLR needs at least one learning record")
    if len({r.record_id for r in records}) != len(records):
        raise CredentialInputError("each record appears once in a CLR")
    salt = new_salt()  # one per CLR: its credentials name the same learner the same way
    embedded = []
    for record in records:
        bit = status.records.get(record.record_id) if status else None
        entry = status_entry(*bit) if bit is not None else None
        embedded.append(
            issue_achievement_credential(
                learner,
                record,
                issuer,
                key_ring,
                loader,
                achievement_credential_id(clr_id, record.record_id),
                issued_at,
                valid_until,
                entry,
                salt,
            )
        )
    clr_entry = status_entry(*status.clr) if status and status.clr is not None else None
    unsigned = build_clr_credential(
        learner,
        embedded,
        issuer,
        clr_id,
        issued_at,
        name or "Hồ sơ học tập suốt đời",
        valid_until,
        clr_entry,
        salt,
    )
    return sign(unsigned, key_ring.current, key_ring.verification_method(), issued_at, loader)
