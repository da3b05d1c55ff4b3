"""The SDK's HTTP/1.1 engine: asyncio Protocols and ``httptools`` (llhttp) under httpx.

:class:`HTTP11Transport` is an ``httpx.AsyncBaseTransport``, the default engine of
the one ``httpx.AsyncClient`` an ``AsyncItnio`` holds. It does only what the SDK
needs, and does it exactly:

* **A bounded keep-alive pool.** At most ``max_connections`` connections (idle,
  busy or connecting) over all origins; idle ones are reused last-in first-out, so a
  sequential caller keeps one warm connection; when all are busy, requests wait
  first come first served, bounded by the ``pool`` timeout.
* **"Was it sent" exact by construction.** Only a failure before the first byte of
  the request is handed to the socket raises ``ConnectError``, ``ConnectTimeout``
  or ``PoolTimeout`` (the SDK's "never sent"); everything after raises another
  ``httpx`` error. A pooled connection that the server has closed (EOF or
  ``connection_lost`` seen, or readable while idle), or that has been idle longer
  than the server's ``Keep-Alive: timeout=`` (less a second, or half of a
  shorter one) or
  ``keepalive_expiry``, is never written to: the request goes on another one.
  ``request.extensions["itnio.written"]`` is set once the request's bytes were
  handed to the socket, so a caller cut off by a deadline knows too.
* **No desync.** Bytes that arrive on an idle connection, or past the declared end
  of a response, close that connection; the request in flight gets a
  ``RemoteProtocolError``, never another request's answer. (Empty lines right
  behind a response, which HTTP lets a parser skip, are skipped.)
* **Bounded memory.** The status line and headers (``max_head_size``, at most
  ``max_headers`` headers) and the body (``max_response_size``, also after
  decompression: ``Accept-Encoding: identity`` is what the SDK asks for, but a
  gzip or deflate body is unpacked here within the same cap) are limited; past a
  limit the request fails with :class:`ResponseTooLarge`.
* **Cancellation-safe.** A request cancelled at any point closes its connection (or
  gives back its pool slot) before the ``CancelledError`` leaves.

Bodies are framed by ``Content-Length``, chunked encoding (trailer fields are
dropped) or the end of the connection; 1xx answers are skipped; HEAD, 204 and 304
answers have no body (a connection that answered a HEAD is not reused). A streamed
request body is read whole and sent as one chunk; a request saying ``Connection:
close`` is the last on its connection. TLS uses one shared ``ssl``
context with certificate and host name verification always on. Proxies are not
this engine's business: with a proxy the SDK uses httpx's own transport.
"""

from __future__ import annotations

import asyncio
import select
import ssl
import zlib
from collections import deque
from typing import Final, NamedTuple, cast

import httptools
import httpx

__all__ = [
    "DEFAULT_KEEPALIVE_EXPIRY",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "WRITTEN",
    "HTTP11Transport",
    "PoolStats",
    "ResponseTooLarge",
    "decode_body",
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
#: ``request.extensions`` key set to ``True`` once the request was handed to the socket.
WRITTEN: Final = "itnio.written"

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_READ_BUFFER: Final = 64 * 1024
#: Chunked framing may cost several bytes per body byte; raw bytes after the head
#: are bounded by this multiple of the body cap (plus the head cap for trailers).
_RAW_FACTOR: Final = 8
_HAS_POLL: Final = hasattr(select, "poll")

_Key = tuple[str, str, int]


class PoolStats(NamedTuple):
    """A snapshot of the pool: connections open (idle + busy), idle, busy, waiting requests."""

    connections: int
    idle: int
    busy: int
    waiting: int


class ResponseTooLarge(httpx.RemoteProtocolError):
    """A response exceeded a size limit (head, header count, or body)."""


class _Stop(Exception):  # noqa: N818 - internal control flow, never escapes
    """Raised inside a parser callback to stop parsing; the reason is on the connection."""


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: feeds what arrives to httptools, one exchange at a time."""

    # ``_`` fields belong to the exchange in progress; the rest to the connection.
    __slots__ = (
        "_body",
        "_body_raw",
        "_complete",
        "_drain",
        "_error",
        "_head_raw",
        "_head_size",
        "_headers",
        "_headers_done",
        "_is_head",
        "_keep_alive",
        "_last_read",
        "_limits",
        "_loop",
        "_parser",
        "_paused",
        "_poller",
        "_reason",
        "_size",
        "_status",
        "_until_close",
        "_waiter",
        "broken",
        "close_reason",
        "expiry",
        "fd",
        "idle",
        "idle_since",
        "key",
        "poisoned",
        "pool",
        "transport",
    )

    def __init__(self, pool: HTTP11Transport, key: _Key) -> None:
        self.pool = pool
        self.key = key
        self._loop = asyncio.get_running_loop()
        self._limits = (pool.max_response_size, pool.max_head_size, pool.max_headers)
        self.transport: asyncio.Transport | None = None
        self.fd = -1
        #: Never to be written to again (EOF, lost, bad bytes, or an exchange that failed).
        self.broken = False
        #: Bytes arrived while an answered exchange waited to be picked up.
        self.poisoned = False
        self.close_reason = "by the server"
        self.idle = False
        self.idle_since = 0.0
        self.expiry = pool.keepalive_expiry
        self._paused = False
        #: poll() on this connection's socket (select() fails on descriptors >= 1024).
        self._poller: select.poll | None = None
        self._drain: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._head_raw = 0
        self._head_size = 0
        self._body_raw = 0
        self._headers_done = False
        self._complete = False
        self._until_close = False
        self._keep_alive = False
        self._error: Exception | None = None
        self._is_head = False
        self._last_read = 0.0

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not isinstance-checked: uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        try:
            self.fd = sock.fileno() if sock is not None else -1
        except (OSError, AttributeError, NotImplementedError):  # pragma: no cover - odd loops
            self.fd = -1
        if self.fd >= 0 and _HAS_POLL:
            self._poller = select.poll()
            self._poller.register(self.fd, select.POLLIN)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or self._complete:
            # Bytes on an idle connection, or after the end of an answered response
            # (not yet picked up): the connection can no longer be trusted.
            self.poisoned = True
            self._break("unexpected bytes after the end of a response")
            return
        if waiter.done():  # pragma: no cover - failed already; the transport is closing
            return
        self._last_read = self._loop.time()
        max_body, max_head, _ = self._limits
        if not self._headers_done:
            room = max_head + _READ_BUFFER - self._head_raw
            if len(data) > room:
                self._head_overflow(data, room, waiter)
                return
            self._head_raw += len(data)
        else:
            self._body_raw += len(data)
            if self._body_raw > _RAW_FACTOR * max_body + max_head:
                self._fail(ResponseTooLarge(f"response larger than {max_body} bytes"))
                return
        self._feed(data, waiter)

    def _head_overflow(self, data: bytes, room: int, waiter: asyncio.Future[None]) -> None:
        """``data`` is more than the head may still take: feed that much, and the rest only
        if the head ended within it (a small head and a large body may come in one read)."""
        self._head_raw += room
        if not self._feed(data[:room], waiter):
            if self._complete and not self._is_head:
                self.data_received(data[room:])  # bytes past the end of the response
            return
        if not self._headers_done:
            self._fail(ResponseTooLarge(f"response head larger than {self._limits[1]} bytes"))
            return
        self.data_received(data[room:])

    def _feed(self, data: bytes, waiter: asyncio.Future[None]) -> bool:
        """Parse ``data``; False once the exchange is over (answered or failed)."""
        parser = self._parser
        assert parser is not None
        try:
            parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            if self._error is None and self._complete and self._is_head:
                # A HEAD answer ends at its head; what follows cannot be framed.
                self.broken = True
                waiter.set_result(None)
                return False
            self._fail(self._error or httpx.RemoteProtocolError("malformed response"))
            return False
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed response: {exc}"))
            return False
        if self._complete:
            waiter.set_result(None)
            return False
        return True

    def eof_received(self) -> bool:
        self.broken = True
        self._end_of_stream(None)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.broken = True
        self.transport = None
        self._end_of_stream(exc)
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_exception(httpx.WriteError(self.close_reason))
        self.pool._lost(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    def _end_of_stream(self, exc: Exception | None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and self._until_close and exc is None:
            self._complete = True  # a body delimited by the end of the connection
            waiter.set_result(None)
            return
        if self._status or self._head_raw:
            message = f"connection closed ({self.close_reason}) before the response was complete"
        else:
            message = f"connection closed ({self.close_reason}) before any response arrived"
        error: httpx.HTTPError = (
            httpx.ReadError(f"{message}: {exc}") if exc else httpx.RemoteProtocolError(message)
        )
        waiter.set_exception(error)

    # -- httptools callbacks -----------------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:
            # A second message after the one asked for: bytes past the declared end.
            self._error = httpx.RemoteProtocolError(
                "the server sent bytes past the end of the response"
            )
            raise _Stop

    def on_status(self, status: bytes) -> None:
        self._reason += status
        self._grow_head(len(status))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers_done:
            # A trailer field (after a chunked body): bounded, but never merged into
            # the header section (RFC 9110 section 6.5.1).
            self._grow_head(len(name) + len(value) + 4)
            return
        headers = self._headers
        headers.append((name, value))
        max_headers = self._limits[2]
        if len(headers) > max_headers:
            self._error = ResponseTooLarge(f"response has more than {max_headers} headers")
            raise _Stop
        self._grow_head(len(name) + len(value) + 4)

    def _grow_head(self, amount: int) -> None:
        self._head_size += amount
        max_head = self._limits[1]
        if self._head_size > max_head:
            self._error = ResponseTooLarge(f"response head larger than {max_head} bytes")
            raise _Stop

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None
        status = parser.get_status_code()
        self._status = status
        if 100 <= status < 200:
            if status == 101:
                self._error = httpx.RemoteProtocolError("the server switched protocols (101)")
                raise _Stop
            return  # interim answer; on_message_complete starts over
        max_body = self._limits[0]
        self._headers_done = True
        self._keep_alive = parser.should_keep_alive()
        length: int | None = None
        chunked = False
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = int(value)  # llhttp has checked it is one decimal number
            elif lowered == b"transfer-encoding":
                chunked = chunked or b"chunked" in value.lower()
            elif lowered == b"keep-alive":
                self._read_keep_alive(value)
        if self._is_head:
            self._complete = True
            raise _Stop  # no body follows a HEAD answer, whatever its headers say
        if length is not None and length > max_body and status not in (204, 304):
            # (A 304 may give the length of the representation it does not send.)
            self._error = ResponseTooLarge(
                f"response body of {length} bytes is larger than {max_body} bytes"
            )
            raise _Stop
        self._until_close = length is None and not chunked and status not in (204, 304)

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._limits[0]:
            self._error = ResponseTooLarge(f"response larger than {self._limits[0]} bytes")
            raise _Stop
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # an interim answer: the real one follows
            self._status = 0
            self._reason = b""
            self._headers = []
            return
        self._complete = True

    # -- used by the pool ------------------------------------------------------------

    def _read_keep_alive(self, value: bytes) -> None:
        """Honour ``Keep-Alive: timeout=N, max=M``: reuse ends a second before N (half
        of N when N is under two seconds, so a short timeout still allows reuse)."""
        for part in value.split(b","):
            name, _, number = part.strip().partition(b"=")
            try:
                amount = int(number.strip())
            except ValueError:
                continue
            name = name.strip().lower()
            if name == b"timeout":
                margin = min(1.0, amount / 2)
                self.expiry = min(self.expiry, max(0.0, amount - margin))
            elif name == b"max" and amount <= 1:
                self._keep_alive = False

    def usable(self, now: float) -> bool:
        """Whether this idle connection may carry another request."""
        if self.broken or self.transport is None or self.transport.is_closing():
            return False
        if now - self.idle_since >= self.expiry:
            return False
        # A FIN or stray bytes may sit in the socket before the loop has seen them.
        poller = self._poller
        if poller is not None:
            try:
                if poller.poll(0):
                    return False
            except OSError:  # pragma: no cover - the descriptor is gone
                return False
        elif self.fd >= 0:  # pragma: no cover - no poll() (Windows): select() it is
            try:
                readable, _, _ = select.select([self.fd], [], [], 0)
            except (OSError, ValueError):
                return False
            if readable:
                return False
        return True

    def send(self, data: bytes, is_head: bool) -> asyncio.Future[None]:
        """Start an exchange: write the request and return the future of its response."""
        self._reset()
        self._is_head = is_head
        self._parser = httptools.HttpResponseParser(self)
        waiter = self._waiter = self._loop.create_future()
        self._last_read = self._loop.time()
        transport = self.transport
        assert transport is not None
        transport.write(data)
        return waiter

    async def drain(self, seconds: float | None) -> None:
        """Wait until the written bytes left the transport's buffer (write timeout)."""
        if not self._paused:
            return
        drain = self._drain = self._loop.create_future()
        try:
            async with asyncio.timeout(seconds):
                await drain
        except TimeoutError:
            raise httpx.WriteTimeout("timed out writing the request") from None
        finally:
            self._drain = None

    async def receive(self, waiter: asyncio.Future[None], seconds: float | None) -> None:
        """Wait for the response; fail when nothing arrives for ``seconds`` seconds."""
        if seconds is None or waiter.done():
            await waiter
            return
        loop = self._loop
        handle: asyncio.TimerHandle

        def check() -> None:
            nonlocal handle
            if waiter.done():
                return
            due = self._last_read + seconds
            if loop.time() >= due:
                waiter.set_exception(httpx.ReadTimeout("timed out waiting for the response"))
            else:
                handle = loop.call_at(due, check)

        handle = loop.call_at(self._last_read + seconds, check)
        try:
            await waiter
        finally:
            handle.cancel()

    def result(self) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
        """Status, reason, headers, body and whether the connection may be reused.

        Raises:
            httpx.RemoteProtocolError: bytes arrived after the end of the response
                before it was picked up (the response cannot be trusted).
        """
        if self.poisoned:
            raise httpx.RemoteProtocolError("the server sent bytes past the end of the response")
        body = self._body
        content = body[0] if len(body) == 1 else b"".join(body)
        reusable = self._keep_alive and not self.broken and not self._is_head
        self._waiter = None
        self._parser = None
        self._body = []
        return self._status, self._reason, self._headers, content, reusable

    def _fail(self, error: Exception) -> None:
        """End the exchange in progress with ``error`` and close the connection."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self._break(None)

    def _break(self, reason: str | None) -> None:
        self.broken = True
        if reason is not None:
            self.close_reason = reason
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.abort()

    def abandon(self) -> None:
        """Close after a failed or cancelled exchange; its response future is settled
        quietly (no "exception was never retrieved" when the close fails it later)."""
        waiter = self._waiter
        if waiter is not None:
            if not waiter.done():
                waiter.cancel()
            elif not waiter.cancelled():
                waiter.exception()  # mark it retrieved
        self._break("the request was abandoned")

    def abort(self, reason: str) -> None:
        """Close now (a request was cancelled or failed on it, or the pool closes)."""
        self._break(reason)


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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return its response, body read."""
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
        key = (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])
        timeouts = request.extensions.get("timeout") or {}
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        data, last = _serialize(request, body)
        is_head = request.method == "HEAD"
        conn = await self._checkout(key, timeouts, request)
        try:
            waiter = conn.send(data, is_head)
            request.extensions[WRITTEN] = True
            await conn.drain(timeouts.get("write"))
            await conn.receive(waiter, timeouts.get("read"))
            status, reason, headers, body, reusable = conn.result()
        except BaseException as exc:
            conn.abandon()
            self._discard(conn)
            if isinstance(exc, httpx.RequestError):
                exc.request = request
            raise
        if reusable and not last:
            self._checkin(conn)
        else:
            conn.abort("the connection was not kept alive")
            self._discard(conn)
        headers, body = decode_body(headers, body, self.max_response_size, request)
        return httpx.Response(
            status,
            headers=headers,
            content=body,
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
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

    async def _checkout(
        self, key: _Key, timeouts: dict[str, float | None], request: httpx.Request
    ) -> _Connection:
        """A connection to ``key`` that may be written to; raises only "never sent" errors."""
        if self._closed:
            raise httpx.ConnectError("the connection pool was closed", request=request)
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
            got = await self._wait(key, timeouts.get("pool"), request)
            if got is not None:
                if got.usable(loop.time()):
                    return got
                # Handed over but closed since: keep its slot and connect afresh.
                got.abort("the connection had expired")
                self._open.discard(got)
        try:
            return await self._connect(key, timeouts.get("connect"), request)
        except BaseException:
            self._free_slot()
            raise

    async def _wait(
        self, key: _Key, seconds: float | None, request: httpx.Request
    ) -> _Connection | None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Connection | None] = loop.create_future()
        self._waiters.append((key, waiter))

        def expire() -> None:
            if not waiter.done():
                waiter.set_exception(
                    httpx.PoolTimeout("no connection became free in time", request=request)
                )

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

    async def _connect(
        self, key: _Key, seconds: float | None, request: httpx.Request
    ) -> _Connection:
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
            raise httpx.ConnectTimeout(
                f"timed out connecting to {host}:{port}", request=request
            ) from None
        except OSError as exc:  # refused, unreachable, DNS, TLS verification (ssl.SSLError)
            raise httpx.ConnectError(
                f"could not connect to {host}:{port}: {exc}", request=request
            ) from None
        if self._closed:
            conn.abort("the client was closed")
            raise httpx.ConnectError("the connection pool was closed", request=request)
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


def _serialize(request: httpx.Request, body: bytes) -> tuple[bytes, bool]:
    """The request's bytes: request line, headers, body (CR, LF or NUL in a header refused);
    and whether it says ``Connection: close`` (then it is the last on its connection)."""
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    headers = request.headers.raw
    chunked = last = False
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
        size = len(name)  # (a cheap test before the case-insensitive one)
        if size == 10 and name.lower() == b"connection":
            last = b"close" in value.lower()
        elif size == 17 and name.lower() == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    parts.append(b"\r\n")
    head = b"".join(parts)
    # Exactly one CRLF per line and nothing else: a CR, LF or NUL inside a value
    # (an injected header) would change the count.
    lines = len(headers) + 2
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
        raise httpx.LocalProtocolError("a header contains CR, LF or NUL", request=request)
    if chunked:
        # A streamed body (httpx announced it chunked), read whole: frame it as one chunk.
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    return (head + body if body else head), last


def decode_body(
    headers: list[tuple[bytes, bytes]], body: bytes, limit: int, request: httpx.Request
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Unpack a gzip or deflate body within ``limit``; drop its Content-Encoding header.

    httpx would otherwise unpack it again, without a limit.
    """
    encoding = None
    for name, value in headers:
        if name.lower() == b"content-encoding":
            encoding = value.strip().lower()
    if encoding is None or encoding in (b"", b"identity"):
        return headers, body
    if encoding in (b"gzip", b"x-gzip"):
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    elif encoding == b"deflate":
        decompressor = zlib.decompressobj(zlib.MAX_WBITS)
    else:
        raise httpx.DecodingError(
            f"unsupported Content-Encoding {encoding.decode('latin-1')!r}", request=request
        )
    try:
        unpacked = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        if encoding != b"deflate":
            raise httpx.DecodingError(f"bad gzip body: {exc}", request=request) from None
        try:  # "deflate" is often sent raw, without the zlib header
            unpacked = zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, limit + 1)
        except zlib.error as raw_exc:
            raise httpx.DecodingError(f"bad deflate body: {raw_exc}", request=request) from None
    if len(unpacked) > limit:
        raise ResponseTooLarge(
            f"response larger than {limit} bytes once decompressed", request=request
        )
    kept = [(n, v) for n, v in headers if n.lower() not in (b"content-encoding", b"content-length")]
    return kept, unpacked
