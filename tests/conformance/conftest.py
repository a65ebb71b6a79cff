"""Conformance tests: Learning Trail's credentials against the published test vectors, the
reference validator's fixtures and schemas (in ``../shared/conformance``, read-only) and the
runtime contexts fetched from PyPI into ``.cache/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.credential.vc.contexts import ensure_assets, loader_from_files, runtime_loader
from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.schemas import SchemaSet, load_schemas, runtime_schemas

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
if not SHARED.is_dir():
    # No skip: without the published material these tests would prove nothing.
    raise RuntimeError(f"conformance material missing: {SHARED} (see shared/conformance/README.md)")

W3C = SHARED / "w3c-vc-di-eddsa"
OB3 = SHARED / "1edtech-ob3" / "ob_v3p0"
VALIDATOR = SHARED / "1edtech-validator"
OB30_FIXTURES = VALIDATOR / "inspector-vc" / "src" / "test" / "resources" / "ob30"
CLR20_FIXTURES = VALIDATOR / "inspector-clr" / "src" / "test" / "resources" / "clr20"
VALIDATOR_CONTEXTS = VALIDATOR / "inspector-vc" / "src" / "main" / "resources" / "contexts"
DRAFT4_SCHEMAS = (
    VALIDATOR
    / "inspector-tcp-vc/src/main/resources/catalog"
    / "www.hropenstandards.org/recruiting/json/ler-rs/1EdTech"
)


def read_json(path: Path) -> Any:
    """A JSON file's content."""
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    """The project's ``.cache/`` with the runtime contexts and schemas fetched from PyPI."""
    return ensure_assets()


@pytest.fixture(scope="session")
def loader(cache_dir: Path) -> LocalDocumentLoader:
    """The loader the service uses at run time."""
    return runtime_loader(cache_dir)


@pytest.fixture(scope="session")
def w3c_loader() -> LocalDocumentLoader:
    """VC 2.0 (bundled with pyld) and the W3C examples context the vectors use."""
    return loader_from_files(
        {
            "https://www.w3.org/ns/credentials/examples/v2": W3C
            / "contexts"
            / "credentials-examples-v2.jsonld"
        }
    )


@pytest.fixture(scope="session")
def schemas(cache_dir: Path) -> SchemaSet:
    """The runtime OB 3.0 schema (VC 2.0-era, from PyPI) and — no registry package ships
    one — the reference validator's CLR 2.0 ClrCredential schema."""
    found = runtime_schemas(cache_dir, DRAFT4_SCHEMAS)
    assert found.achievement_credential is not None
    assert found.clr_credential is not None
    return found


@pytest.fixture(scope="session")
def draft4_schemas() -> SchemaSet:
    """The reference validator's draft-04 OB 3.0 and CLR 2.0 schemas."""
    found = load_schemas(DRAFT4_SCHEMAS)
    assert found.achievement_credential is not None
    assert found.clr_credential is not None
    return found
