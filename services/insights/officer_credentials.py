"""Officer credentials: what the department issues an officer, and can revoke.

A credential is a signed token of the one token codec (role ``officer``, subject the unit it
reaches, at most :data:`DAYS_MAX` days) that names its own id (``cid``). The id is the ``_id``
of a document in ``officer_credentials`` — unit, label, issued, expires, revoked — so every
request that carries the credential is checked with one read by ``_id`` (the only lookup
FerretDB pushes down), and the department lists and revokes them by id. The token itself is
never stored with it: it is shown once, when issued (a request with ``Idempotency-Key`` has
its answer kept 24 h in ``idempotency``, so a retry after a lost answer gets the same
credential instead of a second one nobody has seen).

Revoking marks the document (``revoked_at``, ``revoked_reason``) and ends every browser session
started with the credential (:mod:`services.insights.officers`); revoking again changes
nothing but ends any session that a first attempt, cut short, left running. A credential
issued before credentials had ids names none and is refused: the department cannot revoke it.

The label is the department's note of whom a credential is for — a job title such as "Cán bộ
thống kê xã Phước Hậu" — never a person's national ID (a label holding 9 digits or more in a
row is refused).
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.dates import day_in_vietnam
from services.common.problems import Problem
from services.common.tokens import Claims, issue_token
from services.insights.store import InsightsStore
from services.insights.units import Unit

DAYS_MAX = 90
LABEL_MAX = 120
_ID_LIKE = re.compile(r"\d{9,}")  # a CMND has 9 digits, a CCCD 12
WITHDRAWN = "Officer credential withdrawn"  # the title of a refusal the sign-in page explains
NO_ID = (
    "this officer credential was issued before credentials had an id, so the department could "
    "not revoke it, and it is no longer accepted; ask the department for a new one"
)


def label_problem(label: str | None) -> str | None:
    """What is wrong with a label the department gave, if anything."""
    if label is not None and _ID_LIKE.search(label):
        return (
            "A label says what the credential is for (a job title, an office), never a "
            "person's national ID: leave out numbers of 9 digits or more."
        )
    return None


def status_of(doc: dict[str, Any], now: datetime) -> str:
    """``revoked``, ``expired`` or ``live``."""
    if doc.get("revoked_at") is not None:
        return "revoked"
    return "expired" if doc["expires_at"] <= now else "live"


def view(doc: dict[str, Any], unit: Unit | None, now: datetime) -> dict[str, Any]:
    """What the department sees of a credential (never its token, which is not stored)."""
    return {
        "id": doc["_id"],
        "unit": {"code": doc["unit"]}
        if unit is None
        else {"code": unit.code, "name": unit.name, "level": unit.level.value},
        "label": doc.get("label"),
        "issued_at": doc["issued_at"],
        "expires_at": doc["expires_at"],
        "status": status_of(doc, now),
        "revoked_at": doc.get("revoked_at"),
        "revoked_reason": doc.get("revoked_reason"),
    }


class OfficerCredentials:
    """The officer credentials the department issued, by id."""

    def __init__(self, store: InsightsStore, secret: str) -> None:
        self.store = store
        self.secret = secret

    async def issue(self, unit: Unit, days: int, label: str | None) -> tuple[str, dict[str, Any]]:
        """A new credential for ``unit``, good for ``days``: its token (shown once) and its
        document (stored first, so the token never names a credential that is not stored)."""
        now = int(time.time())
        expires_at = now + days * 86_400
        doc: dict[str, Any] = {
            "_id": str(uuid.uuid4()),
            "unit": unit.code,
            "label": label,
            "issued_at": datetime.fromtimestamp(now, UTC),
            "expires_at": datetime.fromtimestamp(expires_at, UTC),
            "revoked_at": None,
            "revoked_reason": None,
        }
        await self.store.add_officer_credential(doc)
        token = issue_token(self.secret, unit.code, "officer", expires_at, credential=doc["_id"])
        return token, doc

    async def refusal(self, claims: Claims) -> str | None:
        """Why an officer credential (not a session's token) is refused, if it is: it has no
        id, or its id is unknown, or the department revoked it. One read by ``_id``."""
        if claims.credential is None:
            return NO_ID
        doc = await self.store.officer_credential(claims.credential)
        if doc is None or doc["unit"] != claims.subject:
            return (
                "the department has no record of this officer credential; ask the department "
                "for a new one"
            )
        if doc.get("revoked_at") is not None:
            day = day_in_vietnam(doc["revoked_at"]).isoformat()
            return (
                f"the department revoked this officer credential on {day} "
                f"({doc.get('revoked_reason')}); ask the department for a new one"
            )
        return None

    async def revoke(self, credential_id: str, reason: str) -> dict[str, Any]:
        """Revoke a credential and end every session started with it; its document as now
        stored. Revoking a revoked one keeps the first revocation. 404 for an unknown id."""
        doc = await self.store.officer_credential(credential_id)
        if doc is None:
            raise Problem(
                404,
                "Unknown officer credential",
                f"No officer credential has the id {credential_id!r}: GET /v1/admin/officers "
                "lists those issued.",
            )
        now = datetime.now(UTC)
        if doc.get("revoked_at") is None:
            await self.store.revoke_officer_credential(credential_id, now, reason)
            doc = await self.store.officer_credential(credential_id) or doc
        await self.store.end_officer_sessions_of(credential_id, now)
        return doc

    async def listed(self) -> list[dict[str, Any]]:
        """Every credential issued, newest first."""
        docs = await self.store.officer_credentials()
        return sorted(docs, key=lambda d: (d["issued_at"], d["_id"]), reverse=True)
