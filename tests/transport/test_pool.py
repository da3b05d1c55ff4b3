"""The pool: reuse and limits, waiting and PoolTimeout, "was it sent", aclose."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import resource
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from itnio_async._engine import WRITTEN, HTTP11Transport

from .._loopback import response
from .conftest import (
    GUARD,
    Peer,
    RawServer,
    answered,
    fails_after_sending,
    fails_before_sending,
    first_then,
    happened,
    held,
    idle_connections,
    make_request,
)


@contextlib.contextmanager
def descriptors_taken(count: int) -> Iterator[None]:
    """Hold ``count`` extra file descriptors open (so new sockets get high numbers)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 256:
        pytest.skip(f"RLIMIT_NOFILE {soft} is too low to open {count} descriptors")
    taken = [os.dup(0) for _ in range(count)]
    try:
        yield
    finally:
        for fd in taken:
            os.close(fd)


@pytest.fixture
async def other() -> AsyncIterator[RawServer]:
    """A second raw server (another origin), stopped after the test."""
    server = RawServer()
    await server.start()
    yield server
    await server.stop()
    server.check()


def port_of(peer: Peer) -> int:
    """The client's port of a server-side connection."""
    return int(peer.writer.get_extra_info("peername")[1])


async def test_connection_with_a_descriptor_above_1023_is_reused(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A socket numbered past select()'s FD_SETSIZE (1024) is still reused when idle."""
    with descriptors_taken(1100):
        for _ in range(3):
            await answered(transport, raw.url)
        (conn,) = idle_connections(transport)
        assert conn.fd >= 1024
        assert [len(peer.requests) for peer in raw.peers] == [3]


async def test_idle_connections_are_reused_last_in_first_out(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """With two idle connections, sequential calls keep to the most recently used one."""
    release = asyncio.Event()
    release.set()
    raw.handler = held(release)
    await asyncio.gather(answered(transport, raw.url), answered(transport, raw.url))
    assert transport.stats() == (2, 2, 0, 0)
    for _ in range(4):
        await answered(transport, raw.url)
    counts = sorted(len(peer.requests) for peer in raw.peers)
    assert counts == [1, 5]


async def test_pool_timeout_when_every_connection_is_busy(raw: RawServer) -> None:
    """All connections busy: the next request waits, then fails with PoolTimeout, unsent."""
    pool = HTTP11Transport(max_connections=2)
    release = asyncio.Event()
    raw.handler = held(release)
    try:
        busy = [asyncio.ensure_future(answered(pool, raw.url)) for _ in range(2)]
        await raw.requests_seen(2)
        assert pool.stats() == (2, 0, 2, 0)
        error = await fails_before_sending(pool, raw.url, httpx.Timeout(10.0, pool=0.1))
        assert isinstance(error, httpx.PoolTimeout)
        assert pool.stats().waiting == 0
        release.set()
        await asyncio.gather(*busy)
        assert len(raw.peers) == 2
        assert sum(raw.arrivals.values()) == 2
        await answered(pool, raw.url)  # the pool is whole
    finally:
        await pool.aclose()


async def test_waiters_are_served_first_come_first_served(raw: RawServer) -> None:
    """Requests waiting for the one connection get it in the order they asked."""
    pool = HTTP11Transport(max_connections=1)
    release = asyncio.Event()
    raw.handler = held(release)
    order: list[int] = []

    async def call(index: int) -> None:
        await answered(pool, raw.url)
        order.append(index)

    try:
        first = asyncio.ensure_future(call(0))
        await raw.requests_seen(1)
        waiting = []
        for index in range(1, 6):
            waiting.append(asyncio.ensure_future(call(index)))
            await asyncio.sleep(0)
        assert pool.stats().waiting == 5
        release.set()
        await asyncio.gather(first, *waiting)
        assert order == [0, 1, 2, 3, 4, 5]
        assert len(raw.peers) == 1
    finally:
        await pool.aclose()


async def test_waiter_for_another_origin_gets_a_slot(raw: RawServer, other: RawServer) -> None:
    """With one slot busy on origin A, a request for origin B proceeds once A's call ends."""
    pool = HTTP11Transport(max_connections=1)
    release = asyncio.Event()
    raw.handler = held(release)
    try:
        first = asyncio.ensure_future(answered(pool, raw.url))
        await raw.requests_seen(1)
        second = asyncio.ensure_future(answered(pool, other.url))
        await asyncio.sleep(0)
        assert pool.stats().waiting == 1
        release.set()
        await asyncio.gather(first, second)
        assert pool.stats() == (1, 1, 0, 0)
        assert (len(raw.peers), len(other.peers)) == (1, 1)
    finally:
        await pool.aclose()


async def test_idle_connection_of_another_origin_is_evicted(
    raw: RawServer, other: RawServer
) -> None:
    """A full pool of idle connections makes room for another origin without waiting."""
    pool = HTTP11Transport(max_connections=1)
    try:
        await answered(pool, raw.url)
        assert pool.stats() == (1, 1, 0, 0)
        request = make_request(other.url, timeout=httpx.Timeout(10.0, pool=0.001))
        assert (await pool.handle_async_request(request)).status_code == 200
        assert pool.stats() == (1, 1, 0, 0)
        await raw.peers[0].finished()  # the evicted one was closed
        assert raw.peers[0].partial == b""
    finally:
        await pool.aclose()


async def test_connection_handed_to_a_waiter_but_closed_since(raw: RawServer) -> None:
    """A connection closed by the server as it is handed to a waiter: the waiter reconnects."""
    pool = HTTP11Transport(max_connections=1)
    release = asyncio.Event()

    async def script(peer: Peer) -> None:
        request = await peer.request()
        assert request is not None
        await release.wait()
        peer.send(response(f"{request.id} GET ".encode()))
        peer.shutdown()  # the FIN follows the answer at once
        await peer.eof()

    raw.handler = first_then(script, held(release))
    try:
        first = asyncio.ensure_future(answered(pool, raw.url))
        await raw.requests_seen(1)
        second = asyncio.ensure_future(answered(pool, raw.url))
        await asyncio.sleep(0)
        assert pool.stats().waiting == 1
        release.set()
        await asyncio.gather(first, second)
        assert [len(peer.requests) for peer in raw.peers] == [1, 1]
        assert pool.stats().connections == 1
    finally:
        await pool.aclose()


# -- "was it sent" --------------------------------------------------------------------


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_a_connect_error(transport: HTTP11Transport) -> None:
    """Nothing listening: ConnectError, and the request is not marked written."""
    await fails_before_sending(transport, f"http://127.0.0.1:{closed_port()}")
    assert transport.stats() == (0, 0, 0, 0)
    assert transport._slots == 0


async def test_connect_timeout_is_unsent(transport: HTTP11Transport) -> None:
    """A server whose accept queue is full drops the SYN: ConnectTimeout, not written."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        with socket.create_connection(address, timeout=1):  # fills the accept queue
            with socket.socket() as probe:
                probe.settimeout(0.2)
                try:
                    probe.connect(address)
                except TimeoutError:
                    pass
                else:
                    pytest.skip("this kernel accepts past a full accept queue")
            limits = httpx.Timeout(10.0, connect=0.2)
            error = await fails_before_sending(transport, f"http://127.0.0.1:{address[1]}", limits)
    assert isinstance(error, httpx.ConnectTimeout)
    assert transport._slots == 0


async def test_closed_pool_is_a_connect_error(raw: RawServer) -> None:
    """A request to a closed pool: ConnectError, not written, no connection made."""
    pool = HTTP11Transport()
    await pool.aclose()
    await fails_before_sending(pool, raw.url)
    assert raw.peers == []


async def test_written_is_set_once_the_request_is_on_the_socket(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A caller cut off while waiting for the answer sees ``itnio.written`` already set."""
    release = asyncio.Event()
    raw.handler = held(release)
    request = make_request(raw.url)
    task = asyncio.ensure_future(transport.handle_async_request(request))
    await raw.requests_seen(1)
    assert request.extensions[WRITTEN] is True
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert transport.stats() == (0, 0, 0, 0)


# -- aclose ---------------------------------------------------------------------------


async def test_aclose_fails_requests_in_flight_and_waiting(raw: RawServer) -> None:
    """aclose: the request on the wire fails as sent, the waiting one as unsent (ConnectError)."""
    pool = HTTP11Transport(max_connections=1)
    raw.handler = held(asyncio.Event())  # never answers
    flying, waiting = make_request(raw.url), make_request(raw.url)
    first = asyncio.ensure_future(pool.handle_async_request(flying))
    await raw.requests_seen(1)
    second = asyncio.ensure_future(pool.handle_async_request(waiting))
    await asyncio.sleep(0)
    assert pool.stats() == (1, 0, 1, 1)
    await pool.aclose()
    with pytest.raises(httpx.TransportError) as in_flight:
        await first
    assert not isinstance(in_flight.value, httpx.ConnectError)
    assert flying.extensions[WRITTEN] is True
    with pytest.raises(httpx.ConnectError):
        await second
    assert WRITTEN not in waiting.extensions
    assert pool.stats() == (0, 0, 0, 0)
    assert await raw.peers[0].eof() == b""
    gc.collect()


async def test_aclose_closes_idle_connections(raw: RawServer) -> None:
    """aclose closes idle connections (the server sees EOF) and refuses new requests."""
    pool = HTTP11Transport()
    async with httpx.AsyncClient(transport=pool, timeout=GUARD) as client:
        assert (await client.get(raw.url)).status_code == 200
        assert pool.stats().idle == 1
    await raw.peers[0].finished()  # echo saw the client's EOF
    assert (len(raw.peers[0].requests), raw.peers[0].partial) == (1, b"")
    assert pool.stats() == (0, 0, 0, 0)
    await fails_before_sending(pool, raw.url)
    gc.collect()


@pytest.mark.parametrize("steps", range(12))
async def test_aclose_at_any_step_of_a_request(raw: RawServer, steps: int) -> None:
    """aclose after N loop steps of a request: it ends in an httpx error or its answer."""
    pool = HTTP11Transport()
    request = make_request(raw.url)
    task = asyncio.ensure_future(pool.handle_async_request(request))
    for _ in range(steps):
        await asyncio.sleep(0)
    await pool.aclose()
    try:
        reply = await task
    except httpx.ConnectError:
        assert WRITTEN not in request.extensions
    except httpx.TransportError:
        assert request.extensions[WRITTEN] is True
    else:
        assert reply.status_code == 200
    assert pool.stats() == (0, 0, 0, 0)
    await raw.stop()  # close the server side too before looking for leaks
    for _ in range(3):
        await asyncio.sleep(0)
    gc.collect()


async def test_request_after_stale_connection_has_exactly_one_copy(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A pooled connection the server closed (EOF seen): the request goes once, on a new one."""
    closed = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(response(b"first"))
        await peer.close()
        closed.set()

    raw.handler = first_then(script, held(closed))
    assert (await transport.handle_async_request(make_request(raw.url))).content == b"first"
    await happened(closed)
    (stale,) = idle_connections(transport) or [None]
    for _ in range(3):
        await asyncio.sleep(0)
    await answered(transport, raw.url)
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]
    assert stale is None or stale.broken


async def test_failure_after_sending_keeps_the_pool_whole(raw: RawServer) -> None:
    """With one connection, 20 failed exchanges in a row leave the slot free each time."""
    pool = HTTP11Transport(max_connections=1)

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(b"garbage\r\n\r\n")
        await peer.eof()

    raw.handler = script
    try:
        for _ in range(20):
            error = await fails_after_sending(pool, raw.url, limits=httpx.Timeout(10.0, pool=1))
            assert type(error) is httpx.RemoteProtocolError
        assert pool.stats() == (0, 0, 0, 0)
        assert pool._slots == 0
    finally:
        await pool.aclose()


async def test_failed_exchange_hands_its_slot_to_a_waiter(raw: RawServer) -> None:
    """With one slot, a request failing on the wire lets the waiting one connect afresh."""
    pool = HTTP11Transport(max_connections=1)
    release = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await release.wait()
        peer.send(b"garbage\r\n\r\n")
        await peer.eof()

    raw.handler = first_then(script, held(release))
    try:
        first = asyncio.ensure_future(fails_after_sending(pool, raw.url))
        await raw.requests_seen(1)
        second = asyncio.ensure_future(answered(pool, raw.url))
        await asyncio.sleep(0)
        assert pool.stats().waiting == 1
        release.set()
        assert type(await first) is httpx.RemoteProtocolError
        await second
        assert [len(peer.requests) for peer in raw.peers] == [1, 1]
        assert pool._slots == pool.stats().connections == 1
    finally:
        await pool.aclose()
