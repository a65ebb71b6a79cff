"""JSON-LD processing without the network: a document loader that serves only local
copies of contexts, strict expansion, and RDF Dataset Canonicalization (RDFC-1.0).

Strict means a document whose terms the contexts do not define is an error, never silently
dropped or quietly given a meaning: a signature covers the canonical RDF, so a term that
vanishes from it could be changed by anyone without breaking the signature. pyld 3.3 has no
``safe`` mode; its ``on_property_dropped`` hook is the equivalent for dropped keys, and the
expanded output is scanned for the rest: types and ids that stayed relative (pyld resolves
them against a made-up ``http://example.org/base/``) and terms caught by the
``issuer-dependent`` catch-all vocabulary that drafts of the VC 2.0 context declared.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

ISSUER_DEPENDENT_VOCAB = "https://www.w3.org/ns/credentials/issuer-dependent#"
"""The ``@vocab`` of the VC 2.0 context: where terms no context defines end up."""

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")
# pyld resolves a relative IRI against this made-up base when the document has none, where
# other processors keep it relative: an IRI under it was relative in the document.
_PYLD_DEFAULT_BASE = str(getattr(jsonld, "DEFAULT_BASE_IRI", "http://example.org/base/"))


def _is_relative(iri: str) -> bool:
    if iri.startswith("_:"):
        return False
    return iri.startswith(_PYLD_DEFAULT_BASE) or not _ABSOLUTE_IRI.match(iri)


class JsonLdStrictError(ValueError):
    """The document uses terms or IRIs its contexts do not define, or cannot be expanded."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


class LocalDocumentLoader:
    """A pyld document loader serving only the documents it was given (URL → JSON).
    Any other URL is refused: nothing is ever fetched from the network."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self._documents = {url: copy.deepcopy(dict(doc)) for url, doc in documents.items()}
        # One resolved-context cache per loader: pyld's default cache is global and keyed by
        # URL only, so two loaders serving different copies of a URL would share results.
        self._cache: LRUCache[Any, Any] = LRUCache(maxsize=256)

    @property
    def urls(self) -> frozenset[str]:
        """The URLs this loader serves."""
        return frozenset(self._documents)

    def with_documents(self, documents: Mapping[str, Mapping[str, Any]]) -> LocalDocumentLoader:
        """A new loader serving these documents as well (they win on the same URL)."""
        return LocalDocumentLoader({**self._documents, **documents})

    def __call__(self, url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Return the pyld ``RemoteDocument`` for ``url`` or refuse it."""
        if url not in self._documents:
            raise jsonld.JsonLdError(
                f"JSON-LD document {url} is not available locally (no network is used); "
                "add it to the local contexts",
                "jsonld.LoadDocumentError",
                {"url": url},
                code="loading document failed",
            )
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(self._documents[url]),
        }

    def options(self) -> dict[str, Any]:
        """pyld processing options using this loader."""
        return {
            "documentLoader": self,
            "contextResolver": ContextResolver(self._cache, self),
            "processingMode": "json-ld-1.1",
        }


def _walk(node: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """Yield (path, key, value) for every key of every object in expanded JSON-LD."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            if key not in ("@value", "@language", "@direction"):
                yield from _walk(value, f"{path}/{key}")


def _problems_in_expanded(expanded: Any) -> list[str]:
    problems: list[str] = []
    for path, key, value in _walk(expanded, ""):
        if key.startswith(ISSUER_DEPENDENT_VOCAB):
            term = key.removeprefix(ISSUER_DEPENDENT_VOCAB)
            problems.append(f"term {term!r} is not defined by the document's contexts ({path})")
        if key == "@type":
            for type_iri in value if isinstance(value, list) else [value]:
                if not isinstance(type_iri, str):
                    continue
                if type_iri.startswith(ISSUER_DEPENDENT_VOCAB):
                    name = type_iri.removeprefix(ISSUER_DEPENDENT_VOCAB)
                    problems.append(
                        f"type {name!r} is not defined by the document's contexts ({path})"
                    )
                elif _is_relative(type_iri):
                    name = type_iri.removeprefix(_PYLD_DEFAULT_BASE)
                    problems.append(
                        f"type {name!r} is not defined by the document's contexts ({path})"
                    )
        if key == "@id" and isinstance(value, str) and _is_relative(value):
            name = value.removeprefix(_PYLD_DEFAULT_BASE)
            problems.append(f"identifier {name!r} is not an absolute IRI ({path})")
    return problems


def expand_strict(document: Mapping[str, Any], loader: LocalDocumentLoader) -> list[Any]:
    """Expand ``document`` with contexts from ``loader`` only, and raise
    :class:`JsonLdStrictError` if any term is dropped or undefined, any type or id is a
    relative IRI, or a context cannot be loaded."""
    dropped: list[str] = []

    def on_dropped(expanded_property: str | None) -> None:
        dropped.append(f"term {expanded_property!r} is not defined by the document's contexts")

    try:
        expanded: list[Any] = jsonld.expand(
            copy.deepcopy(dict(document)), loader.options(), on_property_dropped=on_dropped
        )
    except jsonld.JsonLdError as exc:
        raise JsonLdStrictError([_describe(exc)]) from exc
    problems = dropped + _problems_in_expanded(expanded)
    if problems:
        raise JsonLdStrictError(problems)
    return expanded


def canonicalize(document: Mapping[str, Any], loader: LocalDocumentLoader) -> str:
    """The RDFC-1.0 (URDNA2015) canonical N-Quads of ``document``, after strict expansion."""
    expanded = expand_strict(document, loader)
    options = loader.options()
    options.update({"algorithm": "URDNA2015", "format": "application/n-quads"})
    try:
        result: str = jsonld.normalize(expanded, options)
    except jsonld.JsonLdError as exc:
        raise JsonLdStrictError([_describe(exc)]) from exc
    return result


def _describe(exc: jsonld.JsonLdError) -> str:
    """The innermost useful message of a pyld error chain."""
    messages = []
    current: BaseException | None = exc
    while current is not None:
        text = str(getattr(current, "message", "") or "").strip() or str(current).split("\n")[0]
        details = getattr(current, "details", None)
        if isinstance(details, dict) and details.get("url"):
            text += f" ({details['url']})"
        messages.append(text)
        current = current.__cause__
    return " <- ".join(dict.fromkeys(messages))
