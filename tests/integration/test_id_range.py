"""Ranges of ``_id`` sorted by ``_id`` with a limit, against the real MongoDB-protocol server:
the answers are MongoDB's at every boundary (on our FerretDB the range, order and limit are
pushed down to SQLite by our patch: deploy/local/ferretdb/NOTES.md), and SQLite answers the
pushed-down form from the ``_id`` index."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from cli import localstack
from contracts.envelope import new_event_id
from services.common.mongo import Document
from tests.conftest import Stack

# keys shaped like the xAPI query keys, with neighbours that test every boundary: a key that is
# a prefix of another, keys that differ only in their last character, and the ends of the range
KEYS = sorted(
    [
        f"c1|agents|mbox:a@x|2026-01-0{d}T00:00:00.00{m}Z|s{n}"
        for d in range(1, 4)
        for m in range(3)
        for n in range(2)
    ]
    + [
        "c1|agents|mbox:a@x|",
        "c1|agents|mbox:a@x",
        "c1|agents|mbox:a@xy|2026",
        "c1|agents|mbox:a@w|9",
    ]
    + ["c1|all||2026-01-01T00:00:00.000Z|s0", "c0|agents|mbox:a@x|2026", "c2|agents|mbox:a@x|2026"]
    + [f"c1|verb_id|v|2026-02-01T00:00:{s:02d}.000Z|s" for s in range(60)]  # more than a batch
)


@pytest.fixture
async def keys(stack: Stack) -> AsyncIterator[tuple[AsyncCollection[Document], str]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(stack.mongodb_uri)
    name = f"lt_test_{new_event_id()[-12:]}"
    collection = client[name]["keys"]
    await collection.insert_many([{"_id": k, "n": i} for i, k in enumerate(KEYS)])
    yield collection, name
    await client.drop_database(name)
    await client.close()


def expected(bounds: dict[str, str], ascending: bool, limit: int) -> list[str]:
    tests = {
        "$gt": lambda k, b: k > b,
        "$gte": lambda k, b: k >= b,
        "$lt": lambda k, b: k < b,
        "$lte": lambda k, b: k <= b,
    }
    found = [k for k in KEYS if all(tests[op](k, b) for op, b in bounds.items())]
    found.sort(reverse=not ascending)
    return found[:limit] if limit else found


RANGES = [
    {"$gt": "c1|agents|mbox:a@x|", "$lt": "c1|agents|mbox:a@x|~"},
    {"$gte": "c1|agents|mbox:a@x|", "$lte": "c1|agents|mbox:a@x|2026-01-02T00:00:00.001Z|s1"},
    {"$gt": "c1|agents|mbox:a@x|2026-01-02T00:00:00.001Z|s0", "$lt": "c1|agents|mbox:a@x|~"},
    {"$gt": "c1|agents|mbox:a@x|2026-01-02T00:00:00.001Z|~"},
    {"$lt": "c1|agents|mbox:a@x|2026-01-01T00:00:00.000Z|s1"},
    {"$gte": "c1|agents|mbox:a@x", "$lt": "c1|agents|mbox:a@x|"},
    {"$gt": "c1|agents|mbox:a@x|~", "$lt": "c1|agents|mbox:a@x|"},  # empty
    {"$gt": "c1|verb_id|v|", "$lt": "c1|verb_id|v|~"},
    {"$gte": "c1|verb_id|v|2026-02-01T00:00:59.000Z|s"},
    {"$lte": "c0|agents|mbox:a@x|2026"},
]


@pytest.mark.parametrize("bounds", RANGES)
@pytest.mark.parametrize("ascending", [True, False])
async def test_an_id_range_sorted_and_limited_answers_what_mongodb_does(
    keys: tuple[AsyncCollection[Document], str], bounds: dict[str, str], ascending: bool
) -> None:
    collection, _ = keys
    for limit in (0, 1, 2, 5, 13, 200):
        cursor = collection.find({"_id": bounds}, {"n": 1}).sort("_id", 1 if ascending else -1)
        found = [d["_id"] async for d in cursor.limit(limit)]
        assert found == expected(bounds, ascending, limit), (bounds, ascending, limit)
    # a small batch size: the rest comes by getMore, from the same pushed-down cursor
    cursor = collection.find({"_id": bounds}).sort("_id", 1 if ascending else -1).limit(40)
    assert [d["_id"] async for d in cursor.batch_size(3)] == expected(bounds, ascending, 40)


async def test_other_id_ranges_are_answered_as_before(
    keys: tuple[AsyncCollection[Document], str],
) -> None:
    """Not pushed down (a bound that is not plain, another field beside _id, a skip, a sort on
    another field): the same answers as MongoDB."""
    collection, _ = keys
    low, high = "c1|agents|mbox:a@x|", "c1|agents|mbox:a@x|~"
    found = [d["_id"] async for d in collection.find({"_id": {"$gt": "c1|agents| ", "$lt": high}})]
    assert sorted(found) == [k for k in KEYS if "c1|agents| " < k < high]
    filtered = collection.find({"_id": {"$gt": low, "$lt": high}, "n": {"$lt": 5}}).sort("_id", 1)
    assert [d["_id"] async for d in filtered] == [
        k for i, k in enumerate(KEYS) if low < k < high and i < 5
    ]
    skipped = collection.find({"_id": {"$gt": low, "$lt": high}}).sort("_id", -1).skip(2).limit(3)
    assert [d["_id"] async for d in skipped] == expected({"$gt": low, "$lt": high}, False, 5)[2:]
    by_n = collection.find({"_id": {"$gt": low, "$lt": high}}).sort("n", -1).limit(2)
    assert [d["_id"] async for d in by_n] == expected({"$gt": low, "$lt": high}, False, 2)


@pytest.mark.skipif(bool(os.environ.get("MONGODB_URI")), reason="FerretDB's SQLite only")
async def test_sqlite_searches_the_id_index_for_the_pushed_down_range(
    keys: tuple[AsyncCollection[Document], str],
) -> None:
    """The SQL the patch writes (the range and order on the ``_id`` index's expression) is an
    index search, in index order: no scan, no sort."""
    _, name = keys
    path = localstack.RUN / "ferretdb" / "data" / f"{name}.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        (table,) = db.execute(
            "SELECT table_name FROM _ferretdb_collections WHERE name = 'keys'"
        ).fetchone()
        for order in ("", " DESC"):
            sql = (
                f'EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM "{table}" '  # noqa: S608
                "WHERE _ferretdb_sjson->'_id' > ? AND _ferretdb_sjson->'_id' < ? "
                f"ORDER BY _ferretdb_sjson->'_id'{order} LIMIT ?"
            )
            plan = " ".join(row[-1] for row in db.execute(sql, ('"a"', '"b"', 10)))
            assert "SEARCH" in plan and "INDEX" in plan and "SCAN" not in plan, plan
            assert "TEMP B-TREE" not in plan, plan
