"""Run the credential service: ``python -m services.credential``."""

from services.common.runtime import serve
from services.credential.bootstrap import build
from services.credential.settings import CredentialSettings

settings = CredentialSettings(service="credential")  # the rest comes from the environment
serve(build(settings), settings)
