"""A training centre's mapping from xAPI statements to learning records, as data; no I/O.

A centre keeps one mapping (``PUT /v1/xapi/mapping``): an ordered list of rules. The first
rule whose verbs include the statement's verb, and whose activity types (if it names any)
include the type of the statement's object, turns the statement into a record's content:

```json
{"rules": [{
  "verbs": ["http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/passed"],
  "activity_types": ["http://adlnet.gov/expapi/activities/course"],
  "pathway": "online", "kind": "course",
  "code": {"extension": "https://learningtrail.vn/xapi/course-code"},
  "hours": {"extension": "https://learningtrail.vn/xapi/hours"},
  "vqf_level": {"value": 1},
  "require_success": true
}]}
```

Each of ``code``, ``title``, ``hours``, ``credits`` and ``vqf_level`` is taken from an
extension (looked up in the object's definition, then the context, then the result) or is a
fixed ``value``; the title is the activity's name (Vietnamese, then English, then any) unless
given. The result is ``passed`` for the verb ``passed`` (or a result with ``success: true``),
``completed`` otherwise; ``require_success`` skips statements whose result says
``success: false``. The completion date is the statement's timestamp in Vietnam's time zone.
The grade is the score's ``raw`` on the ``min``–``max`` scale, or the ``scaled`` score as a
percentage. A statement no rule matches, or that lacks what its rule needs, adds nothing to
the trail (it is still stored by the LRS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from contracts.dates import day_in_vietnam
from contracts.vocabulary import Pathway, RecordKind, ResultStatus
from services.learner.xapi.validation import is_iri, parse_timestamp

PASSED = "http://adlnet.gov/expapi/verbs/passed"
Json = Any


class Source(BaseModel):
    """Where a record field comes from: an extension of the statement, or a fixed value."""

    model_config = ConfigDict(extra="forbid")

    extension: str | None = Field(default=None, description="An extension IRI.")
    value: str | float | None = Field(default=None, description="A fixed value.")

    @model_validator(mode="after")
    def _one(self) -> Source:
        if (self.extension is None) == (self.value is None):
            raise ValueError("give exactly one of 'extension' (an IRI) or 'value'")
        if self.extension is not None and not is_iri(self.extension):
            raise ValueError("'extension' must be an absolute IRI")
        return self


class Rule(BaseModel):
    """One way statements become records."""

    model_config = ConfigDict(extra="forbid")

    verbs: list[str] = Field(min_length=1, description="Verb IRIs this rule takes.")
    activity_types: list[str] = Field(
        default_factory=list, description="Activity type IRIs; empty: any activity."
    )
    pathway: Pathway
    kind: RecordKind
    code: Source | None = None
    title: Source | None = None
    hours: Source | None = None
    credits: Source | None = None
    vqf_level: Source | None = None
    require_success: bool = Field(
        default=False, description="Skip statements whose result has success: false."
    )

    @field_validator("verbs", "activity_types")
    @classmethod
    def _iris(cls, values: list[str]) -> list[str]:
        for value in values:
            if not is_iri(value):
                raise ValueError(f"{value!r} is not an absolute IRI")
        return values


class Mapping(BaseModel):
    """A training centre's rules, tried in order."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(max_length=100)


@dataclass(frozen=True)
class Mapped:
    """A statement's record: its content (as ``POST /v1/records`` takes it), or why not."""

    content: dict[str, Json] | None
    reason: str | None = None


def _extension(statement: dict[str, Json], iri: str) -> Json:
    target = statement.get("object") or {}
    holders = [
        ((target.get("definition") or {}).get("extensions") or {}),
        ((statement.get("context") or {}).get("extensions") or {}),
        ((statement.get("result") or {}).get("extensions") or {}),
    ]
    for holder in holders:
        if isinstance(holder, dict) and iri in holder:
            return holder[iri]
    return None


def _take(statement: dict[str, Json], source: Source | None) -> Json:
    if source is None:
        return None
    if source.value is not None:
        return source.value
    assert source.extension is not None
    return _extension(statement, source.extension)


def _name(statement: dict[str, Json]) -> str | None:
    names = ((statement.get("object") or {}).get("definition") or {}).get("name") or {}
    if not isinstance(names, dict) or not names:
        return None
    for wanted in ("vi", "en"):
        for tag, text in names.items():
            if tag.lower().split("-")[0] == wanted:
                return str(text)
    return str(next(iter(names.values())))


def _number(value: Json) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _grade(result: dict[str, Json]) -> tuple[str | None, str | None]:
    score = result.get("score") or {}
    if "raw" in score:
        scale = f"{score['min']:g}-{score['max']:g}" if "min" in score and "max" in score else None
        return f"{score['raw']:g}", scale
    if "scaled" in score:
        return f"{score['scaled'] * 100:g}", "0-100"
    return None, None


def rule_for(statement: dict[str, Json], mapping: Mapping) -> Rule | None:
    """The first rule that takes this statement's verb and activity type."""
    verb = (statement.get("verb") or {}).get("id")
    target = statement.get("object") or {}
    if target.get("objectType", "Activity") != "Activity":
        return None
    activity_type = (target.get("definition") or {}).get("type")
    for rule in mapping.rules:
        if verb in rule.verbs and (not rule.activity_types or activity_type in rule.activity_types):
            return rule
    return None


def map_statement(statement: dict[str, Json], mapping: Mapping, stored: datetime) -> Mapped:
    """The record content a statement makes under the centre's mapping, or why it makes none."""
    rule = rule_for(statement, mapping)
    if rule is None:
        return Mapped(None, "no rule of the centre's mapping takes this verb and activity type")
    result = statement.get("result") or {}
    if rule.require_success and result.get("success") is False:
        return Mapped(None, "the result says success: false")
    verb = statement["verb"]["id"]
    status = (
        ResultStatus.PASSED
        if verb == PASSED or result.get("success") is True
        else ResultStatus.COMPLETED
    )
    at = parse_timestamp(statement.get("timestamp")) or stored
    code = _take(statement, rule.code)
    title = _take(statement, rule.title) or _name(statement) or code
    if not title:
        return Mapped(None, "the activity has no name and the rule gives no title or code")
    content: dict[str, Json] = {
        "pathway": rule.pathway.value,
        "kind": rule.kind.value,
        "title": str(title)[:300],
        "result": {"status": status.value},
        "completed_on": day_in_vietnam(at).isoformat(),
    }
    if code is not None:
        content["code"] = str(code)[:300]
    for field, source in (("hours", rule.hours), ("credits", rule.credits)):
        number = _number(_take(statement, source))
        if number is not None:
            content[field] = number
    level = _number(_take(statement, rule.vqf_level))
    if level is not None and level.is_integer():
        content["vqf_level"] = int(level)
    grade, scale = _grade(result)
    if grade is not None:
        content["result"]["grade"] = grade
        if scale is not None:
            content["result"]["grade_scale"] = scale
    return Mapped(content)
