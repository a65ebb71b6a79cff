"""Telling the officers who asked: a periodic report was produced.

Notify owns messages and the mail relay, so the insights service only announces, on
``insights.v1``, which officers asked to be told (``subscription.changed``: the whole
subscription each time) and each report it produced (``report.published``). Notify keeps the
subscriptions (``officer_subscriptions``, by id: the latest change wins) and, for each report,
notes one notice per subscription whose period kinds hold the report's
(``officer_notices``, ``<report>|<subscription>``, a unique insert: a report announced twice,
or a batch delivered again, notes nothing new). A small sender sends what is pending by email
through the same SMTP relay as the learners' messages, marks it sent, and tries again later
what the relay did not take — so a notice is never lost to a relay that was down, and never
sent twice by a redelivered event.

Officers are not learners: these are not notifications in a learner's inbox, have no
``notifications.v1`` event (the department's "learners reached" counts learners only), no
quiet hours and no unsubscribe link — the officer stops them on the dashboard's form.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from pydantic import BaseModel

from contracts.dates import VIETNAM
from contracts.envelope import Envelope
from contracts.insights import ReportPublished, ReportSubscriptionChanged
from services.common.mongo import Document
from services.notify.channels import send_mail
from services.notify.settings import DeliverySettings
from services.notify.store import NotifyStore

_log = logging.getLogger(__name__)

SEND_EVERY_SECONDS = 5.0
SUBJECT = {
    "vi": "Báo cáo định kỳ kỳ {period} đã được lập",
    "en": "The periodic report for {period} is ready",
}
BODY = {
    "vi": "Báo cáo số liệu xã hội học tập kỳ {period} ({start} – {end}) đã được lập.\n\n"
    "Xem số liệu của đơn vị {unit} (đăng nhập bằng mã xác thực cán bộ):\n{link}\n\n"
    "Anh/chị nhận thư này vì đã đăng ký trên trang số liệu; bỏ chọn các loại báo cáo ở đó "
    "để ngừng nhận.",
    "en": "The learning-society report for {period} ({start} – {end}) has been produced.\n\n"
    "See the figures of unit {unit} (sign in with your officer credential):\n{link}\n\n"
    "You receive this because you asked on the figures page; untick the reports there to "
    "stop.",
}


def period_kind(period: str) -> str:
    """month (2026-07), quarter (2026-Q3) or year (2026)."""
    if "-Q" in period:
        return "quarter"
    return "month" if "-" in period else "year"


def notices_for(report: ReportPublished, subscriptions: list[Document]) -> list[Document]:
    """The notices a report calls for: one per subscription holding its kind of period."""
    kind = period_kind(report.period)
    return [
        {
            "_id": f"{report.report_id}|{s['_id']}",
            "report_id": report.report_id,
            "period": report.period,
            "period_from": report.period_from.isoformat(),
            "period_to": report.period_to.isoformat(),
            "subscription_id": s["_id"],
            "email": s["email"],
            "unit": s["unit"],
            "language": s.get("language", "vi"),
            "state": "pending",
            "attempts": 0,
        }
        for s in subscriptions
        if kind in s["kinds"]
    ]


class ReportNotices:
    """The officers' subscriptions and notices: fed by ``insights.v1``, sent by email."""

    def __init__(self, store: NotifyStore, settings: DeliverySettings, insights_url: str) -> None:
        self.store = store
        self.settings = settings
        self.insights_url = insights_url.rstrip("/")
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def handle(self, events: list[Envelope[BaseModel]]) -> None:
        """A batch's subscriptions first (in log order), then the notices its reports call for."""
        noted = 0
        for event in events:
            data = event.data
            if isinstance(data, ReportSubscriptionChanged):
                await self.store.set_officer_subscription(
                    {
                        "_id": data.subscription_id,
                        "unit": data.unit_code,
                        "email": str(data.email),
                        "kinds": list(data.period_kinds),
                        "language": data.language,
                        "changed_at": data.changed_at,
                    }
                )
            elif isinstance(data, ReportPublished):
                subscriptions = await self.store.officer_subscriptions()
                noted += await self.store.add_officer_notices(notices_for(data, subscriptions))
        if noted:
            self._wake.set()

    def compose(self, notice: Document) -> EmailMessage:
        lang = "en" if notice.get("language") == "en" else "vi"
        link = f"{self.insights_url}/figures?period={notice['period']}&unit={notice['unit']}"
        email = EmailMessage()
        email["From"] = self.settings.smtp_sender
        email["To"] = notice["email"]
        email["Subject"] = SUBJECT[lang].format(period=notice["period"])
        email["Date"] = format_datetime(datetime.now(VIETNAM))
        email["Message-ID"] = f"<report.{notice['_id'].replace('|', '.')}@learningtrail.vn>"
        email["X-LT-Report-Id"] = notice["report_id"]
        email["Content-Language"] = lang
        email.set_content(
            BODY[lang].format(
                period=notice["period"],
                start=notice["period_from"],
                end=notice["period_to"],
                unit=notice["unit"],
                link=link,
            )
        )
        return email

    async def send_pending(self) -> int:
        """Send what waits; how many were sent. A relay that refuses or is down leaves the
        notice pending for the next round."""
        sent = 0
        for notice in await self.store.pending_officer_notices():
            try:
                await send_mail(self.settings, self.compose(notice))
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self.store.officer_notice_failed(notice["_id"], repr(exc))
                _log.warning(
                    "report notice not sent; tried again later",
                    extra={"notice": notice["_id"], "error": repr(exc)},
                )
                continue
            await self.store.officer_notice_sent(notice["_id"], datetime.now(UTC))
            sent += 1
        if sent:
            _log.info("report notices sent", extra={"count": sent})
        return sent

    async def forever(self) -> None:
        while True:
            try:
                await self.send_pending()
            except Exception:  # the database away: the next round tries again
                _log.exception("report notices round failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SEND_EVERY_SECONDS)

    async def start(self) -> None:
        self._task = asyncio.create_task(self.forever(), name="report-notices")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
