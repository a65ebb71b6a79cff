"""``xapi-statements.v1`` (keyed by training centre id): every statement the LRS stored.

The learner service is the training centres' xAPI 2.0 Learning Record Store (``/xapi/…``).
Each statement it stores — mapped to a learning record or not — is announced here once, so the
statements (and what the centres' mappings made of them) can be rebuilt from the log. Keyed
by the centre, so a voiding statement follows the statement it voids. The statement travels
as the JSON text the LRS returns for it (``format=exact``); it names agents as the e-learning
tool knows them (an account on its site, an email address), never a national ID.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData

TOPIC = "xapi-statements.v1"
STATEMENT_STORED = "vn.learningtrail.xapi.statement.stored.v1"


class StatementStored(EventData):
    """A training centre's xAPI statement was stored by the LRS.

    Emitted by the learner service once per statement id and training centre, before the
    centre's request is answered (the outbox relay appends it if the request could not). A
    statement sent again with the same content adds no event.
    """

    statement_id: str = Field(description="The statement's id (a UUID).")
    provider_id: str = Field(description="The training centre whose credentials sent it.")
    stored: AwareDatetime = Field(description="When the LRS stored it (the statement's stored).")
    verb_id: str = Field(description="The statement's verb IRI.")
    voids: str | None = Field(
        default=None, description="For a voiding statement, the id of the statement it voids."
    )
    statement: str = Field(
        description="The statement as JSON text, exactly as GET /xapi/statements returns it."
    )
