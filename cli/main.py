"""The ``trail`` command-line tool."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from cli import localstack
from cli.config import Endpoints, secret
from contracts.dates import today_in_vietnam
from services.common.tokens import issue_token


class Trail(typer.Typer):
    """The command tree, with one answer for a service that cannot be reached, whichever
    command met it: a sentence saying what could not be reached and what to do, exit code 1 —
    never a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from cli.calls import unreachable

        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            sentence = unreachable(exc)
            if sentence is None:
                raise
            console.print(f"[bold red]error:[/] {sentence}", soft_wrap=True)
            raise SystemExit(1) from None


app = Trail(
    help="Learning Trail: run the stack, seed a demo, administer.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every command
)
dev = typer.Typer(help="The local stack (Kafka, FerretDB, the three services) without Docker.")
app.add_typer(dev, name="dev")
console = Console()
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the answer as JSON, for scripts.")]


def _fail(message: str) -> typer.Exit:
    # soft-wrapped: the terminal folds the line, so a path or an address in it copies whole
    console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(1)


@dev.command("up")
def dev_up(
    only: Annotated[list[str] | None, typer.Option(help="Start only these components.")] = None,
) -> None:
    """Start what is not running yet and wait until each part is healthy (idempotent)."""
    started = time.monotonic()
    try:
        localstack.up(only=tuple(only) if only else None)
    except localstack.StackError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"[green]stack is up[/] in {time.monotonic() - started:.1f}s")
    _print_status()


@dev.command("down")
def dev_down() -> None:
    """Stop everything the stack started."""
    stopped = localstack.down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")


@dev.command("status")
def dev_status(as_json: JsonFlag = False) -> None:
    """What runs where, and whether it is healthy."""
    if as_json:
        found = [
            {"component": name, "pid": pid, "address": address, "healthy": healthy}
            for name, pid, address, healthy in localstack.status()
        ]
        print(json.dumps(found))
        return
    _print_status()


@dev.command("mail")
def dev_mail(
    to: Annotated[str | None, typer.Option(help="Only the messages to this address.")] = None,
    last: Annotated[int, typer.Option(help="How many of the newest messages.")] = 10,
    headers: Annotated[
        bool, typer.Option(help="Show every header, not only the main ones.")
    ] = False,
) -> None:
    """The emails the local stack sent, newest last, as the learner would read them (kept by the
    mail catcher in .cache/dev/mail/, one .eml file each)."""
    from cli.mailsink import plain_text, read_mail
    from contracts import words

    folder = localstack.mail_folder()
    found = [(t, m) for t, m in read_mail(folder) if to is None or m["To"] == to]
    if not found:
        console.print(f"no mail yet in {folder}" + (f" to {to}" if to else ""))
        return
    for arrived, message in found[-last:]:
        console.rule(str(message["Subject"]))
        when = datetime.fromtimestamp(arrived, UTC)
        console.print(f"Arrived: {words.moment(when, 'vi')} (giờ Việt Nam)", markup=False)
        shown = (
            message.items()
            if headers
            else [
                (k, message[k]) for k in ("From", "To", "Subject", "List-Unsubscribe") if message[k]
            ]
        )
        for key, value in shown:
            console.print(f"{key}: {value}", markup=False, soft_wrap=True)
        console.print()
        console.print(plain_text(message), markup=False, soft_wrap=True)
    console.print(f"{len(found)} message(s) in {folder}")


def _when(iso: str) -> str:
    """A time from a service's answer as people read it: dd/mm/yyyy HH:mm in Vietnam."""
    from contracts import words

    return words.moment(datetime.fromisoformat(iso.replace("Z", "+00:00")), "vi")


def _print_status() -> None:
    found = localstack.status()
    table = Table()
    table.add_column("component", no_wrap=True, min_width=max(len(f[0]) for f in found))
    table.add_column("pid")
    # an address is never wrapped or cut: it is copied from here
    table.add_column("address", no_wrap=True, min_width=max(len(f[2]) for f in found))
    table.add_column("health")
    for name, pid, address, healthy in found:
        table.add_row(
            name,
            str(pid) if pid else "-",
            address,
            "[green]healthy[/]" if healthy else ("[red]unhealthy[/]" if pid else "stopped"),
        )
    console.print(table)


@app.command()
def topics() -> None:
    """Create the system's topics and the consumer groups' dead-letter topics."""
    from services.common.broker import ensure_topics

    bootstrap = os.environ.get(
        "LT_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{localstack.Ports.from_env().kafka}"
    )
    partitions = int(os.environ.get("LT_TOPIC_PARTITIONS", "6"))
    replication = int(os.environ.get("LT_TOPIC_REPLICATION_FACTOR", "1"))
    created = asyncio.run(
        ensure_topics(bootstrap, partitions, replication, localstack.CONSUMER_GROUPS)
    )
    console.print(f"created: {', '.join(created) or 'all topics already exist'}")


@app.command()
def token(
    learner_id: str,
    hours: Annotated[int, typer.Option(help="How long the token stays valid.")] = 1,
) -> None:
    """Issue a learner token (signed with LT_TOKEN_SECRET) to read that learner's data: an
    operator's tool, not a sign-in (it belongs to no session, so it cannot be signed out and
    acts on no account); learners get theirs from their session."""
    expires = int(time.time()) + hours * 3600
    print(issue_token(secret("LT_TOKEN_SECRET"), learner_id, "learner", expires))


providers = typer.Typer(help="Training centres (department only).")
app.add_typer(providers, name="providers")


def _pathways(given: list[str]) -> list[str]:
    """Pathways by code or by the Vietnamese aliases the CSV template accepts (``nghe``)."""
    from cli.csv_records import PATHWAY_ALIASES
    from contracts.vocabulary import Pathway

    found = [PATHWAY_ALIASES.get(p.strip().lower(), p.strip().lower()) for p in given]
    unknown = [g for g, p in zip(given, found, strict=True) if p not in set(Pathway)]
    if unknown:
        accepted = ", ".join(f"{alias}/{code}" for alias, code in PATHWAY_ALIASES.items())
        raise _fail(f"unknown pathway(s) {unknown}; use one of: {accepted}")
    return found


def _admin(
    method: str,
    path: str,
    body: object = None,
    creating: bool = False,
    service: Literal["learner", "insights"] = "learner",
) -> object:
    """A department call to the learner service (or the insights service): retried safely, no
    traceback, the problem's detail on failure."""
    from cli.calls import CallFailed, call, problem_text

    endpoints = Endpoints.from_env()
    base, address, listing = (
        (endpoints.insights, "LT_INSIGHTS_URL", "trail officers list")
        if service == "insights"
        else (endpoints.learner, "LT_LEARNER_URL", "trail providers list")
    )
    try:
        response = call(
            method,
            f"{base}{path}",
            headers={"Authorization": f"Bearer {secret('LT_ADMIN_TOKEN')}"},
            json=body,
            creating=creating,
            address=address,
            listing=listing,
        )
    except CallFailed as exc:
        raise _fail(str(exc)) from exc
    if response.status_code >= 400:
        raise _fail(problem_text(response))
    return response.json() if response.content else None


def _show_key(found: dict[str, object], as_json: bool) -> None:
    """A new key: the secret whole on a line of its own, to be copied."""
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    provider = found.get("provider")
    if isinstance(provider, dict):
        console.print(f"training centre: {provider.get('name')}", markup=False)
        console.print("provider id:", markup=False)
        print(provider.get("id"))
    console.print(f"scopes: {', '.join(found['scopes'])}", markup=False)  # type: ignore[arg-type]
    console.print("key id:", markup=False)
    print(found["key_id"])
    console.print("API key (shown once — store it now):", markup=False)
    print(found["api_key"])


@providers.command("create")
def providers_create(
    name: Annotated[str, typer.Option(help="Name, in Vietnamese.")],
    kind: Annotated[str, typer.Option(help="school, university, vocational_continuing_centre, …")],
    unit_code: Annotated[str, typer.Option(help="Administrative unit code.")],
    pathway: Annotated[
        list[str], typer.Option(help="A pathway it may record (code or alias, e.g. nghe); repeat.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Register a training centre and print its API key (shown once). A time-out is retried
    with the same Idempotency-Key, so the centre is created once and its key still shown."""
    body = {"name": name, "kind": kind, "unit_code": unit_code, "pathways": _pathways(pathway)}
    created = _admin("POST", "/v1/admin/providers", body, creating=True)
    assert isinstance(created, dict)
    _show_key(created, as_json)


@providers.command("list")
def providers_list(as_json: JsonFlag = False) -> None:
    """The training centres."""
    found = _admin("GET", "/v1/admin/providers")
    assert isinstance(found, list)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    for centre in found:
        console.print(f"{centre['name']} — {', '.join(centre['pathways'])}", markup=False)
        print(centre["id"])


keys = typer.Typer(help="A training centre's API keys (department only).")
providers.add_typer(keys, name="keys")


@keys.command("issue")
def keys_issue(
    provider_id: Annotated[str, typer.Argument(help="The training centre's id.")],
    scope: Annotated[
        list[str] | None, typer.Option(help="records:write, programmes:write; repeat.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Issue another API key (e.g. when one was lost); the old ones stay until revoked."""
    body = {"scopes": scope or ["records:write", "programmes:write"]}
    issued = _admin("POST", f"/v1/admin/providers/{provider_id}/keys", body, creating=True)
    assert isinstance(issued, dict)
    _show_key(issued, as_json)


@keys.command("list")
def keys_list(
    provider_id: Annotated[str, typer.Argument(help="The training centre's id.")],
    as_json: JsonFlag = False,
) -> None:
    """A training centre's keys, without their secrets."""
    found = _admin("GET", f"/v1/admin/providers/{provider_id}/keys")
    assert isinstance(found, list)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    for key in found:  # a description, then the key's id whole on a line of its own
        revoked = key.get("revoked_at")
        state = f"revoked {_when(revoked)} (Vietnam time)" if revoked else "live"
        console.print(f"{key['prefix']}…  {', '.join(key['scopes'])}  {state}", markup=False)
        print(key["key_id"])


@keys.command("revoke")
def keys_revoke(
    provider_id: Annotated[str, typer.Argument(help="The training centre's id.")],
    key_id: Annotated[str, typer.Argument(help="The key's id (see `keys list`).")],
) -> None:
    """Revoke a key: it stops working at once."""
    _admin("DELETE", f"/v1/admin/providers/{provider_id}/keys/{key_id}")
    console.print(f"revoked {key_id}", markup=False)


officers = typer.Typer(
    help="Officer credentials: a unit's statistics officer signs in to the figures (department "
    "only)."
)
app.add_typer(officers, name="officers")


def _describe_officer(found: dict[str, Any]) -> str:
    """One line a person reads: the unit, whom it is for, and whether it is good."""
    unit = found["unit"]
    where = f"{unit.get('name', '?')} ({unit['code']})"
    label = f" — {found['label']}" if found.get("label") else ""
    if found["status"] == "revoked":
        state = f"revoked {_when(found['revoked_at'])} ({found.get('revoked_reason')})"
    elif found["status"] == "expired":
        state = f"expired {_when(found['expires_at'])}"
    else:
        state = f"live until {_when(found['expires_at'])}"
    return f"{where}{label}: {state} (Vietnam time)"


@officers.command("issue")
def officers_issue(
    unit_code: Annotated[str, typer.Option(help="The unit the officer serves (e.g. 56, 22735).")],
    days: Annotated[int, typer.Option(help="How long it is good (1–90 days).")] = 30,
    label: Annotated[
        str | None,
        typer.Option(help="Whom it is for: a job title or office, never a national ID."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Issue an officer credential for one unit and print it, once. A time-out or a lost
    answer is retried with the same Idempotency-Key: one credential."""
    body: dict[str, object] = {"unit_code": unit_code, "days": days}
    if label is not None:
        body["label"] = label
    issued = _admin("POST", "/v1/admin/officers", body, creating=True, service="insights")
    assert isinstance(issued, dict)
    if as_json:
        print(json.dumps(issued, ensure_ascii=False))
        return
    console.print(_describe_officer(issued), markup=False, soft_wrap=True)
    console.print("credential id (to list or revoke it):", markup=False)
    print(issued["id"])
    console.print(
        "officer credential (shown once — give it to the officer now; they sign in at "
        f"{Endpoints.from_env().insights}/figures/sign-in):",
        markup=False,
    )
    print(issued["token"])


@officers.command("list")
def officers_list(as_json: JsonFlag = False) -> None:
    """Every officer credential issued, newest first, live or not; never the credential."""
    found = _admin("GET", "/v1/admin/officers", service="insights")
    assert isinstance(found, list)
    if as_json:
        print(json.dumps(found, ensure_ascii=False))
        return
    for credential in found:  # a description, then the id whole on a line of its own
        console.print(_describe_officer(credential), markup=False, soft_wrap=True)
        print(credential["id"])


@officers.command("revoke")
def officers_revoke(
    credential_id: Annotated[str, typer.Argument(help="The credential's id (`officers list`).")],
    reason: Annotated[str, typer.Option(help="Why: the officer moved on, it leaked…")],
) -> None:
    """Revoke an officer credential: refused at once on the API and at sign-in, and every
    browser session started with it ends. Revoking again changes nothing."""
    found = _admin(
        "POST",
        f"/v1/admin/officers/{credential_id}/revocation",
        {"reason": reason},
        service="insights",
    )
    assert isinstance(found, dict)
    console.print(_describe_officer(found), markup=False, soft_wrap=True)


contracts_app = typer.Typer(help="Event contracts: JSON Schemas and the AsyncAPI document.")
app.add_typer(contracts_app, name="contracts")
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "contracts" / "schemas"


@contracts_app.command("generate")
def contracts_generate() -> None:
    """Write contracts/schemas/*.json and asyncapi.json from the models."""
    from contracts.schemas import asyncapi_document, event_schemas

    SCHEMA_DIR.mkdir(exist_ok=True)
    for event_type, schema in event_schemas().items():
        _write_json(SCHEMA_DIR / f"{event_type}.json", schema)
    _write_json(SCHEMA_DIR / "asyncapi.json", asyncapi_document())
    console.print(f"wrote {SCHEMA_DIR}")


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


@app.command("import")
def import_records(
    file: Annotated[
        Path | None, typer.Argument(help="CSV file (or .xlsx workbook) in the template's columns.")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Your training centre's id.")] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="LT_API_KEY", help="Your API key (or LT_API_KEY).")
    ] = None,
    template: Annotated[
        bool, typer.Option("--template", help="Write the CSV template (with help) and stop.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the outcome as JSON on stdout (progress goes to stderr)."
        ),
    ] = False,
) -> None:
    """Import a training centre's records from CSV (comma, semicolon or tab; UTF-8 or UTF-16)
    or an Excel workbook; a busy service is waited for; safe to re-run after an interruption.
    Exit 0: every row went in; 2: some did not (they are in FILE.errors.csv, as they were, with
    the reason in Vietnamese); 1: the import could not run or finish."""
    import csv

    from cli.csv_records import template_rows
    from cli.importer import ImportFailed, import_csv, print_summary

    if template:
        target = file or Path("records-template.csv")
        with target.open("w", newline="", encoding="utf-8-sig") as handle:
            csv.writer(handle).writerows(template_rows())
        console.print(f"template written: {target}")
        return
    if file is None or provider is None or api_key is None:
        raise _fail("give FILE, --provider and --api-key (or LT_API_KEY); see trail import --help")
    if not file.exists():
        raise _fail(f"{file} does not exist")
    shown = Console(stderr=True) if as_json else console
    try:
        summary, errors = import_csv(file, provider, api_key, Endpoints.from_env().learner, shown)
    except ImportFailed as exc:
        sent = exc.summary.sent if exc.summary else 0
        kept = (
            f" {sent} row(s) were sent and are kept; re-running the import is safe."
            if sent
            else " No row was sent; re-running the import is safe."
        )
        rows = f" The rows not imported, with why: {exc.error_file}" if exc.error_file else ""
        if as_json:
            counts = dict(exc.summary.counts) if exc.summary else {}
            error_file = str(exc.error_file) if exc.error_file else None
            outcome = {"error": str(exc), "sent": sent, "counts": counts, "errors": error_file}
            print(json.dumps({**outcome, "exit_code": 1}, ensure_ascii=False))
            raise typer.Exit(1) from exc
        said = str(exc) if str(exc).endswith((".", "?", "!")) else f"{exc}."
        raise _fail(f"{said}{kept}{rows}") from exc
    code = 2 if summary.rejected else 0  # 2: some rows did not go in (see the error file)
    if as_json:
        outcome = {"counts": dict(summary.counts), "rejected": summary.rejected}
        error_file = str(errors) if errors else None
        print(json.dumps({**outcome, "errors": error_file, "exit_code": code}, ensure_ascii=False))
    else:
        print_summary(console, summary, errors)
    raise typer.Exit(code)


dlq_app = typer.Typer(help="Dead-letter topics: inspect, and replay once fixed.")
app.add_typer(dlq_app, name="dlq")


def _bootstrap() -> str:
    ports = localstack.Ports.from_env()
    return os.environ.get("LT_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{ports.kafka}")


@dlq_app.command("list")
def dlq_list(
    group: Annotated[str, typer.Argument(help="Consumer group: credential, notify.")],
    as_json: JsonFlag = False,
) -> None:
    """The messages in a group's dead-letter topic, with where they came from and why."""
    from cli.dlq import describe, read_dead_letters

    letters = asyncio.run(read_dead_letters(_bootstrap(), group))
    if as_json:
        print(json.dumps([describe(d) for d in letters], ensure_ascii=False))
        return
    table = Table("position", "from", "type", "attempts", "reason", "replayed")
    for d in letters:
        table.add_row(
            d.position,
            d.origin,
            d.headers.get("ce_type", "?"),
            d.headers.get("dlq_attempts", ""),
            d.reason,
            "yes" if d.replayed else "",
        )
    console.print(table)
    console.print(f"{len(letters)} dead letter(s) in {group}.dlq")


@dlq_app.command("show")
def dlq_show(group: str, position: Annotated[str, typer.Argument(help="partition:offset")]) -> None:
    """One dead letter: headers and value."""
    from cli.dlq import describe, read_dead_letters

    for letter in asyncio.run(read_dead_letters(_bootstrap(), group)):
        if letter.position == position:
            console.print_json(json.dumps(describe(letter), ensure_ascii=False))
            return
    raise _fail(f"no dead letter at {position} in {group}.dlq")


@dlq_app.command("replay")
def dlq_replay(
    group: str,
    positions: Annotated[list[str], typer.Argument(help="partition:offset of each message.")],
    force: Annotated[bool, typer.Option(help="Replay even if replayed before.")] = False,
) -> None:
    """Send chosen dead letters back to their original topics (once, unless --force)."""
    from cli.dlq import replay as send_back

    outcome = asyncio.run(send_back(_bootstrap(), group, positions, force))
    for position, what in outcome.items():
        console.print(f"{position}: {what}")
    if any(not what.startswith("replayed") for what in outcome.values()):
        raise typer.Exit(1)


@app.command()
def rebuild(
    service: Annotated[
        str, typer.Argument(help="The projection to rebuild: credential, insights.")
    ],
    into: Annotated[
        str | None, typer.Option(help="The fresh database to rebuild into (lt_<service>_rebuild).")
    ] = None,
    live: Annotated[
        str | None, typer.Option(help="The live database to compare with (lt_<service>).")
    ] = None,
    period: Annotated[
        list[str] | None,
        typer.Option(help="insights: also compare the figures of these periods (e.g. 2026-Q3)."),
    ] = None,
) -> None:
    """Replay the topics from the beginning into fresh collections and compare with the live
    projection; exits 1 if they differ."""
    if service not in ("credential", "insights"):
        raise _fail("the projections that can be rebuilt are: credential, insights")
    into = into or f"lt_{service}_rebuild"
    live = live or f"lt_{service}"
    started = time.monotonic()
    mongodb_uri = localstack.mongodb_uri(localstack.Ports.from_env())
    if service == "credential":
        from services.credential.rebuild import rebuild as replay

        report = asyncio.run(replay(_bootstrap(), mongodb_uri, live, into))
    else:
        from services.insights.rebuild import rebuild as replay_figures

        report = asyncio.run(
            replay_figures(_bootstrap(), mongodb_uri, live, into, tuple(period or ()))
        )
    console.print(
        f"replayed {report.events} events ({report.skipped} undecodable skipped) into {into} "
        f"in {time.monotonic() - started:.1f}s: {report.collections}"
    )
    if report.differences:
        for line in report.differences[:20]:
            console.print(f"[red]differs:[/] {line}")
        raise typer.Exit(1)
    console.print(f"[green]identical to the live projection ({live})[/]")


@app.command()
def report(
    period: Annotated[str, typer.Option(help="2026 (year), 2026-Q3 (quarter) or 2026-07 (month).")],
    unit: Annotated[
        str | None, typer.Option(help="Province (2 digits), former district (3) or commune (5).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="xlsx, csv or html (printable).")] = "xlsx",
    out: Annotated[
        Path | None, typer.Option(help="The file to write (bao-cao-<period>.<format>).")
    ] = None,
    number: Annotated[str, typer.Option(help="The report's number, e.g. 123/BC-SGDĐT.")] = (
        "     /BC-SGDĐT"
    ),
    issuing_body: Annotated[str, typer.Option(help="Who issues it.")] = "SỞ GIÁO DỤC VÀ ĐÀO TẠO",
) -> None:
    """The department's periodic report from the insights service's figures: a workbook (one
    sheet per indicator group), CSV, or a printable page laid out as an administrative report.
    PDF: print the page (a browser's "Save as PDF"); no PDF is written here."""
    from cli.report import FORMATS, ReportFailed, fetch, write

    if fmt not in FORMATS:
        raise _fail(
            f"--format {fmt}: use xlsx, csv or html (for PDF, print the html report to PDF)"
        )
    target = out or Path(f"bao-cao-{period}{'-' + unit if unit else ''}.{fmt}")
    started = time.monotonic()
    try:
        found = fetch(period, unit)
        write(found, fmt, target, number, issuing_body, today_in_vietnam())
    except ReportFailed as exc:
        raise _fail(str(exc)) from exc
    console.print(f"wrote {target} in {time.monotonic() - started:.1f}s", markup=False)


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="A credential (JSON) to verify.")],
    trusted_only: Annotated[
        bool, typer.Option("--trusted-only", help="Fail (1) when the issuer is not pinned.")
    ] = False,
    trust_list: Annotated[
        Path | None, typer.Option(help="Pinned issuers: JSON {issuer: [Multikey…]} or a DID doc.")
    ] = None,
    online: Annotated[
        bool,
        typer.Option(
            "--online", help="Fetch did:web DID documents and status lists (HTTPS), caching lists."
        ),
    ] = False,
    status_list: Annotated[
        list[Path] | None,
        typer.Option(help="A status list credential to use offline (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify a credential: JSON Schema, every proof, dates, status, issuer. Exit codes:
    0 every check passed; 1 a check failed (forged, tampered, revoked, expired, …); 2 nothing
    failed but something could not be checked (issuer keys unknown, status list unreachable)."""
    from cli.verifying import verify_file

    try:
        report = verify_file(file, trust_list, trusted_only, online, status_list or [])
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        table = Table("credential", "check", "result", "detail")
        colours = {"passed": "green", "failed": "red", "unknown": "yellow", "skipped": "dim"}
        for check in report.checks:
            colour = colours[check.result]
            table.add_row(check.path, check.check, f"[{colour}]{check.result}[/]", check.detail)
        console.print(table)
        console.print(f"overall: [bold]{report.status}[/] (exit {report.exit_code})")
        console.print(report.summary(), markup=False)
    raise typer.Exit(report.exit_code)


@app.command("pin-issuer")
def pin_issuer(
    out: Annotated[
        Path,
        typer.Option("--out", "--trust-list", help="Where to keep the pinned keys (trust list)."),
    ] = Path(".cache/trust-list.json"),
) -> None:
    """Fetch the issuer's DID document from the credential service and pin its keys for
    offline verification (``trail verify --trust-list``)."""
    from cli.calls import CallFailed, call, problem_text
    from services.credential.vc.keys import trust_list_from_did_document

    try:
        did = f"{Endpoints.from_env().credential}/.well-known/did.json"
        response = call("GET", did, headers={})
    except CallFailed as exc:
        raise _fail(str(exc)) from exc
    if response.status_code != 200:
        raise _fail(f"the credential service answered {problem_text(response)}")
    pinned = {k: list(v) for k, v in trust_list_from_did_document(response.json()).items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(pinned, indent=2) + "\n")
    console.print(
        f"pinned {sum(len(v) for v in pinned.values())} key(s) of {list(pinned)} in {out}"
    )


@app.command()
def demo() -> None:
    """Seed two training centres, learners, records and a programme; show one learner's trail."""
    from cli.demo import run_demo

    try:
        run_demo(Endpoints.from_env(), console)
    except RuntimeError as exc:  # a service that cannot be reached: Trail says so
        raise _fail(f"{exc} — is the stack up? Try: trail dev up") from exc


if __name__ == "__main__":
    app()
