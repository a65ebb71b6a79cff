"""Structured JSON logs on stdout, each line carrying the current trace and span ids."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from opentelemetry import trace

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

# Query parameters that carry a credential: the printable trail page's ``access_token`` and
# the one-click unsubscribe link's ``token``. Logged URLs keep the name, never the value.
SECRET_QUERY_PARAMS = frozenset({"access_token", "token"})
REDACTED = "REDACTED"
# A query string inside free text (a request line, a logged URL): from '?' up to a blank, a
# quote or a backslash (so a JSON-escaped quote after it stays intact).
_QUERY_IN_TEXT = re.compile(r"\?([^\s\"'<>#\\]*)")
# Twelve digits standing alone have the form of a national ID number (CCCD). Ids made of hex
# digits and hyphens (UUIDs, trace ids, message ids) are not touched.
_NATIONAL_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z_-])[0-9]{12}(?![0-9A-Za-z_-])")
NATIONAL_ID_MASK = "[national-id]"


def redact_query(query: str) -> str:
    """``query`` with the value of every secret parameter replaced. Names are decoded first, as
    the service decodes them, so ``%61ccess_token=`` is caught too."""
    parts = query.split("&")
    for i, part in enumerate(parts):
        name, has_value, _ = part.partition("=")
        if has_value and unquote_plus(name) in SECRET_QUERY_PARAMS:
            parts[i] = f"{name}={REDACTED}"
    return "&".join(parts)


def redact_secrets(text: str) -> str:
    """Free text with secret query values and anything shaped like a national ID masked: a
    last line of defence, since no code should log either in the first place."""
    if "?" in text:
        text = _QUERY_IN_TEXT.sub(lambda m: "?" + redact_query(m.group(1)), text)
    return _NATIONAL_ID_IN_TEXT.sub(NATIONAL_ID_MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message through :func:`redact_secrets` before any handler sees it —
    uvicorn's access log prints the full request line, query string included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it as logging does
            return True
        safe = redact_secrets(message)
        if safe != message:
            record.msg, record.args = safe, ()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace ids and any ``extra``."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            entry["trace_id"] = f"{ctx.trace_id:032x}"
            entry["span_id"] = f"{ctx.span_id:016x}"
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # tracebacks and extras are free text too
        for key, value in entry.items():
            if isinstance(value, str):
                entry[key] = redact_secrets(value)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, FastStream's) through the JSON formatter."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "aiokafka"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("pymongo").setLevel(logging.WARNING)
