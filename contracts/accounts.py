"""``accounts.v1`` (keyed by account id): which learner an account acts for, and by what proof.

An account is what a person signs in to. Opening one (``POST /v1/learners``) proves nothing
about who the person is, so it never reaches a learner known by national ID; only a proof binds
it to one — a one-time claim code from a training centre that checked the person's card, or an
OpenID Connect sign-in whose provider asserts the national ID. Every binding, and every undoing
of one by the department, is an event here: the audit trail of who could read whose learning.
The topic is not compacted: the history is the point. No national ID number appears here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.envelope import EventData
from contracts.vocabulary import ShortText

TOPIC = "accounts.v1"
IDENTITY_BOUND = "vn.learningtrail.accounts.identity.bound.v1"
IDENTITY_UNBOUND = "vn.learningtrail.accounts.identity.unbound.v1"
SESSIONS_SIGNED_OUT = "vn.learningtrail.accounts.sessions.signed_out.v1"

BindingMethod = Literal["claim_code", "oidc"]


class IdentityBound(EventData):
    """An account was bound to the learner of a national ID, by a proof.

    Emitted by the learner service when a claim code is redeemed or an OpenID Connect sign-in
    asserts the national ID. From then on the account's sessions act for ``learner_id``.
    """

    binding_id: str = Field(description="This binding; the department undoes it by this id.")
    account_id: str = Field(description="The account that was bound.")
    learner_id: str = Field(description="The learner (known by national ID) it acts for now.")
    method: BindingMethod = Field(description="The proof: a centre's claim code, or OIDC.")
    proven_by: ShortText = Field(
        description="Who vouched: the training centre's id (claim code) or the OIDC issuer."
    )
    bound_at: AwareDatetime


class IdentityUnbound(EventData):
    """The department undid a binding it found wrong.

    Emitted by the learner service; the account's sessions are signed out and it acts for the
    learner it opened with again (unless another live binding of it proves the same learner).
    The learner's own data is untouched: a binding moves none.
    """

    binding_id: str
    account_id: str
    learner_id: str = Field(description="The learner the account no longer acts for.")
    reason: ShortText
    unbound_at: AwareDatetime


class SessionsSignedOut(EventData):
    """Sign-in sessions of an account ended before they expired.

    Emitted by the learner service when a person signs out (one session) or signs out
    everywhere, when a refresh token is presented twice (someone holds a copy), and when the
    department undoes a binding. The credential and notify services, which check access tokens
    without calling the learner service, refuse the access tokens of these sessions from the
    moment they read this event (until then, at most ``LT_ACCESS_TOKEN_SECONDS``).
    """

    account_id: str
    session_ids: list[str] = Field(
        min_length=1, max_length=10_000, description="The sessions that ended."
    )
    reason: ShortText
    signed_out_at: AwareDatetime
