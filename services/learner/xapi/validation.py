"""xAPI 2.0 statement rules, without I/O: what an LRS must refuse (IEEE 9274.1.1, Part Two).

A statement arrives as parsed JSON. :func:`statement_errors` lists every rule it breaks, each
with the JSON path of the offending value; an empty list means the LRS may store it.
:func:`normalised` returns the statement as the LRS keeps it (a single context activity
becomes an array, as the spec requires). Rules follow the spec's "LRS MUST reject" list
(Data 2.2): no nulls outside extensions, no strings where numbers or booleans go, UUIDs, IRIs
and mailto IRIs in their format, keys and enumerated values in the spec's exact case, no
property the spec does not define, language tags shaped as RFC 5646, ISO 8601 timestamps and
durations, score ranges, and the object and context rules (a SubStatement holds no id,
stored, version, authority or SubStatement; ``revision`` and ``platform`` only with an
Activity object; voiding only through a StatementRef).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
SUPPORTED_VERSION = "2.0.0"

Json = Any  # parsed JSON: dict, list, str, int, float, bool or None

_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_MAILTO = re.compile(r"^mailto:[^@\s:/]+@[^@\s]+\.[^@\s]+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
# RFC 5646 in outline: a language (2-3 letters, or 4-8), optional extlang, script, region,
# variants, extensions and a private-use part; or private use alone, or a grandfathered tag
_LANGTAG = re.compile(
    r"^(?:(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
    r"(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?"
    r"|[xX](?:-[A-Za-z0-9]{1,8})+"
    r"|i-[A-Za-z]{3,8}|en-GB-oed|sgn-[A-Za-z]{2}-[A-Za-z]{2,3})$"
)
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"([Zz]|[+\-]\d{2}(?::?\d{2})?)?$"
)
_NUM = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(
    rf"^P(?=\d|T\d)(?:{_NUM}Y)?(?:{_NUM}M)?(?:{_NUM}W)?(?:{_NUM}D)?"
    rf"(?:T(?=\d)(?:{_NUM}H)?(?:{_NUM}M)?(?:{_NUM}S)?)?$"
)
_VERSION = re.compile(r"^[12]\.0(?:\.\d+)?$")
INTERACTION_TYPES = frozenset(
    {
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    }
)
# which component lists each interaction type may carry
_COMPONENTS = {
    "choice": {"choices"},
    "sequencing": {"choices"},
    "likert": {"scale"},
    "matching": {"source", "target"},
    "performance": {"steps"},
}
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")


class _Errors:
    """Collects what is wrong, each with the JSON path of the value."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.found.append(f"{path}: {message}")


# formats


def is_uuid(value: Json) -> bool:
    """A UUID in its standard string form, of the RFC 4122 variant."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def is_iri(value: Json) -> bool:
    """An absolute IRI: a scheme, then no blanks (best effort, as the spec allows)."""
    return isinstance(value, str) and _IRI.fullmatch(value) is not None


def is_language_tag(value: Json) -> bool:
    """A language tag shaped as RFC 5646 (its token lengths and order)."""
    return isinstance(value, str) and _LANGTAG.fullmatch(value) is not None


def parse_timestamp(value: Json) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (no offset: UTC), or None when it is not
    one. The offset ``-00:00`` is refused (RFC 3339: the offset is unknown)."""
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    offset = match.group(8)
    if offset is not None and offset.startswith("-") and set(offset[1:]) <= {"0", ":"}:
        return None
    text = value.replace("t", "T").replace("z", "Z")
    fraction = match.group(7)
    if fraction and len(fraction) > 7:  # Python reads at most microseconds
        text = text.replace(fraction, fraction[:7], 1)
    if offset is not None and ":" not in offset and len(offset) == 5:
        text = text[: -len(offset)] + offset[:3] + ":" + offset[3:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def is_duration(value: Json) -> bool:
    """An ISO 8601 duration (``PT1H30M``, ``P3D``, ``P1W``)."""
    return isinstance(value, str) and _DURATION.fullmatch(value) is not None


def is_number(value: Json) -> bool:
    """A JSON number (JSON's true and false are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def iso(at: datetime) -> str:
    """A timestamp as the LRS writes it: UTC, milliseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


# the pieces of a statement


def _object_keys(
    value: Json, path: str, errors: _Errors, allowed: set[str], required: tuple[str, ...] = ()
) -> dict[str, Json] | None:
    if not isinstance(value, dict):
        errors.add(path, "must be a JSON object")
        return None
    for key in value:
        if key not in allowed:
            errors.add(f"{path}.{key}", "is not a property the xAPI specification allows here")
    for key in required:
        if key not in value:
            errors.add(f"{path}.{key}", "is required")
    return value


def _string(value: Json, path: str, errors: _Errors) -> None:
    if not isinstance(value, str):
        errors.add(path, "must be a string")


def _iri(value: Json, path: str, errors: _Errors) -> None:
    if not is_iri(value):
        errors.add(path, "must be an absolute IRI (with a scheme), e.g. https://example.org/x")


def language_map_errors(value: Json, path: str, errors: _Errors) -> None:
    if not isinstance(value, dict):
        errors.add(path, "must be a language map (an object of language tag → text)")
        return
    for tag, text in value.items():
        if not is_language_tag(tag):
            errors.add(f"{path}.{tag}", "is not an RFC 5646 language tag")
        if not isinstance(text, str):
            errors.add(f"{path}.{tag}", "must be a string")


def _extensions(value: Json, path: str, errors: _Errors) -> None:
    if not isinstance(value, dict):
        errors.add(path, "must be an object whose keys are IRIs")
        return
    for key in value:
        if not is_iri(key):
            errors.add(f"{path}.{key}", "an extension key must be an absolute IRI")


_AGENT_KEYS = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")


def _ifi(value: dict[str, Json], path: str, errors: _Errors) -> int:
    """Check the inverse functional identifiers present; how many there are."""
    present = [k for k in IFI_KEYS if k in value]
    if "mbox" in value and not (isinstance(value["mbox"], str) and _MAILTO.match(value["mbox"])):
        errors.add(f"{path}.mbox", "must be a mailto IRI, e.g. mailto:name@example.org")
    if "mbox_sha1sum" in value and not (
        isinstance(value["mbox_sha1sum"], str) and _SHA1.fullmatch(value["mbox_sha1sum"])
    ):
        errors.add(f"{path}.mbox_sha1sum", "must be the 40 hex digits of a SHA-1")
    if "openid" in value:
        _iri(value["openid"], f"{path}.openid", errors)
    if "account" in value:
        account = _object_keys(
            value["account"], f"{path}.account", errors, {"homePage", "name"}, ("homePage", "name")
        )
        if account is not None:
            if "homePage" in account:
                _iri(account["homePage"], f"{path}.account.homePage", errors)
            if "name" in account:
                _string(account["name"], f"{path}.account.name", errors)
    return len(present)


def agent_errors(value: Json, path: str, errors: _Errors, object_type_required: bool) -> None:
    agent = _object_keys(value, path, errors, _AGENT_KEYS)
    if agent is None:
        return
    object_type = agent.get("objectType", None if not object_type_required else "")
    if object_type_required and "objectType" not in agent:
        errors.add(f"{path}.objectType", "is required here ('Agent')")
    elif "objectType" in agent and object_type != "Agent":
        errors.add(f"{path}.objectType", "must be 'Agent'")
    if "name" in agent:
        _string(agent["name"], f"{path}.name", errors)
    if _ifi(agent, path, errors) != 1:
        errors.add(path, "an Agent has exactly one of mbox, mbox_sha1sum, openid or account")


def group_errors(value: Json, path: str, errors: _Errors) -> None:
    group = _object_keys(value, path, errors, _AGENT_KEYS | {"member"}, ("objectType",))
    if group is None:
        return
    if "objectType" in group and group["objectType"] != "Group":
        errors.add(f"{path}.objectType", "must be 'Group'")
    if "name" in group:
        _string(group["name"], f"{path}.name", errors)
    identifiers = _ifi(group, path, errors)
    if identifiers > 1:
        errors.add(path, "a Group has at most one of mbox, mbox_sha1sum, openid or account")
    if "member" in group:
        members = group["member"]
        if not isinstance(members, list):
            errors.add(f"{path}.member", "must be an array of Agents")
        else:
            for n, member in enumerate(members):
                if isinstance(member, dict) and member.get("objectType") == "Group":
                    errors.add(f"{path}.member[{n}]", "a Group's members are Agents, not Groups")
                else:
                    agent_errors(member, f"{path}.member[{n}]", errors, False)
    if identifiers == 0 and not group.get("member"):
        errors.add(f"{path}.member", "an anonymous Group (no identifier) must list its members")


def actor_errors(value: Json, path: str, errors: _Errors, object_type_required: bool) -> None:
    if isinstance(value, dict) and value.get("objectType") == "Group":
        group_errors(value, path, errors)
    else:
        agent_errors(value, path, errors, object_type_required)


def _verb(value: Json, path: str, errors: _Errors) -> None:
    verb = _object_keys(value, path, errors, {"id", "display"}, ("id",))
    if verb is None:
        return
    if "id" in verb:
        _iri(verb["id"], f"{path}.id", errors)
    if "display" in verb:
        language_map_errors(verb["display"], f"{path}.display", errors)


_DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
}


def _definition(value: Json, path: str, errors: _Errors) -> None:
    definition = _object_keys(value, path, errors, _DEFINITION_KEYS)
    if definition is None:
        return
    for key in ("name", "description"):
        if key in definition:
            language_map_errors(definition[key], f"{path}.{key}", errors)
    for key in ("type", "moreInfo"):
        if key in definition:
            _iri(definition[key], f"{path}.{key}", errors)
    if "extensions" in definition:
        _extensions(definition["extensions"], f"{path}.extensions", errors)
    interaction = definition.get("interactionType")
    if "interactionType" in definition and interaction not in INTERACTION_TYPES:
        errors.add(
            f"{path}.interactionType",
            f"must be one of {', '.join(sorted(INTERACTION_TYPES))} (exact case)",
        )
    if "correctResponsesPattern" in definition:
        pattern = definition["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(p, str) for p in pattern):
            errors.add(f"{path}.correctResponsesPattern", "must be an array of strings")
        if "interactionType" not in definition:
            errors.add(f"{path}.interactionType", "is required with correctResponsesPattern")
    allowed = _COMPONENTS.get(interaction, set()) if isinstance(interaction, str) else set()
    for key in ("choices", "scale", "source", "target", "steps"):
        if key not in definition:
            continue
        if key not in allowed:
            errors.add(f"{path}.{key}", f"is not used with interactionType {interaction!r}")
        _components(definition[key], f"{path}.{key}", errors)


def _components(value: Json, path: str, errors: _Errors) -> None:
    if not isinstance(value, list):
        errors.add(path, "must be an array of interaction components")
        return
    seen: set[str] = set()
    for n, item in enumerate(value):
        component = _object_keys(item, f"{path}[{n}]", errors, {"id", "description"}, ("id",))
        if component is None:
            continue
        ident = component.get("id")
        if "id" in component:
            if not isinstance(ident, str) or not ident.strip():
                errors.add(f"{path}[{n}].id", "must be a non-empty string")
            elif ident in seen:
                errors.add(f"{path}[{n}].id", "must be unique within the list")
            else:
                seen.add(ident)
        if "description" in component:
            language_map_errors(component["description"], f"{path}[{n}].description", errors)


def activity_errors(value: Json, path: str, errors: _Errors) -> None:
    activity = _object_keys(value, path, errors, {"objectType", "id", "definition"}, ("id",))
    if activity is None:
        return
    if "objectType" in activity and activity["objectType"] != "Activity":
        errors.add(f"{path}.objectType", "must be 'Activity'")
    if "id" in activity:
        _iri(activity["id"], f"{path}.id", errors)
    if "definition" in activity:
        _definition(activity["definition"], f"{path}.definition", errors)


def _statement_ref(value: dict[str, Json], path: str, errors: _Errors) -> None:
    _object_keys(value, path, errors, {"objectType", "id"}, ("objectType", "id"))
    if "id" in value and not is_uuid(value["id"]):
        errors.add(f"{path}.id", "must be a UUID in its standard form")


def _object(value: Json, path: str, errors: _Errors, in_substatement: bool) -> None:
    if not isinstance(value, dict):
        errors.add(path, "must be a JSON object")
        return
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        activity_errors(value, path, errors)
    elif kind == "Agent":
        agent_errors(value, path, errors, True)
    elif kind == "Group":
        group_errors(value, path, errors)
    elif kind == "StatementRef":
        _statement_ref(value, path, errors)
    elif kind == "SubStatement":
        if in_substatement:
            errors.add(f"{path}.objectType", "a SubStatement cannot hold another SubStatement")
        else:
            _statement_body(value, path, errors, substatement=True)
    else:
        errors.add(
            f"{path}.objectType",
            "must be Activity, Agent, Group, StatementRef or SubStatement (exact case)",
        )


def _score(value: Json, path: str, errors: _Errors) -> None:
    score = _object_keys(value, path, errors, {"scaled", "raw", "min", "max"})
    if score is None:
        return
    for key in ("scaled", "raw", "min", "max"):
        if key in score and not is_number(score[key]):
            errors.add(f"{path}.{key}", "must be a number")
    numbers = {k: v for k, v in score.items() if k in ("scaled", "raw", "min", "max")}
    if not all(is_number(v) for v in numbers.values()):
        return
    if "scaled" in numbers and not -1 <= numbers["scaled"] <= 1:
        errors.add(f"{path}.scaled", "must be between -1 and 1")
    low, high, raw = numbers.get("min"), numbers.get("max"), numbers.get("raw")
    if low is not None and high is not None and not low < high:
        errors.add(f"{path}.max", "must be greater than min")
    if raw is not None and low is not None and raw < low:
        errors.add(f"{path}.raw", "must not be below min")
    if raw is not None and high is not None and raw > high:
        errors.add(f"{path}.raw", "must not be above max")


def _result(value: Json, path: str, errors: _Errors) -> None:
    allowed = {"score", "success", "completion", "response", "duration", "extensions"}
    result = _object_keys(value, path, errors, allowed)
    if result is None:
        return
    if "score" in result:
        _score(result["score"], f"{path}.score", errors)
    for key in ("success", "completion"):
        if key in result and not isinstance(result[key], bool):
            errors.add(f"{path}.{key}", "must be true or false")
    if "response" in result:
        _string(result["response"], f"{path}.response", errors)
    if "duration" in result and not is_duration(result["duration"]):
        errors.add(f"{path}.duration", "must be an ISO 8601 duration, e.g. PT1H30M")
    if "extensions" in result:
        _extensions(result["extensions"], f"{path}.extensions", errors)


_CONTEXT_KEYS = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "contextAgents",
    "contextGroups",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}


def _context(value: Json, path: str, errors: _Errors, object_kind: Json) -> None:
    context = _object_keys(value, path, errors, _CONTEXT_KEYS)
    if context is None:
        return
    if "registration" in context and not is_uuid(context["registration"]):
        errors.add(f"{path}.registration", "must be a UUID in its standard form")
    if "instructor" in context:
        actor_errors(context["instructor"], f"{path}.instructor", errors, False)
    if "team" in context:
        team = context["team"]
        if not (isinstance(team, dict) and team.get("objectType") == "Group"):
            errors.add(f"{path}.team", "must be a Group (objectType 'Group')")
        else:
            group_errors(team, f"{path}.team", errors)
    for key in ("revision", "platform"):
        if key in context:
            _string(context[key], f"{path}.{key}", errors)
            if object_kind != "Activity":
                errors.add(f"{path}.{key}", "is only allowed when the object is an Activity")
    if "language" in context and not is_language_tag(context["language"]):
        errors.add(f"{path}.language", "must be an RFC 5646 language tag")
    if "statement" in context:
        ref = context["statement"]
        if not (isinstance(ref, dict) and ref.get("objectType") == "StatementRef"):
            errors.add(f"{path}.statement", "must be a StatementRef")
        else:
            _statement_ref(ref, f"{path}.statement", errors)
    if "extensions" in context:
        _extensions(context["extensions"], f"{path}.extensions", errors)
    if "contextActivities" in context:
        activities = _object_keys(
            context["contextActivities"],
            f"{path}.contextActivities",
            errors,
            set(CONTEXT_ACTIVITY_KEYS),
        )
        for key, given in (activities or {}).items():
            items = given if isinstance(given, list) else [given]
            for n, item in enumerate(items):
                activity_errors(item, f"{path}.contextActivities.{key}[{n}]", errors)
    for key, kind, member in (
        ("contextAgents", "contextAgent", "agent"),
        ("contextGroups", "contextGroup", "group"),
    ):
        if key not in context:
            continue
        entries = context[key]
        if not isinstance(entries, list):
            errors.add(f"{path}.{key}", "must be an array")
            continue
        for n, entry in enumerate(entries):
            here = f"{path}.{key}[{n}]"
            found = _object_keys(
                entry, here, errors, {"objectType", member, "relevantTypes"}, ("objectType", member)
            )
            if found is None:
                continue
            if found.get("objectType") != kind:
                errors.add(f"{here}.objectType", f"must be '{kind}'")
            if member == "agent" and "agent" in found:
                agent_errors(found["agent"], f"{here}.agent", errors, False)
            if member == "group" and "group" in found:
                group_errors(found["group"], f"{here}.group", errors)
            if "relevantTypes" in found:
                types = found["relevantTypes"]
                if not isinstance(types, list) or not types:
                    errors.add(f"{here}.relevantTypes", "must be a non-empty array of IRIs")
                else:
                    for t, iri in enumerate(types):
                        _iri(iri, f"{here}.relevantTypes[{t}]", errors)


def _attachments(value: Json, path: str, errors: _Errors) -> None:
    if not isinstance(value, list):
        errors.add(path, "must be an array of Attachments")
        return
    for n, item in enumerate(value):
        here = f"{path}[{n}]"
        attachment = _object_keys(
            item,
            here,
            errors,
            {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"},
            ("usageType", "display", "contentType", "length", "sha2"),
        )
        if attachment is None:
            continue
        if "usageType" in attachment:
            _iri(attachment["usageType"], f"{here}.usageType", errors)
        for key in ("display", "description"):
            if key in attachment:
                language_map_errors(attachment[key], f"{here}.{key}", errors)
        for key in ("contentType", "sha2"):
            if key in attachment:
                _string(attachment[key], f"{here}.{key}", errors)
        if "length" in attachment and not (
            isinstance(attachment["length"], int) and not isinstance(attachment["length"], bool)
        ):
            errors.add(f"{here}.length", "must be an integer")
        if "fileUrl" in attachment:
            _iri(attachment["fileUrl"], f"{here}.fileUrl", errors)


_STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
_SUBSTATEMENT_KEYS = {
    "objectType",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "attachments",
}


def _statement_body(value: dict[str, Json], path: str, errors: _Errors, substatement: bool) -> None:
    allowed = _SUBSTATEMENT_KEYS if substatement else _STATEMENT_KEYS
    _object_keys(value, path, errors, allowed, ("actor", "verb", "object"))
    where = f"{path}." if path else ""
    if "id" in value and not is_uuid(value["id"]):
        errors.add(f"{where}id", "must be a UUID in its standard form")
    if "actor" in value:
        actor_errors(value["actor"], f"{where}actor", errors, False)
    if "verb" in value:
        _verb(value["verb"], f"{where}verb", errors)
    if "object" in value:
        _object(value["object"], f"{where}object", errors, substatement)
    if "result" in value:
        _result(value["result"], f"{where}result", errors)
    if "context" in value:
        target = value.get("object")
        kind = target.get("objectType", "Activity") if isinstance(target, dict) else None
        _context(value["context"], f"{where}context", errors, kind)
    for key in ("timestamp", "stored"):
        if key in value and parse_timestamp(value[key]) is None:
            errors.add(
                f"{where}{key}",
                "must be an ISO 8601 timestamp, e.g. 2025-03-15T09:30:00+07:00 (not -00:00)",
            )
    if "authority" in value:
        _authority(value["authority"], f"{where}authority", errors)
    if "version" in value and not (
        isinstance(value["version"], str) and _VERSION.fullmatch(value["version"])
    ):
        errors.add(f"{where}version", "must be an xAPI version, 1.0.x or 2.0.x")
    if "attachments" in value:
        _attachments(value["attachments"], f"{where}attachments", errors)
    verb = value.get("verb")
    if isinstance(verb, dict) and verb.get("id") == VOIDED:
        target = value.get("object")
        if not (isinstance(target, dict) and target.get("objectType") == "StatementRef"):
            errors.add(f"{where}object", "a voiding statement's object must be a StatementRef")


def _authority(value: Json, path: str, errors: _Errors) -> None:
    if isinstance(value, dict) and value.get("objectType") == "Group":
        group_errors(value, path, errors)
        members = value.get("member")
        if isinstance(members, list) and len(members) != 2:
            errors.add(f"{path}.member", "a Group as authority has exactly two Agents (OAuth)")
    else:
        agent_errors(value, path, errors, False)


def _nulls(value: Json, path: str) -> Iterator[str]:
    """Paths of null values, outside extensions (where the spec allows anything)."""
    if value is None:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "extensions":
                continue
            yield from _nulls(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _nulls(item, f"{path}[{n}]")


def statement_errors(value: Json) -> list[str]:
    """Every rule of the xAPI specification the statement breaks (empty: it may be stored)."""
    errors = _Errors()
    if not isinstance(value, dict):
        return ["(statement): must be a JSON object"]
    for path in _nulls(value, ""):
        errors.add(path or "(statement)", "must not be null (nulls are allowed only in extensions)")
    _statement_body(value, "", errors, substatement=False)
    return errors.found


def normalised(statement: Mapping[str, Json]) -> dict[str, Json]:
    """The statement as the LRS keeps it: each context activity list an array."""
    result = dict(statement)
    for holder in (result, result.get("object")):
        if not isinstance(holder, dict) or not isinstance(holder.get("context"), dict):
            continue
        context = dict(holder["context"])
        if isinstance(context.get("contextActivities"), dict):
            context["contextActivities"] = {
                key: given if isinstance(given, list) else [given]
                for key, given in context["contextActivities"].items()
            }
        holder["context"] = context
    return result


def _without_lrs_fields(statement: Mapping[str, Json]) -> dict[str, Json]:
    """What statement comparison looks at: not what the LRS may assign (stored, authority,
    version), timestamps as points in time, group members in any order."""

    def walk(value: Json, key: str | None) -> Json:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            items = [walk(v, None) for v in value]
            if key == "member":
                items.sort(key=lambda v: json.dumps(v, sort_keys=True))
            return items
        if key == "timestamp" and isinstance(value, str):
            parsed = parse_timestamp(value)
            return parsed.isoformat() if parsed else value
        return value

    trimmed = {k: v for k, v in statement.items() if k not in ("stored", "authority", "version")}
    compared: dict[str, Json] = walk(normalised(trimmed), None)
    return compared


def fingerprint(statement: Mapping[str, Json]) -> str:
    """A digest for telling a repeat of a statement from a different one under the same id."""
    text = json.dumps(_without_lrs_fields(statement), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# agents as keys (filters, links, documents)


def agent_key(agent: Json) -> str | None:
    """The Agent's or identified Group's inverse functional identifier as one string."""
    if not isinstance(agent, dict):
        return None
    if isinstance(agent.get("mbox"), str):
        return "mbox:" + str(agent["mbox"]).lower()
    if isinstance(agent.get("mbox_sha1sum"), str):
        return "mbox_sha1sum:" + str(agent["mbox_sha1sum"]).lower()
    if isinstance(agent.get("openid"), str):
        return "openid:" + str(agent["openid"])
    account = agent.get("account")
    if isinstance(account, dict) and isinstance(account.get("homePage"), str):
        return f"account:{account['homePage']}|{account.get('name')}"
    return None


def agent_parameter_errors(value: Json) -> list[str]:
    """The rules an ``agent`` query parameter (parsed JSON) breaks: an Agent or identified
    Group, as in statements."""
    errors = _Errors()
    if isinstance(value, dict) and value.get("objectType") == "Group":
        group_errors(value, "agent", errors)
        if agent_key(value) is None:
            errors.add("agent", "must be identified (mbox, mbox_sha1sum, openid or account)")
    else:
        agent_errors(value, "agent", errors, False)
    return errors.found


def _agents_in(value: Json, out: set[str], members: bool) -> None:
    key = agent_key(value)
    if key is not None:
        out.add(key)
    if members and isinstance(value, dict) and isinstance(value.get("member"), list):
        for member in value["member"]:
            _agents_in(member, out, members)


def statement_agents(statement: Mapping[str, Json]) -> tuple[list[str], list[str]]:
    """The agents a statement is about — its actor and an Agent or Group object — and every
    agent it names anywhere (``related_agents``)."""
    direct: set[str] = set()
    related: set[str] = set()
    _agents_in(statement.get("actor"), direct, True)
    target = statement.get("object")
    if isinstance(target, dict) and target.get("objectType") in ("Agent", "Group"):
        _agents_in(target, direct, True)
    related |= direct
    for holder in (statement, target if isinstance(target, dict) else {}):
        if holder is not statement and holder.get("objectType") == "SubStatement":
            _agents_in(holder.get("actor"), related, True)
            sub_object = holder.get("object")
            if isinstance(sub_object, dict) and sub_object.get("objectType") in ("Agent", "Group"):
                _agents_in(sub_object, related, True)
        context = holder.get("context") if isinstance(holder, dict) else None
        if isinstance(context, dict):
            for key in ("instructor", "team"):
                _agents_in(context.get(key), related, True)
            for entry in context.get("contextAgents") or []:
                if isinstance(entry, dict):
                    _agents_in(entry.get("agent"), related, True)
            for entry in context.get("contextGroups") or []:
                if isinstance(entry, dict):
                    _agents_in(entry.get("group"), related, True)
    _agents_in(statement.get("authority"), related, True)
    return sorted(direct), sorted(related)


def statement_activities(statement: Mapping[str, Json]) -> tuple[list[str], list[str]]:
    """The activity a statement is about (its object) and every activity it names."""
    direct: set[str] = set()
    related: set[str] = set()
    target = statement.get("object")

    def add(activity: Json, into: set[str]) -> None:
        if (
            isinstance(activity, dict)
            and activity.get("objectType", "Activity") == "Activity"
            and isinstance(activity.get("id"), str)
        ):
            into.add(activity["id"])

    add(target, direct)
    related |= direct
    holders: list[Json] = [statement]
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        add(target.get("object"), related)
        holders.append(target)
    for holder in holders:
        context = holder.get("context") if isinstance(holder, dict) else None
        if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
            for given in context["contextActivities"].values():
                for activity in given if isinstance(given, list) else [given]:
                    add(activity, related)
    return sorted(direct), sorted(related)


def statement_target(statement: Mapping[str, Json]) -> str | None:
    """The id (lower case) of the statement this one targets by a StatementRef object."""
    target = statement.get("object")
    if isinstance(target, dict) and target.get("objectType") == "StatementRef":
        ref = target.get("id")
        return ref.lower() if isinstance(ref, str) else None
    return None


# how statements are shown (the ``format`` parameter)


def _language_choice(value: dict[str, Json], languages: list[str]) -> dict[str, Json]:
    for wanted in languages:
        for tag, text in value.items():
            if tag.lower() == wanted.lower() or tag.lower().split("-")[0] == wanted.lower():
                return {tag: text}
    first = next(iter(value.items()), None)
    return {first[0]: first[1]} if first else {}


def canonical(statement: Json, languages: list[str]) -> Json:
    """``format=canonical``: each language map reduced to the one language the caller reads
    best (Accept-Language), else its first."""

    def walk(value: Json, key: str | None) -> Json:
        if isinstance(value, dict):
            if key in ("display", "name", "description") and all(
                isinstance(v, str) for v in value.values()
            ):
                return _language_choice(value, languages)
            if key == "extensions":
                return value
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, None) for v in value]
        return value

    return walk(statement, None)


def ids_only(statement: Json) -> Json:
    """``format=ids``: agents and groups by identifier only, activities and verbs by id."""

    def agent(value: Json) -> Json:
        if not isinstance(value, dict):
            return value
        kept = {k: v for k, v in value.items() if k in ("objectType", *IFI_KEYS)}
        if value.get("objectType") == "Group" and agent_key(value) is None:
            kept["member"] = [agent(m) for m in value.get("member") or []]
        return kept

    def body(value: dict[str, Json]) -> dict[str, Json]:
        shown = dict(value)
        if "actor" in shown:
            shown["actor"] = agent(shown["actor"])
        if isinstance(shown.get("verb"), dict):
            shown["verb"] = {"id": shown["verb"].get("id")}
        target = shown.get("object")
        if isinstance(target, dict):
            kind = target.get("objectType", "Activity")
            if kind == "Activity":
                shown["object"] = {k: v for k, v in target.items() if k in ("objectType", "id")}
            elif kind in ("Agent", "Group"):
                shown["object"] = agent(target)
            elif kind == "SubStatement":
                shown["object"] = body(target)
        if "authority" in shown:
            shown["authority"] = agent(shown["authority"])
        context = shown.get("context")
        if isinstance(context, dict):
            context = dict(context)
            for key in ("instructor", "team"):
                if key in context:
                    context[key] = agent(context[key])
            if isinstance(context.get("contextActivities"), dict):
                context["contextActivities"] = {
                    k: [{"id": a.get("id")} for a in v if isinstance(a, dict)]
                    for k, v in context["contextActivities"].items()
                    if isinstance(v, list)
                }
            shown["context"] = context
        return shown

    return body(statement) if isinstance(statement, dict) else statement


Shaper = Callable[[Json], Json]
