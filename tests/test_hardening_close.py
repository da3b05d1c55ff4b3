"""Closing the client while calls are running (issue 12, item 5).

``aclose()`` with 30 calls running — reads, sends and verifies, some written and held
by the server, some still waiting for a connection of the pool — ends every one of
them with an :class:`ItnioError` subclass (never a bare ``RuntimeError``), with
``sent`` telling the truth: ``True`` for a request the server received, ``False``
for one that was still waiting for a connection. No retry starts once the client is
closed: the server's own count of requests proves it.

Held requests are held by an event (or until the client hangs up), never by a timer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    HTTPStatusError,
    ItnioError,
    RetryPolicy,
    TransportError,
)
from itnio_async import _base_client as base_client
from itnio_async.testing import FakeItnio

from ._loopback import LoopbackServer, Request, response
from .conftest import API_KEY, API_SECRET, FIXED_TIME
from .test_retries import GatedSleep

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
