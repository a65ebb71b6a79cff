"""Keyed bulk writes against the real MongoDB-protocol server: new documents are inserted,
unchanged ones are not written at all, and only real changes become updates."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from contracts.envelope import new_event_id
from services.common.keyed import add_to_sets, by_ids, insert_new, set_fields
from services.common.mongo import Document
from tests.conftest import Stack
from tests.integration.test_stores import Commands


@pytest.fixture
async def watched(stack: Stack) -> AsyncIterator[tuple[AsyncDatabase[Document], Commands]]:
    commands = Commands()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        stack.mongodb_uri, tz_aware=True, event_listeners=[commands]
    )
    name = f"lt_test_{new_event_id()[-12:]}"
    yield client[name], commands
    await client.drop_database(name)
    await client.close()


def writes(commands: Commands) -> list[tuple[str, int]]:
    """The write commands sent, with how many statements each carried."""
    return [(name, len(filters)) for name, _, filters in commands.seen if name != "find"]


async def test_set_fields_inserts_the_new_skips_the_unchanged_and_updates_only_changes(
    watched: tuple[AsyncDatabase[Document], Commands],
) -> None:
    db, commands = watched
    people = db["people"]
    await people.insert_one({"_id": "p-0", "name": "An", "kept": True})
    changes = {f"p-{i}": {"name": f"Người {i}", "commune": "00001"} for i in range(50)}

    commands.seen.clear()
    await set_fields(people, changes)
    assert writes(commands) == [("insert", 0), ("update", 1)]  # 49 new, p-0 changed

    commands.seen.clear()
    await set_fields(people, changes)  # the same again: nothing to write
    assert writes(commands) == []

    commands.seen.clear()
    await set_fields(people, {"p-3": {"commune": "00002"}, "p-4": {"commune": "00001"}})
    assert writes(commands) == [("update", 1)]

    stored = await by_ids(people, changes)
    assert len(stored) == 50
    assert stored["p-0"] == {"_id": "p-0", "name": "Người 0", "commune": "00001", "kept": True}
    assert stored["p-3"]["commune"] == "00002" and stored["p-4"]["commune"] == "00001"


async def test_add_to_sets_lists_each_value_once_and_writes_only_what_is_missing(
    watched: tuple[AsyncDatabase[Document], Commands],
) -> None:
    db, commands = watched
    index = db["index"]
    await set_fields(index, {"L-1": {"records": ["r-1"]}})

    commands.seen.clear()
    await add_to_sets(index, "records", {"L-1": ["r-1", "r-2", "r-2"], "L-2": ["r-3"]})
    assert writes(commands) == [("insert", 0), ("update", 1)]

    commands.seen.clear()
    await add_to_sets(index, "records", {"L-1": ["r-2"], "L-2": ["r-3"], "L-3": []})
    assert writes(commands) == []

    stored = await by_ids(index, ["L-1", "L-2", "L-3"])
    assert stored == {
        "L-1": {"_id": "L-1", "records": ["r-1", "r-2"]},
        "L-2": {"_id": "L-2", "records": ["r-3"]},
    }


async def test_insert_new_says_which_it_inserted_and_keeps_what_was_there(
    watched: tuple[AsyncDatabase[Document], Commands],
) -> None:
    db, _ = watched
    things = db["things"]
    await things.insert_one({"_id": "t-1", "v": "first"})
    inserted = await insert_new(things, [{"_id": "t-1", "v": "second"}, {"_id": "t-2", "v": "x"}])
    assert inserted == {"t-2"}
    assert (await things.find_one({"_id": "t-1"})) == {"_id": "t-1", "v": "first"}
