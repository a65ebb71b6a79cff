"""A database file FerretDB never finished creating is moved aside, so that the others
start; a complete one stays where it is."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cli.localstack import quarantine_unfinished_databases


def test_only_the_database_without_ferretdbs_catalogue_is_moved_aside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "lt_learner.sqlite") as db:
        db.execute("CREATE TABLE _ferretdb_collections (name TEXT)")
    with sqlite3.connect(data / "lt_test_half.sqlite") as db:
        db.execute("PRAGMA user_version = 1")  # a file, but no catalogue
    (data / "lt_test_empty.sqlite").write_bytes(b"")
    (data / "lt_test_empty.sqlite-wal").write_bytes(b"")

    moved = quarantine_unfinished_databases(data)

    assert sorted(p.name for p in moved) == ["lt_test_empty.sqlite", "lt_test_half.sqlite"]
    assert sorted(p.name for p in data.iterdir()) == ["lt_learner.sqlite"]
    aside = sorted(p.name.rsplit(".", 1)[0] for p in (tmp_path / "quarantine").iterdir())
    assert len(aside) == 3 and "lt_learner" not in " ".join(aside)
