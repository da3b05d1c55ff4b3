"""Opening a connection: TCP, through a proxy (a ``CONNECT`` tunnel for https), then TLS.

:func:`dial` returns a :class:`~._connection.Connection` on which the request may be
written, or raises; everything it raises means **nothing was sent** to the origin
(``ConnectError`` and its subclass :class:`ProxyRefused`; the caller turns its own
timeouts into ``ConnectTimeout`` or ``DeadlineExceeded``). A connection it fails to
finish (refused tunnel, TLS failure, wrong ALPN, cancellation at any step) is closed
before the error leaves.

TLS offers ``http/1.1`` by ALPN (on the context the pool builds; a context given by
the user keeps its own ALPN list) and, whatever the context, refuses a server that
selected anything else (``h2``): the engine speaks HTTP/1.1 only. Through a proxy,
the TLS handshake is with the origin (its host name for SNI and verification) inside
the tunnel.
"""

from __future__ import annotations

import ssl

import httpx

from ._connection import Connection, Key

__all__ = ["ProxyRefused", "dial"]


class ProxyRefused(httpx.ProxyError, httpx.ConnectError):
    """The proxy refused the tunnel (a non-2xx answer to ``CONNECT``): never sent.

    A ``ConnectError`` too, so every "was it sent" check reads it as never sent.
    """


async def dial(pool_connection: Connection, key: Key, context: ssl.SSLContext | None) -> Connection:
    """Open ``pool_connection`` (a fresh, unconnected protocol) to ``key``'s origin."""
    _, host, port, proxy = key
    loop = pool_connection.loop
    target = (host, port) if proxy is None else (proxy.host, proxy.port)
    direct_tls = context if proxy is None else None
    try:
        await loop.create_connection(
            lambda: pool_connection,
            *target,
            ssl=direct_tls,
            server_hostname=host if direct_tls is not None else None,
        )
    except OSError as exc:  # refused, unreachable, DNS, TLS verification (ssl.SSLError)
        where = f"{host}:{port}" if proxy is None else f"the proxy {proxy.url}"
        raise httpx.ConnectError(f"could not connect to {where}: {exc}") from None
    try:
        if proxy is not None and context is not None:
            await _tunnel(pool_connection, host, port)
            await _start_tls(pool_connection, context, host)
        _check_alpn(pool_connection)
    except BaseException:
        pool_connection.close("the connection could not be set up")
        raise
    return pool_connection


async def _tunnel(conn: Connection, host: str, port: int) -> None:
    """Ask the proxy for a tunnel to ``host:port``; raise :class:`ProxyRefused` unless 2xx."""
    proxy = conn.key[3]
    assert proxy is not None
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = (
        f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n".encode("ascii")
        + proxy.header_lines()
        + b"\r\n"
    )
    exchange = conn.start(request, head_only=True, read=None, deadline=None)
    try:
        await exchange.waiter
    except httpx.HTTPError as exc:
        raise httpx.ConnectError(f"the proxy {proxy.url} failed the tunnel: {exc}") from None
    conn.exchange = None
    if not 200 <= exchange.status < 300:
        reason = exchange.reason.decode("latin-1")[:80]
        raise ProxyRefused(
            f"the proxy {proxy.url} refused the tunnel to {authority}: {exchange.status} {reason}"
        )


async def _start_tls(conn: Connection, context: ssl.SSLContext, host: str) -> None:
    """TLS with the origin inside the tunnel."""
    transport = conn.transport
    if transport is None:
        raise httpx.ConnectError(f"the proxy closed the tunnel ({conn.close_reason})")
    try:
        tls = await conn.loop.start_tls(transport, conn, context, server_hostname=host)
    except (OSError, ConnectionError) as exc:
        raise httpx.ConnectError(f"TLS through the proxy failed: {exc}") from None
    if tls is None:  # pragma: no cover - start_tls returns None only for a closing transport
        raise httpx.ConnectError("the tunnel closed during the TLS handshake")
    conn.transport = tls


def _check_alpn(conn: Connection) -> None:
    """Refuse a TLS server that selected a protocol other than HTTP/1.1."""
    transport = conn.transport
    if transport is None:
        raise httpx.ConnectError(f"connection closed ({conn.close_reason}) before sending")
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return
    selected = ssl_object.selected_alpn_protocol()
    if selected not in (None, "http/1.1"):
        raise httpx.ConnectError(
            f"the server selected the protocol {selected!r} (ALPN); "
            "this client speaks HTTP/1.1 only"
        )
