"""The connection pool: :class:`HTTP11Transport` and its :meth:`~HTTP11Transport.exchange`."""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Final, NamedTuple

import httpx

from ._codec import decode_body, wire_request
from ._connection import Connection as _Connection
from ._connection import Key as _Key
from ._errors import DeadlineExceeded
from ._wire import WireRequest, WireResponse

__all__ = [
    "DEFAULT_KEEPALIVE_EXPIRY",
    "DEFAULT_MAX_HEADERS",
    "DEFAULT_MAX_HEAD_SIZE",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "HTTP11Transport",
    "PoolStats",
]

#: Largest response body (after decompression) accepted by default: 1 MiB, ample
#: for every answer of the OTP API (a record is ~1.5 KB).
DEFAULT_MAX_RESPONSE_SIZE: Final = 1024 * 1024
#: Seconds an idle connection is kept for reuse when the server names no
#: ``Keep-Alive: timeout``; below the 5 s of common servers, so that a request is
#: not written just as the server closes the connection.
DEFAULT_KEEPALIVE_EXPIRY: Final = 4.0
#: Bytes of status line and headers accepted, and headers at most.
DEFAULT_MAX_HEAD_SIZE: Final = 64 * 1024
DEFAULT_MAX_HEADERS: Final = 100

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class PoolStats(NamedTuple):
    """A snapshot of the pool: connections open (idle + busy), idle, busy, waiting requests."""

    connections: int
    idle: int
    busy: int
    waiting: int


class HTTP11Transport(httpx.AsyncBaseTransport):
    """An HTTP/1.1 keep-alive connection pool on asyncio and httptools.

    Args:
        max_connections: connections at most, over all hosts (each carries one
            request at a time).
        ssl_context: TLS settings; verification of the certificate and the host name
            is required. Default: httpx's (certifi's CA bundle, or ``SSL_CERT_FILE`` /
            ``SSL_CERT_DIR``), built on the first https connection.
        max_response_size: the largest response body accepted, after decompression.
        keepalive_expiry: seconds an idle connection is kept for reuse (a server's
            ``Keep-Alive: timeout=`` shortens it).
        max_head_size / max_headers: limits on a response's status line and headers.
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        keepalive_expiry: float = DEFAULT_KEEPALIVE_EXPIRY,
        max_head_size: int = DEFAULT_MAX_HEAD_SIZE,
        max_headers: int = DEFAULT_MAX_HEADERS,
    ) -> None:
        if ssl_context is not None:
            _check_verifying(ssl_context)
        self.max_connections = max_connections
        self.max_response_size = max_response_size
        self.max_head_size = max_head_size
        self.max_headers = max_headers
        self.keepalive_expiry = keepalive_expiry
        self._ssl = ssl_context
        self._idle: dict[_Key, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        #: Connections open or being opened (idle, busy, connecting).
        self._slots = 0
        #: Requests waiting for a connection: ``None`` hands over a slot to connect
        #: with, a connection hands over that connection.
        self._waiters: deque[tuple[_Key, asyncio.Future[_Connection | None]]] = deque()
        self._closed = False

    def __repr__(self) -> str:
        stats = self.stats()
        return (
            f"<HTTP11Transport connections={stats.connections}/{self.max_connections}"
            f" idle={stats.idle} busy={stats.busy} waiting={stats.waiting}>"
        )

    def stats(self) -> PoolStats:
        """How many connections are open, idle and busy, and how many requests wait."""
        idle = sum(map(len, self._idle.values()))
        waiting = sum(1 for _, waiter in self._waiters if not waiter.done())
        return PoolStats(len(self._open), idle, len(self._open) - idle, waiting)

    async def exchange(self, request: WireRequest) -> WireResponse:
        """Send ``request`` and return its complete response (body decoded, within the cap).

        Raises:
            httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout: nothing was sent.
            DeadlineExceeded: ``request.deadline`` passed; ``request.written`` tells
                whether anything was sent.
            httpx.HTTPError: any other failure, after the request was (maybe) sent.
        """
        if request.deadline is None:
            return await self._exchange(request)
        try:
            async with asyncio.timeout_at(request.deadline):
                return await self._exchange(request)
        except TimeoutError:
            raise DeadlineExceeded("the request's deadline passed") from None

    async def _exchange(self, request: WireRequest) -> WireResponse:
        key = request.origin
        scheme = key[0]
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        data = b"".join(
            (
                request.method.encode("ascii"),
                b" ",
                request.target,
                b" HTTP/1.1\r\n",
                request.head,
                b"\r\n",
                request.body,
            )
        )
        conn = await self._checkout(key, request)
        try:
            waiter = conn.send(data, request.method == "HEAD")
            request.written = True
            await conn.drain(request.write)
            await conn.receive(waiter, request.read)
            status, reason, headers, body, reusable = conn.result()
        except BaseException:
            conn.abandon()
            self._discard(conn)
            raise
        if reusable and not request.close:
            self._checkin(conn)
        else:
            conn.abort("the connection was not kept alive")
            self._discard(conn)
        headers, body = decode_body(headers, body, self.max_response_size)
        return WireResponse(status, reason, headers, body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through :meth:`exchange`; its response with the body read.

        ``request.extensions["itnio.written"]`` is set once the request was handed to
        the socket; the ``timeout`` extension gives the four timeouts.
        """
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        wire = wire_request(request, body)
        try:
            answer = await self.exchange(wire)
        except httpx.RequestError as exc:
            exc.request = request
            raise
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            content=answer.body,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
        )

    async def aclose(self) -> None:
        """Close every connection; requests in flight or waiting fail (typed by phase)."""
        self._closed = True
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(httpx.ConnectError("the connection pool was closed"))
        self._idle.clear()
        for conn in list(self._open):
            conn.abort("the client was closed")
        self._open.clear()
        self._slots = 0
        await asyncio.sleep(0)  # let the aborted transports run connection_lost and close

    # -- the pool ----------------------------------------------------------------------

    async def _checkout(self, key: _Key, request: WireRequest) -> _Connection:
        """A connection to ``key`` that may be written to; raises only "never sent" errors."""
        if self._closed:
            raise httpx.ConnectError("the connection pool was closed")
        loop = asyncio.get_running_loop()
        idle = self._idle.get(key)
        if idle:
            now = loop.time()
            while idle:
                conn = idle.pop()
                conn.idle = False
                if conn.usable(now):
                    return conn
                conn.abort("the connection had expired")
                self._discard(conn)
        if self._slots < self.max_connections:
            self._slots += 1
        elif not self._evict_idle():  # else the evicted connection's slot is ours
            got = await self._wait(key, request.pool)
            if got is not None:
                if got.usable(loop.time()):
                    return got
                # Handed over but closed since: keep its slot and connect afresh.
                got.abort("the connection had expired")
                self._open.discard(got)
        try:
            return await self._connect(key, request.connect)
        except BaseException:
            self._free_slot()
            raise

    async def _wait(self, key: _Key, seconds: float | None) -> _Connection | None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Connection | None] = loop.create_future()
        self._waiters.append((key, waiter))

        def expire() -> None:
            if not waiter.done():
                waiter.set_exception(httpx.PoolTimeout("no connection became free in time"))

        handle = None if seconds is None else loop.call_later(seconds, expire)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed a connection or a slot, then cancelled: give it back.
                got = waiter.result()
                if got is None:
                    self._free_slot()
                else:
                    self._checkin(got)
            raise
        finally:
            if handle is not None:
                handle.cancel()

    async def _connect(self, key: _Key, seconds: float | None) -> _Connection:
        scheme, host, port = key
        context = self._ssl_context() if scheme == "https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(seconds):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self, key),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:  # refused, unreachable, DNS, TLS verification (ssl.SSLError)
            raise httpx.ConnectError(f"could not connect to {host}:{port}: {exc}") from None
        if self._closed:
            conn.abort("the client was closed")
            raise httpx.ConnectError("the connection pool was closed")
        self._open.add(conn)
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def _checkin(self, conn: _Connection) -> None:
        """Return a healthy connection: to the first waiter for its host, else to idle."""
        if self._closed:
            conn.abort("the client was closed")
            self._open.discard(conn)
            return
        conn.idle_since = asyncio.get_running_loop().time()
        waiters = self._waiters
        while waiters:
            key, waiter = waiters.popleft()
            if waiter.done():
                continue
            if key == conn.key:
                waiter.set_result(conn)
            else:  # another host is waiting: its turn comes first, on a new connection
                conn.abort("the connection was not needed")
                self._open.discard(conn)
                waiter.set_result(None)
            return
        conn.idle = True
        self._idle.setdefault(conn.key, []).append(conn)

    def _discard(self, conn: _Connection) -> None:
        """Forget a closed connection and free its slot."""
        if conn in self._open:
            self._open.discard(conn)
            self._free_slot()

    def _lost(self, conn: _Connection) -> None:
        """The transport of ``conn`` is gone; if it sat idle, forget it now."""
        if conn.idle:
            conn.idle = False
            idle = self._idle.get(conn.key)
            if idle is not None and conn in idle:
                idle.remove(conn)
            self._discard(conn)

    def _free_slot(self) -> None:
        """Give a slot to the first waiter (to connect with), or back to the pool."""
        waiters = self._waiters
        while waiters:
            _, waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        if self._slots > 0:
            self._slots -= 1

    def _evict_idle(self) -> bool:
        """Close one idle connection (of any host) to make room; False if none is idle."""
        for idle in self._idle.values():
            if idle:
                conn = idle.pop(0)  # the longest idle
                conn.idle = False
                conn.abort("the connection was evicted")
                self._open.discard(conn)
                return True
        return False


def _check_verifying(context: ssl.SSLContext) -> None:
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise ValueError(
            "ssl_context must verify certificates and host names "
            "(verify_mode=CERT_REQUIRED, check_hostname=True)"
        )
