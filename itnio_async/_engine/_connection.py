"""One HTTP/1.1 connection (an ``asyncio.Protocol``) feeding its bytes to httptools."""

from __future__ import annotations

import asyncio
import select
from typing import TYPE_CHECKING, Final, cast

import httptools
import httpx

from ._errors import ResponseTooLarge

if TYPE_CHECKING:
    from ._pool import HTTP11Transport

__all__ = ["READ_BUFFER", "Connection", "Key"]

READ_BUFFER: Final = 64 * 1024
_READ_BUFFER: Final = READ_BUFFER
#: Chunked framing may cost several bytes per body byte; raw bytes after the head
#: are bounded by this multiple of the body cap (plus the head cap for trailers).
_RAW_FACTOR: Final = 8
_HAS_POLL: Final = hasattr(select, "poll")

Key = tuple[str, str, int]
_Key = Key


class _Stop(Exception):  # noqa: N818 - internal control flow, never escapes
    """Raised inside a parser callback to stop parsing; the reason is on the connection."""


class Connection(asyncio.Protocol):
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
