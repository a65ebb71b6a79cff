"""The learner service's MongoDB access layer: providers, keys, learners, records, programmes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.common.mongo import Document


class LearnerStore:
    """Everything the learner service keeps. No other service reads these collections."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.providers = db["providers"]
        self.api_keys = db["api_keys"]
        self.learners = db["learners"]
        self.records = db["records"]
        self.programmes = db["programmes"]

    async def ensure_indexes(self) -> None:
        await self.learners.create_index([("id_hash", ASCENDING)], unique=True)
        await self.records.create_index(
            [("provider_id", ASCENDING), ("provider_record_ref", ASCENDING)], unique=True
        )
        await self.api_keys.create_index([("provider_id", ASCENDING)])

    # providers and keys

    async def add_provider(self, provider: Document, key_hash: str, scopes: list[str]) -> None:
        await self.providers.insert_one(provider)
        await self.api_keys.insert_one(
            {
                "_id": key_hash,
                "provider_id": provider["_id"],
                "scopes": scopes,
                "created_at": provider["created_at"],
                "revoked_at": None,
            }
        )

    async def provider_for_key(self, key_hash: str) -> tuple[Document, list[str]] | None:
        key = await self.api_keys.find_one({"_id": key_hash, "revoked_at": None})
        if key is None:
            return None
        provider = await self.providers.find_one({"_id": key["provider_id"]})
        if provider is None:
            return None
        return provider, list(key.get("scopes", []))

    async def list_providers(self) -> list[Document]:
        return [p async for p in self.providers.find({}).sort("created_at", ASCENDING)]

    # learners

    async def learner_by_hash(self, id_hash: str) -> Document | None:
        return await self.learners.find_one({"id_hash": id_hash})

    async def add_learner(self, learner: Document) -> Document:
        """Insert a new learner; if another request created the same one first, return that."""
        try:
            await self.learners.insert_one(learner)
        except DuplicateKeyError:
            existing = await self.learner_by_hash(learner["id_hash"])
            if existing is None:  # pragma: no cover - the unique key was just violated
                raise
            return existing
        return learner

    async def mark_learner_published(self, learner_id: str) -> None:
        await self.learners.update_one({"_id": learner_id}, {"$set": {"published": True}})

    # records (idempotency keys: provider and the provider's reference)

    async def record_by_ref(self, provider_id: str, ref: str) -> Document | None:
        return await self.records.find_one({"provider_id": provider_id, "provider_record_ref": ref})

    async def add_pending_record(self, record: Document) -> Document | None:
        """Insert a pending record; None if the same (provider, reference) already exists."""
        try:
            await self.records.insert_one(record)
        except DuplicateKeyError:
            return None
        return record

    async def mark_record_appended(self, record_id: str, at: datetime) -> None:
        await self.records.update_one(
            {"_id": record_id}, {"$set": {"state": "appended", "appended_at": at}}
        )

    # programmes

    async def save_programme(self, programme: Document) -> Document:
        saved: Document | None = await self.programmes.find_one_and_update(
            {"_id": programme["_id"]},
            {"$set": programme},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert saved is not None
        return saved

    async def count(self) -> dict[str, Any]:
        return {
            "providers": await self.providers.count_documents({}),
            "learners": await self.learners.count_documents({}),
            "records": await self.records.count_documents({}),
        }
