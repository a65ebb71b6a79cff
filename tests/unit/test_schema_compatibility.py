"""Committed JSON Schemas match the models, and no change breaks a v1 reader or writer."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from contracts.schemas import asyncapi_document, event_schemas, incompatibilities

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
RELEASED = SCHEMAS / "released"  # as the last release had them; never regenerated
FIX = "run 'uv run trail contracts generate' and commit contracts/schemas"


@pytest.mark.parametrize("path", sorted(RELEASED.glob("vn.*.json")), ids=lambda p: p.stem)
def test_every_released_event_type_is_still_compatible(path: Path) -> None:
    """Against the schemas of the last release, not the committed ones a regeneration
    rewrites with the change: a breaking change cannot slip through by being regenerated."""
    generated = event_schemas()
    assert path.stem in generated, f"{path.stem} was released; it cannot disappear"
    released = json.loads(path.read_text())
    assert incompatibilities(released, generated[path.stem]) == [], (
        f"{path.stem} changed incompatibly since the last release: publish a .v2 type"
    )


def test_the_released_schemas_are_there() -> None:
    """A missing folder would make the check above pass vacuously."""
    assert len(list(RELEASED.glob("vn.*.json"))) >= 10  # the types of the first release


@pytest.mark.parametrize("event_type", sorted(event_schemas()))
def test_committed_schema_is_current_and_compatible(event_type: str) -> None:
    path = SCHEMAS / f"{event_type}.json"
    assert path.exists(), f"{path.name} is not committed; {FIX}"
    committed = json.loads(path.read_text())
    generated = event_schemas()[event_type]
    assert incompatibilities(committed, generated) == [], (
        f"{event_type} changed incompatibly: a breaking change needs a new .v2 type"
    )
    assert committed == generated, f"{path.name} is out of date; {FIX}"


def test_committed_asyncapi_is_current() -> None:
    committed = json.loads((SCHEMAS / "asyncapi.json").read_text())
    assert committed == asyncapi_document(), f"asyncapi.json is out of date; {FIX}"


def _record_schema() -> dict[str, Any]:
    return copy.deepcopy(event_schemas()["vn.learningtrail.records.learning_record.recorded.v1"])


def test_adding_an_optional_field_is_compatible() -> None:
    old = _record_schema()
    new = _record_schema()
    new["properties"]["remarks"] = {"type": "string"}
    assert incompatibilities(old, new) == []


def test_removing_a_field_is_caught() -> None:
    old, new = _record_schema(), _record_schema()
    del new["properties"]["hours"]
    assert incompatibilities(old, new) == ["$.hours: property removed"]


def test_a_new_required_field_is_caught() -> None:
    old, new = _record_schema(), _record_schema()
    new["properties"]["remarks"] = {"type": "string"}
    new["required"].append("remarks")
    assert incompatibilities(old, new) == ["$.remarks: became required"]


def test_changing_a_type_is_caught() -> None:
    old, new = _record_schema(), _record_schema()
    new["properties"]["title"] = {"type": "integer"}
    assert "$.title: type string no longer accepted" in incompatibilities(old, new)


def test_removing_an_enum_value_is_caught() -> None:
    old, new = _record_schema(), _record_schema()
    new["$defs"]["Pathway"]["enum"].remove("literacy")
    assert incompatibilities(old, new) == ["$.pathway: enum values removed: ['literacy']"]


def test_tightening_a_bound_is_caught() -> None:
    old, new = _record_schema(), _record_schema()
    for variant in new["properties"]["credits"]["anyOf"]:
        if variant.get("type") == "number":
            variant["maximum"] = 100
    assert incompatibilities(old, new) == ["$.credits: maximum tightened"]
