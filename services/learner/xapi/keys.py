"""The keys of the statement query index: for each stored statement, one entry per filter value
it can be found by (and one under ``all``), whose ``_id`` is

    <centre>|<filter>|<value>|<stored, ISO, milliseconds>|<statement id>

so within one centre, filter and value the keys sort by stored time, then statement id — the
order queries answer in — and a page of a query is one ``_id`` range read (an index search on
MongoDB, and on our FerretDB, whose patch pushes down a range of ``_id`` of plain characters
sorted by ``_id`` with a limit: deploy/local/ferretdb/NOTES.md). Every part is percent-encoded
to plain ASCII (no ``|``, quote, backslash, ``<``, ``>``, ``&``, space, ``!``) and a long value
is kept by its digest, so a key is plain and short whatever the statement holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

ALL = "all"
# the filters a query can ask for, most selective first: the first one a query has drives it
FILTERS = (
    "registration",
    "agents",
    "activities",
    "related_agents",
    "related_activities",
    "verb_id",
)
LONGEST_VALUE = 200  # longer values are kept by their SHA-256
AFTER_ALL = "~"  # sorts after every character of a key part


def _part(text: str) -> str:
    encoded = quote(text, safe=":/@")
    if len(encoded) > LONGEST_VALUE:
        return "#" + hashlib.sha256(text.encode()).hexdigest()
    return encoded


def stamp(at: datetime) -> str:
    """A stored time as the key holds it (naive times are UTC, as MongoDB returns them)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def prefix(provider_id: str, field: str, value: str) -> str:
    return f"{_part(provider_id)}|{field}|{_part(value)}|"


def statement_keys(doc: Mapping[str, Any]) -> list[str]:
    """Every key of a stored statement (its ``provider_id``, ``stored``, ``statement_id`` and
    filter fields)."""
    tail = f"{stamp(doc['stored'])}|{doc['statement_id']}"
    keys = [prefix(doc["provider_id"], ALL, "") + tail]
    for field in FILTERS:
        value = doc.get(field)
        values = value if isinstance(value, list) else [] if value is None else [value]
        keys.extend(prefix(doc["provider_id"], field, v) + tail for v in sorted(set(values)))
    return keys


def key_range(
    provider_id: str,
    field: str,
    value: str,
    stored: Mapping[str, datetime] | None,
    after: tuple[datetime, str] | None,
    ascending: bool,
) -> dict[str, str]:
    """The ``_id`` range (``$gt``, ``$lt``) of the keys of one filter value, within
    ``since``/``until`` (``stored``: ``$gt``/``$lte``) and after the paging cursor."""
    start = prefix(provider_id, field, value)
    low, high = start, start + AFTER_ALL
    if stored is not None and "$gt" in stored:
        low = max(low, f"{start}{stamp(stored['$gt'])}|{AFTER_ALL}")
    if stored is not None and "$lte" in stored:
        high = min(high, f"{start}{stamp(stored['$lte'])}|{AFTER_ALL}")
    if after is not None:
        cursor = f"{start}{stamp(after[0])}|{after[1]}"
        if ascending:
            low = max(low, cursor)
        else:
            high = min(high, cursor)
    return {"$gt": low, "$lt": high}
