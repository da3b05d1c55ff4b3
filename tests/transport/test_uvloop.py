"""HTTP11Transport under uvloop (skipped where uvloop is not installed)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from itnio_async._engine import HTTP11Transport

from .._loopback import response
from .conftest import (
    Peer,
    RawServer,
    answered,
    first_then,
    happened,
    make_client,
    make_request,
)


async def _round_trips() -> None:
    raw = RawServer()
    await raw.start()
    pool = HTTP11Transport(max_connections=3)
    try:
        async with make_client(pool) as client:
            for _ in range(3):
                reply = await client.post(raw.url, content=b"body")
                assert reply.text == f"{reply.request.headers['x-id']} POST body"
            assert len(raw.peers) == 1
            replies = await asyncio.gather(*(client.get(raw.url) for _ in range(30)))
            assert all(r.text == f"{r.request.headers['x-id']} GET " for r in replies)
            assert len(raw.peers) <= 3
    finally:
        await raw.stop()
    raw.check()


async def _idle_close() -> None:
    raw = RawServer()
    await raw.start()
    closed = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(response(b"first"))
        peer.shutdown()
        closed.set()
        await peer.eof()

    raw.handler = first_then(script)
    pool = HTTP11Transport(max_connections=1)
    try:
        assert (await pool.handle_async_request(make_request(raw.url))).content == b"first"
        await happened(closed)
        await answered(pool, raw.url)
        assert [len(peer.requests) for peer in raw.peers] == [1, 1]
    finally:
        await pool.aclose()
        await raw.stop()
    raw.check()


def test_transport_under_uvloop() -> None:
    """Round trips, reuse, bounded concurrency and an idle close behave the same on uvloop."""
    uvloop = pytest.importorskip("uvloop")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_round_trips())
        runner.run(_idle_close())
    gc.collect()
