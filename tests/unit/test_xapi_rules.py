"""The xAPI 2.0 statement rules and the statements-to-records mapping, without I/O.

Cases are written from IEEE 9274.1.1 (xAPI 2.0) Part Two, Data: 2.2 (formatting), 2.3.1
(statement comparison), 2.4.x (properties), 4.x (language maps, timestamps, durations).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.common.problems import Problem
from services.learner.xapi.activities import activity_object, definitions_in, merged_definitions
from services.learner.xapi.documents import check_preconditions
from services.learner.xapi.mapping import Mapping, map_statement
from services.learner.xapi.validation import (
    agent_key,
    canonical,
    fingerprint,
    ids_only,
    is_duration,
    is_language_tag,
    normalised,
    parse_timestamp,
    statement_activities,
    statement_agents,
    statement_errors,
    statement_target,
)

VERBS = "http://adlnet.gov/expapi/verbs/"


def statement(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "12345678-1234-4678-9234-567812345678",
        "actor": {"mbox": "mailto:xapi@example.org"},
        "verb": {"id": VERBS + "created", "display": {"en-US": "created"}},
        "object": {"id": "https://example.org/xapi/activity"},
    }
    base.update(changes)
    return base


def test_the_simplest_statement_is_valid() -> None:
    assert statement_errors(statement()) == []


@pytest.mark.parametrize(
    "tag", ["en", "en-US", "vi", "zh-Hant-TW", "sr-Latn-RS", "es-419", "x-private", "de-CH-1901"]
)
def test_language_tags_of_rfc_5646_are_accepted(tag: str) -> None:
    assert is_language_tag(tag)


@pytest.mark.parametrize("tag", ["", "english!", "en_US", "e", "en-", "123"])
def test_malformed_language_tags_are_refused(tag: str) -> None:
    assert not is_language_tag(tag)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-15T09:30:00Z", datetime(2025, 3, 15, 9, 30, tzinfo=UTC)),
        ("2025-03-15T16:30:00+07:00", datetime(2025, 3, 15, 9, 30, tzinfo=UTC)),
        ("2025-03-15T16:30:00+0700", datetime(2025, 3, 15, 9, 30, tzinfo=UTC)),
        ("2025-03-15T09:30:00.123456789Z", datetime(2025, 3, 15, 9, 30, 0, 123456, tzinfo=UTC)),
        ("2025-03-15T09:30:00", datetime(2025, 3, 15, 9, 30, tzinfo=UTC)),
    ],
)
def test_iso_8601_timestamps_are_read_as_points_in_time(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["2025-03-15", "15/03/2025", "2025-03-15T09:30:00-00:00", "2025-13-01T00:00:00Z", ""]
)
def test_malformed_timestamps_are_refused(text: str) -> None:
    assert parse_timestamp(text) is None


@pytest.mark.parametrize("text", ["PT1H30M", "P3D", "P1W", "PT0.5S", "P1Y2M3DT4H5M6S"])
def test_iso_8601_durations(text: str) -> None:
    assert is_duration(text)


@pytest.mark.parametrize("text", ["P", "PT", "1H", "PT1H30", "P1DT", "90 minutes"])
def test_malformed_durations(text: str) -> None:
    assert not is_duration(text)


# each statement breaks one rule of xAPI 2.0 (also run through an independent validator by
# tests/e2e/test_xapi_independent_check.py)
BROKEN_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("null", {"result": {"response": None}}, "result.response"),
    ("number as string", {"result": {"score": {"scaled": "0.5"}}}, "result.score.scaled"),
    ("bool as string", {"result": {"completion": "true"}}, "result.completion"),
    ("uuid", {"id": "not-a-uuid"}, "id"),
    ("uuid variant", {"id": "12345678-1234-4678-1234-567812345678"}, "id"),
    ("openid not an iri", {"actor": {"openid": "me"}}, "actor.openid"),
    ("sha1", {"actor": {"mbox_sha1sum": "abc"}}, "actor.mbox_sha1sum"),
    (
        "account without name",
        {"actor": {"account": {"homePage": "https://a"}}},
        "actor.account.name",
    ),
    ("verb without id", {"verb": {"display": {"en": "x"}}}, "verb.id"),
    ("display not a map", {"verb": {"id": VERBS + "x", "display": "x"}}, "verb.display"),
    ("scaled below -1", {"result": {"score": {"scaled": -1.01}}}, "result.score.scaled"),
    ("raw below min", {"result": {"score": {"raw": -1, "min": 0}}}, "result.score.raw"),
    ("max equals min", {"result": {"score": {"min": 1, "max": 1}}}, "result.score.max"),
    (
        "context agents",
        {"context": {"contextAgents": [{"objectType": "Agent"}]}},
        "context.contextAgents[0]",
    ),
    (
        "relevant types empty",
        {
            "context": {
                "contextGroups": [
                    {
                        "objectType": "contextGroup",
                        "group": {"objectType": "Group", "mbox": "mailto:g@example.org"},
                        "relevantTypes": [],
                    }
                ]
            }
        },
        "relevantTypes",
    ),
    ("extension key", {"result": {"extensions": {"not-an-iri": 1}}}, "result.extensions"),
    (
        "team not a group",
        {"context": {"team": {"mbox": "mailto:t@example.org"}}},
        "context.team",
    ),
    (
        "choices on a true-false",
        {
            "object": {
                "id": "https://a.org/q",
                "definition": {"interactionType": "true-false", "choices": [{"id": "a"}]},
            }
        },
        "object.definition.choices",
    ),
    (
        "duplicate choice ids",
        {
            "object": {
                "id": "https://a.org/q",
                "definition": {
                    "interactionType": "choice",
                    "choices": [{"id": "a"}, {"id": "a"}],
                },
            }
        },
        "object.definition.choices[1].id",
    ),
    (
        "authority group of three",
        {
            "authority": {
                "objectType": "Group",
                "member": [{"mbox": f"mailto:{n}@example.org"} for n in range(3)],
            }
        },
        "authority.member",
    ),
    ("agent object without objectType", {"object": {"mbox": "mailto:a@example.org"}}, "object"),
]


@pytest.mark.parametrize(
    ("why", "changes", "path"), BROKEN_RULES, ids=[w for w, _, _ in BROKEN_RULES]
)
def test_rules_name_the_offending_path(why: str, changes: dict[str, Any], path: str) -> None:
    errors = statement_errors(statement(**changes))
    assert any(path in e for e in errors), (why, errors)


def test_nulls_inside_extensions_are_allowed() -> None:
    assert statement_errors(statement(result={"extensions": {"https://a.org/e": None}})) == []


def test_context_activities_become_arrays() -> None:
    single = {"id": "https://a.org/course"}
    kept = normalised(statement(context={"contextActivities": {"parent": single}}))
    assert kept["context"]["contextActivities"]["parent"] == [single]


def test_comparison_ignores_what_the_lrs_assigns_and_timestamp_serialisation() -> None:
    first = statement(timestamp="2025-03-15T16:30:00+07:00")
    same = {
        **first,
        "timestamp": "2025-03-15T09:30:00.000Z",
        "stored": "2025-03-16T00:00:00Z",
        "version": "2.0.0",
        "authority": {"mbox": "mailto:lrs@example.org"},
    }
    assert fingerprint(first) == fingerprint(same)
    assert fingerprint(first) != fingerprint({**first, "verb": {"id": VERBS + "attempted"}})
    assert fingerprint(statement(result={"duration": "PT1H"})) != fingerprint(
        statement(result={"duration": "PT60M"})  # durations compare as strings (2.3.1)
    )
    members = [{"mbox": "mailto:a@example.org"}, {"mbox": "mailto:b@example.org"}]
    group = {"objectType": "Group", "member": members}
    swapped = {"objectType": "Group", "member": members[::-1]}
    assert fingerprint(statement(actor=group)) == fingerprint(statement(actor=swapped))


def test_agents_and_activities_of_a_statement() -> None:
    instructor = {"mbox": "mailto:teacher@example.org"}
    s = statement(
        context={
            "instructor": instructor,
            "contextActivities": {"parent": [{"id": "https://a.org/course"}]},
        }
    )
    direct, related = statement_agents(s)
    assert direct == ["mbox:mailto:xapi@example.org"]
    assert set(related) == {"mbox:mailto:xapi@example.org", "mbox:mailto:teacher@example.org"}
    activity, activities = statement_activities(s)
    assert activity == ["https://example.org/xapi/activity"]
    assert set(activities) == {"https://example.org/xapi/activity", "https://a.org/course"}
    assert agent_key({"account": {"homePage": "https://m.org", "name": "42"}}) == (
        "account:https://m.org|42"
    )


def test_the_target_of_a_statement_is_its_statement_ref_object_only() -> None:
    target = str(uuid.uuid4()).upper()
    assert (
        statement_target(statement(object={"objectType": "StatementRef", "id": target}))
        == target.lower()
    )
    assert statement_target(statement()) is None
    in_context = statement(context={"statement": {"objectType": "StatementRef", "id": target}})
    assert statement_target(in_context) is None


def test_formats() -> None:
    s = statement(
        verb={"id": VERBS + "completed", "display": {"en-US": "completed", "vi": "hoàn thành"}},
        object={"id": "https://a.org/x", "definition": {"name": {"en": "X"}}},
    )
    assert ids_only(s)["verb"] == {"id": VERBS + "completed"}
    assert ids_only(s)["object"] == {"id": "https://a.org/x"}
    assert canonical(s, ["vi"])["verb"]["display"] == {"vi": "hoàn thành"}
    assert canonical(s, [])["verb"]["display"] == {"en-US": "completed"}


# concurrency (Communication 3.1)


def _status(current: dict[str, Any] | None, **headers: Any) -> int:
    try:
        check_preconditions(
            current, headers.get("if_match"), headers.get("if_none_match"), headers.get("put", True)
        )
    except Problem as problem:
        return problem.status
    return 204


def test_preconditions() -> None:
    doc = {"etag": "abc"}
    assert _status(None) == 204
    assert _status(doc) == 409  # a blind PUT over a document
    assert _status(doc, put=False) == 204  # a POST or DELETE may go without
    assert _status(doc, if_match='"abc"') == 204
    assert _status(doc, if_match='"other"') == 412
    assert _status(None, if_match='"abc"') == 412
    assert _status(doc, if_none_match="*") == 412
    assert _status(None, if_none_match="*") == 204


# the mapping

MAPPING = Mapping.model_validate(
    {
        "rules": [
            {
                "verbs": [VERBS + "completed", VERBS + "passed"],
                "activity_types": ["http://adlnet.gov/expapi/activities/course"],
                "pathway": "online",
                "kind": "course",
                "code": {"extension": "https://lt.vn/code"},
                "hours": {"extension": "https://lt.vn/hours"},
                "vqf_level": {"value": 2},
                "require_success": True,
            }
        ]
    }
)


def course(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "verb": {"id": VERBS + "completed"},
        "object": {
            "id": "https://lms.org/course/1",
            "definition": {
                "type": "http://adlnet.gov/expapi/activities/course",
                "name": {"en-US": "Office", "vi": "Tin học văn phòng"},
                "extensions": {"https://lt.vn/code": "THVP-01"},
            },
        },
        "context": {"extensions": {"https://lt.vn/hours": "45"}},
        "timestamp": "2025-06-20T20:00:00+00:00",
    }
    return statement(**{**base, **changes})


def test_a_completion_maps_to_a_record() -> None:
    mapped = map_statement(course(), MAPPING, datetime.now(UTC))
    assert mapped.content == {
        "pathway": "online",
        "kind": "course",
        "title": "Tin học văn phòng",
        "code": "THVP-01",
        "hours": 45.0,
        "vqf_level": 2,
        "result": {"status": "completed"},
        "completed_on": date(2025, 6, 21).isoformat(),  # 03:00 the next day in Vietnam
    }


def test_passed_with_a_score() -> None:
    mapped = map_statement(
        course(verb={"id": VERBS + "passed"}, result={"score": {"raw": 8.5, "min": 0, "max": 10}}),
        MAPPING,
        datetime.now(UTC),
    )
    assert mapped.content is not None
    assert mapped.content["result"] == {"status": "passed", "grade": "8.5", "grade_scale": "0-10"}


@pytest.mark.parametrize(
    "changes",
    [
        {"verb": {"id": VERBS + "attempted"}},
        {"result": {"success": False}},
        {"object": {"id": "https://lms.org/lesson", "definition": {"type": "https://other"}}},
        {"object": {"objectType": "Agent", "mbox": "mailto:a@example.org"}},
    ],
)
def test_statements_the_mapping_does_not_take(changes: dict[str, Any]) -> None:
    mapped = map_statement(course(**changes), MAPPING, datetime.now(UTC))
    assert mapped.content is None and mapped.reason


def test_a_mapping_rule_refuses_bad_iris_and_ambiguous_sources() -> None:
    with pytest.raises(ValueError, match="IRI"):
        Mapping.model_validate(
            {"rules": [{"verbs": ["completed"], "pathway": "online", "kind": "course"}]}
        )
    with pytest.raises(ValueError, match="exactly one"):
        Mapping.model_validate(
            {
                "rules": [
                    {
                        "verbs": [VERBS + "completed"],
                        "pathway": "online",
                        "kind": "course",
                        "code": {"extension": "https://a.org/c", "value": "X"},
                    }
                ]
            }
        )


def test_activity_definitions_merge_language_maps_and_extensions() -> None:
    a = "https://a.org/course"
    s1 = statement(
        object={"id": a, "definition": {"name": {"en": "A"}, "extensions": {"https://x": 1}}},
        context={"contextActivities": {"grouping": [{"id": "https://a.org/g"}]}},
    )
    s2 = statement(object={"id": a, "definition": {"name": {"vi": "Á"}, "type": "https://t.org/1"}})
    s3 = statement(object={"id": a, "definition": {"type": "https://t.org/2"}})
    assert [i for i, _ in definitions_in(s1)] == [a]  # the grouping defines nothing
    changed = merged_definitions({}, [s1, s2, s3])
    assert changed == {
        a: {
            "name": {"en": "A", "vi": "Á"},
            "extensions": {"https://x": 1},
            "type": "https://t.org/2",
        }
    }
    assert merged_definitions(changed, [s3]) == {}  # nothing new: nothing to write
    sub = statement(
        object={
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:x@example.org"},
            "verb": {"id": VERBS + "completed"},
            "object": {"id": "https://a.org/sub", "definition": {"name": {"en": "S"}}},
        }
    )
    assert list(definitions_in(sub)) == [("https://a.org/sub", {"name": {"en": "S"}})]
    assert activity_object(a, None) == {"objectType": "Activity", "id": a}
