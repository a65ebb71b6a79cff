"""JSON Schemas and the AsyncAPI 3 document generated from the models, and the compatibility rule.

Within a major version only optional fields may be added. :func:`incompatibilities` compares a
committed schema with a freshly generated one and lists every change that would break a
consumer or a producer written against the committed one.
"""

from __future__ import annotations

from typing import Any

from contracts.catalogue import EVENT_TYPES, TOPICS
from contracts.envelope import SPEC_VERSION

Schema = dict[str, Any]


def event_schemas() -> dict[str, Schema]:
    """The JSON Schema (draft 2020-12) of each event type's data, by event type."""
    schemas: dict[str, Schema] = {}
    for event in EVENT_TYPES:
        schema = event.data.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://learningtrail.vn/schemas/{event.name}.json"
        schemas[event.name] = schema
    return schemas


def asyncapi_document() -> Schema:
    """An AsyncAPI 3.0 document of every topic and the event types it carries."""
    schemas = event_schemas()
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in TOPICS:
        channel_messages = {}
        for event in (e for e in EVENT_TYPES if e.topic == topic.name):
            name = event.data.__name__
            messages[name] = {
                "name": event.name,
                "title": name,
                "summary": (event.data.__doc__ or "").strip().splitlines()[0],
                "contentType": "application/json",
                "headers": {
                    "type": "object",
                    "required": ["ce_id", "ce_type", "ce_source", "ce_subject", "ce_time"],
                    "properties": {
                        "ce_id": {"type": "string", "description": "UUIDv7"},
                        "ce_type": {"const": event.name},
                        "ce_source": {"type": "string"},
                        "ce_subject": {"type": "string"},
                        "ce_time": {"type": "string", "format": "date-time"},
                        "ce_specversion": {"const": SPEC_VERSION},
                        "ce_traceparent": {"type": "string"},
                    },
                },
                "payload": schemas[event.name],
                "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}}},
            }
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channels[topic.name] = {
            "address": topic.name,
            "description": ("compacted; " if topic.compacted else "") + f"keyed by {topic.key}",
            "messages": channel_messages,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Learning Trail events",
            "version": "1.0.0",
            "description": "Every event the Learning Trail services exchange over Kafka.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages},
    }


def incompatibilities(old: Schema, new: Schema, path: str = "") -> list[str]:
    """List the changes from ``old`` to ``new`` that break readers or writers of ``old``.

    Breaking: a property removed, a type changed, a new required property, a property that
    became required, an enum value removed, a constraint tightened. Adding optional properties
    and enum values is allowed.
    """
    problems: list[str] = []
    old_n, new_n = _resolve(old, old), _resolve(new, new)
    _compare(old, new, old_n, new_n, path or "$", problems)
    return problems


def _resolve(root: Schema, node: Schema) -> Schema:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root, root.get("$defs", {})[ref.removeprefix("#/$defs/")])
    return node


def _variants(root: Schema, node: Schema) -> list[Schema]:
    node = _resolve(root, node)
    if "anyOf" in node:
        return [_resolve(root, v) for v in node["anyOf"]]
    return [node]


def _type_of(node: Schema) -> str:
    if "enum" in node or "const" in node:
        return "enum"
    return str(node.get("type", "any"))


def _compare(
    old_root: Schema, new_root: Schema, old: Schema, new: Schema, path: str, out: list[str]
) -> None:
    old_vs, new_vs = _variants(old_root, old), _variants(new_root, new)
    new_types = {_type_of(v): v for v in new_vs}
    for ov in old_vs:
        kind = _type_of(ov)
        nv = new_types.get(kind)
        if nv is None:
            out.append(f"{path}: type {kind} no longer accepted")
            continue
        if kind == "enum":
            old_vals = set(ov.get("enum", [ov.get("const")]))
            new_vals = set(nv.get("enum", [nv.get("const")]))
            if missing := old_vals - new_vals:
                out.append(f"{path}: enum values removed: {sorted(map(str, missing))}")
        for bound in ("minimum", "minLength", "minItems"):
            if bound in nv and nv[bound] > ov.get(bound, float("-inf")):
                out.append(f"{path}: {bound} tightened")
        for bound in ("maximum", "maxLength", "maxItems"):
            if bound in nv and nv[bound] < ov.get(bound, float("inf")):
                out.append(f"{path}: {bound} tightened")
        if "pattern" in nv and nv.get("pattern") != ov.get("pattern"):
            out.append(f"{path}: pattern changed")
        if kind == "object":
            old_props, new_props = ov.get("properties", {}), nv.get("properties", {})
            old_req, new_req = set(ov.get("required", [])), set(nv.get("required", []))
            for name in old_props:
                if name not in new_props:
                    out.append(f"{path}.{name}: property removed")
                else:
                    _compare(
                        old_root, new_root, old_props[name], new_props[name], f"{path}.{name}", out
                    )
            for name in sorted(new_req - old_req):
                out.append(f"{path}.{name}: became required")
        if kind == "array" and "items" in ov and "items" in nv:
            _compare(old_root, new_root, ov["items"], nv["items"], f"{path}[]", out)
