"""The local stack's own guard rails, with real processes and sockets."""

from __future__ import annotations

import socket
import sys

import pytest

from cli import localstack


def test_a_port_taken_by_another_process_is_reported_with_the_fix() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        component = localstack.Component(
            "probe",
            f"127.0.0.1:{port}",
            port,
            lambda: [sys.executable, "-c", "pass"],
            lambda: False,
        )
        with pytest.raises(localstack.StackError, match=f"Port {port} is taken") as caught:
            localstack.start(component)
        assert "LT_DEV_PROBE_PORT" in str(caught.value)


def test_a_component_that_dies_at_start_shows_its_log(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(localstack, "RUN", tmp_path)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    component = localstack.Component(
        "crasher",
        f"127.0.0.1:{port}",
        port,
        lambda: [sys.executable, "-c", "import sys; print('no config'); sys.exit(3)"],
        lambda: False,
    )
    with pytest.raises(localstack.StackError, match="exited with code 3") as caught:
        localstack.start(component, timeout=10)
    assert "no config" in str(caught.value)
    assert not localstack.stop(component)


def test_a_missing_tool_names_the_install_command(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(localstack.shutil, "which", lambda _: None)
    monkeypatch.setattr(localstack, "KAFKA_LIBS", localstack.CACHE / "nowhere")
    with pytest.raises(localstack.StackError, match=r"java is not installed.*apt-get install"):
        localstack.check_prerequisites(need_ferretdb=True)
