"""Which database errors are a busy server (503, batch retried) and which are not."""

from __future__ import annotations

from pymongo.errors import DuplicateKeyError, OperationFailure

from services.common.consumer import is_transient
from services.common.mongo import is_busy


def test_sqlite_busy_from_ferretdb_is_busy() -> None:
    exc = OperationFailure(
        "[msg_update.go:133 handler.(*Handler).updateDocument] database is locked (5) "
        "(SQLITE_BUSY)",
        code=1,
    )
    assert is_busy(exc)
    assert is_transient(exc)  # a consumer waits and retries; it never dead-letters it


def test_mongodb_lock_and_failover_codes_are_busy() -> None:
    for code in (24, 50, 112, 10107, 11602):
        assert is_busy(OperationFailure("busy", code=code)), code


def test_bad_requests_and_duplicates_are_not_busy() -> None:
    assert not is_busy(DuplicateKeyError("E11000 duplicate key", code=11000))
    assert not is_busy(OperationFailure("unknown operator: $foo", code=2))
    assert not is_busy(ValueError("database is locked"))  # only server answers count
    assert not is_transient(OperationFailure("unknown operator: $foo", code=2))
