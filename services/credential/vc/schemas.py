"""JSON Schema validation of OB 3.0 AchievementCredentials and CLR 2.0 ClrCredentials.

1EdTech publishes its schemas in two generations: the VC 1.1-era ones (draft-04 copies are
what the reference validator's catalogue holds), which require ``issuanceDate`` and close
``CredentialStatus`` to ``id`` and ``type``; and the VC 2.0-era ones (draft 2019-09), which
require ``validFrom`` and leave ``CredentialStatus`` open. A VC 2.0 credential cannot satisfy
the older generation — the VC 2.0 context does not even define ``issuanceDate``, and a
``BitstringStatusListEntry`` needs ``statusPurpose``, ``statusListIndex`` and
``statusListCredential`` — so a VC 1.1-era schema is applied to a VC 2.0 document with exactly
the changes the VC 2.0-era schema made (``validFrom`` for ``issuanceDate``, an open
``CredentialStatus``, and the ``name`` identity type), which are reported with the result.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, Draft7Validator, Draft201909Validator, Draft202012Validator
from jsonschema.protocols import Validator

from services.credential.vc.contexts import default_cache_dir

OB_ACHIEVEMENT_CREDENTIAL = "ob_v3p0_achievementcredential_schema"
CLR_CREDENTIAL = "clr_v2p0_clrcredential_schema"
VC_V2 = "https://www.w3.org/ns/credentials/v2"

_VALIDATORS: Mapping[str, type[Validator]] = {
    "http://json-schema.org/draft-04/schema#": Draft4Validator,
    "http://json-schema.org/draft-07/schema#": Draft7Validator,
    "https://json-schema.org/draft/2019-09/schema#": Draft201909Validator,
    "https://json-schema.org/draft/2019-09/schema": Draft201909Validator,
    "https://json-schema.org/draft/2020-12/schema": Draft202012Validator,
}


@dataclass(frozen=True)
class NamedSchema:
    """A schema and where it came from (its file name)."""

    name: str
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class SchemaSet:
    """The schemas a verifier applies; a missing one makes that check ``skipped``."""

    achievement_credential: NamedSchema | None = None
    clr_credential: NamedSchema | None = None


@dataclass(frozen=True)
class SchemaOutcome:
    """What validating one document gave: the violations (empty when valid) and the
    adaptations made to a VC 1.1-era schema."""

    schema: str
    errors: tuple[str, ...]
    adaptations: tuple[str, ...] = field(default_factory=tuple)


def _find(directory: Path, stem: str) -> Path | None:
    matches = sorted(p for p in directory.rglob(f"{stem}*.json") if p.is_file())
    return matches[0] if matches else None


def load_schemas(*directories: Path) -> SchemaSet:
    """The OB 3.0 AchievementCredential and CLR 2.0 ClrCredential schemas found (by file
    name, searching sub-folders) in the given directories; the first directory that has one
    wins."""
    found: dict[str, NamedSchema] = {}
    for directory in directories:
        for stem in (OB_ACHIEVEMENT_CREDENTIAL, CLR_CREDENTIAL):
            if stem in found or not directory.is_dir():
                continue
            path = _find(directory, stem)
            if path is not None:
                found[stem] = NamedSchema(path.name, json.loads(path.read_text("utf-8")))
    return SchemaSet(
        achievement_credential=found.get(OB_ACHIEVEMENT_CREDENTIAL),
        clr_credential=found.get(CLR_CREDENTIAL),
    )


SHIPPED = Path(__file__).resolve().parent / "schemata"
"""Schemas no registry package ships (the CLR 2.0 ClrCredential's), with their licence."""


def runtime_schemas(cache_dir: Path | None = None, *more: Path) -> SchemaSet:
    """The schemas fetched into ``<cache>/jsonschema/`` (see
    :mod:`services.credential.vc.contexts`), then any other directories given, then those
    shipped with the package (:data:`SHIPPED`)."""
    return load_schemas((cache_dir or default_cache_dir()) / "jsonschema", *more, SHIPPED)


def schema_problems(document: Mapping[str, Any], schemas: SchemaSet) -> list[str]:
    """What keeps an issued CLR (and every achievement credential it embeds) from validating
    against the schemas: ``"<path>: <violation>"``, empty when it validates. A schema that
    is missing is a problem too: nothing is issued unchecked."""
    problems: list[str] = []

    def check(item: Mapping[str, Any], named: NamedSchema | None, path: str, what: str) -> None:
        if named is None:
            problems.append(f"{path}: no {what} schema is available to check it")
            return
        problems.extend(f"{path}: {e}" for e in validate_document(item, named).errors)

    check(document, schemas.clr_credential, "$", "CLR 2.0 ClrCredential")
    subject = document.get("credentialSubject")
    embedded = subject.get("verifiableCredential", []) if isinstance(subject, Mapping) else []
    for i, item in enumerate(embedded):
        path = f"$.credentialSubject.verifiableCredential[{i}]"
        check(item, schemas.achievement_credential, path, "OB 3.0 AchievementCredential")
    return problems


def _subschemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _subschemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from _subschemas(item)


def adapt_to_vc2(schema: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A VC 1.1-era 1EdTech schema made applicable to a VC 2.0 credential: ``issuanceDate``
    required → ``validFrom`` required, and ``CredentialStatus`` open to the status method's
    own properties. Return the schema and the adaptations made (none for a VC 2.0-era
    schema)."""
    adapted = copy.deepcopy(dict(schema))
    changes: list[str] = []
    for sub in _subschemas(adapted):
        required = sub.get("required")
        if isinstance(required, list) and "issuanceDate" in required:
            sub["required"] = ["validFrom" if r == "issuanceDate" else r for r in required]
            if "issuanceDate → validFrom" not in changes:
                changes.append("issuanceDate → validFrom")
    for defs_key in ("$defs", "definitions"):
        defs = adapted.get(defs_key, {})
        status = defs.get("CredentialStatus")
        if isinstance(status, dict) and status.get("additionalProperties") is False:
            status["additionalProperties"] = True
            changes.append("CredentialStatus open to the status method's properties")
        identity_type = defs.get("IdentityObject", {}).get("properties", {}).get("identityType")
        for option in _subschemas(identity_type):
            enum = option.get("enum")
            if isinstance(enum, list) and "sourcedId" in enum and "name" not in enum:
                option["enum"] = ["name", *enum]
                changes.append("identityType 'name' (added by the VC 2.0-era schema)")
    return adapted, tuple(changes)


def validate_document(document: Mapping[str, Any], named: NamedSchema) -> SchemaOutcome:
    """Validate ``document`` against ``named``; a VC 2.0 document is checked against a VC
    1.1-era schema with :func:`adapt_to_vc2`."""
    schema: Mapping[str, Any] = named.schema
    adaptations: tuple[str, ...] = ()
    contexts = document.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    if first == VC_V2:
        schema, adaptations = adapt_to_vc2(schema)
    validator_class = _VALIDATORS.get(str(schema.get("$schema", "")), Draft201909Validator)
    validator = validator_class(schema)
    errors = tuple(
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:300]}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    )
    return SchemaOutcome(schema=named.name, errors=errors, adaptations=adaptations)
