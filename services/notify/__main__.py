"""Run the notify service: ``python -m services.notify``."""

from services.common.runtime import serve
from services.notify.bootstrap import build
from services.notify.settings import NotifySettings

settings = NotifySettings(service="notify")  # the rest comes from the environment
serve(build(settings), settings)
