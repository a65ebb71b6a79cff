"""The xAPI query keys without I/O: every key is plain (the characters our FerretDB patch
pushes ranges of down exactly), keys sort as queries answer, and a key range holds exactly the
statements within since/until and after the paging cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.learner.xapi.keys import LONGEST_VALUE, key_range, prefix, stamp, statement_keys

PLAIN = {chr(c) for c in range(ord("#"), ord("~") + 1)} - set("\\<>&")


def doc(at: datetime, sid: str, **fields: object) -> dict[str, object]:
    return {"provider_id": "c-1", "stored": at, "statement_id": sid, **fields}


def test_keys_are_plain_and_short_whatever_the_values_hold() -> None:
    odd = [
        "mbox:mailto:an@x.vn",
        "account:https://lms.vn/?a=1&b=<2>|3",
        'a "quoted" \\ value with spaces!',
        "Nguyễn Thị Hương",
        "x" * 1000,
        "line\nbreak\u2028",
    ]
    keys = statement_keys(
        doc(datetime(2026, 1, 1, tzinfo=UTC), "s-1", agents=odd, verb_id=odd[1], registration=None)
    )
    assert len(keys) == 1 + len(odd) + 1  # all, each agent, the verb; no registration
    for key in keys:
        assert set(key) <= PLAIN, key
        assert key.count("|") == 4, key  # a value's own "|" is encoded
        assert len(key) < 300
    long = prefix("c-1", "agents", "x" * (LONGEST_VALUE + 1))
    assert long.split("|")[2].startswith("#") and len(long) < 100


def test_keys_sort_by_stored_time_then_statement_id() -> None:
    base = datetime(2026, 3, 1, 9, 0, 0, 999000, tzinfo=UTC)
    stored = [
        (base + timedelta(milliseconds=ms), sid)
        for ms in (0, 1, 1, 1000, 86_400_000)
        for sid in ("0b", "0a", "ff")
    ]
    keys = [statement_keys(doc(at, sid, verb_id="v"))[1] for at, sid in stored]
    assert [k.rsplit("|", 2)[1:] for k in sorted(set(keys))] == [
        [stamp(at), sid] for at, sid in sorted(set(stored))
    ]
    assert stamp(datetime(2026, 3, 1, 9, 0, 0, 999999)) == "2026-03-01T09:00:00.999Z"  # naive: UTC


def test_a_key_range_holds_what_since_until_and_the_cursor_leave() -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    stored = [(base + timedelta(milliseconds=ms), sid) for ms in range(0, 10) for sid in "ab"]
    keys = {statement_keys(doc(at, sid, agents=["ag"]))[1]: (at, sid) for at, sid in stored}
    other = statement_keys(doc(base, "a", agents=["ag2"]))[1]  # another value: never inside

    def inside(bounds: dict[str, str]) -> list[tuple[datetime, str]]:
        assert not bounds["$gt"] < other < bounds["$lt"]
        return sorted(v for k, v in keys.items() if bounds["$gt"] < k < bounds["$lt"])

    since, until = (
        base + timedelta(milliseconds=2, microseconds=500),
        base + timedelta(milliseconds=7, microseconds=300),
    )
    for ascending in (True, False):
        assert inside(key_range("c-1", "agents", "ag", None, None, ascending)) == sorted(stored)
        assert inside(
            key_range("c-1", "agents", "ag", {"$gt": since, "$lte": until}, None, ascending)
        ) == [(at, s) for at, s in sorted(stored) if since < at <= until]
        cursor = (base + timedelta(milliseconds=4), "a")
        assert inside(key_range("c-1", "agents", "ag", None, cursor, ascending)) == [
            (at, s)
            for at, s in sorted(stored)
            if ((at, s) > cursor if ascending else (at, s) < cursor)
        ]
    exact = {"$gt": base + timedelta(milliseconds=3)}  # since is exclusive at the millisecond
    assert (base + timedelta(milliseconds=3), "a") not in inside(
        key_range("c-1", "agents", "ag", exact, None, True)
    )
