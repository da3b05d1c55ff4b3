"""One HTTP/1.1 connection: an ``asyncio.Protocol`` handing its bytes to the exchange.

A :class:`Connection` carries one :class:`~._exchange.Exchange` at a time
(:attr:`Connection.exchange`, ``None`` while idle). Its invariants:

* **Bytes nobody asked for end it.** Bytes arriving while no exchange is in
  progress, or after the exchange's answer was complete, set :attr:`poisoned` and
  close the connection; an answer followed by such bytes before it was picked up is
  refused (:meth:`finish`), so no request ever gets another one's answer.
* **Broken is forever.** EOF, a lost transport, a failed exchange or a close of our
  own set :attr:`broken`; a broken connection is never written to again, and
  :meth:`usable` also refuses one the server closed (or wrote to) while idle,
  by ``poll()`` on the socket, before the loop has seen it.
* **Our own close fails the exchange in progress** (:meth:`close`) with a
  ``ReadError``: a body delimited by the end of the connection is complete only
  when the *server* ended it with a FIN, never when we cut it.

The socket's descriptor is polled with ``select.poll`` (``select.select`` fails on
descriptors from 1024 on).
"""

from __future__ import annotations

import asyncio
import contextlib
import select
from typing import TYPE_CHECKING, Final, cast

import httpx

from ._exchange import Exchange, Limits

if TYPE_CHECKING:
    from ._pool import HTTP11Transport
    from ._proxy import Proxy

__all__ = ["Connection", "Key"]

_HAS_POLL: Final = hasattr(select, "poll")

#: A pool key: the origin's scheme, host and port, and the proxy that reaches it.
Key = tuple[str, str, int, "Proxy | None"]


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection of a pool, to one origin (through one proxy, or none)."""

    __slots__ = (
        "broken",
        "close_reason",
        "drain_waiter",
        "exchange",
        "expiry",
        "fd",
        "idle",
        "idle_since",
        "key",
        "limits",
        "loop",
        "paused",
        "poisoned",
        "poller",
        "pool",
        "transport",
    )

    def __init__(self, pool: HTTP11Transport, key: Key, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = pool
        self.key = key
        self.loop = loop
        self.limits: Limits = (pool.max_response_size, pool.max_head_size, pool.max_headers)
        self.transport: asyncio.Transport | None = None
        self.fd = -1
        #: poll() on this connection's socket.
        self.poller: select.poll | None = None
        #: Never to be written to again (EOF, lost, bad bytes, a failed exchange, closed).
        self.broken = False
        #: Bytes arrived while no exchange wanted them (or after its answer).
        self.poisoned = False
        self.close_reason = "by the server"
        self.idle = False
        self.idle_since = 0.0
        self.expiry = pool.keepalive_expiry
        self.paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.exchange: Exchange | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not isinstance-checked: uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        try:
            self.fd = sock.fileno() if sock is not None else -1
        except (OSError, AttributeError, NotImplementedError):  # pragma: no cover - odd loops
            self.fd = -1
        if self.fd >= 0 and _HAS_POLL:
            self.poller = select.poll()
            self.poller.register(self.fd, select.POLLIN)

    def data_received(self, data: bytes) -> None:
        while data:
            exchange = self.exchange
            if exchange is None or exchange.complete:
                # Bytes on an idle connection, or after the end of an answered response
                # (not yet picked up): the connection can no longer be trusted.
                self.poisoned = True
                self._break("unexpected bytes after the end of a response")
                return
            if exchange.waiter.done():  # failed already; the transport is closing
                return
            data = exchange.receive(data, self.loop.time())
            if exchange.failed:
                self._break(None)
                return

    def eof_received(self) -> bool:
        self.broken = True
        if self.exchange is not None:
            self.exchange.end_of_stream(self.close_reason, None)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.broken = True
        self.transport = None
        if self.exchange is not None:
            self.exchange.end_of_stream(self.close_reason, exc)
        drain = self.drain_waiter
        if drain is not None and not drain.done():
            drain.set_exception(httpx.WriteError(f"connection closed ({self.close_reason})"))
        self.pool.lost(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        drain = self.drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    # -- used by the pool ---------------------------------------------------------------

    def usable(self, now: float) -> bool:
        """Whether this idle connection may carry another request."""
        if self.broken or self.transport is None or self.transport.is_closing():
            return False
        if now - self.idle_since >= self.expiry:
            return False
        # A FIN or stray bytes may sit in the socket before the loop has seen them.
        poller = self.poller
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

    def start(
        self, data: bytes, *, head_only: bool, read: float | None, deadline: float | None
    ) -> Exchange:
        """Start an exchange: write ``data`` (the request) and return the exchange."""
        exchange = self.exchange = Exchange(
            self.loop.create_future(),
            self.limits,
            head_only=head_only,
            expiry=self.expiry,
            read_timeout=read,
            deadline=deadline,
        )
        exchange.last_read = self.loop.time()
        transport = self.transport
        assert transport is not None
        transport.write(data)
        return exchange

    async def drain(self, until: float | None, error: httpx.TimeoutException) -> None:
        """Wait until the written bytes left the transport's buffer; ``error`` at ``until``."""
        if not self.paused:
            return
        drain = self.drain_waiter = self.loop.create_future()
        try:
            async with asyncio.timeout_at(until):
                await drain
        except TimeoutError:
            raise error from None
        finally:
            self.drain_waiter = None

    def finish(self) -> tuple[Exchange, bool]:
        """The answered exchange, and whether the connection may carry another one.

        Raises:
            httpx.RemoteProtocolError: bytes arrived after the end of the response
                before it was picked up (the response cannot be trusted).
        """
        exchange = self.exchange
        assert exchange is not None
        if self.poisoned:
            raise httpx.RemoteProtocolError("the server sent bytes past the end of the response")
        self.exchange = None
        self.expiry = exchange.expiry
        return exchange, exchange.keep_alive and not self.broken and not exchange.head_only

    def abandon(self) -> None:
        """Close after a failed or cancelled exchange; its response future is settled
        quietly (no "exception was never retrieved" when the close fails it later)."""
        exchange = self.exchange
        if exchange is not None:
            waiter = exchange.waiter
            if not waiter.done():
                waiter.cancel()
            elif not waiter.cancelled():
                waiter.exception()  # mark it retrieved
        self._break("the request was abandoned")

    def close(self, reason: str) -> None:
        """Close now (the pool closes, evicts or drops it); an exchange in progress fails
        with a ``ReadError``: its answer, if any, was cut by us."""
        exchange = self.exchange
        if exchange is not None and not exchange.waiter.done():
            exchange.waiter.set_exception(
                httpx.ReadError(f"connection closed ({reason}) before the response was complete")
            )
        self._break(reason)

    def close_without_loop(self) -> None:
        """Close the socket although the event loop has ended (nothing it schedules will
        run): what the loop's own ``connection_lost`` callback would have done."""
        self.broken = True
        transport, self.transport = self.transport, None
        if transport is None:
            return
        with contextlib.suppress(RuntimeError):  # "Event loop is closed" once it is marked
            transport.abort()
        # An SSL transport wraps the socket's transport; that one holds the socket.
        inner = getattr(getattr(transport, "_ssl_protocol", None), "_transport", None)
        for layer in (inner, transport):
            lost = getattr(layer, "_call_connection_lost", None)
            if lost is not None and getattr(layer, "_sock", None) is not None:
                with contextlib.suppress(RuntimeError):
                    lost(None)

    def _break(self, reason: str | None) -> None:
        self.broken = True
        if reason is not None:
            self.close_reason = reason
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.abort()
