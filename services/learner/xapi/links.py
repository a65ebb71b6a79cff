"""What a training centre tells the LRS beforehand: which learner each of its e-learning
agents is, and how its statements become records (its mapping).

A link says that an agent — an account on the centre's Moodle or Open edX site, or an email
address — is the learner with this national ID, name and birth date. The national ID is
hashed on arrival (as in ``POST /v1/records``) and never kept; statements never carry it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.common.mongo import Document
from services.learner.identity import national_id_hash
from services.learner.intake import LearnerIdentity
from services.learner.store import learner_key
from services.learner.xapi.mapping import Mapping
from services.learner.xapi.store import XapiStore
from services.learner.xapi.validation import agent_key, agent_parameter_errors


class AgentLink(BaseModel):
    """An agent of the centre's e-learning tool, and the learner it is."""

    model_config = ConfigDict(extra="forbid")

    agent: dict[str, Any] = Field(
        description="An xAPI Agent: {account: {homePage, name}}, {mbox}, {mbox_sha1sum} or "
        "{openid}.",
        examples=[{"account": {"homePage": "https://moodle.example.edu.vn", "name": "1042"}}],
    )
    learner: LearnerIdentity


class AgentLinkError(ValueError):
    """The agent is not an xAPI Agent."""


class Links:
    """Agent links and mappings of training centres."""

    def __init__(self, store: XapiStore, identity_key: bytes) -> None:
        self.store = store
        self.identity_key = identity_key

    async def link(self, provider: Document, request: AgentLink) -> Document:
        errors = agent_parameter_errors(request.agent)
        key = agent_key(request.agent)
        if errors or key is None or request.agent.get("objectType") == "Group":
            raise AgentLinkError("; ".join(errors) or "link an Agent, not a Group")
        identity = request.learner
        id_hash = national_id_hash(self.identity_key, identity.national_id)
        doc: Document = {
            "_id": f"{provider['_id']}:{key}",
            "provider_id": provider["_id"],
            "agent": key,
            "id_hash": id_hash,
            "learner_id": learner_key(id_hash),
            "full_name": identity.full_name,
            "birth_date": identity.birth_date.isoformat(),
            "commune_code": identity.commune_code,
            "linked_at": datetime.now(UTC),
        }
        await self.store.set_link(doc)
        return doc

    async def set_mapping(self, provider: Document, mapping: Mapping) -> Document:
        doc: Document = {
            "_id": provider["_id"],
            "mapping": mapping.model_dump(mode="json", exclude_none=True),
            "updated_at": datetime.now(UTC),
        }
        await self.store.set_mapping(provider["_id"], doc)
        return doc

    async def mapping(self, provider: Document) -> Mapping | None:
        doc = await self.store.mapping(provider["_id"])
        return None if doc is None else Mapping.model_validate(doc["mapping"])
