"""Run the notify service: ``python -m services.notify``."""

from services.common.runtime import serve
from services.common.settings import Settings
from services.notify.bootstrap import build

settings = Settings(service="notify")  # the rest comes from the environment
serve(build(settings), settings)
