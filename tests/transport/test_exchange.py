"""``exchange()``: the engine's own API, WireRequest in, WireResponse out, no httpx objects."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from itnio_async._engine import (
    DeadlineExceeded,
    HTTP11Transport,
    WireRequest,
    WireResponse,
)

from .conftest import GUARD, Clock, RawServer, held, new_id


def wire(
    raw: RawServer, method: str = "GET", body: bytes = b"", **options: float | bool | None
) -> WireRequest:
    """A WireRequest to the raw server, stamped with an ``X-Id``."""
    head = f"Host: 127.0.0.1:{raw.port}\r\nX-Id: {new_id()}\r\n".encode()
    if body:
        head += b"Content-Length: %d\r\n" % len(body)
    settings: dict[str, float | bool | None] = {"connect": GUARD.connect, "read": GUARD.read}
    settings.update(options)
    return WireRequest(method, ("http", "127.0.0.1", raw.port), b"/x", head, body, **settings)  # type: ignore[arg-type]


def rid(request: WireRequest) -> bytes:
    return request.head.split(b"X-Id: ", 1)[1].split(b"\r\n", 1)[0]


async def test_exchange_round_trip(raw: RawServer, transport: HTTP11Transport) -> None:
    """A POST through exchange(): the echo comes back, ``written`` is set, no secrets in reprs."""
    request = wire(raw, "POST", b"secret-body")
    answer = await transport.exchange(request)
    assert isinstance(answer, WireResponse)
    assert (answer.status, answer.reason) == (200, b"OK")
    assert answer.body == rid(request) + b" POST secret-body"
    assert request.written is True
    assert b"secret" not in repr(request).encode() + repr(answer).encode()
    assert "X-Id" not in repr(request)
    assert transport.stats() == (1, 1, 0, 0)


async def test_deadline_while_waiting_for_the_answer(
    raw: RawServer, transport: HTTP11Transport, clock: Clock
) -> None:
    """A deadline passing after the request was written: DeadlineExceeded, written."""
    raw.handler = held(asyncio.Event())
    request = wire(raw, read=None, deadline=clock.time() + 60)
    task = asyncio.ensure_future(transport.exchange(request))
    await raw.requests_seen(1)
    assert not task.done()
    await clock.advance(61)
    with pytest.raises(DeadlineExceeded) as caught:
        await task
    assert isinstance(caught.value, httpx.TimeoutException)
    assert request.written is True
    assert transport.stats() == (0, 0, 0, 0)


async def test_deadline_already_passed_sends_nothing(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A deadline already in the past: DeadlineExceeded before anything is written."""
    request = wire(raw, deadline=asyncio.get_running_loop().time() - 1)
    with pytest.raises(DeadlineExceeded):
        await transport.exchange(request)
    assert request.written is False
    assert raw.arrivals == {}
    assert transport.stats() == (0, 0, 0, 0)
