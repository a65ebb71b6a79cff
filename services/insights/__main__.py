"""Run the insights service: ``python -m services.insights``."""

from services.common.runtime import serve
from services.insights.bootstrap import build
from services.insights.settings import InsightsSettings

settings = InsightsSettings(service="insights")  # the rest comes from the environment
serve(build(settings), settings)
