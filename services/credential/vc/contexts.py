"""Where the JSON-LD contexts and JSON Schemas come from at run time.

No network at verification time, and nothing copied into the repository: the OB 3.0, CLR 2.0,
Data Integrity and Multikey contexts and the OB 3.0 AchievementCredential JSON Schema are
fetched once from PyPI — the source distribution of ``openbadgeslib`` (LGPL-3.0), which pins
verbatim copies of the published 1EdTech/W3C files — into the git-ignored ``.cache/``
folder, each file checked against the SHA-256 below. The VC 2.0 and DID 1.0 contexts ship
with pyld (``pyld.BUNDLED_CONTEXTS``).

Fetch them with ``uv run python -m services.credential.vc.contexts`` (or
:func:`ensure_assets`); :func:`runtime_loader` and :func:`runtime_schemas` read them back.
No registry package ships the CLR 2.0 ClrCredential JSON Schema: :func:`load_schemas` takes
any directory holding one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyld import BUNDLED_CONTEXTS

from services.credential.vc.jsonld import LocalDocumentLoader

PACKAGE = "openbadgeslib"
PACKAGE_VERSION = "4.6.3"
SDIST_NAME = f"{PACKAGE}-{PACKAGE_VERSION}.tar.gz"
SDIST_SHA256 = "aec21bf41b223ae3fcd196aa92972e3d3a6b12048f4929b2ceedd5fc54ea1eaf"

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_V3P0_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CLR_V2P0_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"


@dataclass(frozen=True)
class PinnedFile:
    """A file taken from the source distribution: where it is inside, its SHA-256, and the
    name it gets in the cache."""

    member: str
    sha256: str
    name: str


_ROOT = f"{PACKAGE}-{PACKAGE_VERSION}"
CONTEXT_FILES: Mapping[str, PinnedFile] = {
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": PinnedFile(
        f"{_ROOT}/openbadgeslib/ob3/contexts/ob-v3p0-context-3.0.1.json",
        "5f3d9dd6288ef437ff8286cf95ffbff609c748a66f24a1e9450c45ca64be1571",
        "ob-v3p0-context-3.0.1.json",
    ),
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": PinnedFile(
        f"{_ROOT}/openbadgeslib/ob3/contexts/ob-v3p0-context-3.0.2.json",
        "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53",
        "ob-v3p0-context-3.0.2.json",
    ),
    OB_V3P0_CONTEXT: PinnedFile(
        f"{_ROOT}/openbadgeslib/ob3/contexts/ob-v3p0-context-3.0.3.json",
        "3d34f4d4ef1bce691106e63798beb5e7b862ba841423f5ee1e53ab7ddf3bca84",
        "ob-v3p0-context-3.0.3.json",
    ),
    OB_V3P0_EXTENSIONS: PinnedFile(
        f"{_ROOT}/openbadgeslib/ob3/contexts/ob-v3p0-extensions.json",
        "87c06c81bc2317663bf288d740d94fddd2818c4342b186270ff6371dfaa63f93",
        "ob-v3p0-extensions.json",
    ),
    CLR_V2P0_CONTEXT: PinnedFile(
        f"{_ROOT}/openbadgeslib/ob3/contexts/clr_context_2.0.1.json",
        "880f1902d4158f2f33ce06af41b90719977cd1ea337a9de2e41edb3ff5e543d6",
        "clr-v2p0-context-2.0.1.json",
    ),
    DATA_INTEGRITY_V2: PinnedFile(
        f"{_ROOT}/openbadgeslib/ob3/contexts/security-data-integrity-v2.json",
        "67f21e6e33a6c14e5ccfd2fc7865f7474fb71a04af7e94136cb399dfac8ae8f4",
        "security-data-integrity-v2.json",
    ),
    MULTIKEY_V1: PinnedFile(
        f"{_ROOT}/openbadgeslib/ob3/contexts/security-multikey-v1.json",
        "ba2c182de2d92f7e47184bcca8fcf0beaee6d3986c527bf664c195bbc7c58597",
        "security-multikey-v1.json",
    ),
}
"""Context URL → pinned file. The unversioned OB/CLR ``context.json`` URLs are left out on
purpose: what they serve has changed over time, so a signature over them is ambiguous."""

SCHEMA_FILES: tuple[PinnedFile, ...] = (
    PinnedFile(
        f"{_ROOT}/tests/fixtures/ob_schemas/ob_v3p0_achievementcredential_schema.json",
        "b7358e895f492e74055dc6bfc7ffc420d0e497f90c4579fb83d9519b86d393ea",
        "ob_v3p0_achievementcredential_schema.json",
    ),
)

BUNDLED_URLS = (VC_V2, "https://www.w3.org/ns/did/v1")
"""Contexts served from pyld's own bundled copies."""


class AssetsMissingError(RuntimeError):
    """The contexts or schemas are not in the cache; the message says how to fetch them."""


def default_cache_dir() -> Path:
    """The repository's git-ignored ``.cache/`` folder."""
    return Path(__file__).resolve().parents[3] / ".cache"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _all_pinned() -> list[tuple[PinnedFile, str]]:
    return [(f, "jsonld") for f in CONTEXT_FILES.values()] + [
        (f, "jsonschema") for f in SCHEMA_FILES
    ]


def _missing(cache_dir: Path) -> list[Path]:
    missing = []
    for pinned, folder in _all_pinned():
        path = cache_dir / folder / pinned.name
        if not path.is_file() or _sha256(path) != pinned.sha256:
            missing.append(path)
    return missing


def _pip_command() -> list[str]:
    """pip as installed here, or run through uv when the environment has none."""
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    uvx = shutil.which("uvx")
    if uvx:
        return [uvx, "pip"]
    uv = shutil.which("uv")
    if uv:
        return [uv, "tool", "run", "pip"]
    pip = shutil.which("pip3") or shutil.which("pip")
    if pip:
        return [pip]
    raise AssetsMissingError("neither pip nor uv is available to fetch the JSON-LD contexts")


def ensure_assets(cache_dir: Path | None = None) -> Path:
    """Make sure ``<cache>/jsonld/`` and ``<cache>/jsonschema/`` hold the pinned contexts and
    schemas, downloading the ``openbadgeslib`` source distribution from PyPI with pip if
    they do not. Return the cache directory. Every file is checked against its SHA-256."""
    cache = cache_dir or default_cache_dir()
    if not _missing(cache):
        return cache
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    sdist = downloads / SDIST_NAME
    if not sdist.is_file() or _sha256(sdist) != SDIST_SHA256:
        with tempfile.TemporaryDirectory(dir=downloads) as tmp:
            command = [
                *_pip_command(),
                "download",
                "--no-deps",
                "--no-binary=:all:",
                "--dest",
                tmp,
                f"{PACKAGE}=={PACKAGE_VERSION}",
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
            fetched = Path(tmp) / SDIST_NAME
            if done.returncode != 0 and not fetched.is_file():
                raise AssetsMissingError(
                    f"could not download {PACKAGE}=={PACKAGE_VERSION} from PyPI: "
                    f"{(done.stderr or done.stdout).strip()[-500:]}"
                )
            if _sha256(fetched) != SDIST_SHA256:
                raise AssetsMissingError(f"{SDIST_NAME} does not have the pinned SHA-256")
            shutil.move(str(fetched), sdist)
    with tarfile.open(sdist, "r:gz") as archive:
        for pinned, folder in _all_pinned():
            source = archive.extractfile(pinned.member)
            if source is None:
                raise AssetsMissingError(f"{pinned.member} is not in {SDIST_NAME}")
            data = source.read()
            if hashlib.sha256(data).hexdigest() != pinned.sha256:
                raise AssetsMissingError(f"{pinned.member} does not have the pinned SHA-256")
            target = cache / folder / pinned.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return cache


def _fetch_hint(cache: Path) -> str:
    return (
        f"the JSON-LD contexts and JSON Schemas are not in {cache}; fetch them with "
        "`uv run python -m services.credential.vc.contexts`"
    )


def bundled_documents() -> dict[str, dict[str, Any]]:
    """The contexts pyld ships that credentials here use (VC 2.0, DID 1.0)."""
    return {url: json.loads(BUNDLED_CONTEXTS[url].read_text("utf-8")) for url in BUNDLED_URLS}


def runtime_loader(cache_dir: Path | None = None) -> LocalDocumentLoader:
    """The document loader the service uses: pyld's bundled VC 2.0 and DID contexts plus the
    pinned contexts in ``<cache>/jsonld/``. Raise :class:`AssetsMissingError` if they have
    not been fetched."""
    cache = cache_dir or default_cache_dir()
    documents = bundled_documents()
    for url, pinned in CONTEXT_FILES.items():
        path = cache / "jsonld" / pinned.name
        if not path.is_file():
            raise AssetsMissingError(_fetch_hint(cache))
        documents[url] = json.loads(path.read_text("utf-8"))
    return LocalDocumentLoader(documents)


def loader_from_files(files: Mapping[str, Path], with_bundled: bool = True) -> LocalDocumentLoader:
    """A document loader serving the given files (URL → path), plus pyld's bundled VC 2.0
    and DID contexts unless ``with_bundled`` is false."""
    documents = bundled_documents() if with_bundled else {}
    for url, path in files.items():
        documents[url] = json.loads(path.read_text("utf-8"))
    return LocalDocumentLoader(documents)


def main() -> None:
    """Fetch the contexts and schemas into ``.cache/`` and say where they are."""
    cache = ensure_assets()
    sys.stdout.write(
        f"JSON-LD contexts in {cache / 'jsonld'}, JSON Schemas in {cache / 'jsonschema'}\n"
    )


if __name__ == "__main__":
    main()
