"""The notify service's settings: the chassis' ``Settings`` (prefix ``LT_``) with one section of
its own, :class:`DeliverySettings` (prefix ``LT_NOTIFY_``).

Only what is particular to delivering messages lives in that section: the SMTP relay, the SMS
gateway, retry and lease timings, per-channel rates and the defaults a learner starts with.
Every field has a default that works for one instance; secrets the deployment must provide
have none.
"""

from __future__ import annotations

import socket
from datetime import time

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.outbound import IPAddress, parse_destinations
from services.common.settings import Settings


class DeliverySettings(BaseSettings):
    """How notify delivers; read from ``LT_NOTIFY_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="LT_NOTIFY_", extra="ignore")

    public_url: str = Field(
        default="http://127.0.0.1:8083",
        description="Where learners reach this service; unsubscribe links start with it.",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "Learning Trail <thongbao@learningtrail.vn>"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=30, description="Connect, send and answer time of one webhook call."
    )
    webhook_allow: str = Field(
        default="",
        description="Exact address:port destinations (comma-separated, e.g. 127.0.0.1:9000) a "
        "webhook may reach although they are internal, over plain http too: a development "
        "machine's test receiver. Empty: only public https destinations.",
    )
    sms_gateway_url: str | None = Field(
        default=None, description="The SMS gateway's webhook; without it SMS is not offered."
    )
    sms_gateway_secret: SecretStr | None = Field(
        default=None, description="Signs requests to the SMS gateway (required with its URL)."
    )
    max_attempts: int = Field(default=8, ge=1)
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    lease_seconds: float = Field(
        default=120.0, gt=0, description="How long a claimed notification stays claimed."
    )
    poll_seconds: float = Field(default=2.0, gt=0, description="Idle workers look this often.")
    idle_poll_max_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A worker that keeps finding nothing due looks twice as seldom each time, "
        "up to this; new work planned in the same instance wakes it at once.",
    )
    claim_batch: int = Field(default=20, ge=1, description="Notifications claimed at a time.")
    inbox_per_second: float = Field(default=1000.0, gt=0)
    email_per_second: float = Field(default=10.0, gt=0)
    webhook_per_second: float = Field(default=20.0, gt=0)
    sms_per_second: float = Field(default=5.0, gt=0)
    default_time_zone: str = "Asia/Ho_Chi_Minh"
    default_quiet_start: time | None = time(21, 0)
    default_quiet_end: time | None = time(7, 0)
    default_digest_time: time = time(18, 0)
    worker_id: str | None = Field(
        default=None,
        description="Stable id of this instance's workers (default host:port); a restarted "
        "instance takes back at once what it had claimed when it stopped.",
    )

    def rate(self, channel: str) -> float:
        """Messages per second allowed on ``channel``."""
        rates = {
            "inbox": self.inbox_per_second,
            "email": self.email_per_second,
            "webhook": self.webhook_per_second,
            "sms": self.sms_per_second,
        }
        return rates[channel]

    def owner(self, http_port: int) -> str:
        return self.worker_id or f"{socket.gethostname()}:{http_port}"

    @property
    def webhook_destinations(self) -> frozenset[tuple[IPAddress, int]]:
        """``webhook_allow`` parsed."""
        return parse_destinations(self.webhook_allow)

    @field_validator("webhook_allow")
    @classmethod
    def _destinations(cls, value: str) -> str:
        parse_destinations(value)  # fail at start-up, not at the first webhook
        return value

    @property
    def sms_available(self) -> bool:
        return self.sms_gateway_url is not None and self.sms_gateway_secret is not None


class NotifySettings(Settings):
    """The notify service's one settings object: the chassis' settings and how it delivers."""

    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
