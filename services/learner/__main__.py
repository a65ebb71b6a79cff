"""Run the learner service: ``python -m services.learner``."""

from services.common.runtime import serve
from services.common.settings import Settings
from services.learner.bootstrap import build

settings = Settings(service="learner")  # the rest comes from the environment
serve(build(settings), settings)
