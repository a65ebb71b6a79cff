"""The scheduled periodic reports: produced when due, stored, then announced on
``insights.v1``.

Each report is one document keyed by its period, inserted once: two instances that find the
same report due both try, one insert wins, and only the winner's document exists. The document
keeps the event announcing it (``pending``) until Kafka has it; a report stored but not yet
announced (the process died in between, Kafka was down) is announced by the next round with
the same event id, so it is announced once to consumers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from contracts import insights
from contracts.envelope import new_event_id
from services.common.broker import EventLog, publish_pending_many
from services.insights.figures import VIETNAM, Period, Scope, figures, resolve
from services.insights.schedule import latest_due
from services.insights.store import InsightsStore
from services.insights.units import catalogue

SOURCE = "/insights"
_log = logging.getLogger("learningtrail.insights.reports")


class Reporter:
    def __init__(self, store: InsightsStore, log: EventLog, every_seconds: float) -> None:
        self.store = store
        self.log = log
        self.every_seconds = every_seconds

    async def produce_due(self, now: datetime | None = None) -> list[str]:
        """Produce the reports due by ``now`` that are not stored yet; the periods produced."""
        moment = now or datetime.now(UTC)
        produced = []
        for label in latest_due(moment.astimezone(VIETNAM).date()):
            if await self.store.report(label) is not None:
                continue
            period = Period.parse(label)
            facts, populations = await self.store.facts(), await self.store.populations()
            units = catalogue()
            found = figures(resolve(facts, units), units, period, Scope(None), populations)
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
                "pending": {
                    "event_id": new_event_id(),
                    "type": insights.REPORT_PUBLISHED,
                    "data": event.model_dump(mode="json"),
                },
            }
            if await self.store.add_report(doc):
                produced.append(label)
                _log.info("report produced", extra={"period": label})
        return produced

    async def announce(self) -> int:
        """Announce every stored report whose event Kafka does not have yet."""
        announced = 0
        for doc in await self.store.unannounced_reports():
            (failed,) = await publish_pending_many(self.log, [(doc["pending"], doc["_id"])], SOURCE)
            if failed is not None:
                raise failed  # kept pending: the next round appends it with the same id
            await self.store.report_announced(doc["_id"], doc["pending"]["event_id"])
            announced += 1
        return announced

    async def forever(self) -> None:
        """Check every ``every_seconds``; an outage is logged and tried again next round."""
        while True:
            try:
                await self.produce_due()
                await self.announce()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("the scheduled reports could not be produced or announced")
            await asyncio.sleep(self.every_seconds)
