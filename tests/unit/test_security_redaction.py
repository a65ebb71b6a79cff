"""Secrets in URLs and national ID numbers are kept out of log lines and span attributes
(no I/O: real loggers and real SDK spans, in memory)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common.http import redact_span_query
from services.common.logs import (
    JsonFormatter,
    RedactingFilter,
    redact_query,
    redact_secrets,
)


@pytest.mark.parametrize(
    ("query", "redacted"),
    [
        ("access_token=abc.def&format=html", "access_token=REDACTED&format=html"),
        ("format=html&lang=en&access_token=abc", "format=html&lang=en&access_token=REDACTED"),
        ("token=eyJzdWIi.c2ln", "token=REDACTED"),
        ("%61ccess_token=abc", "%61ccess_token=REDACTED"),  # the service decodes names too
        ("to%6Ben=abc", "to%6Ben=REDACTED"),
        ("access_token=a%26b&x=1", "access_token=REDACTED&x=1"),
        ("unsubscribe_token=abc&mytoken=x", "unsubscribe_token=abc&mytoken=x"),
        ("format=html", "format=html"),
        ("token", "token"),
    ],
)
def test_secret_query_values_are_replaced_and_the_rest_kept(query: str, redacted: str) -> None:
    assert redact_query(query) == redacted


def test_free_text_loses_secrets_and_national_ids_but_not_ids() -> None:
    text = (
        "GET /v1/learners/01a21b92-774b-7160-bd67-402150123456/trail"
        '?access_token=abc.def HTTP/1.1" '
        "id 079190001234 trace 4bf92f3577b34da6a3ce929d0e0e4736 offset 0-0-1795758913357"
    )
    safe = redact_secrets(text)
    assert "abc.def" not in safe and "access_token=REDACTED" in safe
    assert "079190001234" not in safe and "[national-id]" in safe
    # UUIDs ending in twelve digits, trace ids and message ids are left alone
    assert "01a21b92-774b-7160-bd67-402150123456" in safe
    assert "4bf92f3577b34da6a3ce929d0e0e4736" in safe and "0-0-1795758913357" in safe


def _logger(stream: io.StringIO) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("test"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"test.redaction.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_an_access_log_line_keeps_the_path_and_loses_the_token() -> None:
    stream = io.StringIO()
    logger = _logger(stream)
    # the call uvicorn's access logger makes
    logger.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:50000",
        "GET",
        "/v1/unsubscribe?token=eyJzdWIiOiJMMSJ9.c2lnbmF0dXJl",
        "1.1",
        200,
    )
    line = json.loads(stream.getvalue())
    assert line["message"] == '127.0.0.1:50000 - "GET /v1/unsubscribe?token=REDACTED HTTP/1.1" 200'


def test_a_national_id_in_a_traceback_or_an_extra_is_masked_and_the_line_stays_json() -> None:
    stream = io.StringIO()
    logger = _logger(stream)
    try:
        raise ValueError("national_id='079190001234' is not known")
    except ValueError:
        logger.exception(
            'failed for ?access_token=abc"def', extra={"detail": "079190001234", "n": 12}
        )
    line = json.loads(stream.getvalue())  # still one valid JSON object
    assert "079190001234" not in stream.getvalue()
    assert "[national-id]" in line["exception"] and line["detail"] == "[national-id]"
    assert line["message"] == 'failed for ?access_token=REDACTED"def' and line["n"] == 12


def test_a_malformed_log_call_is_left_to_logging_to_report() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("one",), None)
    assert RedactingFilter().filter(record) is True


def test_span_urls_keep_secret_parameter_names_but_not_values() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    query = "format=html&access_token=abc.def"
    span = tracer.start_span(
        "GET /v1/learners/{learner_id}/trail",
        attributes={
            "http.url": "http://127.0.0.1:8082/v1/learners/L1/trail?" + query,
            "http.target": "/v1/learners/L1/trail",
            "url.query": query,
        },
    )
    redact_span_query(span, {"query_string": query.encode()})
    span.end()
    (finished,) = exporter.get_finished_spans()
    attributes = dict(finished.attributes or {})
    assert attributes["http.url"] == (
        "http://127.0.0.1:8082/v1/learners/L1/trail?format=html&access_token=REDACTED"
    )
    assert attributes["url.query"] == "format=html&access_token=REDACTED"
    assert attributes["http.target"] == "/v1/learners/L1/trail"
    assert "abc.def" not in json.dumps(attributes)
