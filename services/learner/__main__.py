"""Run the learner service: ``python -m services.learner``."""

from services.common.runtime import serve
from services.learner.bootstrap import build
from services.learner.settings import LearnerSettings

settings = LearnerSettings(service="learner")  # the rest comes from the environment
serve(build(settings), settings)
