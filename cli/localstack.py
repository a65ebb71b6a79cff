"""The local stack without Docker: Kafka from Maven Central jars, FerretDB from the Go module
proxy, and the three services as processes. Driven by ``trail dev up|down|status``.

Everything lives under ``.cache/``: downloaded jars and binaries, data, logs and pid files.
Start-up is idempotent (what runs and answers is left alone) and ``down`` stops everything it
started.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import httpx

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"
# LT_DEV_DIR gives a second stack (other ports too) its own data, logs and pid files.
RUN = Path(os.environ.get("LT_DEV_DIR", CACHE / "dev")).resolve()
KAFKA_VERSION = "4.4.0"
FERRETDB_VERSION = "v1.24.2"
DEPLOY = ROOT / "deploy" / "local"
# Our changes to FerretDB 1.24.2 (deploy/local/ferretdb/NOTES.md, "Why a patch"), applied in
# name order: without sqlite-id-pushdown every _id lookup, update and delete scans its
# collection, and a bulk update of more than 100 documents deadlocks the server;
# resource-tracking-debug-only stops a leak tracker meant for debug builds from taking a stack
# trace for every cursor; sqlite-id-range-pushdown (applied after sqlite-id-pushdown, whose
# code it extends) serves a range of plain string _ids sorted by _id with a limit from the _id
# index (the xAPI query keys); sqlite-string-field-pushdown (after both) lets SQLite drop the
# documents that cannot match a filter's string equalities on other fields, by a search of their
# text, before FerretDB decodes them. The binary's name carries the patches' digest, so a changed
# patch is built anew.
FERRETDB_PATCHES = sorted((DEPLOY / "ferretdb").glob("*.patch"))
OIDC_SOURCE = DEPLOY / "oidc"  # package.json and its lock, provider.mjs, citizens.json
OIDC_HOME = CACHE / "oidc"  # where npm installs oidc-provider, from the npm registry
OIDC_CLIENT_ID = "learning-trail-learner"
AXE_SOURCE = DEPLOY / "axe"  # package.json and its lock: axe-core for the browser tests
AXE_HOME = CACHE / "axe"  # where npm installs it, from the npm registry
# package.json, its lock and check.cjs: Learning Locker's xAPI statement validation, an
# independent check of the LRS's statement rules (tests/e2e/test_xapi_independent_check.py)
XAPI_VALIDATION_SOURCE = DEPLOY / "xapi-validation"
XAPI_VALIDATION_HOME = CACHE / "xapi-validation"
KAFKA_LIBS = CACHE / "kafka" / "libs"
FERRETDB_PATCHES_DIGEST = hashlib.sha256(b"".join(p.read_bytes() for p in FERRETDB_PATCHES))
FERRETDB_BIN = (
    CACHE / "bin" / f"ferretdb-{FERRETDB_VERSION}-{FERRETDB_PATCHES_DIGEST.hexdigest()[:10]}"
)
# Go's collector runs at every doubling of the heap by default (GOGC=100): ~10 % of FerretDB's
# processor time under load, with a heap of tens of MB. Four times the room costs memory this
# machine has and halves that time.
FERRETDB_GOGC = "400"
SQLITE_PRAGMAS = "&".join(
    f"_pragma={p}" for p in ("synchronous(normal)", "mmap_size(1073741824)", "cache_size(-8192)")
)


class StackError(RuntimeError):
    """Something the developer must fix; the message says what and how."""


@dataclass(frozen=True)
class Ports:
    kafka: int = 9092
    kafka_controller: int = 9093
    mongodb: int = 27017
    learner: int = 8081
    credential: int = 8082
    notify: int = 8083
    insights: int = 8084
    tracesink: int = 4318
    oidc: int = 8090

    @classmethod
    def from_env(cls) -> Ports:
        """Ports can be moved with LT_DEV_<NAME>_PORT, e.g. LT_DEV_KAFKA_PORT=19092."""
        values = {
            name: int(os.environ.get(f"LT_DEV_{name.upper()}_PORT", default))
            for name, default in cls().__dict__.items()
        }
        if "LT_DEV_TRACESINK_PORT" not in os.environ:
            # beside the learner port, so that a second stack (ports moved) has its own sink
            values["tracesink"] = max(1024, cls.tracesink + values["learner"] - cls.learner)
        if "LT_DEV_OIDC_PORT" not in os.environ:
            values["oidc"] = max(1024, cls.oidc + values["learner"] - cls.learner)
        return cls(**values)


SERVICES = ("learner", "credential", "notify", "insights")
CONSUMER_GROUPS = ("credential", "notify", "insights")


@dataclass
class Component:
    name: str
    address: str
    port: int
    command: Callable[[], list[str]]
    healthy: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[], None] | None = None

    @property
    def pid_file(self) -> Path:
        return RUN / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return RUN / "logs" / f"{self.name}.log"


# prerequisites


def _require(tool: str, why: str, install: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise StackError(f"{tool} is not installed; it is needed {why}. Install it: {install}")
    return path


def check_prerequisites(need_ferretdb: bool) -> None:
    _require("java", "to run Kafka", "apt-get install -y openjdk-17-jre-headless")
    if not (KAFKA_LIBS / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        _require("mvn", "to fetch Kafka's jars from Maven Central", "apt-get install -y maven")
    _require("node", "to run the local OpenID provider", "apt-get install -y nodejs npm")
    if not (OIDC_HOME / "node_modules" / "oidc-provider").exists():
        _require("npm", "to install the local OpenID provider", "apt-get install -y npm")
    if need_ferretdb and not FERRETDB_BIN.exists():
        _require(
            "go", "to build FerretDB from the Go module proxy", "see https://go.dev/doc/install"
        )


def _run(cmd: list[str], what: str, **kwargs: object) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise StackError(f"{what} failed (exit {result.returncode}):\n{tail}")


def fetch_kafka() -> None:
    """Kafka's jars, from Maven Central, once."""
    if (KAFKA_LIBS / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        return
    print(f"Fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central …", flush=True)
    KAFKA_LIBS.mkdir(parents=True, exist_ok=True)
    _run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(DEPLOY / "kafka" / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={KAFKA_LIBS}",
            "-Dmdep.includeScope=runtime",
        ],
        "Downloading Kafka's jars with Maven (is Maven Central reachable?)",
    )


def install_oidc_provider() -> None:
    """panva's oidc-provider from the npm registry, at the version the committed lock file
    pins, into .cache/oidc (again only when the lock file changed), beside our configuration."""
    OIDC_HOME.mkdir(parents=True, exist_ok=True)
    lock = (OIDC_SOURCE / "package-lock.json").read_text()
    installed = OIDC_HOME / "package-lock.json"
    if not (OIDC_HOME / "node_modules" / "oidc-provider").exists() or (
        not installed.exists() or installed.read_text() != lock
    ):
        for name in ("package.json", "package-lock.json"):
            shutil.copy(OIDC_SOURCE / name, OIDC_HOME / name)
        _run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            "Installing the local OpenID provider (npm ci)",
            cwd=OIDC_HOME,
        )
    for name in ("provider.mjs", "citizens.json"):
        shutil.copy(OIDC_SOURCE / name, OIDC_HOME / name)


def install_axe() -> Path:
    """axe-core (Deque's accessibility engine) from the npm registry, at the version the
    committed lock file pins, into .cache/axe (again only when the lock file changed); the
    script the browser tests inject into pages."""
    script = AXE_HOME / "node_modules" / "axe-core" / "axe.min.js"
    _npm_ci(AXE_SOURCE, AXE_HOME, script, "axe-core", "for the browser tests")
    return script


def _npm_ci(source: Path, home: Path, installed_file: Path, label: str, why: str) -> None:
    """``npm ci`` of the package.json and lock file in ``source`` into ``home``, only when
    ``installed_file`` is missing or the committed lock file changed since the last install."""
    home.mkdir(parents=True, exist_ok=True)
    lock = (source / "package-lock.json").read_text()
    installed = home / "package-lock.json"
    if installed_file.exists() and installed.exists() and installed.read_text() == lock:
        return
    _require("npm", f"to install {label} {why}", "apt-get install -y npm")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(source / name, home / name)
    _run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        f"Installing {label} (npm ci)",
        cwd=home,
    )


def install_xapi_validation() -> Path:
    """Learning Locker's @learninglocker/xapi-validation from the npm registry, at the
    version the committed lock file pins, into .cache/xapi-validation (again only when the
    lock file changed); the Node script that runs it on statements (JSON on standard input)."""
    home, source = XAPI_VALIDATION_HOME, XAPI_VALIDATION_SOURCE
    package = home / "node_modules" / "@learninglocker" / "xapi-validation"
    _npm_ci(source, home, package, "Learning Locker's xAPI validation", "for its check")
    shutil.copy(source / "check.cjs", home / "check.cjs")
    return home / "check.cjs"


def oidc_ready(port: int) -> bool:
    try:
        url = f"http://127.0.0.1:{port}/.well-known/openid-configuration"
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def oidc_issuer(ports: Ports) -> str:
    return f"http://127.0.0.1:{ports.oidc}"


def oidc_redirect_uri(ports: Ports) -> str:
    return f"http://127.0.0.1:{ports.learner}/v1/sign-in/oidc/callback"


def quarantine_unfinished_databases(data: Path) -> list[Path]:
    """Move aside the SQLite files of databases whose creation never finished.

    FerretDB creates a database as a file and then its ``_ferretdb_collections`` table; a
    crash between the two (seen once: a segfault in the pure-Go SQLite under heavy concurrent
    load on a database being created) leaves a file without that table, and FerretDB then
    refuses to start at all ("no such table: _ferretdb_collections"). Such a file holds
    nothing committed, so moving it to ``quarantine/`` loses nothing and lets every other
    database come back. Returns the files moved."""
    moved = []
    for path in sorted(data.glob("*.sqlite")):
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                found = db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                    "AND name = '_ferretdb_collections'"
                ).fetchone()
        except sqlite3.DatabaseError:
            found = None
        if found is None:
            target = data.parent / "quarantine" / f"{path.name}.{int(time.time())}"
            target.parent.mkdir(exist_ok=True)
            for part in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                if part.exists():
                    shutil.move(part, target.with_name(target.name + part.name[len(path.name) :]))
            print(f"FerretDB: {path.name} was never fully created; moved to {target}", flush=True)
            moved.append(path)
    return moved


def build_ferretdb() -> None:
    """FerretDB, built once from its module in the Go module proxy, with our patches applied.

    ``go install`` alone yields a binary that panics: the release's build/version/version.txt
    is not in the module zip, so it is written into a copy of the module before building.
    """
    if FERRETDB_BIN.exists():
        return
    print(
        f"Building FerretDB {FERRETDB_VERSION} from the Go module proxy (about a minute) …",
        flush=True,
    )
    module = f"github.com/FerretDB/FerretDB@{FERRETDB_VERSION}"
    result = subprocess.run(
        ["go", "mod", "download", "-json", module], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(
            f"Downloading {module} from the Go module proxy failed:\n{result.stdout}{result.stderr}"
        )
    source = Path(json.loads(result.stdout)["Dir"])
    work = CACHE / "build" / "ferretdb"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work)
    for path in work.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    (work / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
    for patch in FERRETDB_PATCHES:
        _run(
            ["git", "apply", "-p1", str(patch)],
            f"Applying our FerretDB patch {patch.name}",
            cwd=work,
            # the copy lies inside this repository: git must treat it as a plain folder
            env={**os.environ, "GIT_CEILING_DIRECTORIES": str(work.parent)},
        )
    FERRETDB_BIN.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [
            "go",
            "build",
            "-trimpath",
            "-tags",
            "ferretdb_no_postgresql",
            "-o",
            str(FERRETDB_BIN),
            "./cmd/ferretdb",
        ],
        "Building FerretDB with 'go build'",
        cwd=work,
    )
    shutil.rmtree(work, ignore_errors=True)


# secrets for development


DEV_SECRETS: dict[str, Callable[[], str]] = {
    "LT_IDENTITY_HMAC_KEY": lambda: secrets.token_urlsafe(32),
    "LT_TOKEN_SECRET": lambda: secrets.token_urlsafe(32),
    "LT_ADMIN_TOKEN": lambda: f"adm_{secrets.token_urlsafe(24)}",
    "LT_KEY_ENCRYPTION_KEY": lambda: secrets.token_urlsafe(32),
    "LT_OIDC_CLIENT_SECRET": lambda: secrets.token_urlsafe(32),
}


def dev_secrets() -> dict[str, str]:
    """Secrets for the local stack, made once and kept in .cache/dev/secrets.env (mode 600);
    a secret added in a later version is added to an existing file."""
    path = RUN / "secrets.env"
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    missing = {name: make() for name, make in DEV_SECRETS.items() if name not in values}
    if missing:
        values.update(missing)
        RUN.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return values


# health checks


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def http_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def tracesink_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def traces_file() -> Path:
    """Where the local stack's trace sink writes every span, one JSON line each."""
    return RUN / "traces.jsonl"


def mail_folder() -> Path:
    """Where the local mail catcher keeps every email the stack sends."""
    return RUN / "mail"


def smtp_port(ports: Ports) -> int:
    """The local SMTP port notify sends to and the mail catcher listens on (LT_DEV_SMTP_PORT;
    by default beside the notify port, so that a second stack has its own)."""
    return int(os.environ.get("LT_DEV_SMTP_PORT", str(ports.notify + 4442)))


def mongodb_uri(ports: Ports) -> str:
    return os.environ.get("MONGODB_URI") or f"mongodb://127.0.0.1:{ports.mongodb}/"


# components


def components(ports: Ports) -> list[Component]:
    kafka_run = RUN / "kafka"
    ferret_run = RUN / "ferretdb"

    def prepare_kafka() -> None:
        kafka_run.mkdir(parents=True, exist_ok=True)
        (kafka_run / "logs").mkdir(exist_ok=True)
        props = Template((DEPLOY / "kafka" / "server.properties").read_text()).substitute(
            LOG_DIRS=str(kafka_run / "data"),
            PORT=ports.kafka,
            CONTROLLER_PORT=ports.kafka_controller,
        )
        (kafka_run / "server.properties").write_text(props)
        if not (kafka_run / "data" / "meta.properties").exists():
            cluster_id = "-"
            while cluster_id.startswith("-"):
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
            _run(
                [
                    "java",
                    "-cp",
                    f"{KAFKA_LIBS}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    cluster_id,
                    "-c",
                    str(kafka_run / "server.properties"),
                ],
                "Formatting Kafka's storage",
            )

    def kafka_cmd() -> list[str]:
        return [
            "java",
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={kafka_run / 'logs'}",
            f"-Dlog4j2.configurationFile={DEPLOY / 'kafka' / 'log4j2.yaml'}",
            "-cp",
            f"{KAFKA_LIBS}/*",
            "kafka.Kafka",
            str(kafka_run / "server.properties"),
        ]

    def ferret_cmd() -> list[str]:
        ferret_run.mkdir(parents=True, exist_ok=True)
        (ferret_run / "data").mkdir(exist_ok=True)
        quarantine_unfinished_databases(ferret_run / "data")
        return [
            str(FERRETDB_BIN),
            "--handler=sqlite",
            # WAL with synchronous=NORMAL: a commit survives the process being killed, not a
            # power cut — what the local Kafka promises too (it leaves flushing to the OS);
            # a commit no longer waits for an fsync (insert_one p50 3.3 ms -> 0.85 ms).
            # Pages read through a memory map instead of a read() each into every pooled
            # connection's own 2 MB cache (BENCHMARKS.md, "Fifth round").
            f"--sqlite-url=file:{ferret_run / 'data'}/?{SQLITE_PRAGMAS}",
            f"--listen-addr=127.0.0.1:{ports.mongodb}",
            # FerretDB's own metrics and pprof (/debug/metrics, /debug/pprof) when asked for,
            # e.g. LT_DEV_FERRETDB_DEBUG_ADDR=127.0.0.1:27018 to profile the database under load
            f"--debug-addr={os.environ.get('LT_DEV_FERRETDB_DEBUG_ADDR', '-')}",
            f"--state-dir={ferret_run}",
            "--telemetry=disable",
            # hand dotted field conditions of a find to the backend too (FerretDB's handler
            # drops them otherwise), where sqlite-string-field-pushdown narrows them
            "--test-enable-nested-pushdown",
            "--log-level=error",
        ]

    found = [
        Component(
            "kafka",
            f"127.0.0.1:{ports.kafka}",
            ports.kafka,
            kafka_cmd,
            lambda: port_open(ports.kafka),
            prepare=prepare_kafka,
        )
    ]
    if not os.environ.get("MONGODB_URI"):
        found.append(
            Component(
                "ferretdb",
                f"mongodb://127.0.0.1:{ports.mongodb}",
                ports.mongodb,
                ferret_cmd,
                lambda: port_open(ports.mongodb),
                env={"GOGC": os.environ.get("LT_DEV_FERRETDB_GOGC", FERRETDB_GOGC)},
            )
        )
    # No Jaeger without Docker: a small OTLP/HTTP receiver writes spans to RUN/traces.jsonl.
    # It starts before the services and stops after them, so no span is lost on either end.
    found.append(
        Component(
            "tracesink",
            f"http://127.0.0.1:{ports.tracesink}/v1/traces",
            ports.tracesink,
            functools.partial(
                list,
                [
                    sys.executable,
                    "-m",
                    "cli.tracesink",
                    "--port",
                    str(ports.tracesink),
                    "--out",
                    str(traces_file()),
                ],
            ),
            functools.partial(tracesink_ready, ports.tracesink),
        )
    )
    # No mail leaves a development machine: the catcher keeps what notify sends (trail dev mail).
    found.append(
        Component(
            "mailsink",
            f"smtp://127.0.0.1:{smtp_port(ports)}",
            smtp_port(ports),
            functools.partial(
                list,
                [
                    sys.executable,
                    "-m",
                    "cli.mailsink",
                    "--port",
                    str(smtp_port(ports)),
                    "--out",
                    str(mail_folder()),
                ],
            ),
            functools.partial(port_open, smtp_port(ports)),
        )
    )
    # the national e-ID's stand-in: a real OpenID provider with test citizens, started before
    # the learner service, its relying party
    secrets_now = dev_secrets()
    found.append(
        Component(
            "oidc",
            oidc_issuer(ports),
            ports.oidc,
            functools.partial(list, ["node", str(OIDC_HOME / "provider.mjs")]),
            functools.partial(oidc_ready, ports.oidc),
            env={
                "LT_OIDC_PORT": str(ports.oidc),
                "LT_OIDC_ISSUER": oidc_issuer(ports),
                "LT_OIDC_KEYS_FILE": str(RUN / "oidc-keys.json"),
                "LT_OIDC_CLIENT_ID": OIDC_CLIENT_ID,
                "LT_OIDC_CLIENT_SECRET": secrets_now["LT_OIDC_CLIENT_SECRET"],
                "LT_OIDC_REDIRECT_URI": oidc_redirect_uri(ports),
            },
            prepare=install_oidc_provider,
        )
    )
    base_env = {
        **secrets_now,
        "LT_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports.kafka}",
        "LT_MONGODB_URI": mongodb_uri(ports),
        "LT_CONSUMER_RETRY_MAX_SECONDS": "5",
        "LT_OTLP_ENDPOINT": f"http://127.0.0.1:{ports.tracesink}/v1/traces",
        "LT_OTLP_SCHEDULE_DELAY_MS": "200",  # spans show in traces.jsonl within a moment
    }
    for service in SERVICES:
        port = getattr(ports, service)
        extra = notify_env(ports, base_env["LT_TOKEN_SECRET"]) if service == "notify" else {}
        if service == "learner":
            extra = {
                "LT_OIDC_ISSUER": oidc_issuer(ports),
                "LT_OIDC_CLIENT_ID": OIDC_CLIENT_ID,
                "LT_OIDC_REDIRECT_URI": oidc_redirect_uri(ports),
            }
        found.append(
            Component(
                service,
                f"http://127.0.0.1:{port}",
                port,
                functools.partial(list, [sys.executable, "-m", f"services.{service}"]),
                functools.partial(http_ready, port),
                env={
                    **base_env,
                    "LT_SERVICE": service,
                    "LT_HTTP_PORT": str(port),
                    "LT_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                    "LT_PORTAL_LEARNER_URL": f"http://127.0.0.1:{ports.learner}",
                    "LT_PORTAL_CREDENTIAL_URL": f"http://127.0.0.1:{ports.credential}",
                    "LT_PORTAL_NOTIFY_URL": f"http://127.0.0.1:{ports.notify}",
                    "LT_PORTAL_INSIGHTS_URL": f"http://127.0.0.1:{ports.insights}",
                    **extra,
                },
            )
        )
    return found


def webhook_receiver_port(ports: Ports) -> int:
    """The one local port (LT_DEV_WEBHOOK_PORT; by default beside the notify port) where a
    development machine's test webhook receiver listens: the only internal destination the
    local notify may call (LT_NOTIFY_WEBHOOK_ALLOW)."""
    return int(os.environ.get("LT_DEV_WEBHOOK_PORT", str(ports.notify + 4444)))


def notify_env(ports: Ports, token_secret: str) -> dict[str, str]:
    """Notify's delivery settings on a development machine: the mail catcher's SMTP port and an
    SMS gateway on local ports (LT_DEV_SMTP_PORT, LT_DEV_SMS_PORT; by default beside the notify
    port, so that a second stack has its own), webhooks to the local test receiver only, and quick
    retries."""
    smtp = str(smtp_port(ports))
    sms = os.environ.get("LT_DEV_SMS_PORT", str(ports.notify + 4443))
    return {
        "LT_NOTIFY_PUBLIC_URL": f"http://127.0.0.1:{ports.notify}",
        "LT_NOTIFY_SMTP_HOST": "127.0.0.1",
        "LT_NOTIFY_SMTP_PORT": smtp,
        "LT_NOTIFY_SMS_GATEWAY_URL": f"http://127.0.0.1:{sms}/sms",
        "LT_NOTIFY_SMS_GATEWAY_SECRET": hashlib.sha256(f"sms:{token_secret}".encode()).hexdigest(),
        "LT_NOTIFY_WEBHOOK_ALLOW": f"127.0.0.1:{webhook_receiver_port(ports)}",
        "LT_NOTIFY_RETRY_BASE_SECONDS": "1",
        "LT_NOTIFY_POLL_SECONDS": "0.5",
        "LT_NOTIFY_IDLE_POLL_MAX_SECONDS": "4",
    }


# process control


def _pid(component: Component) -> int | None:
    try:
        pid = int(component.pid_file.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def start(component: Component, timeout: float = 90) -> None:
    """Start one component unless it already runs, then wait until it is healthy."""
    if _pid(component) is not None:
        _wait_healthy(component, timeout)
        return
    if port_open(component.port):
        raise StackError(
            f"Port {component.port} is taken by another process, so {component.name} cannot "
            f"start. Stop that process (see: ss -ltnp 'sport = :{component.port}') or move "
            f"{component.name} with LT_DEV_{component.name.upper()}_PORT."
        )
    if component.prepare:
        component.prepare()
    component.log_file.parent.mkdir(parents=True, exist_ok=True)
    with component.log_file.open("ab") as log:
        process = subprocess.Popen(
            component.command(),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **component.env},
        )
    component.pid_file.write_text(str(process.pid))
    _wait_healthy(component, timeout, process)


def _wait_healthy(
    component: Component, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if component.healthy():
            return
        if process is not None and process.poll() is not None:
            raise StackError(
                f"{component.name} exited with code {process.returncode} while starting; "
                f"last lines of {component.log_file}:\n{_tail(component.log_file)}"
            )
        time.sleep(0.3)
    raise StackError(
        f"{component.name} did not become healthy within {timeout:.0f}s; "
        f"see {component.log_file}:\n{_tail(component.log_file)}"
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop(component: Component, kill: bool = False, timeout: float = 20) -> bool:
    """Stop one component (SIGTERM, or SIGKILL with ``kill``); True if it was running."""
    pid = _pid(component)
    if pid is None:
        component.pid_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        _reap(pid)
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    component.pid_file.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


# the stack


def up(ports: Ports | None = None, only: tuple[str, ...] | None = None) -> list[Component]:
    ports = ports or Ports.from_env()
    check_prerequisites(need_ferretdb=not os.environ.get("MONGODB_URI"))
    fetch_kafka()
    if not os.environ.get("MONGODB_URI"):
        build_ferretdb()
    started = []
    for component in components(ports):
        if only and component.name not in only:
            continue
        start(component)
        started.append(component)
    return started


def down(ports: Ports | None = None) -> list[str]:
    stopped = []
    for component in reversed(components(ports or Ports.from_env())):
        if stop(component):
            stopped.append(component.name)
    return stopped


def component(name: str, ports: Ports | None = None) -> Component:
    for found in components(ports or Ports.from_env()):
        if found.name == name:
            return found
    raise StackError(f"no component named {name!r}")


def status(ports: Ports | None = None) -> list[tuple[str, int | None, str, bool]]:
    return [
        (c.name, _pid(c), c.address, c.healthy()) for c in components(ports or Ports.from_env())
    ]
