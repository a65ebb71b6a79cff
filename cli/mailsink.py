"""The local stack's mail catcher: an SMTP server (aiosmtpd) on the port the local notify sends
email to (LT_DEV_SMTP_PORT), which delivers nothing and keeps every message it accepts as one
``.eml`` file in ``.cache/dev/mail/`` — what the learner would have received, headers and all.
``trail dev mail`` lists and shows them.

A recipient whose address starts with ``reject`` is refused with ``550 5.1.1``, as a real server
refuses an unknown mailbox, so a bounce can be tried on a development machine.

Run: ``python -m cli.mailsink --port 12525 --out .cache/dev/mail``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import signal
import threading
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REFUSED_PREFIX = "reject"


class Sink:
    """aiosmtpd handler: keeps each message as ``<arrival ns>-<uuid>.eml`` in ``out``."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.lower().startswith(REFUSED_PREFIX):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
        partial = self.out / f".{name}.part"
        partial.write_bytes(raw)
        partial.rename(self.out / name)  # readers never see half a message
        return "250 Message accepted"


def read_mail(
    folder: Path, seen: dict[str, EmailMessage] | None = None
) -> list[tuple[float, EmailMessage]]:
    """Every message the sink kept, oldest first, with its arrival time (Unix seconds);
    ``seen`` keeps the messages already parsed, by file name, for a reader that asks again."""
    cache = {} if seen is None else seen
    found = []
    for path in sorted(folder.glob("*.eml")):
        parsed = cache.get(path.name)
        if parsed is None:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed = cache[path.name] = message
        found.append((int(path.name.split("-", 1)[0]) / 1e9, parsed))
    return found


def plain_text(message: EmailMessage) -> str:
    """The plain-text body, as a mail client shows it."""
    part = message.get_body(preferencelist=("plain", "html"))
    return "" if part is None else str(part.get_content())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    controller = Controller(Sink(args.out), hostname="127.0.0.1", port=args.port)
    controller.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    print(f"mail sink on 127.0.0.1:{args.port}, keeping messages in {args.out}", flush=True)
    stopped.wait()
    controller.stop()
    os._exit(0)


if __name__ == "__main__":
    main()
