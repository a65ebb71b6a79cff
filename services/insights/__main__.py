"""Run the insights service: ``python -m services.insights``."""

from services.common.runtime import serve
from services.common.settings import Settings
from services.insights.bootstrap import build

settings = Settings(service="insights")  # the rest comes from the environment
serve(build(settings), settings)
