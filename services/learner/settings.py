"""The learner service's settings: the chassis' ``Settings`` (prefix ``LT_``) and what only the
learner service reads — sessions, claim codes and the OpenID provider of the national e-ID."""

from __future__ import annotations

from pydantic import Field, SecretStr

from services.common.settings import Settings


class LearnerSettings(Settings):
    """The learner service's one settings object."""

    session_days: int = Field(
        default=30, ge=1, le=365, description="How long a learner's sign-in session lasts."
    )
    refresh_reuse_seconds: int = Field(
        default=5,
        ge=0,
        le=60,
        description="How long after a refresh token was spent the same token may be presented "
        "again and get the same answer (two tabs, or two requests, renewing at once); later, a "
        "second use ends the session (reuse detection). 0: every second use ends it.",
    )
    claim_code_hours: int = Field(
        default=72, ge=1, le=24 * 30, description="How long a centre's claim code stays valid."
    )
    claim_attempts_per_minute: int = Field(
        default=5, ge=1, description="Claim-code redemptions a minute per account."
    )
    claim_attempts_per_address_per_minute: int = Field(
        default=30,
        ge=1,
        description="Claim-code redemptions a minute per client address (many people may "
        "share one, behind a school's or a centre's network).",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="Learner service: the OpenID provider that asserts national IDs (the "
        "national e-ID); unset, sign-in with it is off.",
    )
    oidc_client_id: str | None = Field(default=None, description="Our client id there.")
    oidc_client_secret: SecretStr | None = Field(default=None, description="Our secret there.")
    oidc_redirect_uri: str | None = Field(
        default=None, description="Where the provider sends the person back (our callback)."
    )
    oidc_scopes: str = Field(default="openid profile national_id")
    oidc_national_id_claim: str = Field(
        default="national_id", description="The ID token claim that holds the national ID."
    )
