"""Closing (issue 20): cut bodies fail, connecting calls end, ended loops leave no socket.

Each test places its fault by bytes, events and loop steps; the threaded server of the
loop tests lives outside every event loop, so it sees the client's sockets close.
"""

from __future__ import annotations

import asyncio
import gc
import socketserver
import threading
import warnings
from collections.abc import Iterator

import httpx
import pytest

from itnio_async._engine import WRITTEN, HTTP11Transport

from .._loopback import response
from .conftest import GUARD, Peer, RawServer, held, make_request

pytest.importorskip("trustme")
import trustme  # after the skip: without trustme the module is skipped, not failed

from .test_tls import trusting


async def test_aclose_during_a_close_delimited_body_fails_the_call(raw: RawServer) -> None:
    """aclose() while a body delimited by the end of the connection is arriving: the call
    fails (ReadError, sent); the part received is never taken for the whole answer."""
    received = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send_drained(response(b"", 200, length=False), b'{"complete": "looking"}')
        received.set()
        await peer.eof()

    raw.handler = script
    pool = HTTP11Transport()
    request = make_request(raw.url)
    task = asyncio.ensure_future(pool.handle_async_request(request))
    async with asyncio.timeout(GUARD.read):
        await received.wait()
    for _ in range(3):
        await asyncio.sleep(0)
    await pool.aclose()
    with pytest.raises(httpx.ReadError, match="closed"):
        await task
    assert request.extensions[WRITTEN] is True


class Stalling:
    """A TCP listener that accepts and never answers (a TLS handshake to it stalls)."""

    def __init__(self) -> None:
        self.accepted = asyncio.Event()
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> int:
        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)
            self.accepted.set()

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.abort()
        await self.server.wait_closed()


async def test_aclose_ends_calls_still_connecting() -> None:
    """aclose() while calls are in their TLS handshake: each ends within a few loop steps
    with ConnectError ("the connection pool was closed"), never sent."""
    ca = trustme.CA()
    pool = HTTP11Transport(ssl_context=trusting(ca))
    stall = Stalling()
    async with stall as port:
        requests = [make_request(f"https://127.0.0.1:{port}") for _ in range(3)]
        tasks = [asyncio.ensure_future(pool.handle_async_request(r)) for r in requests]
        async with asyncio.timeout(GUARD.read):
            while len(stall.writers) < 3:
                stall.accepted.clear()
                await stall.accepted.wait()
        for _ in range(3):
            await asyncio.sleep(0)
        assert not any(task.done() for task in tasks)
        await pool.aclose()
        for _ in range(5):
            await asyncio.sleep(0)
        assert all(task.done() for task in tasks)
        for task, request in zip(tasks, requests, strict=True):
            with pytest.raises(httpx.ConnectError, match="pool was closed"):
                await task
            assert WRITTEN not in request.extensions
    assert pool.stats() == (0, 0, 0, 0)
    assert pool._slots == 0


# -- event loops that end --------------------------------------------------------------


class _Answer(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: ThreadedServer = self.server  # type: ignore[assignment]
        while True:
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                byte = self.rfile.read(1)
                if not byte:
                    server.eofs.release()
                    return
                head += byte
            self.wfile.write(response(b"ok"))


class ThreadedServer(socketserver.ThreadingTCPServer):
    """Answers every request with ``ok``, keep-alive; counts the client's closes (EOF)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.eofs = threading.Semaphore(0)

    @property
    def origin(self) -> tuple[str, str, int]:
        return ("http", "127.0.0.1", int(self.server_address[1]))

    def closed_by_client(self, count: int) -> None:
        """Wait until ``count`` client connections have been closed (fail, never hang)."""
        for _ in range(count):
            assert self.eofs.acquire(timeout=GUARD.read), "a client socket was left open"


@pytest.fixture
def threaded() -> Iterator[ThreadedServer]:
    server = ThreadedServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(GUARD.read)


async def _calls(pool: HTTP11Transport, origin: tuple[str, str, int], count: int) -> None:
    """``count`` concurrent calls (so ``count`` connections), each answered ``ok``."""
    url = f"http://127.0.0.1:{origin[2]}/"

    async def one() -> None:
        answer = await pool.handle_async_request(make_request(url))
        assert answer.content == b"ok"

    await asyncio.gather(*(one() for _ in range(count)))


def test_connections_close_when_asyncio_run_ends(threaded: ThreadedServer) -> None:
    """Three asyncio.run calls on one pool: each run's connections close as its loop shuts
    down (the server sees EOF), and the next run binds to its own loop."""
    pool = HTTP11Transport()
    for _ in range(3):
        asyncio.run(_calls(pool, threaded.origin, 4))
        threaded.closed_by_client(4)
        assert pool.stats() == (0, 0, 0, 0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert [str(w.message) for w in caught] == []


def test_abort_all_closes_connections_of_a_closed_loop(threaded: ThreadedServer) -> None:
    """A loop closed without shutdown_asyncgens leaves idle connections; abort_all() closes
    their sockets with no loop call, no ResourceWarning, and refuses new calls."""
    loop = asyncio.new_event_loop()
    pool = HTTP11Transport()
    try:
        loop.run_until_complete(_calls(pool, threaded.origin, 3))
    finally:
        loop.close()
    assert pool.stats().idle == 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pool.abort_all()
        threaded.closed_by_client(3)
        pool.abort_all()  # twice is harmless
        gc.collect()
    assert [str(w.message) for w in caught] == []
    assert pool.stats() == (0, 0, 0, 0)
    with pytest.raises(httpx.ConnectError, match="pool was closed"):
        asyncio.run(_calls(pool, threaded.origin, 1))


async def test_abort_all_from_a_running_loop_closes_at_the_next_step(raw: RawServer) -> None:
    """abort_all() inside the pool's running loop (or from a finalizer) closes everything at
    the next loop step; a call in flight fails as sent."""
    raw.handler = held(asyncio.Event())  # never answers
    pool = HTTP11Transport()
    request = make_request(raw.url)
    task = asyncio.ensure_future(pool.handle_async_request(request))
    await raw.requests_seen(1)
    pool.abort_all()
    with pytest.raises(httpx.ReadError):
        await task
    assert request.extensions[WRITTEN] is True
    assert pool.stats() == (0, 0, 0, 0)
    await asyncio.sleep(0)
