"""Every `trail` command, run with nothing listening where it looks for the services, Kafka and
the database: no traceback, a sentence saying what could not be reached and what to do, and a
non-zero exit code. The commands are read from the command tree, so a new command that is not
listed here fails the test."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main

from cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PORTS = ("KAFKA", "KAFKA_CONTROLLER", "MONGODB", "LEARNER", "CREDENTIAL", "NOTIFY", "INSIGHTS")
PORTS += ("OIDC",)
PORTS += ("TRACESINK", "SMTP")
# what a person is told to do when something could not be reached
WHAT_TO_DO = re.compile(r"trail dev status|trail dev up|re-run|LT_[A-Z_]+_URL")


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    exit_codes: tuple[int, ...] = (1,)
    network: bool = True  # it needs a service, Kafka or the database


Outcome = tuple[Case, int, str]  # the case, its exit code, what it printed


def commands(group: object = None, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every command of the tree, as the words that name it."""
    group = group or typer.main.get_command(app)
    found: set[tuple[str, ...]] = set()
    for name in group.list_commands(None):  # type: ignore[attr-defined]
        command = group.get_command(None, name)  # type: ignore[attr-defined]
        if hasattr(command, "list_commands"):
            found |= commands(command, (*path, name))
        else:
            found.add((*path, name))
    return found


def cases(tmp: Path, credential_port: int) -> dict[tuple[str, ...], Case]:
    csv_file = tmp / "hoso.csv"
    csv_file.write_text("provider_record_ref,national_id\n", encoding="utf-8")
    credential = tmp / "credential.json"
    credential.write_text(
        json.dumps(
            {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": f"did:web:127.0.0.1%3A{credential_port}",
                "credentialSubject": {"id": "did:example:1"},
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                    "statusListIndex": "1",
                    "statusListCredential": f"http://127.0.0.1:{credential_port}/v1/status-lists/1",
                },
            }
        )
    )
    pid = "3f6d2a9e-1b7c-4e58-a0d4-6c9b8e2f1a37"
    return {
        ("topics",): Case(("topics",)),
        ("token",): Case(("token", "5b0e4c1a"), (0,), network=False),
        ("import",): Case(("import", str(csv_file), "--provider", pid)),
        ("rebuild",): Case(("rebuild", "credential")),
        ("report",): Case(("report", "--period", "2026-Q3", "--out", str(tmp / "bao-cao.xlsx"))),
        # a credential naming an issuer and a status list that cannot be reached: "could not
        # be checked" (2) or "failed" (1: this one is no real credential), never a traceback
        ("verify",): Case(("verify", str(credential), "--online"), (1, 2), network=False),
        ("pin-issuer",): Case(("pin-issuer", "--out", str(tmp / "trust.json"))),
        ("demo",): Case(("demo",)),
        ("dev", "down"): Case(("dev", "down"), (0,), network=False),
        ("dev", "status"): Case(("dev", "status", "--json"), (0,), network=False),
        ("dev", "mail"): Case(("dev", "mail"), (0,), network=False),
        ("providers", "create"): Case(
            (
                "providers",
                "create",
                "--name",
                "Trung tâm GDNN-GDTX Ninh Phước",
                "--kind",
                "vocational_continuing_centre",
                "--unit-code",
                "22735",
                "--pathway",
                "nghe",
            )
        ),
        ("providers", "list"): Case(("providers", "list")),
        ("providers", "keys", "issue"): Case(("providers", "keys", "issue", pid)),
        ("providers", "keys", "list"): Case(("providers", "keys", "list", pid, "--json")),
        ("providers", "keys", "revoke"): Case(("providers", "keys", "revoke", pid, "key-1")),
        ("officers", "issue"): Case(("officers", "issue", "--unit-code", "56")),
        ("officers", "list"): Case(("officers", "list", "--json")),
        ("officers", "revoke"): Case(("officers", "revoke", "credential-1", "--reason", "Lộ mã")),
        ("dlq", "list"): Case(("dlq", "list", "credential")),
        ("dlq", "show"): Case(("dlq", "show", "credential", "0:1")),
        ("dlq", "replay"): Case(("dlq", "replay", "credential", "0:1")),
    }


# commands this test does not run, and why
NOT_RUN = {
    ("dev", "up"): "it starts the whole stack (its own test: tests/integration/test_localstack.py)",
    ("contracts", "generate"): "it only writes contracts/schemas/ from the models: no network",
}


def closed_ports(count: int) -> list[int]:
    """Ports on this machine where nothing listens (taken, then let go)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, ...], tuple[Case, int, str]]:
    tmp = tmp_path_factory.mktemp("unreachable")
    ports = dict(zip(PORTS, closed_ports(len(PORTS)), strict=True))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LT_")}
    env.update({f"LT_DEV_{name}_PORT": str(port) for name, port in ports.items()})
    env.update(
        LT_DEV_DIR=str(tmp / "dev"),  # a stack of its own: nothing running, nothing to stop
        LT_ADMIN_TOKEN="admin-token-for-this-test",
        LT_TOKEN_SECRET="token-secret-for-this-test-0123456789",
        LT_API_KEY="ltk_test",
        COLUMNS="100",
    )
    found = cases(tmp, ports["CREDENTIAL"])

    def run(case: Case) -> tuple[Case, int, str]:
        done = subprocess.run(
            [sys.executable, "-m", "cli.main", *case.args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=240,
            check=False,
        )
        return case, done.returncode, done.stdout + done.stderr

    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(zip(found, pool.map(run, found.values()), strict=True))


def test_every_command_is_run_here_or_said_why_not(
    outcomes: dict[tuple[str, ...], Outcome],
) -> None:
    assert commands() == set(outcomes) | set(NOT_RUN)


def test_no_command_answers_an_unreachable_service_with_a_traceback(
    outcomes: dict[tuple[str, ...], Outcome],
) -> None:
    wrong = []
    for name, (case, code, output) in sorted(outcomes.items()):
        said = " ".join(output.split())  # as it reads, whatever the line wrapping
        problems = []
        if "Traceback" in output or re.search(r"^\s*File \".*\", line \d+", output, re.M):
            problems.append("a traceback")
        if "Unclosed" in output:
            problems.append("an unclosed client")
        if code not in case.exit_codes:
            problems.append(f"exit code {code}, not {case.exit_codes}")
        if case.network:
            if not re.search(r"error:", said) or not WHAT_TO_DO.search(said):
                problems.append("no sentence saying what to do")
            if not re.search(r"reach|connect|answer", said):
                problems.append("no word of what could not be reached")
        if problems:
            wrong.append(f"trail {' '.join(name)}: {', '.join(problems)}\n{output[-1500:]}")
    assert wrong == [], "\n\n".join(wrong)
