"""Issuing and verifying credentials: the issuer's keys, the status list, CLR 2.0 credentials.

A learner's credential is a 1EdTech CLR 2.0 ``ClrCredential`` embedding one Open Badges 3.0
``AchievementCredential`` per trail entry, each signed on its own (eddsa-rdfc-2022) by the
department's ``did:web`` issuer. Every credential gets a bit in the Bitstring Status List;
revoking a record sets the bits of the credentials built on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from contracts import credentials, words
from contracts.credentials import CredentialIssued, CredentialRevoked
from contracts.envelope import new_event_id
from services.common.broker import EventLog, publish_pending
from services.common.mongo import Document
from services.credential.sealing import seal, unseal
from services.credential.store import CredentialStore
from services.credential.vc.credentials import (
    IssuerProfile,
    Learner,
    LearningRecord,
    Provider,
    StatusPlan,
    issue_clr,
)
from services.credential.vc.jsonld import LocalDocumentLoader
from services.credential.vc.keys import (
    KeyRing,
    did_document,
    did_web,
    new_key_ring,
    rotate_key_ring,
    trust_list_from_did_document,
)
from services.credential.vc.proofs import sign
from services.credential.vc.schemas import SchemaSet
from services.credential.vc.statuslist import build_status_list_credential
from services.credential.vc.verify import VerificationReport, verify_credential

SOURCE = "/credential"
STATUS_LIST = "1"
# How long an instance uses the key ring it read before reading it again (a rotation made by
# another instance is used here within this time).
KEY_RING_TTL = 30.0
_log = logging.getLogger("learningtrail.credential.issuing")

ACHIEVEMENT_TYPES = {
    "course": "Course",
    "programme": "LearningProgram",
    "module": "Course",
    "certificate": "Certificate",
    "diploma": "Diploma",
    "exam": "Assessment",
    "recognised_unit": "Competency",
}


class IssuingError(Exception):
    """The credential cannot be issued; the message says why."""


def issuer_did(public_base_url: str) -> str:
    """The issuer's ``did:web`` for the host the credential service is reached at."""
    return did_web(urlsplit(public_base_url).netloc)


def learning_record(entry: Document) -> LearningRecord:
    """A trail entry as the values an Open Badges achievement is built from."""
    # the display fields a person reads, in the words of the one catalogue
    level = words.level_label("vi", entry.get("vqf_level"), entry.get("general_education_level"))
    result = entry.get("result", {})
    outcome = words.result_text(
        "vi", str(result.get("status", "")), result.get("grade"), result.get("grade_scale")
    )
    pathway = words.label("vi", "pathway", entry["pathway"])
    description = f"{pathway}: {entry['title']} (kết quả: {outcome})"
    return LearningRecord(
        record_id=entry["_id"],
        title=entry["title"],
        description=description,
        achievement_type=ACHIEVEMENT_TYPES.get(entry["kind"], "Achievement"),
        completion_date=date.fromisoformat(entry["completed_on"]),
        credits=entry.get("credits"),
        hours=entry.get("hours"),
        level=level,
        criteria=f"Mã học phần / khóa học: {entry['code']}" if entry.get("code") else None,
        provider=Provider(
            id=f"urn:uuid:{entry['provider_id']}",
            name=entry.get("provider_name") or "Cơ sở đào tạo",
        ),
    )


class Issuer:
    """The department as issuer: its keys, its status list, the credentials it signs."""

    def __init__(
        self,
        store: CredentialStore,
        log: EventLog,
        loader: LocalDocumentLoader,
        schemas: SchemaSet,
        public_base_url: str,
        issuer_name: str,
        key_secret: str,
    ) -> None:
        self.store = store
        self.log = log
        self.loader = loader
        self.schemas = schemas
        self.base_url = public_base_url.rstrip("/")
        self.did = issuer_did(public_base_url)
        self.profile = IssuerProfile(id=self.did, name=issuer_name, url=self.base_url)
        self.key_secret = key_secret
        self.status_list_url = f"{self.base_url}/v1/status-lists/{STATUS_LIST}"
        self._ring: KeyRing | None = None
        self._sealed: str | None = None  # the sealed ring ``_ring`` was read from
        self._read_at = 0.0  # monotonic time of the last read

    # keys

    async def key_ring(self) -> KeyRing:
        """The issuer's keys, re-read from the database at most every ``KEY_RING_TTL``
        seconds, so that a rotation by another instance is used here within that time."""
        now = time.monotonic()
        if self._ring is not None and now - self._read_at < KEY_RING_TTL:
            return self._ring
        stored = await self.store.sealed_keys()
        if stored is None:
            ring = new_key_ring(self.did, datetime.now(UTC))
            sealed = self._seal(ring)
            if await self.store.put_sealed_keys(sealed, self.did, replace=False):
                self._ring, self._sealed = ring, sealed
            else:
                stored = await self.store.sealed_keys()  # another instance made one first
        if stored is not None and stored["sealed"] != self._sealed:
            self._ring = KeyRing.from_dict(unseal(stored["sealed"], self.key_secret))
            self._sealed = stored["sealed"]
        self._read_at = now
        assert self._ring is not None
        return self._ring

    def _seal(self, ring: KeyRing) -> str:
        return seal(ring.to_dict(), self.key_secret)

    async def rotate(self) -> KeyRing:
        """A new signing key; the old ones stay in the DID document so old credentials verify.
        Other instances use the new key within ``KEY_RING_TTL`` seconds."""
        self._read_at = 0.0  # rotate what is stored now, not what this instance last read
        ring = rotate_key_ring(await self.key_ring(), datetime.now(UTC))
        sealed = self._seal(ring)
        await self.store.put_sealed_keys(sealed, self.did, replace=True)
        self._ring, self._sealed, self._read_at = ring, sealed, time.monotonic()
        return ring

    async def did_document(self) -> dict[str, Any]:
        return did_document(await self.key_ring())

    # issuing

    async def issue(self, learner_id: str, record_ids: list[str] | None) -> Document:
        learner = await self.store.learner(learner_id)
        if learner is None or learner.get("merged_into"):
            raise IssuingError(f"learner {learner_id} is not known (or was merged)")
        entries = (await self.store.entries_of([learner_id]))[learner_id]
        if record_ids is not None:
            wanted = set(record_ids)
            entries = [e for e in entries if e["_id"] in wanted]
            missing = wanted - {e["_id"] for e in entries}
            if missing:
                raise IssuingError(f"not on this learner's trail (or revoked): {sorted(missing)}")
        if not entries:
            raise IssuingError("there is nothing on the trail to put in a credential yet")
        entries.sort(key=lambda e: (e["completed_on"], e["_id"]))
        ring = await self.key_ring()
        indices = await self.store.allocate_status_indices(STATUS_LIST, len(entries) + 1)
        plan = StatusPlan(
            list_url=self.status_list_url,
            clr_index=indices[0],
            record_indices={e["_id"]: i for e, i in zip(entries, indices[1:], strict=True)},
        )
        clr_id = f"urn:uuid:{new_event_id()}"
        now = datetime.now(UTC)
        name = learner["full_name"]
        document = await asyncio.to_thread(
            issue_clr,
            Learner(id=f"urn:uuid:{learner_id}", name=name),
            [learning_record(e) for e in entries],
            self.profile,
            ring,
            self.loader,
            clr_id,
            now,
            f"Hồ sơ học tập suốt đời — {name}",
            None,
            plan,
        )
        event = CredentialIssued(
            credential_id=clr_id,
            learner_id=learner_id,
            record_ids=[e["_id"] for e in entries],
            verify_url=self.verification_url(clr_id),
            issued_at=now,
        )
        doc: Document = {
            "_id": clr_id,
            "learner_id": learner_id,
            "record_ids": [e["_id"] for e in entries],
            "clr_index": plan.clr_index,
            "record_indices": dict(plan.record_indices),
            "issued_at": now,
            "revoked_at": None,
            "document": document,
            "pending": _pending(credentials.CREDENTIAL_ISSUED, event),
        }
        await self.store.add_credential(doc)
        try:
            await self._announce(doc)
        except Exception as exc:  # stored, signed and served: the relay will announce it
            _log.warning(
                "credential.issued not appended yet; the relay will",
                extra={"credential_id": clr_id, "error": repr(exc)},
            )
        _log.info("credential issued", extra={"credential_id": clr_id, "records": len(entries)})
        return doc

    def verification_url(self, credential_id: str) -> str:
        return f"{self.base_url}/v1/credentials/{credential_id}/verification"

    # revoking

    async def revoke_with_record(self, record_id: str, reason: str) -> None:
        """Revoke every credential that holds the record: its own bit and the CLR's."""
        for doc in await self.store.credentials_with_record(record_id):
            if doc.get("revoked_at") is None:
                indices = [doc["clr_index"], *doc["record_indices"].values()]
                await self.store.revoke_indices(STATUS_LIST, indices)
                now = datetime.now(UTC)
                event = CredentialRevoked(
                    credential_id=doc["_id"],
                    learner_id=doc["learner_id"],
                    reason=reason,
                    revoked_at=now,
                )
                doc["pending"] = _pending(credentials.CREDENTIAL_REVOKED, event)
                await self.store.change_credential(
                    doc["_id"], {"revoked_at": now, "pending": doc["pending"]}
                )
            await self._announce(doc)

    async def _announce(self, doc: Document) -> None:
        pending = doc.get("pending")
        if not pending:
            return
        await publish_pending(self.log, pending, SOURCE, doc["learner_id"])
        await self.store.credential_announced(doc["_id"], pending["event_id"])

    async def relay_pending(self, settled_before: datetime) -> int:
        """Append the events of credentials issued or revoked before ``settled_before`` whose
        append failed or was cut short (same event id: consumers see one event); how many."""
        waiting = await self.store.unannounced_credentials(settled_before)
        for doc in waiting:
            await self._announce(doc)
        return len(waiting)

    async def relay_forever(self, every_seconds: float = 5.0) -> None:
        """The credential service's relay task: what a request could not announce."""
        while True:
            await asyncio.sleep(every_seconds)
            try:
                relayed = await self.relay_pending(datetime.now(UTC) - timedelta(seconds=5))
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("credential relay pass failed; trying again")
                continue
            if relayed:
                _log.info("credential events relayed", extra={"count": relayed})

    # the status list and verification

    async def status_list(self) -> dict[str, Any]:
        """The signed revocation list (a W3C Bitstring Status List credential)."""
        ring = await self.key_ring()
        revoked = await self.store.revoked_indices(STATUS_LIST)
        now = datetime.now(UTC)
        unsigned = build_status_list_credential(self.status_list_url, self.did, revoked, now)
        return await asyncio.to_thread(
            sign, unsigned, ring.current, ring.verification_method(), now, self.loader
        )

    async def verify(
        self, document: dict[str, Any] | str, trusted_only: bool
    ) -> VerificationReport:
        """Verify offline against the pinned issuer (this service's own DID document)."""
        trust = trust_list_from_did_document(await self.did_document())
        lists: dict[str, dict[str, Any]] = {}
        if self.status_list_url in str(document):
            lists[self.status_list_url] = await self.status_list()
        return await asyncio.to_thread(
            verify_credential,
            document,
            loader=self.loader,
            schemas=self.schemas,
            trust_list=trust,
            now=datetime.now(UTC),
            status_source=lists.get,
            trusted_only=trusted_only,
        )


def _pending(event_type: str, data: BaseModel) -> Document:
    return {
        "event_id": new_event_id(),
        "type": event_type,
        "data": data.model_dump(mode="json", exclude_none=True),
    }
