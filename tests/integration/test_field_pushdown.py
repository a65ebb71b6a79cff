"""Conditions on fields other than ``_id``, against the real MongoDB-protocol server: on our
FerretDB, equality with a string, ``$in`` of strings and ``$or`` of those are pushed down to
SQLite by our patch (deploy/local/ferretdb/NOTES.md, "A fourth patch") as a search of each
document's text that keeps a superset, which FerretDB filters again. Whatever shape the stored
values take — arrays, arrays of documents, documents, other types, missing, text that JSON
escapes — a find answers what the same filter answers unpushed. (Its cost is in
``bench/notify_matching.py``.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import product
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from contracts.envelope import new_event_id
from services.common.mongo import Document
from tests.conftest import Stack

WORDS = ["x", "y", "z", "X", "", "ü", "Hà Nội", 'q"uote', "22000", "<b>&", "a\u2028b", "string"]

# every shape a value may take on the way to a leaf: what MongoDB matches through arrays and
# what it does not (a document, a number, a null, nothing); FerretDB stores no array inside an
# array
A_SHAPES: list[Any] = [
    "x",
    "y",
    "Hà Nội",
    ["x", "z"],
    [],
    {"k": "x"},
    [{"k": "y"}, {"k": "z"}],
    1,
    None,
    "X",
    'q"uote',
    "<b>&",
    ["a\u2028b"],
    ...,
]
B_SHAPES: list[Any] = [
    {"c": "x"},
    {"c": ["y", "ü"]},
    [{"c": "x"}, {"c": "z"}],
    [{"c": ["y"]}],
    {"c": {"d": "x"}},
    {"c": 22000},
    {"c": "22000"},
    "x",
    {"d": "x"},
    ...,
]
PATHS = ["a", "a.k", "b", "b.c", "b.c.d", "a.0", "b.0.c", "missing"]


def _documents() -> list[Document]:
    docs = []
    for n, (a, b) in enumerate(product(A_SHAPES, B_SHAPES)):
        doc: Document = {"_id": f"d{n:03d}", "n": n}
        if a is not ...:
            doc["a"] = a
        if b is not ...:
            doc["b"] = b
        docs.append(doc)
    return docs


DOCUMENTS = _documents()


@pytest.fixture(scope="module")
async def shapes(stack: Stack) -> AsyncIterator[AsyncCollection[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri)
    name = f"lt_test_{new_event_id()[-12:]}"
    collection = client[name]["shapes"]
    await collection.insert_many(DOCUMENTS)
    await collection.create_index([("b.c", 1)])  # an index must not change an answer either
    yield collection
    await client.drop_database(name)
    await client.close()


value = st.sampled_from(WORDS) | st.sampled_from([1, None, 22000])
leaf = st.builds(
    lambda path, cond: {path: cond},
    st.sampled_from(PATHS),
    value
    | st.builds(lambda v: {"$eq": v}, value)
    | st.builds(lambda v: {"$in": v}, st.lists(value, min_size=1, max_size=4)),
)
filters = st.recursive(
    leaf,
    lambda inner: (
        st.builds(lambda branches: {"$or": branches}, st.lists(inner, min_size=1, max_size=3))
        | st.builds(lambda x, y: {**x, **y}, inner, inner)
        | st.builds(lambda x: {**x, "n": {"$lt": 90}}, inner)
    ),
    max_leaves=6,
)


async def _ids(collection: AsyncCollection[Document], query: Document) -> list[str]:
    return sorted([d["_id"] async for d in collection.find(query, {"_id": 1})])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(query=filters)
async def test_a_pushed_down_condition_answers_what_the_unpushed_filter_does(
    shapes: AsyncCollection[Document], query: Document
) -> None:
    """``$and`` is never pushed down: wrapped in it, the same filter is FerretDB's own answer
    (on MongoDB both are MongoDB's)."""
    assert await _ids(shapes, query) == await _ids(shapes, {"$and": [query]}), query


async def test_the_shapes_match_as_mongodb_matches_them(
    shapes: AsyncCollection[Document],
) -> None:
    """The oracle above is itself MongoDB's semantics, checked on the cases that matter: through
    arrays and arrays of documents, never through an array of arrays, never a number for a
    string."""

    def where(test: Any) -> list[str]:
        return sorted(str(d["_id"]) for d in DOCUMENTS if test(d))

    def a_has(word: str) -> Any:
        return lambda d: d.get("a") == word or (isinstance(d.get("a"), list) and word in d["a"])

    def bc_has(word: str) -> Any:
        def test(d: Document) -> bool:
            b = d.get("b")
            parts = b if isinstance(b, list) else [b]
            for part in parts:
                if isinstance(part, dict):
                    c = part.get("c")
                    if c == word or (isinstance(c, list) and word in c):
                        return True
            return False

        return test

    assert await _ids(shapes, {"a": "x"}) == where(a_has("x"))
    assert await _ids(shapes, {"b.c": {"$in": ["x", "ü"]}}) == where(
        lambda d: bc_has("x")(d) or bc_has("ü")(d)
    )
    assert await _ids(shapes, {"b.c": "22000"}) == where(bc_has("22000"))
    assert await _ids(shapes, {"$or": [{"a": 'q"uote'}, {"b.c": "y"}]}) == where(
        lambda d: a_has('q"uote')(d) or bc_has("y")(d)
    )
