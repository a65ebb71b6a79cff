"""Outbound HTTP that cannot be aimed inside: the address is checked when the connection is made.

A learner gives notify a webhook URL, and notify calls it. Checking the URL's text is not
enough (``localhost.``, ``vm``, a wildcard-DNS name that resolves to 127.0.0.1, ``[::7f00:1]``,
``[64:ff9b::7f00:1]``, a name whose DNS answer changes between the check and the call), so the
check lives in the HTTP client's network backend (an ``httpcore.AsyncNetworkBackend``): every
connection resolves the host itself, refuses if *any* address it resolves to is not a public
unicast address, and connects to the very address it checked (TLS still verifies the name).

Refused: loopback, private, shared (CGNAT), link-local, multicast, unspecified, reserved and
documentation ranges, IPv4-mapped and IPv4-compatible IPv6, NAT64 (``64:ff9b::/96``,
``64:ff9b:1::/48``), 6to4 and Teredo (they embed an IPv4 address), and the cloud metadata
addresses (169.254.169.254, ``fd00:ec2::254``). Only ``https`` is followed, redirects never,
timeouts are short and no response body is read.

Development needs to reach a local test receiver: ``allow`` names exact ``address:port``
destinations that may be called although internal (and over plain ``http``). It is empty
unless the deployment sets it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
# IPv6 ranges that carry an IPv4 address inside (and so could reach an internal one).
EMBEDDING_IPV4 = (
    (ipaddress.ip_network("::ffff:0:0/96"), "an IPv4-mapped address"),
    (ipaddress.ip_network("::/96"), "an IPv4-compatible address"),
    (ipaddress.ip_network("64:ff9b::/96"), "a NAT64 address"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "a NAT64 address"),
    (ipaddress.ip_network("2002::/16"), "a 6to4 address"),
    (ipaddress.ip_network("2001::/32"), "a Teredo address"),
)
# Host names that never name a public service.
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".localdomain")


class OutboundRefused(Exception):
    """An outbound request was not made: its destination is not public; the message says why."""


def address_refusal(address: IPAddress) -> str | None:
    """Why an outbound connection to ``address`` is refused, or None for a public unicast one."""
    if address in METADATA:
        return f"{address} is a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        for network, kind in EMBEDDING_IPV4:
            if address in network:
                return f"{address} is {kind}"
    for kind, flag in (
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a private", address.is_private),
        ("a reserved", address.is_reserved),
    ):
        if flag:
            return f"{address} is {kind} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def parse_destinations(text: str | Iterable[str]) -> frozenset[tuple[IPAddress, int]]:
    """``127.0.0.1:9000, [::1]:9000`` as (address, port) pairs; ``ValueError`` if malformed."""
    items = text.split(",") if isinstance(text, str) else list(text)
    found = set()
    for raw in (item.strip() for item in items):
        if not raw:
            continue
        host, sep, port = raw.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"{raw!r} is not address:port")
        found.add((ipaddress.ip_address(host.strip("[]")), int(port)))
    return frozenset(found)


def url_refusal(url: str, allow: frozenset[tuple[IPAddress, int]] = frozenset()) -> str | None:
    """Why ``url`` cannot be an outbound destination, judged on its text alone (the early answer
    for the person who gives it; the connection is checked again when it is made)."""
    parsed = httpx.URL(url)
    host = parsed.host.rstrip(".").lower()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and (literal, port) in allow:
        return None
    if parsed.scheme != "https":
        return "must use https"
    if parsed.userinfo:
        return "must not carry a user name or password"
    if literal is not None:
        refusal = address_refusal(literal)
        return None if refusal is None else f"must be a public address: {refusal}"
    if "." not in host or host == "localhost" or host.endswith(LOCAL_SUFFIXES):
        return "must be a public host name (with a domain), not a local or internal one"
    return None


@dataclass(frozen=True)
class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves, vets and then connects to the vetted address."""

    allow: frozenset[tuple[IPAddress, int]] = frozenset()
    inner: httpcore.AsyncNetworkBackend = httpcore.AnyIOBackend()  # noqa: RUF009 - stateless

    async def resolve(self, host: str, port: int, limit: float | None) -> list[IPAddress]:
        """Every address ``host`` resolves to, each one vetted; ``OutboundRefused`` if any
        is internal (a name with one private answer may be answered that way next time)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(limit):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        for address in addresses:
            if (address, port) in self.allow:
                continue
            if refusal := address_refusal(address):
                raise OutboundRefused(f"{host} resolves to {refusal}")
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last: Exception | None = None
        for address in await self.resolve(host, port, timeout):
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("outbound requests do not use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with :class:`GuardedBackend` underneath and ``https`` required (but
    for allowed destinations)."""

    def __init__(self, allow: frozenset[tuple[IPAddress, int]], timeout: float) -> None:
        super().__init__(trust_env=False, retries=0, limits=httpx.Limits(max_connections=20))
        self.allow = allow
        # httpx builds its pool without a way to pass a network backend: replace the pool
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            retries=0,
            network_backend=GuardedBackend(allow),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if refusal := url_refusal(str(request.url), self.allow):
            raise OutboundRefused(f"{request.url.host}: {refusal}")
        return await super().handle_async_request(request)


def guarded_client(
    allow: frozenset[tuple[IPAddress, int]] = frozenset(),
    timeout: float = 5.0,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An HTTP client for destinations that someone outside gave us: checked addresses, no
    redirects, no proxies from the environment, short timeouts."""
    return httpx.AsyncClient(
        transport=GuardedTransport(allow, timeout),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        follow_redirects=False,
        trust_env=False,
        headers=headers,
    )
