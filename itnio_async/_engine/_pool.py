"""The connection pool: :class:`HTTP11Transport` and its :meth:`~HTTP11Transport.exchange`.

Invariants:

* **Bounded.** At most ``max_connections`` connections (idle, busy or being opened)
  over all origins: :attr:`HTTP11Transport._slots` counts them. Idle ones are reused
  last-in first-out (a sequential caller keeps one warm connection); when every slot
  is taken, requests wait first come first served, bounded by the ``pool`` timeout.
  A connection key is ``(scheme, host, port, proxy)``.
* **"Was it sent" is exact.** ``ConnectError`` (and :class:`~._dial.ProxyRefused`),
  ``ConnectTimeout``, ``PoolTimeout``, and :class:`DeadlineExceeded` with
  ``written == False`` are raised only before the first byte of the request is handed
  to a socket; ``WireRequest.written`` is set the moment it is. Nothing is ever sent
  twice: a request goes on one connection, once.
* **Timers.** The read timeout and the deadline of every exchange waiting for its
  answer share the pool's one :class:`~._timer.Timer`; waiting for a slot, connecting
  and a write that fills the socket's buffer (rare paths) each have their own timer,
  at the earlier of their timeout and the deadline.
* **Cancellation-safe.** A request cancelled at any point closes its connection (or
  gives back its slot, or the connection it was handed) before ``CancelledError``
  leaves.
* **Closing.** :meth:`HTTP11Transport.aclose` fails waiting requests and requests
  still connecting (``ConnectError``: never sent), cuts requests in flight
  (``ReadError``: sent) and closes every connection. :meth:`HTTP11Transport.abort_all`
  does the same synchronously, also when the pool's event loop has ended. When the
  loop shuts down (``shutdown_asyncgens()``, which ``asyncio.run`` and pytest-asyncio
  call) the pool closes its connections by itself and binds to the next loop it is
  used in.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import weakref
from collections import deque
from collections.abc import AsyncGenerator
from typing import Final, NamedTuple

import httpx

from ._codec import decode_body, request_bytes, wire_request
from ._connection import Connection, Key
from ._dial import dial
from ._errors import DeadlineExceeded
from ._proxy import Proxy, parse_proxy
from ._timer import Timer
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
_CLOSED: Final = "the connection pool was closed"


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
            ``SSL_CERT_DIR``) offering ``http/1.1`` by ALPN, built on first use.
        max_response_size: the largest response body accepted, after decompression.
        keepalive_expiry: seconds an idle connection is kept for reuse (a server's
            ``Keep-Alive: timeout=`` shortens it, never lengthens it).
        max_head_size / max_headers: limits on a response's status line and headers.
        proxy: an ``http://`` forward proxy for every request (a URL, possibly with
            ``user:password@``, an ``httpx.Proxy`` or a :class:`~._proxy.Proxy`);
            see :func:`~._proxy.proxy_for` for the environment's.
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
        proxy: str | httpx.Proxy | Proxy | None = None,
    ) -> None:
        if ssl_context is not None:
            _check_verifying(ssl_context)
        self.max_connections = max_connections
        self.max_response_size = max_response_size
        self.max_head_size = max_head_size
        self.max_headers = max_headers
        self.keepalive_expiry = keepalive_expiry
        self.proxy = None if proxy is None else parse_proxy(proxy)
        self._ssl = ssl_context
        self._idle: dict[Key, list[Connection]] = {}
        self._open: set[Connection] = set()
        #: Connections open or being opened (idle, busy, connecting).
        self._slots = 0
        #: Requests waiting for a connection: ``None`` hands over a slot to connect
        #: with, a connection hands over that connection.
        self._waiters: deque[tuple[Key, asyncio.Future[Connection | None]]] = deque()
        #: The timeouts of the requests opening a connection (``aclose`` ends them).
        self._dialing: set[asyncio.Timeout] = set()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: Timer | None = None
        self._watcher: AsyncGenerator[None, None] | None = None

    def __repr__(self) -> str:
        stats = self.stats()
        via = f" proxy={self.proxy!r}" if self.proxy is not None else ""
        return (
            f"<HTTP11Transport connections={stats.connections}/{self.max_connections}"
            f" idle={stats.idle} busy={stats.busy} waiting={stats.waiting}{via}>"
        )

    def stats(self) -> PoolStats:
        """How many connections are open, idle and busy, and how many requests wait."""
        idle = sum(map(len, self._idle.values()))
        waiting = sum(1 for _, waiter in self._waiters if not waiter.done())
        return PoolStats(len(self._open), idle, len(self._open) - idle, waiting)

    # -- exchanges ------------------------------------------------------------------------

    async def exchange(self, request: WireRequest) -> WireResponse:
        """Send ``request`` and return its complete response (body decoded, within the cap).

        Raises:
            httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout: nothing was sent
                (a refused proxy tunnel is a ``ConnectError`` too).
            DeadlineExceeded: ``request.deadline`` passed; ``request.written`` tells
                whether anything was sent.
            httpx.UnsupportedProtocol: neither http nor https; nothing was sent.
            httpx.HTTPError: any other failure, after the request was (maybe) sent.
        """
        loop = self._loop
        if loop is None or loop is not asyncio.get_running_loop():
            loop = self._bind()
        scheme, host, port = request.origin
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        key = (scheme, host, port, self.proxy)
        deadline = request.deadline
        if deadline is not None and loop.time() >= deadline:
            raise DeadlineExceeded("the request's deadline had passed before it was sent")
        conn = await self._checkout(key, request, loop)
        if deadline is not None and loop.time() >= deadline:
            self._checkin(conn)  # nothing was written on it
            raise DeadlineExceeded("the request's deadline passed before it was sent")
        return await self._send(conn, request, loop)

    async def _send(
        self, conn: Connection, request: WireRequest, loop: asyncio.AbstractEventLoop
    ) -> WireResponse:
        """Write ``request`` on ``conn`` and read its answer; ``conn`` is closed on failure."""
        timer = self._timer
        assert timer is not None
        exchange = None
        try:
            exchange = conn.start(
                request_bytes(request, conn.key[3]),
                head_only=request.method == "HEAD",
                read=request.read,
                deadline=request.deadline,
            )
            request.written = True
            if conn.paused:
                until, error = _limit(
                    loop,
                    request.write,
                    request.deadline,
                    httpx.WriteTimeout("timed out writing the request"),
                    "writing the request",
                )
                await conn.drain(until, error)
                exchange.last_read = max(exchange.last_read, loop.time())
            timer.watch(exchange)
            await exchange.waiter
            exchange, reusable = conn.finish()
        except BaseException:
            if exchange is not None:
                timer.unwatch(exchange)
            conn.abandon()
            self._discard(conn)
            raise
        timer.unwatch(exchange)
        if reusable and not request.close:
            self._checkin(conn)
        else:
            conn.close("the connection was not kept alive")
            self._discard(conn)
        headers, body = decode_body(exchange.headers, exchange.content(), self.max_response_size)
        return WireResponse(exchange.status, exchange.reason, headers, body)

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

    # -- closing ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close every connection; requests in flight, connecting or waiting fail (typed by
        phase: ``ConnectError`` for those that sent nothing, ``ReadError`` for the others)."""
        loop = self._loop
        self._close_now("the client was closed")
        if loop is asyncio.get_running_loop():
            await asyncio.sleep(0)  # let the aborted transports run connection_lost and close

    def abort_all(self) -> None:
        """Close the pool and every connection now, without awaiting: safe from a finalizer,
        another thread, or after the pool's event loop has ended.

        While the pool's loop runs, the close is scheduled on it (``call_soon_threadsafe``,
        the next loop step); once that loop has ended, sockets are closed at once, with
        no loop call.
        """
        loop = self._loop
        if loop is not None and loop.is_running():
            with contextlib.suppress(RuntimeError):  # closed in the meantime
                loop.call_soon_threadsafe(self._close_now, "the client was closed")
                return
        self._close_now("the client was closed")

    def _close_now(self, reason: str) -> None:
        self._closed = True
        loop = self._loop
        live = loop is not None and not loop.is_closed()
        if live:
            self._fail_waiters()
            self._end_dials()
        self._waiters.clear()
        self._drop_connections(reason, live)
        self._stop_watching()

    def _fail_waiters(self) -> None:
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(httpx.ConnectError(_CLOSED))

    def _end_dials(self) -> None:
        """Requests opening a connection end now (their timeout fires; see :meth:`_connect`)."""
        loop = self._loop
        assert loop is not None
        for scope in list(self._dialing):
            with contextlib.suppress(RuntimeError):  # expiring already
                scope.reschedule(loop.time())

    def _drop_connections(self, reason: str, live: bool) -> None:
        connections = list(self._open)
        self._idle.clear()
        self._open.clear()
        self._slots = 0
        if self._timer is not None:
            self._timer.cancel()
        for conn in connections:
            if live:
                conn.close(reason)
            else:
                conn.close_without_loop()

    # -- the event loop -----------------------------------------------------------------------

    def _bind(self) -> asyncio.AbstractEventLoop:
        """Bind to the running loop (first use, or the previous loop has ended)."""
        loop = asyncio.get_running_loop()
        old = self._loop
        if old is not None:
            if old.is_running():
                raise RuntimeError("this HTTP11Transport is in use by another running event loop")
            self._drop_connections("the event loop ended", not old.is_closed())
            self._waiters.clear()
            self._stop_watching()
        self._loop = loop
        self._timer = Timer(loop)
        self._start_watching()
        return loop

    def _start_watching(self) -> None:
        """An async generator the loop finalises when it shuts down: then the pool drops
        its connections (while the loop can still close them)."""
        watcher = _watch_loop(weakref.ref(self))
        with contextlib.suppress(StopIteration):
            watcher.asend(None).send(None)
        self._watcher = watcher

    def _stop_watching(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            with contextlib.suppress(StopIteration, RuntimeError):
                watcher.aclose().send(None)

    def _loop_ending(self) -> bool:
        """The loop shuts down: drop every connection, bind to the next loop on next use.
        True if connections were closed (the loop should run once more to close them)."""
        had = bool(self._open)
        self._watcher = None
        self._fail_waiters()
        self._drop_connections("the event loop ended", True)
        self._loop = None
        return had

    # -- the pool ----------------------------------------------------------------------------

    async def _checkout(
        self, key: Key, request: WireRequest, loop: asyncio.AbstractEventLoop
    ) -> Connection:
        """A connection to ``key`` that may be written to; raises only "never sent" errors."""
        if self._closed:
            raise httpx.ConnectError(_CLOSED)
        idle = self._idle.get(key)
        if idle:
            now = loop.time()
            while idle:
                conn = idle.pop()
                conn.idle = False
                if conn.usable(now):
                    return conn
                conn.close("the connection had expired")
                self._discard(conn)
        if self._slots < self.max_connections:
            self._slots += 1
        elif not self._evict_idle():  # else the evicted connection's slot is ours
            got = await self._wait(key, request, loop)
            if got is not None:
                if got.usable(loop.time()):
                    return got
                # Handed over but closed since: keep its slot and connect afresh.
                got.close("the connection had expired")
                self._open.discard(got)
        try:
            return await self._connect(key, request, loop)
        except BaseException:
            self._free_slot()
            raise

    async def _wait(
        self, key: Key, request: WireRequest, loop: asyncio.AbstractEventLoop
    ) -> Connection | None:
        waiter: asyncio.Future[Connection | None] = loop.create_future()
        self._waiters.append((key, waiter))
        until, error = _limit(
            loop,
            request.pool,
            request.deadline,
            httpx.PoolTimeout("no connection became free in time"),
            "waiting for a connection",
        )

        def expire() -> None:
            if not waiter.done():
                waiter.set_exception(error)

        handle = None if until is None else loop.call_at(until, expire)
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

    async def _connect(
        self, key: Key, request: WireRequest, loop: asyncio.AbstractEventLoop
    ) -> Connection:
        scheme, host, port, _ = key
        until, error = _limit(
            loop,
            request.connect,
            request.deadline,
            httpx.ConnectTimeout(f"timed out connecting to {host}:{port}"),
            "connecting",
        )
        conn = Connection(self, key, loop)
        context = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout_at(until) as scope:
                self._dialing.add(scope)
                try:
                    await dial(conn, key, context)
                finally:
                    self._dialing.discard(scope)
        except TimeoutError:
            conn.close("the connection could not be set up")
            if self._closed:
                raise httpx.ConnectError(_CLOSED) from None
            raise error from None
        if self._closed:
            conn.close("the client was closed")
            raise httpx.ConnectError(_CLOSED)
        self._open.add(conn)
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = httpx.create_ssl_context()
            context.set_alpn_protocols(["http/1.1"])
            self._ssl = context
        return self._ssl

    def _checkin(self, conn: Connection) -> None:
        """Return a healthy connection: to the first waiter for its host, else to idle."""
        if self._closed:
            conn.close("the client was closed")
            self._open.discard(conn)
            return
        conn.idle_since = conn.loop.time()
        waiters = self._waiters
        while waiters:
            key, waiter = waiters.popleft()
            if waiter.done():
                continue
            if key == conn.key:
                waiter.set_result(conn)
            else:  # another host is waiting: its turn comes first, on a new connection
                conn.close("the connection was not needed")
                self._open.discard(conn)
                waiter.set_result(None)
            return
        conn.idle = True
        self._idle.setdefault(conn.key, []).append(conn)

    def _discard(self, conn: Connection) -> None:
        """Forget a closed connection and free its slot."""
        if conn in self._open:
            self._open.discard(conn)
            self._free_slot()

    def lost(self, conn: Connection) -> None:
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
                conn.close("the connection was evicted")
                self._open.discard(conn)
                return True
        return False


async def _watch_loop(pool: weakref.ref[HTTP11Transport]) -> AsyncGenerator[None, None]:
    """Parked at its ``yield`` until the loop's ``shutdown_asyncgens()`` (or the pool)
    closes it."""
    try:
        yield
    finally:
        alive = pool()
        if alive is not None and alive._watcher is not None and alive._loop_ending():
            await asyncio.sleep(0)  # the aborted transports close their sockets


def _limit(
    loop: asyncio.AbstractEventLoop,
    seconds: float | None,
    deadline: float | None,
    error: httpx.TimeoutException,
    phase: str,
) -> tuple[float | None, httpx.TimeoutException]:
    """When an operation of ``seconds`` at most must end, and the error it then raises:
    its own timeout's, or :class:`DeadlineExceeded` when the deadline comes first."""
    until = None if seconds is None else loop.time() + seconds
    if deadline is not None and (until is None or deadline <= until):
        return deadline, DeadlineExceeded(f"the request's deadline passed {phase}")
    return until, error


def _check_verifying(context: ssl.SSLContext) -> None:
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise ValueError(
            "ssl_context must verify certificates and host names "
            "(verify_mode=CERT_REQUIRED, check_hostname=True)"
        )
