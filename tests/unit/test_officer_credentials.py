"""What the department sees of an officer credential, what it may write as its label, and
why an officer's session has ended (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.insights.officer_credentials import label_problem, status_of, view
from services.insights.officers import ended
from services.insights.store import CREDENTIAL_REVOKED
from services.insights.units import catalogue

NOW = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def _doc(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "_id": "c-1",
        "unit": "56",
        "label": "Phòng GDTX, Sở GD&ĐT",
        "issued_at": NOW - timedelta(days=1),
        "expires_at": NOW + timedelta(days=29),
        "revoked_at": None,
        "revoked_reason": None,
    }
    return {**doc, **changes}


@pytest.mark.parametrize(
    "label", ["Cán bộ thống kê xã Phước Hậu", "Phòng 204", "Tổ 12345678", None]
)
def test_a_job_title_is_a_label(label: str | None) -> None:
    assert label_problem(label) is None


@pytest.mark.parametrize("label", ["079190001234", "Nguyễn Văn A 079190001234", "CMND 123456789"])
def test_a_national_id_is_no_label(label: str) -> None:
    assert "national ID" in (label_problem(label) or "")


def test_a_credential_is_live_until_it_expires_or_is_revoked() -> None:
    assert status_of(_doc(), NOW) == "live"
    assert status_of(_doc(expires_at=NOW), NOW) == "expired"
    revoked = _doc(revoked_at=NOW - timedelta(hours=1), revoked_reason="lộ mã")
    assert status_of(revoked, NOW) == "revoked"
    assert status_of({**revoked, "expires_at": NOW - timedelta(days=1)}, NOW) == "revoked"


def test_the_department_sees_the_unit_and_times_never_a_token() -> None:
    shown = view(_doc(), catalogue().resolve("56"), NOW)
    assert shown["id"] == "c-1" and shown["status"] == "live"
    assert shown["unit"]["code"] == "56" and shown["unit"]["level"] == "province"
    assert "token" not in shown and shown["revoked_at"] is None


def test_a_session_ends_when_signed_out_or_revoked_or_started_with_an_id_less_credential() -> None:
    live = {"_id": "s", "credential": "c-1", "signed_out_at": None}
    assert ended(live) is None
    assert "signed out" in (ended({**live, "signed_out_at": NOW}) or "")
    revoked = {**live, "signed_out_at": NOW, "ended_by": CREDENTIAL_REVOKED}
    assert "revoked" in (ended(revoked) or "")
    old = {"_id": "s", "signed_out_at": None}  # started before credentials had ids
    assert "new one" in (ended(old) or "")
