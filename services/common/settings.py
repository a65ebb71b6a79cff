"""The one settings object, read from the environment (prefix ``LT_``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a service is configured with. Secrets have no defaults: set them or fail fast."""

    model_config = SettingsConfigDict(env_prefix="LT_", extra="ignore")

    service: str = Field(default="learner", description="learner, credential or notify.")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017",
        validation_alias=AliasChoices("LT_MONGODB_URI", "MONGODB_URI"),
    )
    mongodb_database: str | None = Field(
        default=None, description="Defaults to lt_<service>: each service owns its database."
    )
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    consumer_batch_size: int = Field(default=500, ge=1)
    consumer_batch_timeout_ms: int = Field(default=200, ge=1)
    consumer_retry_max_seconds: float = Field(default=30.0, gt=0)
    consumer_max_attempts: int = Field(
        default=3, ge=1, description="Attempts at an event that fails before it is dead-lettered."
    )
    identity_hmac_key: SecretStr = Field(
        description="Key of the HMAC that turns a national ID number into a lookup hash."
    )
    token_secret: SecretStr = Field(description="Key that signs learner and admin tokens.")
    admin_token: SecretStr = Field(description="The department's admin credential.")
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces."
    )
    log_level: str = "INFO"
    rate_limit_per_minute: int = Field(
        default=600, ge=1, description="Requests a minute per API key (or per address)."
    )
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
    jsonld_cache_dir: str | None = Field(
        default=None, description="Credential service: where the fetched JSON-LD contexts live."
    )

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"lt_{self.service}"

    @property
    def consumer_group(self) -> str:
        return self.service
