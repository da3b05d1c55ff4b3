"""Cancellation over real sockets: a cancelled call or bulk lookup leaves a healthy pool.

A tiny HTTP/1.1 server on 127.0.0.1 answers flow details and record lookups; ids
containing ``slow`` (or flow 999) are held open until the client goes away, so a
test can cancel a request that is truly in flight and then watch both ends: the
server sees the socket closed, httpcore's pool has nothing stuck, and the next
calls succeed (with a one-connection pool, a leaked connection would time out).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, RecordLookup, RequestTimeoutError
from itnio_async._engine import HTTP11Transport

from ._loopback import LoopbackServer, Request, success
from .conftest import API_KEY, API_SECRET


class SlowServer(LoopbackServer):
    """HTTP/1.1 with keep-alive; slow requests wait for the client to disconnect."""

    def __init__(self) -> None:
        super().__init__()
        self.open = 0  # connections the server holds
        self.in_flight = 0  # requests received and not yet answered
        self.slow_started = 0
        self.answered = 0
        self._changed = asyncio.Event()

    def _note(self) -> None:
        """Wake whoever waits for a change of the counters."""
        self._changed.set()

    async def wait_until(self, predicate: Callable[[], bool], limit: float = 5.0) -> None:
        """Wait (at most ``limit`` s) until ``predicate()`` holds."""
        deadline = time.monotonic() + limit
        while not predicate():
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())

    async def wait_slow(self, count: int) -> None:
        """Wait until ``count`` slow requests are being held."""
        await self.wait_until(lambda: self.slow_started >= count)

    async def settle(self) -> None:
        """Wait until no request is in flight on the server side."""
        await self.wait_until(lambda: self.in_flight == 0)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self._note()
        try:
            await super().serve(reader, writer)
        finally:
            self.open -= 1
            self._note()

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        assert request.headers["sign"]
        assert request.headers["timestamp"]
        self.in_flight += 1
        self._note()
        try:
            if request.target.endswith("/999") or b"slow" in request.body:
                self.slow_started += 1
                self._note()
                # Hold the request until the client hangs up (EOF) or 30 s pass.
                with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
                    await asyncio.wait_for(reader.read(1), 30)
                return False
            data = self._data(request)
        finally:
            self.in_flight -= 1
            self._note()
        writer.write(success(data))
        await writer.drain()
        self.answered += 1
        return True

    @staticmethod
    def _data(request: Request) -> dict[str, Any]:
        if request.method == "GET" and "/flow/details/" in request.target:
            flow_id = int(request.target.rsplit("/", 1)[1])
            return {"flowId": flow_id, "name": "flow", "flow": []}
        order_id = json.loads(request.body)["orderId"]
        return {"orderId": order_id, "verifications": {"matched": 0}}


@pytest.fixture
async def server() -> AsyncIterator[SlowServer]:
    """A slow-capable HTTP server on 127.0.0.1, stopped after the test."""
    async with SlowServer() as running:
        yield running
    gc.collect()  # surface any "unclosed" ResourceWarning inside this test


def pool_of(client: AsyncItnio) -> Any:
    """The transport of the pool the SDK created (an HTTP11Transport)."""
    return client._engine().transport


def assert_pool_healthy(pool: Any) -> None:
    """No queued request and no connection busy with a request."""
    if isinstance(pool, HTTP11Transport):
        stats = pool.stats()
        assert (stats.busy, stats.waiting) == (0, 0)
        return
    if isinstance(pool, httpx.AsyncHTTPTransport):
        pool = pool._pool
    assert list(pool._requests) == []
    busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
    assert busy == []


async def test_cancelled_call_releases_its_connection(server: SlowServer) -> None:
    """Cancel a call mid-request: the socket is closed, the pool is clean, calls go on."""
    async with AsyncItnio(API_KEY, API_SECRET, base_url=server.base_url) as client:
        task = asyncio.ensure_future(client.flows.get(999))
        await server.wait_slow(1)
        assert server.in_flight == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.settle()
        assert server.in_flight == 0
        assert_pool_healthy(pool_of(client))
        flows = await asyncio.gather(*(client.flows.get(i) for i in range(1, 21)))
        assert [f.flow_id for f in flows] == list(range(1, 21))
        assert_pool_healthy(pool_of(client))
        assert server.answered == 20


async def test_one_connection_pool_survives_cancellations(server: SlowServer) -> None:
    """With max_connections=1 and a short pool timeout, a leaked connection would fail the
    calls after three cancelled requests; they all succeed."""
    async with (
        httpx.AsyncClient(
            limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(5.0, pool=0.5)
        ) as http,
        AsyncItnio(API_KEY, API_SECRET, base_url=server.base_url, http_client=http) as client,
    ):
        for round_ in range(3):
            task = asyncio.ensure_future(client.flows.get(999))
            await server.wait_slow(round_ + 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        for i in range(1, 11):
            assert (await client.flows.get(i)).flow_id == i
        assert_pool_healthy(http._transport._pool)  # type: ignore[attr-defined]
    assert server.answered == 10


async def test_cancelled_bulk_lookup_releases_every_connection(server: SlowServer) -> None:
    """Cancel iter_by_order_ids with 4 lookups in flight: all 4 are released."""
    async with AsyncItnio(API_KEY, API_SECRET, base_url=server.base_url) as client:
        seen: list[RecordLookup] = []

        async def consume() -> None:
            ids = [f"slow-{i}" for i in range(4)] + [f"ok-{i}" for i in range(100)]
            async for lookup in client.records.iter_by_order_ids(ids, concurrency=4):
                seen.append(lookup)

        task = asyncio.ensure_future(consume())
        await server.wait_slow(4)
        assert server.in_flight == 4
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.settle()
        assert server.in_flight == 0
        assert seen == []
        assert_pool_healthy(pool_of(client))
        results = await client.records.get_many_by_order_ids(
            [f"ok-{i}" for i in range(30)], concurrency=8
        )
        assert [r.record.order_id for r in results if r.record] == [f"ok-{i}" for i in range(30)]
        assert all(r.ok for r in results)
        assert_pool_healthy(pool_of(client))


async def test_breaking_out_of_a_bulk_lookup_cancels_in_flight_requests(
    server: SlowServer,
) -> None:
    """break inside contextlib.aclosing cancels the slow lookups still running."""
    async with AsyncItnio(API_KEY, API_SECRET, base_url=server.base_url) as client:
        ids = ["ok-first"] + [f"slow-{i}" for i in range(3)]
        lookups = client.records.iter_by_order_ids(ids, concurrency=4)
        async with contextlib.aclosing(lookups) as stream:
            async for lookup in stream:
                assert lookup.order_id == "ok-first"
                await server.wait_slow(3)
                break
        await server.settle()
        assert server.in_flight == 0
        assert_pool_healthy(pool_of(client))
        assert (await client.records.get_by_order_id("ok-after")).order_id == "ok-after"


async def test_deadline_over_real_sockets(server: SlowServer) -> None:
    """A server that never answers: the deadline ends the call with RequestTimeoutError (the
    server holds the request until the client hangs up), and the pool is still clean."""
    async with AsyncItnio(API_KEY, API_SECRET, base_url=server.base_url, deadline=0.3) as client:
        with pytest.raises(RequestTimeoutError, match="deadline exceeded"):
            await client.flows.get(999)
        await server.settle()
        assert server.in_flight == 0
        assert_pool_healthy(pool_of(client))
        assert (await client.flows.get(7)).flow_id == 7


async def test_outer_timeout_is_not_mistaken_for_the_deadline(server: SlowServer) -> None:
    """asyncio.wait_for around a call cancels it as the caller's timeout, not the SDK's."""
    async with AsyncItnio(API_KEY, API_SECRET, base_url=server.base_url, deadline=10) as client:
        with pytest.raises(asyncio.TimeoutError) as info:
            await asyncio.wait_for(client.flows.get(999), 0.1)
        assert not isinstance(info.value, RequestTimeoutError)
        await server.settle()
        assert_pool_healthy(pool_of(client))
        assert (await client.flows.get(3)).flow_id == 3


async def test_aclose_after_cancellation_leaves_nothing_open(server: SlowServer) -> None:
    """Closing the client after a cancelled call closes every socket (server sees none open)."""
    client = AsyncItnio(API_KEY, API_SECRET, base_url=server.base_url)
    await client.flows.get(1)
    task = asyncio.ensure_future(client.flows.get(999))
    await server.wait_slow(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    await server.wait_until(lambda: server.open == 0)
    assert server.open == 0
