"""Request bodies the chassis refuses before any handler parses them: too large (declared or
streamed), not UTF-8, nested too deep. The middleware is driven over the ASGI protocol itself;
the end-to-end tests send the same bodies to the running services."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from services.common.http import BodyLimits, body_limit, json_body_problem
from services.common.settings import Settings


def _settings(**changes: Any) -> Settings:
    return Settings(identity_hmac_key="k", token_secret="t", admin_token="a", **changes)


def test_the_defaults_take_a_full_batch_and_refuse_megabytes_elsewhere() -> None:
    settings = _settings()
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.max_batch_body_bytes == 8 * 1024 * 1024
    assert body_limit("/v1/records", settings) == settings.max_body_bytes
    assert body_limit("/v1/records:batch", settings) == settings.max_batch_body_bytes
    assert body_limit("/v1/keys:rotate", settings) == settings.max_body_bytes


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"a": [1, {"b": "[[[[[[[[[[ \\" {{{{"}]}', None),  # brackets in strings don't count
        (b"[" * 64 + b"]" * 64, None),
        (b"[" * 65 + b"]" * 65, "more than 64 levels"),
        (b"[" * 100_000 + b"]" * 100_000, "more than 64 levels"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, "more than 64 levels"),
        (b"[" * 100_000, "more than 64 levels"),  # opened, never closed
        (b"[[[", None),  # malformed but shallow: the JSON parser says what is wrong
        (b'{"name": "Nguy\xff"}', "byte 0xff at offset 14"),
        (b'"\xc0\xaf"', "not valid UTF-8"),  # an overlong "/"
        (b'"\xed\xa0\x80"', "not valid UTF-8"),  # a surrogate
        ('{"name": "Nguyễn Thị Hương"}'.encode(), None),
    ],
)
def test_json_bodies_are_judged_without_parsing(body: bytes, problem: str | None) -> None:
    found = json_body_problem(body, 64)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_a_realistic_batch_is_judged_in_milliseconds() -> None:
    records = [{"learner": {"full_name": "Nguyễn [Thị] {Hương}"}, "x": [1, [2, {"y": 3}]]}] * 5000
    body = json.dumps({"records": records}, ensure_ascii=False).encode()
    started = time.perf_counter()
    assert json_body_problem(body, 64) is None
    assert time.perf_counter() - started < 0.5


# the middleware, over ASGI


async def _run(
    chunks: list[bytes], *, path: str = "/v1/records", headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, Any] | bytes, int]:
    """Send ``chunks`` as a request body through BodyLimits to an app that counts what it
    reads; the status, the body answered, and how many chunks were read from the client."""
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        got = b""
        while True:
            message = await receive()
            got += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(got)).encode()})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    await BodyLimits(app, _settings(max_body_bytes=1024, max_batch_body_bytes=4096))(
        scope, receive, send
    )
    status = sent[0]["status"]
    raw = b"".join(m.get("body", b"") for m in sent[1:])
    answer: dict[str, Any] | bytes = json.loads(raw) if status != 200 else raw
    return status, answer, read


JSON = (b"content-type", b"application/json")


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    status, answer, read = await _run([b"[1,", b" 2", b"]"], headers=[JSON])
    assert (status, answer, read) == (200, b"6", 3)


async def test_a_declared_length_over_the_limit_is_refused_without_buffering() -> None:
    status, answer, _ = await _run([b"x" * 2000], headers=[JSON, (b"content-length", b"2000")])
    assert status == 413 and isinstance(answer, dict)
    assert answer["detail"].startswith("The body is 2,000 bytes; this endpoint accepts at most")
    assert answer["limit_bytes"] == 1024


async def test_a_client_waiting_for_100_continue_is_answered_before_it_sends() -> None:
    headers = [JSON, (b"content-length", b"2000"), (b"expect", b"100-continue")]
    status, _, read = await _run([b"x" * 2000], headers=headers)
    assert (status, read) == (413, 0)


async def test_a_streamed_body_is_counted_as_it_arrives() -> None:
    status, answer, _ = await _run([b"x" * 600, b"x" * 600, b"x" * 600], headers=[JSON])
    assert status == 413 and isinstance(answer, dict)
    assert "more than 1,024 bytes" in answer["detail"]


async def test_batch_paths_take_the_larger_limit() -> None:
    body = [b"[" + b"1," * 1000 + b"1]"]
    status, _, _ = await _run(body, path="/v1/records:batch", headers=[JSON])
    assert status == 200
    status, _, _ = await _run(body, path="/v1/records", headers=[JSON])
    assert status == 413


async def test_json_is_judged_only_when_it_will_be_parsed_as_json() -> None:
    deep = [b"[" * 100 + b"]" * 100]
    for headers in ([JSON], [(b"content-type", b"application/vc+ld+json")], []):
        status, answer, _ = await _run(deep, headers=headers)
        assert status == 400 and isinstance(answer, dict), headers
        assert answer["type"].endswith("/malformed-body")
    status, _, _ = await _run(deep, headers=[(b"content-type", b"text/plain")])
    assert status == 200
