"""Bulk reads and writes by ``_id``: the only kind of access whose cost does not grow with
the collection on every server the services run on.

MongoDB serves any indexed field, but the local FerretDB (SQLite, with our patch) serves
only ``_id`` equality and ``$in`` (up to 10,000 values) from an index, and there an update is
its own SQLite transaction, several times dearer than an insert. So the write paths here
read what exists by ``_id $in`` first, insert what is new in one unordered ``insert_many``,
and update only the documents that really change.

Each function is idempotent: applying the same writes again changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

Document = dict[str, Any]
DUPLICATE_KEY = 11000
# The patched FerretDB pushes an ``_id $in`` of up to 10,000 values down to its index (a longer
# list would read the whole collection), then checks every document it returns against the
# whole list: the cost of one query grows with documents × values. Measured on 5,000 ids:
# one query 1.30 s, five of 1,000 0.66 s, twenty of 250 0.88 s — so parts of 1,000.
ID_CHUNK = 1_000
PARTS_AT_ONCE = 8


def chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    """Distinct ids, sorted, in parts small enough for one indexed ``$in``."""
    wanted = sorted(set(ids))
    return (wanted[i : i + ID_CHUNK] for i in range(0, len(wanted), ID_CHUNK))


async def by_ids(
    collection: AsyncCollection[Document],
    ids: Iterable[str],
    projection: Document | None = None,
) -> dict[str, Document]:
    """The documents with these ids (each asked for once), by ``_id $in`` alone."""

    async def part_of(part: list[str]) -> list[Document]:
        return [doc async for doc in collection.find({"_id": {"$in": part}}, projection)]

    # the parts are read PARTS_AT_ONCE at a time: a batch's lookups cost about one round
    # trip's wait, and a list of 100,000 ids does not take every pooled connection
    found: dict[str, Document] = {}
    parts = list(chunks(ids))
    for start in range(0, len(parts), PARTS_AT_ONCE):
        wave = parts[start : start + PARTS_AT_ONCE]
        for docs in await asyncio.gather(*(part_of(part) for part in wave)):
            found.update((doc["_id"], doc) for doc in docs)
    return found


async def insert_new(collection: AsyncCollection[Document], docs: list[Document]) -> set[str]:
    """Insert the documents whose id is not taken yet; the ids this call inserted."""
    inserted: set[str] = set()
    for start in range(0, len(docs), ID_CHUNK):
        part = docs[start : start + ID_CHUNK]
        try:
            await collection.insert_many(part, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            taken = {part[e["index"]]["_id"] for e in errors}
            inserted.update(d["_id"] for d in part if d["_id"] not in taken)
        else:
            inserted.update(d["_id"] for d in part)
    return inserted


async def set_fields(
    collection: AsyncCollection[Document], changes: Mapping[str, Document]
) -> None:
    """For each id, make the document hold these field values (``$set`` semantics: other
    fields stay): new documents are inserted, existing ones updated only where a value
    differs."""
    if not changes:
        return
    existing = await by_ids(collection, changes, dict.fromkeys(_fields(changes), 1))
    new = [{**fields, "_id": i} for i, fields in changes.items() if i not in existing]
    raced = {d["_id"] for d in new} - await insert_new(collection, new)
    writes = [
        UpdateOne({"_id": i}, {"$set": fields}, upsert=True)
        for i, fields in changes.items()
        if i in raced or (i in existing and _differs(existing[i], fields))
    ]
    if writes:
        await collection.bulk_write(writes, ordered=False)


async def add_to_sets(
    collection: AsyncCollection[Document], field: str, values: Mapping[str, Iterable[str]]
) -> None:
    """For each id, make the array ``field`` of its document hold these values too
    (``$addToSet`` semantics): new documents are inserted, existing ones updated only when a
    value is missing."""
    wanted = {i: list(dict.fromkeys(v)) for i, v in values.items()}
    wanted = {i: v for i, v in wanted.items() if v}
    if not wanted:
        return
    existing = await by_ids(collection, wanted, {field: 1})
    new = [{"_id": i, field: v} for i, v in wanted.items() if i not in existing]
    raced = {d["_id"] for d in new} - await insert_new(collection, new)
    writes = [
        UpdateOne({"_id": i}, {"$addToSet": {field: {"$each": v}}}, upsert=True)
        for i, v in wanted.items()
        if i in raced or (i in existing and not set(v) <= set(existing[i].get(field) or ()))
    ]
    if writes:
        await collection.bulk_write(writes, ordered=False)


def _fields(changes: Mapping[str, Document]) -> set[str]:
    return {name for fields in changes.values() for name in fields}


def _differs(doc: Document, fields: Document) -> bool:
    return any(name not in doc or doc[name] != value for name, value in fields.items())


# Lists that only grow, kept without updates: a key's list is a chain of documents
# ``{_id: "<key>#<n>", <field>: [...]}`` (n = 0, 1, 2, …, each holding what was added at
# once), read by ``_id $in`` a window of ``LINKS_READ`` links at a time and extended by
# inserting the next link. Two writers racing for the same next link: one insert wins, the
# other takes the one after. An older single document ``{_id: key, ...}``
# (kept by ``add_to_sets``) is read as the chain's start.
LINKS_READ = 4  # most lists have one to three links; longer ones take another read
APPEND_ATTEMPTS = 1_000


def _link(key: str, n: int) -> str:
    return f"{key}#{n}"


async def _chains(
    collection: AsyncCollection[Document], field: str, keys: list[str]
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Each key's list, and the number of its last link (-1: none yet)."""
    lists: dict[str, list[str]] = {k: [] for k in keys}
    last = dict.fromkeys(keys, -1)
    start, reading = 0, list(lists)
    while reading:
        window = {_link(k, n): (k, n) for k in reading for n in range(start, start + LINKS_READ)}
        # the first read takes the older single documents along: one round trip for most lists
        found = await by_ids(collection, [*window, *(keys if start == 0 else ())], {field: 1})
        for key in keys if start == 0 else ():
            if key in found:
                lists[key].extend(found.pop(key).get(field) or [])
        for link in sorted(found, key=lambda i: window[i][1]):
            key, n = window[link]
            lists[key].extend(found[link].get(field) or [])
            last[key] = max(last[key], n)
        start += LINKS_READ
        reading = [k for k in reading if last[k] == start - 1]
    return lists, last


async def read_lists(
    collection: AsyncCollection[Document], field: str, keys: Iterable[str]
) -> dict[str, list[str]]:
    """Each key's list (empty when it has none), in the order values were added."""
    lists, _ = await _chains(collection, field, list(dict.fromkeys(keys)))
    return {k: list(dict.fromkeys(v)) for k, v in lists.items()}


async def append_to_lists(
    collection: AsyncCollection[Document], field: str, values: Mapping[str, Iterable[str]]
) -> None:
    """Add these values to each key's list, each value once: inserts only, never an update.
    A link another writer took first is skipped for the next one (it exists, so the chain
    stays without gaps)."""
    wanted = {k: list(dict.fromkeys(v)) for k, v in values.items()}
    wanted = {k: v for k, v in wanted.items() if v}
    if not wanted:
        return
    lists, last = await _chains(collection, field, list(wanted))
    links: dict[str, tuple[int, list[str]]] = {}
    for key, given in wanted.items():
        have = set(lists[key])
        new = [v for v in given if v not in have]
        if new:
            links[key] = (last[key] + 1, new)
    for _ in range(APPEND_ATTEMPTS):
        if not links:
            return
        added = await insert_new(
            collection, [{"_id": _link(k, n), field: v} for k, (n, v) in links.items()]
        )
        links = {k: (n + 1, v) for k, (n, v) in links.items() if _link(k, n) not in added}
    raise RuntimeError(f"could not extend the lists of {sorted(links)[:5]}: too many writers")
