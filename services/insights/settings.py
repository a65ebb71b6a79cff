"""The insights service's settings: the chassis' ``Settings`` (prefix ``LT_``) and when it looks
for a periodic report that is due."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import Settings


class InsightsSettings(Settings):
    """The insights service's one settings object."""

    report_check_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Insights service: how often it checks whether a periodic report is due.",
    )
