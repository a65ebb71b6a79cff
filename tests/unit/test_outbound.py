"""Outbound requests cannot be aimed inside: the resolved address is checked when the
connection is made (services/common/outbound.py), on a real local server that would answer."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import httpcore
import httpx
import pytest

from services.common.outbound import (
    GuardedBackend,
    OutboundRefused,
    address_refusal,
    guarded_client,
    parse_destinations,
    url_refusal,
)

INSIDE = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "169.254.1.1",
    "0.0.0.0",  # noqa: S104 - an address refused, not bound
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "::7f00:1",
    "::ffff:127.0.0.1",
    "::ffff:8.8.8.8",
    "64:ff9b::7f00:1",
    "64:ff9b::808:808",
    "64:ff9b:1::a00:1",
    "2002:7f00:1::",
    "2001:0:7f00:1::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "2001:db8::1",
]


@pytest.mark.parametrize("address", INSIDE)
def test_internal_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "203.113.131.1", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_is_exact_address_and_port() -> None:
    allow = parse_destinations("127.0.0.1:9000, [::1]:9001")
    assert url_refusal("http://127.0.0.1:9000/h", allow) is None
    assert url_refusal("http://[::1]:9001/h", allow) is None
    assert url_refusal("http://127.0.0.1:9001/h", allow) is not None
    assert url_refusal("http://127.0.0.1:9000/h") is not None  # nothing allowed by default
    with pytest.raises(ValueError):
        parse_destinations("localhost")


@pytest.fixture
async def local_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A plain HTTP server on loopback that answers 200 and remembers what reached it."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readline())
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], seen
    server.close()
    await server.wait_closed()


async def test_a_name_that_resolves_to_loopback_is_refused_when_connecting(
    local_server: tuple[int, list[bytes]],
) -> None:
    # "localhost" stands for any name whose DNS answer is internal (wildcard DNS, rebinding):
    # the text of the name is not looked at here, only what it resolves to
    port, seen = local_server
    with pytest.raises(OutboundRefused, match="is a loopback address"):
        await GuardedBackend().connect_tcp("localhost", port, timeout=3)
    assert seen == []


async def test_an_allowed_destination_is_reached_and_nothing_else(
    local_server: tuple[int, list[bytes]],
) -> None:
    port, seen = local_server
    allowed = guarded_client(parse_destinations(f"127.0.0.1:{port}"), timeout=3)
    closed = guarded_client(timeout=3)
    try:
        answer = await allowed.post(f"http://127.0.0.1:{port}/hook", content=b"{}")
        assert answer.status_code == 200
        for url in (
            f"http://127.0.0.1:{port}/hook",
            f"https://127.0.0.1:{port}/hook",
            f"https://[::ffff:127.0.0.1]:{port}/hook",
            f"https://localhost.:{port}/hook",
        ):
            with pytest.raises(OutboundRefused):
                await closed.post(url, content=b"{}")
        assert len(seen) == 1
    finally:
        await allowed.aclose()
        await closed.aclose()


async def test_redirects_are_not_followed(local_server: tuple[int, list[bytes]]) -> None:
    port, _ = local_server
    client = guarded_client(parse_destinations(f"127.0.0.1:{port}"), timeout=3)
    try:
        assert client.follow_redirects is False
        assert client.timeout.connect is not None and client.timeout.connect <= 3
    finally:
        await client.aclose()


async def test_unix_sockets_are_refused() -> None:
    with pytest.raises(OutboundRefused):
        await GuardedBackend().connect_unix_socket("/var/run/docker.sock")


def test_the_guarded_pool_really_uses_the_guarded_backend() -> None:
    client = guarded_client()
    transport = client._transport
    pool = getattr(transport, "_pool", None)
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert isinstance(pool._network_backend, GuardedBackend)
    assert isinstance(client, httpx.AsyncClient)
