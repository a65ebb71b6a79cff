"""Importing a CLR issued elsewhere as a learner's prior learning (liên thông across issuers).

The department names the learner and the pathway; the CLR must verify with every check passed
(the same verifier as ``POST /v1/verify``, with the issuer required to be on the department's
trust list, and its status lists handed in signed since this service fetches nothing), must be
a ``ClrCredential`` of another issuer, and must name the learner by a ``name`` identity that
matches the learner's registered name. Its achievements are then read
(:mod:`services.credential.prior_learning`) and appended to the log as one
``prior_learning.credential.imported`` event; the trail projection adds them to the trail and
applies the recognition rules, so a rebuild from the log gives the same trail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from contracts import prior_learning
from contracts.prior_learning import PriorLearningImported
from contracts.vocabulary import Pathway
from services.common.broker import EventLog, publish_pending_many
from services.common.outbox import pending_event
from services.credential.issuing import Issuer
from services.credential.prior_learning import (
    PriorLearningError,
    identity_matches,
    import_id_for,
    read_achievements,
)
from services.credential.store import SOURCE, CredentialStore
from services.credential.vc.credentials import nfc

_log = logging.getLogger("learningtrail.credential.importing")


class ImportRefused(Exception):
    """The CLR is not imported: ``status``, ``title`` and ``detail`` for the caller, and the
    verification report's checks behind it when there is one."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        checks: list[dict[str, str]] | None = None,
        verdict: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.checks, self.verdict = checks, verdict
        self.headers = headers or {}


def _issuer(document: Mapping[str, Any]) -> tuple[str, str]:
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        name = issuer.get("name")
        return str(issuer.get("id") or ""), nfc(name) if isinstance(name, str) else ""
    return (str(issuer), "") if isinstance(issuer, str) else ("", "")


class PriorLearningImporter:
    """``POST /v1/recognitions:import``: verify, match the learner, read, append the event."""

    def __init__(self, store: CredentialStore, log: EventLog, issuer: Issuer) -> None:
        self.store = store
        self.log = log
        self.issuer = issuer

    async def import_clr(
        self,
        learner_id: str,
        pathway: Pathway,
        clr: dict[str, Any],
        status_lists: Sequence[Mapping[str, Any]],
        imported_by: str,
    ) -> PriorLearningImported:
        learner = await self.store.learner(learner_id)
        if learner is None or not learner.get("full_name"):
            raise ImportRefused(
                404,
                "Unknown learner",
                f"No learner {learner_id} is known to the credential service (a learner appears "
                "here once registered); name the learner the CLR belongs to in this system.",
            )
        if learner.get("merged_into"):
            raise ImportRefused(
                409,
                "Learner merged",
                f"Learner {learner_id} was merged into {learner['merged_into']}: import for "
                "that learner.",
            )
        types = clr.get("type")
        if "ClrCredential" not in (types if isinstance(types, list) else [types]):
            raise ImportRefused(
                422,
                "Not a CLR",
                "Only a CLR 2.0 ClrCredential can be imported (its type must include "
                "'ClrCredential').",
            )
        issuer_id, issuer_name = _issuer(clr)
        if issuer_id == self.issuer.did:
            raise ImportRefused(
                409,
                "Issued here",
                "This CLR was issued by this department: its records are already on the "
                "learner's trail, so importing it would count them twice.",
            )
        report = await self.issuer.verify(clr, trusted_only=True, status_lists=status_lists)
        if report.status != "valid":
            worst = report.failed() or report.unknown()
            named = "; ".join(f"{c.check} at {c.path}: {c.detail}" for c in worst[:5])
            raise ImportRefused(
                422,
                "CLR not verified",
                f"The CLR is {report.status}, so it is not imported: {named}"
                + (
                    ". A status list this service cannot fetch must be sent, signed, in "
                    "'status_lists'; an issuer must first be added to the trust list "
                    "(PUT /v1/admin/trusted-issuers)."
                    if report.status == "indeterminate"
                    else ""
                ),
                checks=[c.to_dict() for c in worst],
                verdict=report.verdict(),
            )
        subject = clr.get("credentialSubject")
        matched = identity_matches(
            subject if isinstance(subject, Mapping) else {}, learner["full_name"]
        )
        if matched is None:
            raise ImportRefused(
                422,
                "Learner not identified",
                "The CLR names its learner in no way this system can check: it needs an "
                "IdentityObject of identityType 'name' (hashed with its salt, or in clear).",
            )
        if not matched:
            raise ImportRefused(
                422,
                "Not this learner's CLR",
                f"The learner identity in the CLR does not match the registered name of learner "
                f"{learner_id}.",
            )
        import_id = import_id_for(learner_id, str(clr.get("id") or ""))
        try:
            achievements = read_achievements(clr, learner_id, pathway, self.issuer.frameworks)
        except PriorLearningError as exc:
            raise ImportRefused(422, "CLR not readable", str(exc)) from exc
        event = PriorLearningImported(
            import_id=import_id,
            learner_id=learner_id,
            credential_id=str(clr.get("id") or ""),
            issuer_id=issuer_id,
            issuer_name=issuer_name or issuer_id,
            imported_by=imported_by,
            achievements=achievements,
            verified_at=datetime.now(UTC),
        )
        # nothing is stored here: the event is the import, so there is nothing for an outbox
        # to keep; it is accepted (202) only once Kafka has it, and refused (503) otherwise
        pending = pending_event(prior_learning.PRIOR_LEARNING_IMPORTED, learner_id, event)
        try:
            (error,) = await publish_pending_many(self.log, [(pending, learner_id)], SOURCE)
            if error is not None:
                raise error
        except Exception as exc:
            _log.warning("prior learning import not appended", extra={"error": repr(exc)})
            raise ImportRefused(
                503,
                "Service unavailable",
                "The event log did not confirm the import in time. Retrying is safe: the same "
                "CLR for the same learner gives the same import and the same trail entries, "
                "never twice (an append that arrives late is the same import).",
                headers={"Retry-After": "5"},
            ) from exc
        _log.info(
            "prior learning imported",
            extra={"import_id": import_id, "issuer": issuer_id, "records": len(achievements)},
        )
        return event
