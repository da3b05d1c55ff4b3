"""Cancelling calls and closing the client while calls run, over real sockets.

A cancelled call or bulk lookup leaves a healthy pool: a tiny HTTP/1.1 server on
127.0.0.1 answers flow details and record lookups; ids containing ``slow`` (or flow
999) are held open until the client goes away, so a test can cancel a request that
is truly in flight and then watch both ends: the server sees the socket closed,
httpcore's pool has nothing stuck, and the next calls succeed (with a one-connection
pool, a leaked connection would time out).

``aclose()`` with 30 calls running — reads, sends and verifies, some written and held
by the server, some still waiting for a connection of the pool — ends every one of
them with an :class:`ItnioError` subclass (never a bare ``RuntimeError``), with
``sent`` telling the truth: ``True`` for a request the server received, ``False``
for one that was still waiting for a connection. No retry starts once the client is
closed: the server's own count of requests proves it. Held requests are held by an
event (or until the client hangs up), never by a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    HTTPStatusError,
    ItnioError,
    RecordLookup,
    RequestTimeoutError,
    RetryPolicy,
    TransportError,
)
from itnio_async import _base_client as base_client
from itnio_async._engine import HTTP11Transport
from itnio_async.testing import FakeItnio

from ._loopback import LoopbackServer, Request, response, success
from .conftest import API_KEY, API_SECRET, FIXED_TIME
from .test_retries import GatedSleep


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
    return client._network().own


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


# -- closing the client while calls run -------------------------------------------------------

#: Calls started at once, and connections in the pool for them (the rest must wait).
CALLS = 30
POOL = 10

Call = Callable[[AsyncItnio], Awaitable[Any]]


def _read(order_id: str) -> Call:
    return lambda c: c.records.get_by_order_id(order_id)


def _send(number: str) -> Call:
    return lambda c: c.verifications.send(app_id="mRELxtHc", template_id=455, to=number)


def _verify(vid: str) -> Call:
    return lambda c: c.verifications.verify(vid, "4821")


def _calls() -> list[tuple[str, Call]]:
    """Ten reads, ten sends and ten verifies, interleaved, each naming itself on the wire."""
    made: list[tuple[str, Call]] = []
    for i in range(CALLS // 3):
        order_id, number, vid = f"order-{i:03d}", f"86135000{i:05d}", f"2220605144305100{i:04d}"
        made.append((order_id, _read(order_id)))
        made.append((number, _send(number)))
        made.append((vid, _verify(vid)))
    return made


class HoldingServer(LoopbackServer):
    """HTTP/1.1 on 127.0.0.1 that records who each request is for and answers none of them:
    it holds each one until the client hangs up."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.changed = asyncio.Event()

    async def wait_for(self, count: int) -> None:
        """Return once ``count`` requests have arrived."""
        while len(self.seen) < count:
            self.changed.clear()
            await self.changed.wait()

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        body = json.loads(request.body)
        self.seen.append(body.get("orderId") or body.get("to") or body["verificationId"])
        self.changed.set()
        await reader.read(1)  # held until the client hangs up
        return False


@pytest.fixture
async def holding() -> AsyncIterator[HoldingServer]:
    """A server that holds every request it receives."""
    async with HoldingServer() as server:
        yield server


async def _settle(predicate: Callable[[], bool]) -> None:
    """Let the event loop run until ``predicate()`` holds (no clock involved)."""
    while not predicate():  # noqa: ASYNC110 - the pool has no event for its queue
        await asyncio.sleep(0)


async def test_closing_during_thirty_calls_over_sockets_types_every_error(
    holding: HoldingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the SDK's own engine with a 10-connection pool: 10 calls written and held, 20
    waiting for a connection; aclose() ends all 30 with a TransportError whose ``sent`` is
    True exactly for the 10 the server received, and nothing more reaches the server."""
    monkeypatch.setattr(base_client, "DEFAULT_MAX_CONNECTIONS", POOL)
    calls = _calls()
    client = AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=holding.base_url,
        clock=lambda: FIXED_TIME,
        retry_policy=RetryPolicy(max_retries=2, base_delay=0.0, max_delay=0.0),
    )
    async with client:
        pool = client._network().own
        assert pool is not None
        tasks = [asyncio.ensure_future(call(client)) for _, call in calls]
        await holding.wait_for(POOL)
        await _settle(lambda: pool.stats().waiting == CALLS - POOL)
        await client.aclose()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    assert len(holding.seen) == POOL  # nothing more arrived: no retry, no queued request
    assert len(set(holding.seen)) == POOL
    for (name, _), outcome in zip(calls, outcomes, strict=True):
        assert isinstance(outcome, TransportError), f"{name}: {outcome!r}"
        assert outcome.sent is (name in holding.seen), f"{name}: {outcome!r}"
    assert sum(o.sent for o in outcomes if isinstance(o, TransportError)) == POOL


async def test_closing_during_calls_on_the_in_process_fake_starts_no_retry() -> None:
    """With the fake's latency holding 30 calls that will all be answered 503, aclose()
    while they are in flight: each ends with an ItnioError and the fake sees 30 requests,
    not one retry (reads would retry a 503 on an open client)."""
    fake = FakeItnio()
    fake.fail_next(503, times=10 * CALLS)
    fake.set_latency(0.5)
    arrived = 0
    all_in = asyncio.Event()

    def count(request: httpx.Request) -> None:
        nonlocal arrived
        arrived += 1
        if arrived == CALLS:
            all_in.set()

    calls = _calls()
    async with fake.client(event_hooks={"request": [count]}, max_retries=2) as client:
        tasks = [asyncio.ensure_future(call(client)) for _, call in calls]
        await all_in.wait()
        assert fake.requests == []  # every call is still inside the fake's latency
        await client.aclose()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    assert arrived == CALLS
    assert len(fake.requests) == CALLS
    for (name, _), outcome in zip(calls, outcomes, strict=True):
        assert isinstance(outcome, ItnioError), f"{name}: {outcome!r}"
        assert isinstance(outcome, HTTPStatusError), f"{name}: {outcome!r}"
        assert outcome.status_code == 503


async def test_a_call_sleeping_before_its_retry_sends_nothing_once_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read answered 503 with Retry-After sleeps before its retry; aclose() during that
    sleep: the retry is never sent and the call ends with the 503's HTTPStatusError."""
    sleep = GatedSleep(monkeypatch, 7.0)
    fake = FakeItnio()
    fake.fail_next(503, retry_after=7, path="/flow/details")
    async with fake.client() as client:
        task = asyncio.ensure_future(client.flows.get(1))
        await sleep.started.wait()  # the call sleeps before its retry
        await client.aclose()
        sleep.release()
        with pytest.raises(ItnioError) as info:
            await task
    assert sleep.slept == [7.0]
    assert len(fake.requests) == 1
    assert isinstance(info.value, HTTPStatusError)
    assert info.value.status_code == 503


class Unavailable(LoopbackServer):
    """HTTP/1.1 on 127.0.0.1 that answers every request 503 with ``Retry-After: 7``."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Request] = []

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.seen.append(request)
        writer.write(response(b"", 503, "Retry-After: 7", reason="Service Unavailable"))
        await writer.drain()
        return True


async def test_a_call_sleeping_before_its_retry_on_the_own_engine_is_never_sent_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the SDK's own engine, a retry due after aclose() never reaches the server and the
    call ends with an ItnioError that says nothing of it was sent a second time."""
    sleep = GatedSleep(monkeypatch, 7.0)
    async with (
        Unavailable() as server,
        AsyncItnio(
            API_KEY,
            API_SECRET,
            base_url=server.base_url,
            clock=lambda: FIXED_TIME,
            retry_policy=RetryPolicy(max_retries=2, base_delay=0.0, max_delay=0.0),
        ) as client,
    ):
        task = asyncio.ensure_future(client.flows.get(1))
        await sleep.started.wait()
        await client.aclose()
        sleep.release()
        with pytest.raises(ItnioError) as info:
            await task
    assert len(server.seen) == 1
    error = info.value
    assert isinstance(error, (HTTPStatusError, TransportError)), repr(error)
    if isinstance(error, TransportError):
        assert error.sent is False
