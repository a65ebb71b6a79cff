"""Run the credential service: ``python -m services.credential``."""

from services.common.runtime import serve
from services.common.settings import Settings
from services.credential.bootstrap import build

settings = Settings(service="credential")  # the rest comes from the environment
serve(build(settings), settings)
