"""The portal's rules without I/O: cookie names and flags over http and https, where the
browser may be sent back to (no open redirect), form tokens, and what a share link shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import Response

from services.common.portal import Portal, clear_session, form_token, set_session
from services.credential.shares import ShareRefused, choose, new_share, shown, state

LOCAL = Portal("http://127.0.0.1:8081", "http://127.0.0.1:8082", "http://127.0.0.1:8083")
PUBLIC = Portal(
    "https://hoso.example.gov.vn", "https://hoso.example.gov.vn", "https://hoso.example.gov.vn"
)


def _cookies(portal: Portal) -> list[str]:
    response = Response()
    set_session(response, portal, "access", 600, "refresh", 30)
    return [v.decode() for k, v in response.raw_headers if k == b"set-cookie"]


def test_over_http_the_cookies_are_httponly_and_lax_but_not_secure() -> None:
    access, refresh = _cookies(LOCAL)
    assert access.startswith("lt_access=access;") and "Path=/;" in access
    assert refresh.startswith("lt_refresh=refresh;") and "Path=/portal/session" in refresh
    for cookie in (access, refresh):
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
        assert "Domain" not in cookie  # host-only


def test_over_https_the_cookies_are_secure_and_prefixed() -> None:
    access, refresh = _cookies(PUBLIC)
    assert access.startswith("__Host-lt_access=") and "Path=/;" in access
    assert refresh.startswith("__Secure-lt_refresh=")
    assert all("Secure" in c and "HttpOnly" in c for c in (access, refresh))
    cleared = Response()
    clear_session(cleared, PUBLIC)
    gone = [v.decode() for k, v in cleared.raw_headers if k == b"set-cookie"]
    assert all("Max-Age=0" in c and "Secure" in c for c in gone)


@pytest.mark.parametrize(
    ("asked", "sent_to"),
    [
        (None, "http://127.0.0.1:8081/portal"),
        (
            "http://127.0.0.1:8082/portal/trail?lang=en",
            "http://127.0.0.1:8082/portal/trail?lang=en",
        ),
        ("http://127.0.0.1:8083/portal/inbox", "http://127.0.0.1:8083/portal/inbox"),
        ("https://evil.example/portal", "http://127.0.0.1:8081/portal"),
        ("//evil.example/portal", "http://127.0.0.1:8081/portal"),
        ("http://127.0.0.1:8082/v1/learners/x/trail", "http://127.0.0.1:8081/portal"),
        ("http://127.0.0.1:9999/portal", "http://127.0.0.1:8081/portal"),
        ("javascript:alert(1)", "http://127.0.0.1:8081/portal"),
    ],
)
def test_the_browser_is_sent_back_only_to_a_portal_page(asked: str | None, sent_to: str) -> None:
    assert LOCAL.safe_next(asked) == sent_to


def test_a_form_token_belongs_to_one_session_and_one_secret() -> None:
    mine = form_token("secret", "session-1")
    assert mine == form_token("secret", "session-1")
    assert mine != form_token("secret", "session-2")
    assert mine != form_token("another secret", "session-1")


NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
ENTRIES = [{"_id": "r1"}, {"_id": "r2"}, {"_id": "r3"}]
RECOGNITIONS = [
    {"_id": "g1", "record_ids": ["r1", "r2"]},
    {"_id": "g2", "record_ids": ["r3"]},
]


def test_a_link_of_chosen_entries_shows_them_and_only_recognitions_wholly_among_them() -> None:
    choice = choose(False, ["r2", "r3", "r3"], 7, "  Công ty   A ", {"r1", "r2", "r3"}, 365)
    assert choice.record_ids == ("r2", "r3") and choice.label == "Công ty A"
    token, doc = new_share("learner", choice, NOW)
    assert token.startswith("lts_") and token not in str(doc)
    entries, recognitions = shown(doc, ENTRIES, RECOGNITIONS)
    assert [e["_id"] for e in entries] == ["r2", "r3"]
    assert [r["_id"] for r in recognitions] == ["g2"]  # g1 also counts r1, not shared


def test_a_link_of_the_whole_trail_shows_everything() -> None:
    _, doc = new_share("learner", choose(True, [], 30, "", {"r1"}, 365), NOW)
    assert shown(doc, ENTRIES, RECOGNITIONS) == (ENTRIES, RECOGNITIONS)


def test_a_link_expires_and_can_be_revoked() -> None:
    _, doc = new_share("learner", choose(True, [], 7, "", set(), 365), NOW)
    assert state(doc, NOW + timedelta(days=7) - timedelta(seconds=1)) == "live"
    assert state(doc, NOW + timedelta(days=7)) == "expired"
    assert state({**doc, "revoked_at": NOW}, NOW) == "revoked"


@pytest.mark.parametrize(
    ("whole", "ids", "days"),
    [(False, [], 7), (False, ["someone-elses"], 7), (True, [], 0), (True, [], 366)],
)
def test_a_choice_that_cannot_make_a_link_is_refused(
    whole: bool, ids: list[str], days: int
) -> None:
    with pytest.raises(ShareRefused):
        choose(whole, ids, days, "", {"r1"}, 365)
