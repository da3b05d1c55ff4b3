"""Cancellation at any point leaves the pool whole (counted in loop steps, not time)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from itnio_async._engine import HTTP11Transport

from .._loopback import response
from .conftest import (
    Handler,
    Peer,
    RawServer,
    answered,
    held,
    make_client,
    make_request,
)

#: A leaked slot makes the calls after a cancellation fail with PoolTimeout (fast).
LIMITS = httpx.Timeout(10.0, pool=2.0)
STEPS = range(30)


def assert_whole(pool: HTTP11Transport, max_connections: int) -> None:
    """No busy connection, no waiter, no leaked slot, no more connections than allowed."""
    stats = pool.stats()
    assert (stats.busy, stats.waiting) == (0, 0), stats
    assert stats.connections <= max_connections
    assert pool._slots == stats.connections


def answering(release: asyncio.Event | None, fresh: bool) -> Handler:
    """Echo each request (once ``release`` is set); ``fresh``: one request per connection."""

    async def script(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            if release is not None:
                await release.wait()
            close = ("Connection: close",) if fresh else ()
            peer.send(response(f"{request.id} {request.method} ".encode(), 200, *close))
            if fresh:
                return

    return script


@pytest.mark.parametrize("connection", ["pooled", "fresh"])
@pytest.mark.parametrize("server", ["immediate", "delayed", "queued", "handover"])
async def test_cancel_at_every_step_with_one_connection(
    raw: RawServer, server: str, connection: str
) -> None:
    """Cancel a request after 0..29 loop steps; three calls then succeed on a 1-connection pool."""
    # immediate: the server answers at once; delayed: once an event is set (after the
    # cancel); queued: another request holds the one connection, so the cancelled one
    # waits in the pool; handover: that other request is answered as the cancelled one
    # starts waiting, so the steps sweep across the connection (or, when it closes, its
    # slot) being handed over. fresh: the server closes after each answer, so every
    # request connects (early steps cancel it while connecting).
    pool = HTTP11Transport(max_connections=1)
    release = asyncio.Event()
    fresh = connection == "fresh"
    raw.handler = answering(None if server == "immediate" else release, fresh)
    try:
        for steps in STEPS:
            release.clear()
            blocker = None
            if server in ("queued", "handover"):
                seen = sum(raw.arrivals.values())
                blocker = asyncio.ensure_future(answered(pool, raw.url, limits=LIMITS))
                await raw.requests_seen(seen + 1)
            task = asyncio.ensure_future(
                pool.handle_async_request(make_request(raw.url, timeout=LIMITS))
            )
            if server == "handover":
                await asyncio.sleep(0)  # the request is waiting in the pool
                assert pool.stats().waiting == 1
                release.set()
            for _ in range(steps):
                await asyncio.sleep(0)
            task.cancel()
            try:
                reply = await task
            except asyncio.CancelledError:
                pass
            else:  # finished before the cancel reached it
                assert reply.status_code == 200
            release.set()
            if blocker is not None:
                await blocker
            for _ in range(3):
                await answered(pool, raw.url, limits=LIMITS)
            assert_whole(pool, 1)
    finally:
        await pool.aclose()


async def test_cancel_at_every_step_through_httpx(raw: RawServer) -> None:
    """The same through ``httpx.AsyncClient``, with a server answering only after the cancel."""
    pool = HTTP11Transport(max_connections=1)
    release = asyncio.Event()
    raw.handler = held(release)
    async with make_client(pool, LIMITS) as client:
        for steps in STEPS:
            release.clear()
            task = asyncio.ensure_future(client.get(raw.url))
            for _ in range(steps):
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            release.set()
            for _ in range(3):
                assert (await client.get(raw.url)).status_code == 200
            assert_whole(pool, 1)


async def test_cancel_many_concurrent_requests(raw: RawServer) -> None:
    """Cancel 20 requests at once (some on the wire, most waiting) on a 3-connection pool."""
    pool = HTTP11Transport(max_connections=3)
    release = asyncio.Event()
    raw.handler = held(release)
    try:
        for steps in range(0, 30, 3):
            release.clear()
            tasks = [
                asyncio.ensure_future(
                    pool.handle_async_request(make_request(raw.url, timeout=LIMITS))
                )
                for _ in range(20)
            ]
            for _ in range(steps):
                await asyncio.sleep(0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            release.set()
            await asyncio.gather(*(answered(pool, raw.url, limits=LIMITS) for _ in range(6)))
            assert_whole(pool, 3)
    finally:
        await pool.aclose()
