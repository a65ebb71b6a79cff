"""Confining one learner's bad data to that learner's own decision.

Matching and delivery decide for each learner on their own. When something stored for one
learner cannot be read (preferences written before today's validation, a profile from an old
event) or one message cannot be composed, that decision fails alone: it is logged, counted in
``learningtrail_notify_isolated_failures_total`` by stage, and everyone else goes on. Only
errors of the learner's own data are caught here; an outage (MongoDB, Kafka) still fails the
batch, so that it is retried whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from prometheus_client import Counter

from services.common.mongo import Document

_log = logging.getLogger("learningtrail.notify.isolation")

T = TypeVar("T")
S = TypeVar("S")

# What bad data raises while it is read or composed (not what an outage raises).
DATA_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    LookupError,
    ArithmeticError,
)


def failures_counter() -> Counter:
    """An unregistered counter, for a part built without the process's metrics (tests)."""
    return Counter(
        "learningtrail_notify_isolated_failures",
        "Decisions about one learner that failed on that learner's data, by stage.",
        ("stage",),
        registry=None,
    )


class Isolation:
    """Runs one learner's part of a batch so that its failure stays its own."""

    def __init__(self, counter: Counter | None = None) -> None:
        self.counter = counter or failures_counter()

    def failed(self, stage: str, learner_id: str, exc: BaseException) -> None:
        """Log and count one learner's failed decision."""
        self.counter.labels(stage).inc()
        _log.warning(
            "one learner's decision failed on their data; the others go on",
            extra={"stage": stage, "learner_id": learner_id, "error": f"{type(exc).__name__}"},
        )

    def each(
        self, stage: str, items: Iterable[S], decide: Callable[[S], T], who: Callable[[S], str]
    ) -> list[T]:
        """``decide`` for each item; an item whose data fails is left out (logged, counted)."""
        out: list[T] = []
        for item in items:
            try:
                out.append(decide(item))
            except DATA_ERRORS as exc:
                self.failed(stage, who(item), exc)
        return out


def learner_of(doc: Document) -> str:
    """The learner a subscription (``_id``) or a notification (``learner_id``) belongs to."""
    return str(doc.get("learner_id") or doc.get("_id") or "?")
