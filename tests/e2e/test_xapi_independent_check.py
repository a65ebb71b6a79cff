"""An independent check of the LRS's statement rules: Learning Locker's xAPI validation
(``@learninglocker/xapi-validation``, conformance-tested for xAPI 1.0.3, installed from the
npm registry by ``cli.localstack.install_xapi_validation``) and our LRS on the real stack
judge the same corpus — the good and bad statements of our own tests — and must agree, but
where xAPI 2.0 differs from 1.0.3 or the library is knowingly laxer (``DISAGREEMENTS``)."""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

import httpx
import pytest

from cli.localstack import install_xapi_validation
from tests.conftest import Stack, new_provider
from tests.e2e.test_xapi import INVALID, VERBS, Lrs, agent, moodle_completion, open_edx_passed
from tests.e2e.test_xapi import statement as new_statement
from tests.unit.test_xapi_rules import BROKEN_RULES
from tests.unit.test_xapi_rules import statement as unit_statement

pytestmark = pytest.mark.stack


def corpus() -> list[tuple[str, dict[str, Any], bool]]:
    """(name, statement, whether xAPI 2.0 accepts it)."""
    good: list[tuple[str, dict[str, Any]]] = [
        ("simplest", new_statement()),
        ("moodle completion", moodle_completion("42", 7)),
        ("open edx passed", open_edx_passed(uuid.uuid4().hex)),
        ("unit base", unit_statement(id=str(uuid.uuid4()))),
        ("null in extensions", new_statement(result={"extensions": {"https://a.org/e": None}})),
        (
            "single context activity",
            new_statement(context={"contextActivities": {"parent": {"id": "https://a.org/c"}}}),
        ),
        (
            "statement ref",
            new_statement(object={"objectType": "StatementRef", "id": str(uuid.uuid4())}),
        ),
        (
            "voiding",
            new_statement(
                verb={"id": VERBS + "voided"},
                object={"objectType": "StatementRef", "id": str(uuid.uuid4())},
            ),
        ),
        (
            "score and duration",
            new_statement(
                result={
                    "score": {"scaled": 0.8, "raw": 8, "min": 0, "max": 10},
                    "success": True,
                    "completion": True,
                    "duration": "PT1H30M",
                }
            ),
        ),
        (
            "2.0 context agents and groups",
            new_statement(
                context={
                    "contextAgents": [
                        {
                            "objectType": "contextAgent",
                            "agent": agent(),
                            "relevantTypes": ["https://example.org/types/instructor"],
                        }
                    ],
                    "contextGroups": [
                        {
                            "objectType": "contextGroup",
                            "group": {"objectType": "Group", "member": [agent()]},
                        }
                    ],
                }
            ),
        ),
        (
            "group actor",
            new_statement(
                actor={"objectType": "Group", "name": "Team", "member": [agent(), agent()]}
            ),
        ),
    ]
    bad = [(f"e2e: {why}", s) for why, s in INVALID]
    bad += [
        (f"unit: {why}", unit_statement(**{"id": str(uuid.uuid4()), **changes}))
        for why, changes, _ in BROKEN_RULES
    ]
    return [(n, s, True) for n, s in good] + [(n, s, False) for n, s in bad]


def learning_locker(statements: list[dict[str, Any]]) -> list[list[str]]:
    """Learning Locker's warnings for each statement (none: it accepts it)."""
    script = install_xapi_validation()
    done = subprocess.run(
        ["node", str(script)],
        input=json.dumps(statements),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=script.parent,
    )
    found: list[list[str]] = json.loads(done.stdout)
    return found


# Where Learning Locker's validation judges otherwise than xAPI 2.0, and why; each must
# still differ (a library that changed its mind would make the entry wrong).
DISAGREEMENTS = {
    "2.0 context agents and groups": "contextAgents and contextGroups are new in xAPI 2.0; "
    "the library knows 1.0.3 only and refuses them as unknown keys",
    "single context activity": "xAPI (1.0.3 and 2.0) lets a context activity come as one "
    "object, which the LRS returns as an array; the library refuses it",
    "e2e: group member is a group": "the library lets a Group's member be a Group; the spec "
    "says members are Agents",
    "e2e: attachment without fileUrl": "an attachment without fileUrl needs its content in "
    "a multipart part: a rule of the request (Communication 1.5), not of the statement, so "
    "a statement validator cannot see it",
    "unit: max equals min": "the library lets score.max equal min; the spec says max is "
    "greater than min",
    "unit: team not a group": "the library lets context.team be an Agent; the spec says a Group",
    "unit: duplicate choice ids": "the library lets interaction components repeat an id; "
    "the spec says ids within a list are distinct",
}


async def test_learning_lockers_validation_and_ours_agree(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    lrs = Lrs(http, stack, await new_provider(http, stack))
    cases = corpus()
    theirs = learning_locker([s for _, s, _ in cases])
    agreed = 0
    for (name, sent, valid), warnings in zip(cases, theirs, strict=True):
        response = await lrs.post(sent)
        assert response.status_code == (200 if valid else 400), (name, response.text)
        if name in DISAGREEMENTS:
            assert (not warnings) != valid, (name, "now agrees; drop it from DISAGREEMENTS")
        else:
            assert (not warnings) == valid, (name, warnings)
            agreed += 1
    assert agreed == len(cases) - len(DISAGREEMENTS)
    assert set(DISAGREEMENTS) <= {name for name, _, _ in cases}
