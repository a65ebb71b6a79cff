"""`trail providers …` as the department uses it, against the running learner service: the
Vietnamese aliases the CSV accepts, a creating call whose answer is lost (retried with the same
Idempotency-Key: one centre, and its key still shown), no traceback when the service cannot be
reached, and keys issued, listed and revoked."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx

from tests.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]


def trail(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


class LosesFirstAnswer:
    """A real HTTP relay in front of the learner service that passes the first request on and
    then drops the connection instead of answering — what a client sees when the answer is
    lost on the way back; later requests are relayed with their answer."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                self._relay(conn)

    def _relay(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines[1:])
        size = int({k.lower(): v for k, v in headers.items()}.get("content-length", "0"))
        while len(body) < size:
            body += conn.recv(65536)
        forwarded = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        answer = httpx.request(
            method, f"{self.upstream}{path}", headers=forwarded, content=body, timeout=30
        )
        self.requests += 1
        if self.requests == 1:
            return  # the service did the work; the answer never reaches the client
        out = (
            f"HTTP/1.1 {answer.status_code} X\r\n"
            f"Content-Type: {answer.headers.get('content-type', 'application/json')}\r\n"
            f"Content-Length: {len(answer.content)}\r\nConnection: close\r\n\r\n"
        ).encode() + answer.content
        conn.sendall(out)

    def close(self) -> None:
        self.server.close()


def test_a_lost_answer_creates_one_centre_and_still_shows_its_key(stack: Stack) -> None:
    name = f"Trung tâm thử {uuid.uuid4().hex[:6]}"
    relay = LosesFirstAnswer(stack.endpoints.learner)
    try:
        created = trail(
            "providers",
            "create",
            "--name",
            name,
            "--kind",
            "vocational_continuing_centre",
            "--unit-code",
            "22735",
            "--pathway",
            "nghe",
            "--pathway",
            "thuong_xuyen",
            "--json",
            env={"LT_LEARNER_URL": f"http://127.0.0.1:{relay.port}"},
        )
    finally:
        relay.close()
    assert created.returncode == 0, created.stdout + created.stderr
    assert relay.requests == 2  # the first answer was lost, the retry got it again
    found = json.loads(created.stdout)
    assert found["api_key"] and found["provider"]["pathways"] == ["vocational", "continuing"]
    listed = json.loads(trail("providers", "list", "--json").stdout)
    assert [c["id"] for c in listed if c["name"] == name] == [found["provider"]["id"]]
    # the key works: the service knows it as this centre's
    me = httpx.get(
        f"{stack.endpoints.learner}/v1/provider", headers={"X-API-Key": found["api_key"]}
    )
    assert me.status_code == 200 and me.json()["id"] == found["provider"]["id"]


def test_keys_are_issued_listed_and_revoked(stack: Stack) -> None:
    created = json.loads(
        trail(
            "providers",
            "create",
            "--name",
            "Trung tâm khóa",
            "--kind",
            "school",
            "--unit-code",
            "22735",
            "--pathway",
            "regular",
            "--json",
        ).stdout
    )
    provider = created["provider"]["id"]
    issued = trail("providers", "keys", "issue", provider, "--scope", "records:write")
    assert issued.returncode == 0, issued.stderr
    secret = issued.stdout.strip().splitlines()[-1]  # the key, whole on its own line
    shown = issued.stdout.splitlines()
    key_id = shown[shown.index("key id:") + 1]  # whole, on the line after its label
    ok = httpx.get(f"{stack.endpoints.learner}/v1/provider", headers={"X-API-Key": secret})
    assert ok.status_code == 200
    listed = json.loads(trail("providers", "keys", "list", provider, "--json").stdout)
    assert {k["key_id"] for k in listed} == {created["key_id"], key_id}
    assert trail("providers", "keys", "revoke", provider, key_id).returncode == 0
    described = trail("providers", "keys", "list", provider).stdout.splitlines()
    revoked = described[described.index(key_id) - 1]  # a description, then the id alone
    assert re.search(r"revoked \d\d/\d\d/\d{4} \d\d:\d\d \(Vietnam time\)", revoked), revoked
    refused = httpx.get(f"{stack.endpoints.learner}/v1/provider", headers={"X-API-Key": secret})
    assert refused.status_code == 401


def test_an_unknown_pathway_and_an_unreachable_service_are_said_in_a_sentence(
    stack: Stack,
) -> None:
    wrong = trail(
        "providers",
        "create",
        "--name",
        "X",
        "--kind",
        "school",
        "--unit-code",
        "22735",
        "--pathway",
        "ngheee",
    )
    assert (
        wrong.returncode == 1
        and "unknown pathway" in wrong.stdout
        and "nghe/vocational" in wrong.stdout
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = trail("providers", "list", env={"LT_LEARNER_URL": f"http://127.0.0.1:{closed}"})
    assert down.returncode == 1
    assert "Traceback" not in down.stdout + down.stderr
    assert "failed after 4 attempts" in down.stdout and "trail dev status" in down.stdout
