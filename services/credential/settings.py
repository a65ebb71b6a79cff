"""The credential service's settings: the chassis' ``Settings`` (prefix ``LT_``) and what only
the credential service reads — its public address, the issuer on credentials and its keys,
share links and the JSON-LD contexts."""

from __future__ import annotations

from pydantic import Field, SecretStr

from services.common.settings import Settings


class CredentialSettings(Settings):
    """The credential service's one settings object."""

    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where this service is reached, for links."
    )
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description="Credential service: the secret encrypting the signing keys at rest.",
    )
    issuer_name: str = Field(
        default="Sở Giáo dục và Đào tạo tỉnh Khánh Hòa",
        description="Credential service: the issuer's name on credentials.",
    )
    issuer_official: str | None = Field(
        default=None,
        description="Credential service: the official authorised to issue, on credentials.",
    )
    issuer_region: str | None = Field(
        default="Khánh Hòa",
        description="Credential service: the issuer's province (its address on credentials).",
    )
    issuer_street_address: str | None = Field(
        default=None, description="Credential service: the issuer's street address."
    )
    issuer_parent_org: str | None = Field(
        default="Ủy ban nhân dân tỉnh Khánh Hòa",
        description="Credential service: the body the issuer answers to, on credentials.",
    )
    share_link_max_days: int = Field(
        default=365, ge=1, le=3650, description="Longest a learner's share link may last."
    )
    jsonld_cache_dir: str | None = Field(
        default=None, description="Credential service: where the fetched JSON-LD contexts live."
    )
