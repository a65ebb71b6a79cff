"""Where the CLI finds the services and the credentials it acts with."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cli.localstack import Ports, dev_secrets


@dataclass(frozen=True)
class Endpoints:
    learner: str
    credential: str
    notify: str
    insights: str

    @classmethod
    def from_env(cls) -> Endpoints:
        """LT_LEARNER_URL, LT_CREDENTIAL_URL, LT_NOTIFY_URL, LT_INSIGHTS_URL; the local stack by
        default."""
        ports = Ports.from_env()
        return cls(
            learner=os.environ.get("LT_LEARNER_URL", f"http://127.0.0.1:{ports.learner}"),
            credential=os.environ.get("LT_CREDENTIAL_URL", f"http://127.0.0.1:{ports.credential}"),
            notify=os.environ.get("LT_NOTIFY_URL", f"http://127.0.0.1:{ports.notify}"),
            insights=os.environ.get("LT_INSIGHTS_URL", f"http://127.0.0.1:{ports.insights}"),
        )


def secret(name: str) -> str:
    """A secret from the environment, or the local stack's generated one."""
    return os.environ.get(name) or dev_secrets()[name]
