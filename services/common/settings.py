"""The one settings object, read from the environment (prefix ``LT_``)."""

from __future__ import annotations

import ipaddress

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a service is configured with. Secrets have no defaults: set them or fail fast."""

    model_config = SettingsConfigDict(env_prefix="LT_", extra="ignore")

    service: str = Field(default="learner", description="learner, credential, notify or insights.")
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
    consumer_fetch_min_bytes: int = Field(
        default=32_768,
        ge=1,
        description="Kafka holds a consumer's fetch until this much is waiting (or "
        "consumer_fetch_max_wait_ms passed): a trickle of events is handled in small batches "
        "instead of one round of database writes and an offset commit per event.",
    )
    consumer_fetch_max_wait_ms: int = Field(
        default=300,
        ge=0,
        description="The longest a fetch waits for consumer_fetch_min_bytes: the delay a "
        "lone event can gain at each consumer.",
    )
    consumer_retry_max_seconds: float = Field(default=30.0, gt=0)
    consumer_max_attempts: int = Field(
        default=3, ge=1, description="Attempts at an event that fails before it is dead-lettered."
    )
    outbox_grace_seconds: float = Field(
        default=15.0,
        gt=0,
        description="The outbox relay appends events still waiting after this long (a "
        "request appends its own at once; the relay catches what a failure left). Longer "
        "than a busy batch takes, so that the relay seldom appends what its request will.",
    )
    fault_pause_before_append_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Fault injection for tests only (0, off, in every deployment): the learner "
        "service waits this long between storing a batch's records and appending their "
        "events, the credential service between storing an issued credential and announcing "
        "it, notify between marking a notification delivered and announcing it, so that a "
        "test can kill the process inside that window.",
    )
    outbox_orphan_seconds: float = Field(
        default=120.0,
        gt=0,
        description="An outbox entry whose change was never stored is dropped after this long.",
    )
    outbox_behind_seconds: float = Field(
        default=300.0,
        gt=0,
        description="/readyz reports the outbox relay behind when an event waited this long.",
    )
    consumer_ready_grace_seconds: float = Field(
        default=60.0,
        ge=0,
        description="After start-up, how long the consumer may have no partitions assigned "
        "(and nothing consumed) before /readyz says not ready.",
    )
    identity_hmac_key: SecretStr = Field(
        description="Key of the HMAC that turns a national ID number into a lookup hash."
    )
    token_secret: SecretStr = Field(description="Key that signs learner and admin tokens.")
    admin_token: SecretStr = Field(description="The department's admin credential.")
    otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces."
    )
    otlp_schedule_delay_ms: int = Field(
        default=5000, ge=1, description="How often finished spans are sent to the OTLP endpoint."
    )
    trace_sample_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of traces recorded and exported, decided where a trace starts (a "
        "request or a consumer batch without a parent) and followed downstream through the "
        "events' traceparent. 1 in development; a province's deployment under load keeps "
        "e.g. 0.1. Logs carry the trace id whether or not its trace was kept.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="A bearer token that may read /metrics from another host (a scraper's); "
        "loopback callers and the admin token need none.",
    )
    log_level: str = "INFO"
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (comma-separated) of the reverse proxies in front of "
        "the service, whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's "
        "forwarded_allow_ips). Empty: none, and a caller's address is the socket peer's.",
    )
    rate_limit_per_minute: int = Field(
        default=600, ge=1, description="Requests a minute per API key (or per address)."
    )
    access_token_seconds: int = Field(
        default=600,
        ge=30,
        le=3600,
        description="How long a learner's access token lives; a refresh token gets the next.",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body accepted (bytes); a larger one is answered 413.",
    )
    max_batch_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest body of a batch endpoint (a path ending ':batch', e.g. POST "
        "/v1/records:batch with up to 1,000 records).",
    )
    max_json_depth: int = Field(
        default=64,
        ge=2,
        description="Deepest nesting of arrays and objects accepted in a JSON body; deeper "
        "bodies are answered 400 before they are parsed.",
    )
    portal_learner_url: str = Field(
        default="http://127.0.0.1:8081",
        description="Where browsers reach the learner service's portal pages (sign-in, "
        "account, profile); https makes the session cookies Secure and __Host- prefixed.",
    )
    portal_credential_url: str = Field(
        default="http://127.0.0.1:8082",
        description="Where browsers reach the credential service's portal pages (trail, "
        "credentials, share links).",
    )
    portal_notify_url: str = Field(
        default="http://127.0.0.1:8083",
        description="Where browsers reach notify's portal pages (inbox, preferences).",
    )
    portal_insights_url: str = Field(
        default="http://127.0.0.1:8084",
        description="Where browsers reach the insights service's officer pages (sign-in, "
        "dashboard); https makes the officer's session cookie Secure and __Host- prefixed.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in (i.strip() for i in value.split(",")):
            if item:
                ipaddress.ip_network(item, strict=False)  # fail at start-up if malformed
        return value

    @property
    def forwarded_allow_ips(self) -> list[str]:
        """The trusted proxies as uvicorn takes them."""
        return [i.strip() for i in self.trusted_proxies.split(",") if i.strip()]

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"lt_{self.service}"

    @property
    def consumer_group(self) -> str:
        return self.service
