"""The MongoDB client factory (PyMongo's native async API) and the traits code may rely on.

The same code runs on FerretDB 1.x (SQLite) in development and MongoDB 8 in production, so it
uses no transactions and no change streams; idempotence comes from unique keys and upserts.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from services.common.settings import Settings

Document = dict[str, Any]


def make_client(settings: Settings) -> AsyncMongoClient[Document]:
    """One client per process; timeouts short enough that a down server is noticed quickly."""
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        appname=f"learningtrail-{settings.service}",
    )


def database(client: AsyncMongoClient[Document], settings: Settings) -> AsyncDatabase[Document]:
    """The service's own database; no service reads another's."""
    return client[settings.database_name]


async def ping(client: AsyncMongoClient[Document]) -> bool:
    """Whether the server answers, for readiness checks."""
    try:
        await client.admin.command("ping")
    except Exception:
        return False
    return True


# Server answers that mean "busy now, the same request will work in a moment" rather than
# "this request is wrong": MongoDB's lock and time-out codes and its retryable labels, and
# FerretDB's SQLite "database is locked" (SQLITE_BUSY), which it reports as InternalError.
_BUSY_CODES = frozenset({24, 50, 91, 112, 189, 10107, 11600, 11602, 13435, 13436})
_BUSY_WORDS = ("database is locked", "sqlite_busy", "database table is locked")


def is_busy(exc: BaseException) -> bool:
    """Whether a database error is a busy or failing-over server, to be retried, not a bad
    request or a bug."""
    if not isinstance(exc, OperationFailure):
        return False
    if exc.code in _BUSY_CODES or exc.has_error_label("RetryableWriteError"):
        return True
    text = str(exc).lower()
    return any(word in text for word in _BUSY_WORDS)
