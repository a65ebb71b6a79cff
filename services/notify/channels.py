"""Reaching learners: SMTP for email, signed HTTP for webhooks and the SMS gateway.

Each sender turns one message (or a digest of several) into one delivery attempt and says what
came of it as an :class:`~services.notify.outbox.Outcome`; it never raises for a failed
delivery. Every message names its notification ids (``Message-ID`` and ``X-LT-Notification-Ids``
for email, ``X-LT-Delivery-Id`` and the body for webhooks) so that a receiver can recognise the
rare repeat after a crash.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import httpx

from contracts.dates import VIETNAM
from contracts.vocabulary import Language
from services.common.mongo import Document
from services.common.outbound import OutboundRefused, guarded_client
from services.notify.messages import Message, digest_message, sms_text, with_footer
from services.notify.outbox import Outcome, http_outcome, smtp_outcome
from services.notify.preferences import Subscriber
from services.notify.settings import DeliverySettings
from services.notify.signing import webhook_headers

USER_AGENT = "LearningTrail-Notify/1.0"


async def send_mail(settings: DeliverySettings, message: EmailMessage) -> None:
    """Hand one message to the configured SMTP relay (raises what aiosmtplib raises)."""
    password = settings.smtp_password
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        timeout=settings.smtp_timeout_seconds,
        start_tls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=password.get_secret_value() if password else None,
    )


@dataclass(frozen=True)
class Delivery:
    """One message to send: the notifications it carries (one, or a digest) and to whom."""

    learner: Subscriber
    notifications: Sequence[Document]

    @property
    def ids(self) -> list[str]:
        return [str(n["_id"]) for n in self.notifications]

    @property
    def delivery_id(self) -> str:
        """The notification id, or for a digest a digest of the ids it carries."""
        if len(self.notifications) == 1:
            return self.ids[0]
        return "digest-" + hashlib.sha256("\n".join(sorted(self.ids)).encode()).hexdigest()[:32]

    @property
    def language(self) -> Language:
        return Language(self.notifications[0].get("language") or self.learner.language.value)

    @property
    def message(self) -> Message:
        return digest_message(
            [Message(n["title"], n["body"]) for n in self.notifications], self.language
        )

    @property
    def unsubscribe_url(self) -> str:
        return str(self.notifications[0]["unsubscribe_url"])

    def payload(self) -> dict[str, object]:
        """The JSON a partner app (or the SMS gateway) receives."""
        message = self.message
        return {
            "delivery_id": self.delivery_id,
            "kind": "digest" if len(self.notifications) > 1 else "notification",
            "learner_id": self.learner.learner_id,
            "language": self.language.value,
            "title": message.title,
            "body": message.body,
            "unsubscribe_url": self.unsubscribe_url,
            "notifications": [
                {
                    "notification_id": n["_id"],
                    "about": n["about"],
                    "subject_id": n["subject_id"],
                    "title": n["title"],
                    "body": n["body"],
                    "data": n.get("data") or {},
                }
                for n in self.notifications
            ],
            "sent_at": datetime.now(UTC).isoformat(),
        }


class EmailSender:
    """Through the SMTP relay in the settings."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self.domain = settings.smtp_sender.rsplit("@", 1)[-1].rstrip(">").strip() or "localhost"

    def compose(self, delivery: Delivery) -> EmailMessage:
        message = delivery.message
        email = EmailMessage()
        email["From"] = self.settings.smtp_sender
        email["To"] = str(delivery.learner.email)
        email["Subject"] = message.title
        # the time in Vietnam (+07:00): a mail client showing the header as written shows it
        email["Date"] = format_datetime(datetime.now(VIETNAM))
        email["Message-ID"] = f"<{delivery.delivery_id.replace(':', '.')}@{self.domain}>"
        email["X-LT-Notification-Ids"] = ",".join(delivery.ids)
        # RFC 8058 one-click unsubscribe, besides the link in the text.
        email["List-Unsubscribe"] = f"<{delivery.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email["Content-Language"] = delivery.language.value
        email.set_content(with_footer(message, delivery.unsubscribe_url, delivery.language))
        return email

    async def send(self, delivery: Delivery) -> Outcome:
        if not delivery.learner.email:
            return Outcome("permanent", "no email address")
        try:
            await send_mail(self.settings, self.compose(delivery))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            return smtp_outcome(refused.code, refused.message)
        except aiosmtplib.SMTPResponseException as exc:
            return smtp_outcome(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome("retry", f"SMTP unreachable: {type(exc).__name__}: {exc}")
        return Outcome("sent")


class HttpSender:
    """Signed JSON over HTTP: partner webhooks, and the SMS gateway.

    A webhook URL is a learner's: it goes through the guarded client (public https addresses
    only, checked when the connection is made; services/common/outbound.py). The SMS gateway is
    the deployment's own, so it may be internal; neither follows redirects nor reads the body.
    """

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
        )
        self.guarded = guarded_client(
            settings.webhook_destinations,
            settings.webhook_timeout_seconds,
            headers={"User-Agent": USER_AGENT},
        )

    async def post(
        self,
        url: str,
        secret: str,
        payload: dict[str, object],
        delivery_id: str,
        client: httpx.AsyncClient | None = None,
    ) -> Outcome:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-LT-Delivery-Id": delivery_id,
            **webhook_headers(secret, int(time.time()), body),
        }
        try:
            # the status and headers are all that is wanted: the body is never read
            async with (client or self.client).stream(
                "POST", url, content=body, headers=headers
            ) as response:
                return http_outcome(response.status_code, response.headers.get("Retry-After"))
        except OutboundRefused as exc:
            return Outcome("permanent", f"destination refused: {exc}")
        except httpx.HTTPError as exc:
            return Outcome("retry", f"{type(exc).__name__}: {exc}".strip(": "))

    async def webhook(self, delivery: Delivery) -> Outcome:
        learner = delivery.learner
        if not learner.webhook_url or not learner.webhook_secret:
            return Outcome("permanent", "no webhook configured")
        return await self.post(
            learner.webhook_url,
            learner.webhook_secret,
            delivery.payload(),
            delivery.delivery_id,
            client=self.guarded,
        )

    async def sms(self, delivery: Delivery) -> Outcome:
        url, secret = self.settings.sms_gateway_url, self.settings.sms_gateway_secret
        if not url or secret is None:
            return Outcome("permanent", "no SMS gateway configured")
        if not delivery.learner.phone:
            return Outcome("permanent", "no phone number")
        text = sms_text(delivery.message, delivery.unsubscribe_url, delivery.language)
        payload: dict[str, object] = {
            "delivery_id": delivery.delivery_id,
            "to": delivery.learner.phone,
            "text": text,
            "notification_ids": delivery.ids,
        }
        return await self.post(url, secret.get_secret_value(), payload, delivery.delivery_id)

    async def close(self) -> None:
        await self.client.aclose()
        await self.guarded.aclose()
