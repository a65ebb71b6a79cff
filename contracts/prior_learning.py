"""``prior-learning.v1`` (keyed by learner id): learning done elsewhere, proven by a verified
credential another issuer signed, brought onto a learner's trail (liên thông across issuers)."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData
from contracts.records import LearningRecordContent
from contracts.vocabulary import ShortText

TOPIC = "prior-learning.v1"
PRIOR_LEARNING_IMPORTED = "vn.learningtrail.prior_learning.credential.imported.v1"


class ImportedAchievement(LearningRecordContent):
    """One achievement read from an imported CLR's structured data (``humanCode``, credits,
    results, level alignments), as the content of a trail entry."""

    record_id: str = Field(
        description="The trail entry's id: the same learner, CLR and achievement credential "
        "always give the same id, so importing a CLR twice adds nothing."
    )
    credential_id: str = Field(description="The embedded achievement credential's id.")
    achievement_id: str = Field(description="The OB 3.0 achievement's id.")


class PriorLearningImported(EventData):
    """A CLR issued elsewhere was verified and its achievements count as the learner's prior
    learning.

    Emitted by the credential service when the department imports a CLR
    (``POST /v1/recognitions:import``) that verified with every check passed against its
    trust list, and whose hashed learner identity matched the learner named. Consumed by the
    credential service's trail projection, which adds one trail entry per achievement and
    applies the recognition rules to them (``recognition.granted`` then names the imported
    records); a rebuild from the log gives the same entries.
    """

    import_id: str = Field(description="Stable: the same learner and CLR give the same id.")
    learner_id: str
    credential_id: str = Field(description="The imported CLR's id.")
    issuer_id: str = Field(description="The issuer that signed the CLR (its DID).")
    issuer_name: ShortText
    imported_by: ShortText = Field(description="Who imported it (the department).")
    achievements: list[ImportedAchievement] = Field(min_length=1, max_length=500)
    verified_at: AwareDatetime
