"""One request's answer being read: the parser, its callbacks, the limits and the outcome.

An :class:`Exchange` is made fresh for every request written to a connection (and for
a proxy's answer to ``CONNECT``), so nothing of one answer can leak into the next:
status, headers, body, sizes and the parser all die with it. Its one way out is
:attr:`Exchange.waiter`: a result once the answer is complete, or an exception
(always an ``httpx`` error) once it failed; after that it takes no more bytes.

Limits, all counted per exchange:

* the head: raw bytes before the end of the headers at most ``max_head_size`` plus one
  read buffer, and parsed status line plus headers (1xx answers included) at most
  ``max_head_size``, at most ``max_headers`` headers;
* the body: at most ``max_response_size`` bytes, refused at the head when
  ``Content-Length`` says more; raw bytes after the head (chunk framing, trailers)
  at most ``_RAW_FACTOR`` times that plus ``max_head_size``.

A HEAD answer (or a ``CONNECT`` answer) ends at its head whatever its framing says.
The read timeout ("nothing arrived for ``read`` seconds") and the request's
``deadline`` are enforced by the pool's single :class:`~._timer.Timer`, which reads
:attr:`Exchange.last_read` and calls :meth:`Exchange.expire`.
"""

from __future__ import annotations

import asyncio
import math
from typing import Final

import httptools
import httpx

from ._errors import DeadlineExceeded, ResponseTooLarge

__all__ = ["READ_BUFFER", "Exchange", "Limits"]

#: Bytes one read may bring (the head allowance is ``max_head_size`` plus this).
READ_BUFFER: Final = 64 * 1024
#: Chunked framing may cost several bytes per body byte; raw bytes after the head
#: are bounded by this multiple of the body cap (plus the head cap for trailers).
_RAW_FACTOR: Final = 8

#: ``(max_response_size, max_head_size, max_headers)``.
Limits = tuple[int, int, int]


class _Stop(Exception):  # noqa: N818 - internal control flow, never escapes
    """Raised inside a parser callback to stop parsing; the reason is on the exchange."""


class Exchange:
    """The answer to one request, as its bytes arrive."""

    __slots__ = (
        "body",
        "body_raw",
        "complete",
        "deadline",
        "error",
        "expiry",
        "failed",
        "head_only",
        "head_raw",
        "head_size",
        "headers",
        "headers_done",
        "keep_alive",
        "last_read",
        "limits",
        "parser",
        "read_timeout",
        "reason",
        "size",
        "status",
        "until_close",
        "waiter",
    )

    def __init__(
        self,
        waiter: asyncio.Future[None],
        limits: Limits,
        *,
        head_only: bool,
        expiry: float,
        read_timeout: float | None,
        deadline: float | None,
    ) -> None:
        self.waiter = waiter
        self.limits = limits
        #: A HEAD or CONNECT: the answer ends at its head.
        self.head_only = head_only
        #: The idle expiry of the connection once answered (a Keep-Alive timeout shortens it).
        self.expiry = expiry
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.last_read = 0.0
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = self.head_raw = self.head_size = self.body_raw = 0
        self.headers_done = self.complete = self.until_close = False
        self.keep_alive = False
        #: Ended by an error of this exchange: the connection must close.
        self.failed = False
        self.error: httpx.HTTPError | None = None
        self.parser = httptools.HttpResponseParser(self)

    # -- bytes in -------------------------------------------------------------------------

    def receive(self, data: bytes, now: float) -> bytes:
        """Take ``data``; return the bytes left over past the end of the answer (rare)."""
        self.last_read = now
        max_body, max_head, _ = self.limits
        if not self.headers_done:
            room = max_head + READ_BUFFER - self.head_raw
            if len(data) > room:
                return self._head_overflow(data, room)
            self.head_raw += len(data)
        else:
            self.body_raw += len(data)
            if self.body_raw > _RAW_FACTOR * max_body + max_head:
                self.fail(ResponseTooLarge(f"response larger than {max_body} bytes"))
                return b""
        self._feed(data)
        return b""

    def _head_overflow(self, data: bytes, room: int) -> bytes:
        """``data`` is more than the head may still take: feed that much, and the rest only
        if the head ended within it (a small head and a large body may come in one read)."""
        self.head_raw += room
        if not self._feed(data[:room]):
            return data[room:] if self.complete and not self.head_only else b""
        if not self.headers_done:
            self.fail(ResponseTooLarge(f"response head larger than {self.limits[1]} bytes"))
            return b""
        return data[room:]

    def _feed(self, data: bytes) -> bool:
        """Parse ``data``; False once the exchange is over (answered or failed)."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError:
            if self.error is None and self.complete and self.head_only:
                self.waiter.set_result(None)  # a head-only answer; what follows is not framed
                return False
            self.fail(self.error or httpx.RemoteProtocolError("malformed response"))
            return False
        except httptools.HttpParserError as exc:
            self.fail(httpx.RemoteProtocolError(f"malformed response: {exc}"))
            return False
        if self.complete:
            self.waiter.set_result(None)
            return False
        return True

    def end_of_stream(self, reason: str, exc: Exception | None) -> None:
        """The connection ended (``exc``: how, if not by a FIN): complete or fail."""
        if self.waiter.done():
            return
        if self.headers_done and self.until_close and exc is None:
            self.complete = True  # a body delimited by the end of the connection
            self.waiter.set_result(None)
            return
        if self.status or self.head_raw:
            message = f"connection closed ({reason}) before the response was complete"
        else:
            message = f"connection closed ({reason}) before any response arrived"
        error: httpx.HTTPError = (
            httpx.ReadError(f"{message}: {exc}") if exc else httpx.RemoteProtocolError(message)
        )
        self.waiter.set_exception(error)

    def fail(self, error: Exception) -> None:
        """End the exchange with ``error`` (its connection must close)."""
        self.failed = True
        if not self.waiter.done():
            self.waiter.set_exception(error)

    # -- time -----------------------------------------------------------------------------

    def due(self) -> float:
        """When this exchange times out, if nothing arrives before (``inf``: never)."""
        due = math.inf if self.deadline is None else self.deadline
        if self.read_timeout is not None:
            due = min(due, self.last_read + self.read_timeout)
        return due

    def expire(self, now: float) -> None:
        """Called by the pool's timer once :meth:`due` has passed."""
        if self.deadline is not None and now >= self.deadline:
            self.fail(DeadlineExceeded("the request's deadline passed waiting for the response"))
        else:
            self.fail(httpx.ReadTimeout("timed out waiting for the response"))

    # -- the answer -----------------------------------------------------------------------

    def content(self) -> bytes:
        body = self.body
        return body[0] if len(body) == 1 else b"".join(body)

    # -- httptools callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            # A second message after the one asked for: bytes past the declared end.
            self.error = httpx.RemoteProtocolError(
                "the server sent bytes past the end of the response"
            )
            raise _Stop

    def on_status(self, status: bytes) -> None:
        self.reason += status
        self._grow_head(len(status))

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.headers_done:
            # A trailer field (after a chunked body): bounded, but never merged into
            # the header section (RFC 9110 section 6.5.1).
            self._grow_head(len(name) + len(value) + 4)
            return
        headers = self.headers
        headers.append((name, value))
        max_headers = self.limits[2]
        if len(headers) > max_headers:
            self.error = ResponseTooLarge(f"response has more than {max_headers} headers")
            raise _Stop
        self._grow_head(len(name) + len(value) + 4)

    def _grow_head(self, amount: int) -> None:
        self.head_size += amount
        max_head = self.limits[1]
        if self.head_size > max_head:
            self.error = ResponseTooLarge(f"response head larger than {max_head} bytes")
            raise _Stop

    def on_headers_complete(self) -> None:
        parser = self.parser
        status = parser.get_status_code()
        self.status = status
        if 100 <= status < 200:
            if status == 101:
                self.error = httpx.RemoteProtocolError("the server switched protocols (101)")
                raise _Stop
            return  # interim answer; on_message_complete starts over
        self.headers_done = True
        self.keep_alive = parser.should_keep_alive()
        length: int | None = None
        chunked = False
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"content-length":
                length = int(value)  # llhttp has checked it is one decimal number
            elif lowered == b"transfer-encoding":
                chunked = chunked or b"chunked" in value.lower()
            elif lowered == b"keep-alive":
                self._read_keep_alive(value)
        if self.head_only:
            self.complete = True
            raise _Stop  # no body follows a HEAD answer, whatever its headers say
        max_body = self.limits[0]
        if length is not None and length > max_body and status not in (204, 304):
            # (A 304 may give the length of the representation it does not send.)
            self.error = ResponseTooLarge(
                f"response body of {length} bytes is larger than {max_body} bytes"
            )
            raise _Stop
        self.until_close = length is None and not chunked and status not in (204, 304)

    def _read_keep_alive(self, value: bytes) -> None:
        """Honour ``Keep-Alive: timeout=N, max=M``: reuse ends a second before N (half
        of N when N is under two seconds, so a short timeout still allows reuse), and
        never later than the client's own expiry."""
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
                self.keep_alive = False

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.limits[0]:
            self.error = ResponseTooLarge(f"response larger than {self.limits[0]} bytes")
            raise _Stop
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:  # an interim answer: the real one follows
            self.status = 0
            self.reason = b""
            self.headers = []
            return
        self.complete = True
