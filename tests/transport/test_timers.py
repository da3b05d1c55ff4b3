"""Read timeout and deadline on the pool's one timer (issue 20), driven by a jumping clock.

The ``clock`` fixture moves the loop's clock forward by tens of seconds at chosen
points, far more than a test takes in real time, so no outcome depends on the
machine's speed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from itnio_async._engine import DeadlineExceeded, HTTP11Transport, WireRequest

from .._loopback import response
from .conftest import Clock, Peer, RawServer, held, new_id

READ = 30.0


def wire(raw: RawServer, body: bytes = b"", **options: Any) -> WireRequest:
    head = f"Host: 127.0.0.1:{raw.port}\r\nX-Id: {new_id()}\r\n".encode()
    if body:
        head += b"Content-Length: %d\r\n" % len(body)
    return WireRequest("POST" if body else "GET", ("http", "127.0.0.1", raw.port), b"/", head,
                       body, **options)  # fmt: skip


def trickle(pieces: int, go: asyncio.Event, sent: asyncio.Event) -> Any:
    """A script: a head, then one body byte each time ``go`` is set (``sent`` after each)."""

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send_drained(response(b"", 200, f"Content-Length: {pieces}", length=False))
        sent.set()
        for _ in range(pieces):
            await go.wait()
            go.clear()
            await peer.send_drained(b"x")
            sent.set()
        await peer.eof()

    return script


async def test_a_body_trickled_slower_than_the_read_timeout_in_total_succeeds(
    raw: RawServer, transport: HTTP11Transport, clock: Clock
) -> None:
    """Read timeout 30 s; a byte every 20 s for 100 s: never idle 30 s, so it succeeds."""
    go, sent = asyncio.Event(), asyncio.Event()
    raw.handler = trickle(5, go, sent)
    task = asyncio.ensure_future(transport.exchange(wire(raw, read=READ)))
    for _ in range(5):
        await sent.wait()
        sent.clear()
        await clock.advance(20.0)
        assert not task.done()
        go.set()
    answer = await task
    assert answer.body == b"xxxxx"


async def test_nothing_for_the_read_timeout_is_a_read_timeout(
    raw: RawServer, transport: HTTP11Transport, clock: Clock
) -> None:
    """The same trickle, but 31 s without a byte after the second: ReadTimeout, written."""
    go, sent = asyncio.Event(), asyncio.Event()
    raw.handler = trickle(5, go, sent)
    request = wire(raw, read=READ)
    task = asyncio.ensure_future(transport.exchange(request))
    await sent.wait()
    sent.clear()
    go.set()
    await sent.wait()
    await clock.advance(29.0)
    assert not task.done()
    await clock.advance(2.0)
    with pytest.raises(httpx.ReadTimeout):
        await task
    assert request.written is True
    assert transport.stats() == (0, 0, 0, 0)


async def test_one_timer_for_many_calls(
    raw: RawServer, transport: HTTP11Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50 sequential calls with a read timeout and a deadline on a warm connection arm the
    loop's timers at most twice (today's engine armed two per call)."""
    loop = asyncio.get_running_loop()
    await transport.exchange(wire(raw, read=READ))  # warm: a connection, and the timer
    armed = []
    original = loop.call_at

    def counting(when: float, callback: Any, *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        armed.append(callback)
        return original(when, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counting)
    for _ in range(50):
        await transport.exchange(wire(raw, read=READ, deadline=loop.time() + 60))
    ours = [callback for callback in armed if "Timer" in repr(callback)]
    assert len(ours) <= 2, armed
    assert len(armed) == len(ours)


async def test_deadline_while_waiting_for_a_connection(raw: RawServer, clock: Clock) -> None:
    """The one connection is busy; the deadline passes in the queue: DeadlineExceeded, unsent."""
    pool = HTTP11Transport(max_connections=1)
    release = asyncio.Event()
    raw.handler = held(release)
    try:
        busy = asyncio.ensure_future(pool.exchange(wire(raw)))
        await raw.requests_seen(1)
        request = wire(raw, read=READ, pool=100.0, deadline=clock.time() + 50)
        task = asyncio.ensure_future(pool.exchange(request))
        await asyncio.sleep(0)
        assert pool.stats().waiting == 1
        await clock.advance(51.0)
        with pytest.raises(DeadlineExceeded):
            await task
        assert request.written is False
        release.set()
        await busy
        assert pool._slots == 1
    finally:
        await pool.aclose()


async def test_deadline_while_writing(
    raw: RawServer, transport: HTTP11Transport, clock: Clock
) -> None:
    """A server that stops reading a 32 MiB body; the deadline passes: DeadlineExceeded, sent."""

    async def script(peer: Peer) -> None:
        await peer.head()
        await peer.done.wait()

    raw.handler = script
    request = wire(raw, bytes(32 << 20), write=100.0, deadline=clock.time() + 50)
    task = asyncio.ensure_future(transport.exchange(request))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()
    await clock.advance(51.0)
    with pytest.raises(DeadlineExceeded):
        await task
    assert request.written is True
    assert transport.stats() == (0, 0, 0, 0)
