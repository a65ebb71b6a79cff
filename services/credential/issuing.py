"""Issuing and verifying credentials: the issuer's keys, the status list, CLR 2.0 credentials.

A learner's credential is a 1EdTech CLR 2.0 ``ClrCredential`` embedding one Open Badges 3.0
``AchievementCredential`` per trail entry, each signed on its own (eddsa-rdfc-2022) by the
department's ``did:web`` issuer. Every credential — the CLR and each achievement credential
in it — gets its own bit in a series of Bitstring Status Lists (a new list when one is full).
Revoking a record sets exactly the bits of the credentials that assert it: its achievement
credential in each CLR that embeds it, and each such CLR; never the bits of the other records'
achievement credentials, which stay valid on their own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from contracts import credentials, words
from contracts.credentials import CredentialIssued, CredentialRevoked, CredentialVerified
from contracts.dates import day_in_vietnam
from contracts.envelope import new_event_id
from services.common.broker import EventLog
from services.common.mongo import Document
from services.common.outbox import pending_event
from services.credential import badges
from services.credential.frameworks import Frameworks, level_alignments, load_frameworks
from services.credential.sealing import seal, unseal
from services.credential.store import CredentialStore
from services.credential.vc.credentials import (
    Address,
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
from services.credential.vc.schemas import SchemaSet, schema_problems
from services.credential.vc.statuslist import (
    LIST_SIZE,
    StatusSlot,
    build_status_list_credential,
)
from services.credential.vc.verify import VerificationReport, verify_credential

STATUS_LISTS_PATH = "/v1/status-lists/"
# How long a signed status list may be kept (and trusted) by a verifier: a revocation reaches
# a verifier that caches lists within this time; an old copy cannot be replayed for longer.
STATUS_LIST_VALIDITY = timedelta(minutes=15)
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
# A diploma (văn bằng) by its VQF level: trung cấp a Diploma, cao đẳng an associate degree,
# đại học a bachelor's, thạc sĩ a master's, tiến sĩ a doctorate; sơ cấp I–III give a
# certificate (chứng chỉ), not a diploma.
DIPLOMA_TYPES = {
    1: "Certificate",
    2: "Certificate",
    3: "Certificate",
    4: "Diploma",
    5: "AssociateDegree",
    6: "BachelorDegree",
    7: "MasterDegree",
    8: "DoctoralDegree",
}


def achievement_type(kind: str, vqf_level: int | None, general_level: str | None) -> str:
    """The OB 3.0 ``achievementType`` of a record: by its kind, and for a diploma by its
    level (``SecondarySchoolDiploma`` for the upper-secondary one)."""
    if kind == "diploma":
        if vqf_level is not None:
            return DIPLOMA_TYPES.get(vqf_level, "Diploma")
        if general_level == "upper_secondary":
            return "SecondarySchoolDiploma"
    return ACHIEVEMENT_TYPES.get(kind, "Achievement")


class IssuingError(Exception):
    """The credential cannot be issued; the message says why."""


class CredentialSchemaError(Exception):
    """A credential built here does not validate against the OB 3.0 / CLR 2.0 schemas (a
    defect of this service, never the caller's): it is not issued."""


def issuer_did(public_base_url: str) -> str:
    """The issuer's ``did:web`` for the host the credential service is reached at."""
    return did_web(urlsplit(public_base_url).netloc)


def learning_record(
    entry: Document, frameworks: Frameworks | None = None, base_url: str = ""
) -> LearningRecord:
    """A trail entry as the values an Open Badges achievement is built from (its level
    aligned to the ``frameworks`` published under ``base_url``)."""
    # the display fields a person reads, in the words of the one catalogue
    level = words.level_label("vi", entry.get("vqf_level"), entry.get("general_education_level"))
    result = entry.get("result", {})
    outcome = words.result_text(
        "vi", str(result.get("status", "")), result.get("grade"), result.get("grade_scale")
    )
    pathway = words.label("vi", "pathway", entry["pathway"])
    description = f"{pathway}: {entry['title']} (kết quả: {outcome})"
    vqf_level, general_level = entry.get("vqf_level"), entry.get("general_education_level")
    provider_name = entry.get("provider_name") or "Cơ sở đào tạo"
    return LearningRecord(
        record_id=entry["_id"],
        title=entry["title"],
        description=description,
        achievement_type=achievement_type(entry["kind"], vqf_level, general_level),
        completion_date=date.fromisoformat(entry["completed_on"]),
        credits=entry.get("credits"),
        hours=entry.get("hours"),
        level=level,
        criteria=f"Mã học phần / khóa học: {entry['code']}" if entry.get("code") else None,
        field_of_study=entry.get("field_of_study"),
        provider=Provider(
            id=f"urn:uuid:{entry['provider_id']}",
            name=provider_name,
            image=badges.centre_badge(provider_name),
        ),
        code=entry.get("code"),
        grade=result.get("grade"),
        grade_scale=result.get("grade_scale"),
        result_status=result.get("status"),
        alignments=tuple(level_alignments(frameworks, base_url, vqf_level, general_level))
        if frameworks is not None
        else (),
        image=badges.achievement_badge(
            entry["title"],
            entry["pathway"],
            _badge_label(vqf_level, general_level) or entry.get("code"),
        ),
    )


def _badge_label(vqf_level: int | None, general_level: str | None) -> str | None:
    if vqf_level is not None:
        return f"Bậc {vqf_level}"
    return {"primary": "Tiểu học", "lower_secondary": "THCS", "upper_secondary": "THPT"}.get(
        general_level or ""
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
        official: str | None = None,
        address: Address | None = None,
        parent_org: str | None = None,
    ) -> None:
        self.store = store
        self.log = log
        self.loader = loader
        self.schemas = schemas
        self.base_url = public_base_url.rstrip("/")
        self.did = issuer_did(public_base_url)
        self.profile = IssuerProfile(
            id=self.did,
            name=issuer_name,
            url=self.base_url,
            official=official,
            address=address,
            parent_org=parent_org,
            image=badges.issuer_badge(issuer_name),
        )
        self.frameworks = load_frameworks()
        self.key_secret = key_secret
        self.status_lists_url = f"{self.base_url}{STATUS_LISTS_PATH}"
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
        # learning imported from another issuer's CLR is that issuer's to assert, not ours
        entries = [
            e
            for e in (await self.store.entries_of([learner_id]))[learner_id]
            if "imported" not in e
        ]
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
        slots = await self.store.allocate_status_slots(len(entries) + 1)
        plan = StatusPlan(
            clr=self._bit(slots[0]),
            records={e["_id"]: self._bit(s) for e, s in zip(entries, slots[1:], strict=True)},
        )
        clr_id = f"urn:uuid:{new_event_id()}"
        now = datetime.now(UTC)
        name = learner["full_name"]
        document = await asyncio.to_thread(
            issue_clr,
            Learner(id=f"urn:uuid:{learner_id}", name=name),
            [learning_record(e, self.frameworks, self.base_url) for e in entries],
            self.profile,
            ring,
            self.loader,
            clr_id,
            now,
            "Hồ sơ học tập suốt đời",
            None,
            plan,
        )
        problems = await asyncio.to_thread(schema_problems, document, self.schemas)
        if problems:
            _log.error("credential fails its schemas", extra={"problems": problems[:10]})
            raise CredentialSchemaError("; ".join(problems[:5]))
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
            "clr_status": _slot_doc(slots[0]),
            "record_status": {
                e["_id"]: _slot_doc(s) for e, s in zip(entries, slots[1:], strict=True)
            },
            "issued_at": now,
            "revoked_at": None,
            "document": document,
            "pending": pending_event(credentials.CREDENTIAL_ISSUED, learner_id, event),
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

    def status_list_url(self, list_id: str) -> str:
        """Where list ``list_id`` of the series is published (a signed credential)."""
        return f"{self.status_lists_url}{list_id}"

    def _bit(self, where: StatusSlot) -> tuple[str, int]:
        return self.status_list_url(where.list_id), where.index

    # revoking

    async def revoke_with_record(self, record_id: str, reason: str) -> None:
        """Revoke the credentials that assert the record: in each CLR that embeds it, the
        record's achievement credential and the CLR itself (it asserts every record it
        holds). The other achievement credentials of that CLR keep their bits clear. A CLR
        revoked earlier for another record still gets this record's bit set."""
        for doc in await self.store.credentials_with_record(record_id):
            await self.store.revoke_slots(bits_asserting(doc, record_id))
            if doc.get("revoked_at") is None:
                now = datetime.now(UTC)
                event = CredentialRevoked(
                    credential_id=doc["_id"],
                    learner_id=doc["learner_id"],
                    reason=reason,
                    revoked_at=now,
                )
                doc["pending"] = pending_event(
                    credentials.CREDENTIAL_REVOKED, doc["learner_id"], event
                )
                await self.store.change_credential(
                    doc["_id"], {"revoked_at": now, "pending": doc["pending"]}
                )
            await self._announce(doc)

    async def _announce(self, doc: Document) -> None:
        await self.store.outbox.append_one(self.log, "credentials", doc)

    async def note_verified(self, issued: Mapping[str, Any], report: VerificationReport) -> None:
        """Announce the first check of the day of a credential this service issued
        (``credential.verified``, through the outbox): the department counts credentials
        verified. A later check that day changes nothing; a failure here never fails the
        verification the caller asked for."""
        now = datetime.now(UTC)
        day = day_in_vietnam(now)
        verdict = {0: "valid", 1: "invalid"}.get(report.exit_code, "indeterminate")
        event = CredentialVerified(
            credential_id=issued["_id"],
            learner_id=issued["learner_id"],
            day=day,
            verdict=verdict,
            verified_at=now,
        )
        doc: Document = {
            "_id": f"{issued['_id']}|{day.isoformat()}",
            "credential_id": issued["_id"],
            "day": day.isoformat(),
            "pending": pending_event(credentials.CREDENTIAL_VERIFIED, issued["learner_id"], event),
        }
        try:
            if await self.store.add_verification(doc):
                await self.store.outbox.append_one(self.log, "verifications", doc)
        except Exception as exc:  # noted or not, the caller still gets their verdict
            _log.warning(
                "credential.verified not appended yet",
                extra={"credential_id": issued["_id"], "error": repr(exc)},
            )

    # the status list and verification

    async def status_list(self, list_id: str) -> dict[str, Any] | None:
        """List ``list_id`` of the series, signed (a W3C Bitstring Status List credential,
        valid for :data:`STATUS_LIST_VALIDITY`); None when the series has no such list."""
        if list_id not in await self.store.status_list_ids():
            return None
        ring = await self.key_ring()
        revoked = [i for i in await self.store.revoked_indices(list_id) if i < LIST_SIZE]
        now = datetime.now(UTC)
        url = self.status_list_url(list_id)
        unsigned = build_status_list_credential(
            url, self.did, revoked, now, valid_until=now + STATUS_LIST_VALIDITY
        )
        return await asyncio.to_thread(
            sign, unsigned, ring.current, ring.verification_method(), now, self.loader
        )

    async def verify(
        self,
        document: dict[str, Any] | str,
        trusted_only: bool,
        status_lists: Sequence[Mapping[str, Any]] = (),
    ) -> VerificationReport:
        """Verify against this service's own DID document, the issuers the department added
        to its trust list (their DID documents as it gave them) and this service's own status
        lists, plus any signed ``status_lists`` handed in (keyed by their ``id``; their
        proofs are checked like any other); nothing is fetched from elsewhere (no request may
        make this service call a URL a credential names), so keys and lists not known here
        are ``unknown``."""
        trust = trust_list_from_did_document(await self.did_document())
        for trusted in await self.store.trusted_issuers():
            if trusted["_id"] != self.did:
                trust.update(trust_list_from_did_document(trusted["did_document"]))
        lists: dict[str, dict[str, Any]] = {
            str(given["id"]): dict(given)
            for given in status_lists
            if isinstance(given, Mapping)
            and isinstance(given.get("id"), str)
            and not str(given["id"]).startswith(self.status_lists_url)
        }
        named = {u for u in _status_list_urls(document) if u.startswith(self.status_lists_url)}
        if named:
            existing = {self.status_list_url(i) for i in await self.store.status_list_ids()}
            for url in sorted(named & existing):
                found = await self.status_list(url.removeprefix(self.status_lists_url))
                if found is not None:
                    lists[url] = found
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


def _slot_doc(where: StatusSlot) -> Document:
    return {"list_id": where.list_id, "index": where.index}


def bits_asserting(doc: Mapping[str, Any], record_id: str) -> list[StatusSlot]:
    """The bits of the credentials in the issued CLR ``doc`` that assert ``record_id``: the
    CLR's and the record's achievement credential's (documents from before the series kept
    ``clr_index`` / ``record_indices`` in list ``"1"``)."""
    if "clr_status" in doc:
        clr = doc["clr_status"]
        found = [StatusSlot(clr["list_id"], clr["index"])]
        record = doc["record_status"].get(record_id)
        if record is not None:
            found.append(StatusSlot(record["list_id"], record["index"]))
        return found
    found = [StatusSlot("1", doc["clr_index"])]
    if record_id in doc.get("record_indices", {}):
        found.append(StatusSlot("1", doc["record_indices"][record_id]))
    return found


def _status_list_urls(document: Any) -> Iterable[str]:
    """Every ``statusListCredential`` named anywhere in a credential (and those it embeds)."""
    if isinstance(document, Mapping):
        for key, value in document.items():
            if key == "statusListCredential" and isinstance(value, str):
                yield value
            else:
                yield from _status_list_urls(value)
    elif isinstance(document, list):
        for item in document:
            yield from _status_list_urls(item)
