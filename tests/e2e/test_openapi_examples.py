"""The examples in every service's OpenAPI document (what /docs shows a developer and what
"Try it out" sends) are valid against their own schemas, and the ones about people — names,
titles, places, reasons — are Vietnamese, with their diacritics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.conftest import Stack

SERVICES = ("learner", "credential", "notify")
# keys whose example text is about a person, a place or a course: written in Vietnamese
ABOUT_PEOPLE = {
    "full_name",
    "name",
    "provider_name",
    "title",
    "description",
    "how_to_enrol",
    "outcome_vi",
    "toward",
    "reason",
    "note",
}
VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")
# what a developer reads first: each of these answers and bodies shows a whole example
WITH_EXAMPLES = {
    "learner": {
        "LearnerView",
        "ProfileChange",
        "Provider",
        "ProgrammeView",
        "RecordView",
        "RecordAccepted",
        "BatchSubmission",
    },
    "credential": {"Trail"},
    "notify": {"Inbox", "PreferencesView", "PreferencesInput"},
}


@pytest.fixture(scope="module")
def specs(stack: Stack) -> dict[str, dict[str, Any]]:
    found = {}
    for service in SERVICES:
        answer = httpx.get(f"{getattr(stack.endpoints, service)}/openapi.json", timeout=30)
        assert answer.status_code == 200
        found[service] = answer.json()
    return found


def examples(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (place, schema, example) of an OpenAPI document: a schema's ``examples``, a media
    type's or a parameter's ``example`` and ``examples`` (by value)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from examples(item, f"{where}/{i}")
        return
    if not isinstance(node, dict):
        return
    is_schema_examples = isinstance(node.get("examples"), list)
    if is_schema_examples:  # a JSON Schema: its examples are instances of itself
        schema = {k: v for k, v in node.items() if k != "examples"}
        for i, value in enumerate(node["examples"]):
            yield f"{where}/examples/{i}", schema, value
    if "schema" in node and ("example" in node or isinstance(node.get("examples"), dict)):
        if "example" in node:  # a media type or a parameter
            yield f"{where}/example", node["schema"], node["example"]
        for name, named in (node.get("examples") or {}).items():
            yield f"{where}/examples/{name}", node["schema"], named["value"]
    for key, value in node.items():
        if key in ("example", "examples") and (is_schema_examples or "schema" in node):
            continue
        yield from examples(value, f"{where}/{key}")


def texts_about_people(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "name" and "homePage" in value:
                continue  # an xAPI account's name is the login id on that site, not a name
            yield from texts_about_people(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from texts_about_people(item, key)
    elif isinstance(value, str) and key in ABOUT_PEOPLE:
        yield key, value


@pytest.mark.parametrize("service", SERVICES)
def test_every_example_is_valid_against_its_schema(
    specs: dict[str, dict[str, Any]], service: str
) -> None:
    spec = specs[service]
    found = list(examples(spec))
    assert found, f"{service}: no examples at all"
    invalid = []
    for where, schema, value in found:
        # the schema with the document's components beside it, so "#/components/..." resolves
        rooted = {**schema, "components": spec.get("components", {})}
        validator = Draft202012Validator(rooted, format_checker=FormatChecker())
        for error in validator.iter_errors(value):
            invalid.append(f"{where}: {error.message} at {list(error.absolute_path)}")
    assert invalid == []


@pytest.mark.parametrize("service", SERVICES)
def test_the_main_bodies_and_answers_show_a_whole_example(
    specs: dict[str, dict[str, Any]], service: str
) -> None:
    schemas = specs[service]["components"]["schemas"]
    without = sorted(n for n in WITH_EXAMPLES[service] if not schemas[n].get("examples"))
    assert without == []
    submit = specs["learner"]["paths"]["/v1/records"]["post"]["requestBody"]["content"]
    assert submit["application/json"]["example"]["learner"]["full_name"]


@pytest.mark.parametrize("service", SERVICES)
def test_examples_about_people_are_vietnamese(
    specs: dict[str, dict[str, Any]], service: str
) -> None:
    shown = []
    for where, _, value in examples(specs[service]):
        # a field's own examples carry no key: take it from where they sit
        field = re.search(r"/properties/([^/]+)(?:/anyOf/\d+)?/examples/\d+$", where)
        key = field.group(1) if field and isinstance(value, str) else ""
        shown.extend(texts_about_people(value, key))
    assert shown, f"{service}: no example names a person, a place or a course"
    english = [f"{key}={text!r}" for key, text in shown if not VIETNAMESE.search(text.lower())]
    assert english == []
