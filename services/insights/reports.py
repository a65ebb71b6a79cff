"""The scheduled periodic reports: produced when due, stored, then announced on
``insights.v1``.

Each report is one document keyed by its period, inserted once: two instances that find the
same report due both try, one insert wins, and only the winner's document exists. The document
carries the event announcing it (``pending``) through the chassis' outbox: appended at once,
and by the outbox relay with the same event id if the process died in between or Kafka was
down, so it is announced once to consumers.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import UTC, datetime
from typing import Any

from contracts import insights
from contracts.dates import day_in_vietnam
from services.common.broker import EventLog
from services.common.outbox import pending_event
from services.insights.figures import Period, Scope
from services.insights.schedule import latest_due
from services.insights.snapshot import Snapshot
from services.insights.store import InsightsStore

_log = logging.getLogger("learningtrail.insights.reports")


class Reporter:
    def __init__(
        self, store: InsightsStore, snapshot: Snapshot, log: EventLog, every_seconds: float
    ) -> None:
        self.store = store
        self.snapshot = snapshot
        self.log = log
        self.every_seconds = every_seconds

    async def produce_due(self, now: datetime | None = None) -> list[str]:
        """Produce the reports due by ``now`` that are not stored yet; the periods produced."""
        moment = now or datetime.now(UTC)
        produced = []
        for label in latest_due(day_in_vietnam(moment)):
            if await self.store.report(label) is not None:
                continue
            period = Period.parse(label)
            populations = await self.store.populations()
            # a copy: the stored report must not share the snapshot's published figures
            found = copy.deepcopy(await self.snapshot.figures(period, Scope(None), populations))
            event = insights.ReportPublished(
                report_id=label,
                period=label,
                period_from=period.start,
                period_to=period.end,
                path=f"/v1/reports/{label}",
                produced_at=moment,
            )
            doc: dict[str, Any] = {
                "_id": label,
                "period": label,
                "produced_at": moment.isoformat(),
                "figures": found,
                "pending": pending_event(insights.REPORT_PUBLISHED, label, event),
            }
            if await self.store.add_report(doc):
                produced.append(label)
                _log.info("report produced", extra={"period": label})
                # what Kafka does not take now, the outbox relay appends
                await self.store.outbox.append(self.log, "reports", [doc])
        return produced

    async def forever(self) -> None:
        """Check every ``every_seconds``; an outage is logged and tried again next round."""
        while True:
            try:
                await self.produce_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("the scheduled reports could not be produced")
            await asyncio.sleep(self.every_seconds)
