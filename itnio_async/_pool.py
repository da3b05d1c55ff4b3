"""The connection pool the SDK creates for the default (httpx) backend.

httpcore's ``AsyncConnectionPool`` re-examines every connection (a ``poll()`` of each
idle socket included) and every queued request whenever a request starts or
finishes, and can hand one idle connection to two requests at once (the loser
retries the whole scan). Its CPU per request therefore grows with concurrency —
~0.9 ms at 10 requests in flight, ~2 ms at 50, 3–6 ms at 200 on a 2-core machine —
so bulk lookups got *slower* as ``concurrency`` rose (``benchmarks/README.md``).

:class:`PooledTransport` keeps httpcore for the HTTP work but gives it nothing to
scan: up to ``max_connections`` one-connection httpcore pools, each used by one
request at a time. Idle ones are reused last-in first-out (so sequential calls keep
one warm keep-alive connection); when all are busy, requests wait here, first come
first served, bounded by the ``pool`` timeout. Only public httpx API is used.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

__all__ = ["PooledTransport"]

_ONE = httpx.Limits(max_connections=1, max_keepalive_connections=1)


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that hands its connection back when closed."""

    __slots__ = ("_release", "_stream")

    def __init__(self, stream: Any, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class PooledTransport(httpx.AsyncBaseTransport):
    """``max_connections`` keep-alive connections; the queue for them lives outside httpcore.

    Args:
        max_connections: connections (and requests in flight) at most.
        verify: as for ``httpx.AsyncHTTPTransport``; one SSL context is shared by all
            connections (building one costs ~20 ms).
        options: passed to each ``httpx.AsyncHTTPTransport``.
    """

    def __init__(
        self,
        max_connections: int = 100,
        *,
        verify: ssl.SSLContext | str | bool = True,
        **options: Any,
    ) -> None:
        if not isinstance(verify, ssl.SSLContext):
            verify = httpx.create_ssl_context(verify=verify)
        self._options = {"verify": verify, "limits": _ONE, **options}
        self._max = max_connections
        self._idle: list[httpx.AsyncHTTPTransport] = []
        self._all: list[httpx.AsyncHTTPTransport] = []
        self._waiters: deque[asyncio.Future[httpx.AsyncHTTPTransport]] = deque()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on a connection of its own (waiting for one if all are busy)."""
        pool = await self._acquire(request.extensions.get("timeout", {}).get("pool"))
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._release(pool)
            raise
        response.stream = _ReleasingStream(response.stream, lambda: self._release(pool))
        return response

    async def _acquire(self, timeout: float | None) -> httpx.AsyncHTTPTransport:
        if self._closed:
            raise httpx.ConnectError("the connection pool is closed")
        if self._idle:
            return self._idle.pop()
        if len(self._all) < self._max:
            pool = httpx.AsyncHTTPTransport(**self._options)
            self._all.append(pool)
            return pool
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[httpx.AsyncHTTPTransport] = loop.create_future()
        self._waiters.append(waiter)

        def expire() -> None:
            if not waiter.done():
                waiter.set_exception(httpx.PoolTimeout("no connection became free in time"))

        handle = None if timeout is None else loop.call_later(timeout, expire)
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result())  # handed a connection, then cancelled
            raise
        finally:
            if handle is not None:
                handle.cancel()

    def _release(self, pool: httpx.AsyncHTTPTransport) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(pool)
                return
        self._idle.append(pool)

    async def aclose(self) -> None:
        """Close every connection; requests still waiting fail with ``ConnectError``."""
        self._closed = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(httpx.ConnectError("the connection pool is closed"))
        pools, self._all, self._idle = self._all, [], []
        for pool in pools:
            await pool.aclose()
