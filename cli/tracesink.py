"""A tiny OTLP/HTTP trace receiver for the local stack, where there is no Jaeger.

It accepts what the services' OTLP exporter sends — ``POST /v1/traces`` with a protobuf
``ExportTraceServiceRequest``, gzip-compressed or not — and appends every span as one JSON line
to a file (``.cache/dev/traces.jsonl`` by default)::

    {"trace_id": "…32 hex…", "span_id": "…16 hex…", "parent_span_id": "…" or null,
     "name": "POST /v1/records", "service": "learningtrail-learner", "kind": "SERVER",
     "attributes": {…}, "start": <unix ns>, "end": <unix ns>, "status": "UNSET", "links": […]}

so that ``grep TRACE_ID traces.jsonl`` (or ``jq``) follows one record through the services, and
the end-to-end tests can check that a trace crosses them. When the file passes
``--max-bytes`` it is moved to ``traces.jsonl.1`` and a new one is started.

Run: ``python -m cli.tracesink --port 4318 --out .cache/dev/traces.jsonl``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import threading
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

PROTOBUF = "application/x-protobuf"
MAX_BODY = 32 * 1024 * 1024


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Iterable[KeyValue]) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def spans_of(request: ExportTraceServiceRequest) -> list[dict[str, Any]]:
    """Every span in an export request, as the JSON object written for it."""
    lines = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = resource.get("service.name")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                lines.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex() or None,
                        "name": span.name,
                        "service": service,
                        "kind": Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
                        "attributes": _attributes(span.attributes),
                        "start": span.start_time_unix_nano,
                        "end": span.end_time_unix_nano,
                        "status": Status.StatusCode.Name(span.status.code).removeprefix(
                            "STATUS_CODE_"
                        ),
                        "links": [
                            {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex()}
                            for link in span.links
                        ],
                        "scope": scope_spans.scope.name,
                    }
                )
    return lines


class SpanFile:
    """The JSON-lines file, appended to by one request at a time, moved aside when large."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, spans: list[dict[str, Any]]) -> None:
        """Write the spans, one line each, and flush them to the file."""
        text = "".join(json.dumps(s, ensure_ascii=False, default=str) + "\n" for s in spans)
        with self._lock:
            if self.path.exists() and self.path.stat().st_size > self.max_bytes:
                self.path.replace(self.path.with_name(self.path.name + ".1"))
            with self.path.open("a", encoding="utf-8") as out:
                out.write(text)


def make_handler(spans: SpanFile) -> type[BaseHTTPRequestHandler]:
    """The request handler class writing to ``spans``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "learningtrail-tracesink"

        def do_GET(self) -> None:
            if self.path == "/healthz":
                self._answer(HTTPStatus.OK, b"ok", "text/plain")
            else:
                self._answer(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

        def do_POST(self) -> None:
            if self.path.split("?")[0] != "/v1/traces":
                self._answer(HTTPStatus.NOT_FOUND, b"only /v1/traces", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, b"too large", "text/plain")
                return
            body = self.rfile.read(length)
            if (self.headers.get("Content-Type") or "").split(";")[0].strip() != PROTOBUF:
                self._answer(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, b"send OTLP protobuf", "text/plain")
                return
            try:
                if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
            except Exception as exc:  # not gzip, not OTLP: the sender's mistake
                self._answer(HTTPStatus.BAD_REQUEST, str(exc).encode(), "text/plain")
                return
            spans.append(spans_of(request))
            self._answer(HTTPStatus.OK, ExportTraceServiceResponse().SerializeToString(), PROTOBUF)

        def _answer(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: one line per export would drown the log; errors still go to stderr."""

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument("--out", type=Path, default=Path(".cache/dev/traces.jsonl"))
    parser.add_argument("--max-bytes", type=int, default=256 * 1024 * 1024)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer(
        (args.host, args.port), make_handler(SpanFile(args.out, args.max_bytes))
    )
    print(
        f"tracesink: OTLP/HTTP on http://{args.host}:{args.port}/v1/traces -> {args.out}",
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
