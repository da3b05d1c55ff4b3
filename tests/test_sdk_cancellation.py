"""Cancellation at any point of a call leaves the SDK's own pool whole.

Through ``AsyncItnio`` on its own engine, against a real server on 127.0.0.1: a call
(a read, or a send) is cancelled after each of its first 30 event-loop steps, counted
with ``await asyncio.sleep(0)`` (never time), and then three calls must succeed. The
server answers a few loop steps after it has read a request, so cancellations land
before the connection exists, while it is written, while the server holds it, and
while the answer is read. After every round the engine's pool must have no busy
connection and no waiter — with the default pool, and with one connection
(``transport=HTTP11Transport(max_connections=1)``: the pool size is not a public option).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import httpx
import pytest

from itnio_async import AsyncItnio, SendResult
from itnio_async._base_client import DEFAULT_MAX_CONNECTIONS
from itnio_async._engine import HTTP11Transport

from ._loopback import LoopbackServer, Request, success
from .conftest import API_KEY, API_SECRET

STEPS = 30
#: Loop steps the server waits between reading a request and answering it.
SERVER_STEPS = 5
NUMBER = "8613800138000"


class StepServer(LoopbackServer):
    """A keep-alive HTTP/1.1 server that answers ``SERVER_STEPS`` loop steps after a request."""

    def __init__(self) -> None:
        super().__init__()
        self.received = 0
        self.answered = 0

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        assert request.headers["sign"]
        self.received += 1
        for _ in range(SERVER_STEPS):
            await asyncio.sleep(0)
        writer.write(success(self._data(request)))
        await writer.drain()
        self.answered += 1
        return True

    @staticmethod
    def _data(request: Request) -> dict[str, Any]:
        if request.method == "GET":
            flow_id = int(request.target.rsplit("/", 1)[1])
            return {"flowId": flow_id, "name": "flow", "flow": []}
        sent = json.loads(request.body)
        return {"verificationId": "c" * 32, "to": sent["to"], "channel": "sms"}


@attrs.frozen
class Round:
    """One cancellation round: after how many steps, and what the call had reached."""

    steps: int
    cancelled: bool
    reached_server: bool


def read(client: AsyncItnio, n: int) -> Awaitable[Any]:
    """A read: GET /flow/details/{n}."""
    return client.flows.get(n)


def send(client: AsyncItnio, n: int) -> Awaitable[Any]:
    """A send: POST /verification/send."""
    return client.verifications.send(app_id="ad454212", template_id=n, to=NUMBER)


async def check_succeeds(
    call: Callable[[AsyncItnio, int], Awaitable[Any]], client: AsyncItnio
) -> None:
    """Three calls of the same kind succeed, and each answer is its own."""
    for n in (101, 102, 103):
        result = await call(client, n)
        if isinstance(result, SendResult):
            assert result.to == NUMBER
        else:
            assert result.flow_id == n


def assert_pool_idle(client: AsyncItnio, max_connections: int) -> None:
    """No busy connection and no waiting request in the client's own pool."""
    transport = client._engine().transport
    assert isinstance(transport, HTTP11Transport)
    stats = transport.stats()
    assert (stats.busy, stats.waiting) == (0, 0), stats
    assert stats.connections <= max_connections


async def cancel_after(steps: int, call: Awaitable[Any], server: StepServer) -> Round:
    """Start ``call``, let it run ``steps`` loop steps, then cancel it (if not done)."""
    received = server.received
    task = asyncio.ensure_future(call)
    for _ in range(steps):
        await asyncio.sleep(0)
    cancelled = task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        assert cancelled
    else:
        assert task.done()
    return Round(steps, cancelled, server.received > received)


@contextlib.asynccontextmanager
async def make_client(server: StepServer, pool: str) -> AsyncIterator[tuple[AsyncItnio, int]]:
    """A client on its own engine: the default pool, or one connection via transport=."""
    options: dict[str, Any] = {"max_retries": 0}
    size = DEFAULT_MAX_CONNECTIONS
    if pool == "one":
        size = 1
        options["transport"] = HTTP11Transport(max_connections=1)
        # A slot leaked by a cancelled call would make the next calls wait: fail, don't hang.
        options["timeout"] = httpx.Timeout(10.0, pool=1.0)
    async with AsyncItnio(API_KEY, API_SECRET, base_url=server.base_url, **options) as client:
        yield client, size


def assert_every_phase_was_hit(rounds: list[Round]) -> None:
    """Cancellations landed before the request reached the server and after it did, and
    the call completes within the steps tried (so every step of it was covered)."""
    assert any(r.cancelled and not r.reached_server for r in rounds)
    assert any(r.cancelled and r.reached_server for r in rounds)
    assert not rounds[-1].cancelled


@pytest.mark.parametrize("pool", ["default", "one"])
@pytest.mark.parametrize("kind", ["read", "send"])
async def test_cancel_after_each_step_on_a_warm_client(kind: str, pool: str) -> None:
    """One client throughout (its kept-alive connection reused): after a cancellation at
    each of the first 30 steps, three calls succeed and the pool has nothing busy."""
    call = read if kind == "read" else send
    rounds: list[Round] = []
    async with StepServer() as server, make_client(server, pool) as (client, size):
        await check_succeeds(call, client)
        for steps in range(STEPS):
            rounds.append(await cancel_after(steps, call(client, 7), server))
            assert_pool_idle(client, size)
            await check_succeeds(call, client)
            assert_pool_idle(client, size)
    assert_every_phase_was_hit(rounds)
    assert server.answered >= 3 * (STEPS + 1)


@pytest.mark.parametrize("pool", ["default", "one"])
@pytest.mark.parametrize("kind", ["read", "send"])
async def test_cancel_after_each_step_of_a_clients_first_call(kind: str, pool: str) -> None:
    """A new client per round: the cancelled call is the client's first (engine creation and
    connect included); three calls on that client succeed afterwards."""
    call = read if kind == "read" else send
    rounds: list[Round] = []
    async with StepServer() as server:
        for steps in range(STEPS):
            async with make_client(server, pool) as (client, size):
                rounds.append(await cancel_after(steps, call(client, 7), server))
                assert_pool_idle(client, size)
                await check_succeeds(call, client)
                assert_pool_idle(client, size)
    assert_every_phase_was_hit(rounds)


@pytest.mark.parametrize("kind", ["read", "send"])
async def test_cancelled_calls_close_their_connections(kind: str) -> None:
    """With one connection, a call cancelled while the server holds it is not answered on a
    reused connection: each later call gets its own answer (no desync)."""
    call = read if kind == "read" else send
    async with StepServer() as server, make_client(server, "one") as (client, size):
        for _ in range(5):
            before = server.received
            task = asyncio.ensure_future(call(client, 9))
            while server.received == before:  # noqa: ASYNC110 - steps, not time, are counted
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert_pool_idle(client, size)
            await check_succeeds(call, client)
        transport = client._engine().transport
        assert isinstance(transport, HTTP11Transport)
        assert transport.stats().connections <= 1
    assert server.connections >= 6  # each held request's connection was closed, not reused
