"""The pool's one timer: an exchange watched after another, but due earlier, is failed at
its own due time, not at the first exchange's (the timer is re-armed earlier)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from itnio_async._engine import HTTP11Transport, WireRequest

from .conftest import GUARD, Clock, RawServer, held, new_id


def wire(raw: RawServer, **options: Any) -> WireRequest:
    head = f"Host: 127.0.0.1:{raw.port}\r\nX-Id: {new_id()}\r\n".encode()
    return WireRequest("GET", ("http", "127.0.0.1", raw.port), b"/", head, b"", **options)


async def test_a_later_exchange_due_earlier_times_out_first(
    raw: RawServer, transport: HTTP11Transport, clock: Clock
) -> None:
    """Read timeouts of 300 s, then 30 s (both written, neither answered): 31 s on, the
    second has failed with ReadTimeout and the first still waits; 300 s on, both have."""
    raw.handler = held(asyncio.Event())
    slow = asyncio.ensure_future(transport.exchange(wire(raw, connect=GUARD.connect, read=300.0)))
    await raw.requests_seen(1)
    quick = asyncio.ensure_future(transport.exchange(wire(raw, connect=GUARD.connect, read=30.0)))
    await raw.requests_seen(2)
    await clock.advance(31.0)
    assert quick.done()
    assert not slow.done()
    with pytest.raises(httpx.ReadTimeout):
        await quick
    await clock.advance(300.0)
    with pytest.raises(httpx.ReadTimeout):
        await slow
