"""The local stack's mail catcher: what is sent to notify's SMTP port is kept, shown by
`trail dev mail`, and a 'reject…' recipient is refused as an unknown mailbox."""

from __future__ import annotations

import smtplib
import subprocess
import sys
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

from cli import localstack
from tests.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]


def test_mail_sent_to_the_stack_is_kept_and_shown(stack: Stack) -> None:
    port = localstack.smtp_port(localstack.Ports.from_env())
    address = f"hoc-vien-{uuid.uuid4().hex[:8]}@example.vn"
    message = EmailMessage()
    message["From"] = "thongbao@learningtrail.vn"
    message["To"] = address
    message["Subject"] = "Kết quả học tập của bạn đã được công nhận"
    message.set_content("Học phần Tin học được công nhận.")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(message)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            smtp.send_message(message, to_addrs=["reject-me@example.vn"])
    shown = subprocess.run(
        [sys.executable, "-m", "cli.main", "dev", "mail", "--to", address],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert "Kết quả học tập của bạn đã được công nhận" in shown
    assert "Học phần Tin học được công nhận." in shown and "giờ Việt Nam" in shown
    assert "1 message(s)" in shown
