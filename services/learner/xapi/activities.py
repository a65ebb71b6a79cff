"""The LRS's canonical Activity definitions, merged from the statements a centre sends.

xAPI 2.0 lets an LRS keep one definition per Activity id and answer it on the Activities
resource (``GET /xapi/activities?activityId=``); it updates that definition from a statement
when it trusts the statement's sender to define the Activity (Data 2.4.4.1). Each centre is an
LRS of its own here and the centre is the authority of all its statements, so every statement
it sends may update its own definitions: language maps (``name``, ``description``) and
``extensions`` are merged key by key, every other property (``type``, ``moreInfo``, the
interaction properties) is replaced by the newest statement's value. Pure code: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Json = Any

_MERGED = ("name", "description", "extensions")


def definitions_in(statement: Mapping[str, Json]) -> Iterable[tuple[str, dict[str, Json]]]:
    """Each Activity a statement defines — its object, its context activities, and those of
    a SubStatement object — with the definition given, in the statement's order."""
    target = statement.get("object")
    holders: list[Json] = [statement]
    found: list[Json] = [target]
    if isinstance(target, dict) and target.get("objectType") == "SubStatement":
        found.append(target.get("object"))
        holders.append(target)
    for holder in holders:
        context = holder.get("context") if isinstance(holder, dict) else None
        activities = context.get("contextActivities") if isinstance(context, dict) else None
        if isinstance(activities, dict):
            for given in activities.values():
                found.extend(given if isinstance(given, list) else [given])
    for activity in found:
        if (
            isinstance(activity, dict)
            and activity.get("objectType", "Activity") == "Activity"
            and isinstance(activity.get("id"), str)
            and isinstance(activity.get("definition"), dict)
        ):
            yield activity["id"], activity["definition"]


def merged(stored: Mapping[str, Json] | None, given: Mapping[str, Json]) -> dict[str, Json]:
    """The canonical definition once ``given`` (newer) is merged into ``stored``."""
    result: dict[str, Json] = dict(stored or {})
    for key, value in given.items():
        old = result.get(key)
        if key in _MERGED and isinstance(old, dict) and isinstance(value, dict):
            result[key] = {**old, **value}
        else:
            result[key] = value
    return result


def merged_definitions(
    stored: Mapping[str, Mapping[str, Json]], statements: Iterable[Mapping[str, Json]]
) -> dict[str, dict[str, Json]]:
    """The definitions the statements change (activity id → new canonical definition),
    given those stored; statements are merged in order, so the last one wins."""
    current: dict[str, dict[str, Json]] = {k: dict(v) for k, v in stored.items()}
    changed: set[str] = set()
    for statement in statements:
        for activity_id, definition in definitions_in(statement):
            new = merged(current.get(activity_id), definition)
            if new != current.get(activity_id):
                current[activity_id] = new
                changed.add(activity_id)
    return {k: current[k] for k in sorted(changed)}


def activity_object(activity_id: str, definition: Mapping[str, Json] | None) -> dict[str, Json]:
    """The Activity the Activities resource answers (its id alone when none is defined)."""
    found: dict[str, Json] = {"objectType": "Activity", "id": activity_id}
    if definition:
        found["definition"] = dict(definition)
    return found
