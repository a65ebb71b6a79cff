"""Keyed bulk writes against the real MongoDB-protocol server: new documents are inserted,
unchanged ones are not written at all, and only real changes become updates."""

from __future__ import annotations

import asyncio

from pymongo.asynchronous.database import AsyncDatabase

from services.common.keyed import (
    LINKS_READ,
    add_to_sets,
    append_to_lists,
    by_ids,
    insert_new,
    read_lists,
    set_fields,
)
from services.common.mongo import Document
from tests.integration.test_stores import Commands


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


async def test_lists_grow_by_inserts_only_and_racing_writers_lose_nothing(
    watched: tuple[AsyncDatabase[Document], Commands],
) -> None:
    db, commands = watched
    lists = db["lists"]
    await lists.insert_one({"_id": "L-old", "records": ["r-0"]})  # kept by an earlier version

    commands.seen.clear()
    await append_to_lists(lists, "records", {"L-old": ["r-0", "r-1"], "L-new": ["r-9"]})
    assert [name for name, _ in writes(commands)] == ["insert"]  # never an update

    # 40 writers at once, each adding its own value to the same two lists: every value stays
    await asyncio.gather(
        *(
            append_to_lists(lists, "records", {"L-old": [f"a-{n}"], "L-new": [f"b-{n}"]})
            for n in range(40)
        )
    )
    # a chain longer than one read window
    for n in range(LINKS_READ + 3):
        await append_to_lists(lists, "records", {"L-long": [f"c-{n}"]})

    found = await read_lists(lists, "records", ["L-old", "L-new", "L-long", "L-none"])
    assert found["L-old"][:2] == ["r-0", "r-1"]
    assert sorted(found["L-old"][2:]) == sorted(f"a-{n}" for n in range(40))
    assert found["L-new"][0] == "r-9" and sorted(found["L-new"][1:]) == sorted(
        f"b-{n}" for n in range(40)
    )
    assert found["L-long"] == [f"c-{n}" for n in range(LINKS_READ + 3)]
    assert found["L-none"] == []

    commands.seen.clear()
    await append_to_lists(lists, "records", {"L-old": ["r-1", "a-7"]})  # all there already
    assert writes(commands) == []
