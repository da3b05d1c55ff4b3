"""Servers for the transport tests: a scripted raw asyncio server, uvicorn and aiohttp.web.

The raw server is the hostile one. Each accepted connection is a :class:`Peer` run by
the test's script (``raw.handler``), which reads requests and writes whatever bytes
the test wants, then closes, resets or stalls. Faults are placed by bytes and
events, never by the clock. Every request carries an ``X-Id`` header (stamped by
:func:`stamp`); the server counts arrivals per id and the fixture fails the test if
any id arrived twice (the send-duplication check) or a script raised unexpectedly.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import socket
import ssl
import struct
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import attrs
import httpx
import pytest

from itnio_async._engine import WRITTEN, HTTP11Transport

from .._loopback import LoopbackServer, response
from .._loopback import Request as LoopbackRequest

#: "Fail instead of hang" guard for every request of these tests.
GUARD = httpx.Timeout(10.0)
#: A read timeout for tests whose subject is the read timeout (the stall is indefinite).
SHORT_READ = httpx.Timeout(10.0, read=0.2)

_ids = itertools.count(1)


def new_id() -> str:
    """A request id unique within the test session."""
    return f"r{next(_ids)}"


async def stamp(request: httpx.Request) -> None:
    """Give ``request`` an ``X-Id`` header (the server counts arrivals per id)."""
    if "x-id" not in request.headers:
        request.headers["X-Id"] = new_id()


async def happened(event: asyncio.Event) -> None:
    """Wait for ``event``, failing instead of hanging if it never comes."""
    async with asyncio.timeout(GUARD.read):
        await event.wait()


def make_request(
    url: str,
    method: str = "GET",
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: httpx.Timeout = GUARD,
) -> httpx.Request:
    """A request with an ``X-Id`` and timeouts, for ``transport.handle_async_request``."""
    merged = {"X-Id": new_id(), **(headers or {})}
    return httpx.Request(
        method, url, content=content, headers=merged, extensions={"timeout": timeout.as_dict()}
    )


def chunked(*chunks: bytes, trailer: bytes = b"") -> bytes:
    """``chunks`` in chunked transfer coding, with the last chunk and optional trailers."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks if chunk)
    return out + b"0\r\n" + trailer + b"\r\n"


class Request(LoopbackRequest):
    """A request as the raw server read it."""

    @property
    def id(self) -> str:
        return self.headers.get("x-id", "")


class Peer:
    """One connection accepted by the raw server, driven by the test's script."""

    def __init__(
        self, server: RawServer, index: int, reader: asyncio.StreamReader, writer: Any
    ) -> None:
        self.server = server
        self.index = index
        self.reader = reader
        self.writer: asyncio.StreamWriter = writer
        self.requests: list[Request] = []
        #: Bytes of an incomplete request head when the client went away.
        self.partial = b""
        self.tls_error: BaseException | None = None
        #: Set when the script for this connection has returned.
        self.done = asyncio.Event()

    async def head(self) -> bytes | None:
        """The next request head, or None if the client closed first."""
        try:
            return await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            self.partial += exc.partial
            return None
        except ConnectionError:
            return None

    async def request(self) -> Request | None:
        """The next request (head and body), or None if the client closed first."""
        head = await self.head()
        if head is None:
            return None
        request = Request.of_head(head)
        headers = request.headers
        if "content-length" in headers:
            request = await request.with_body(self.reader)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n"))[:-2], 16):
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")  # no trailers
            request = attrs.evolve(request, body=b"".join(parts))
        self.requests.append(request)
        self.server.arrivals[request.id] += 1
        self.server.arrived.set()
        return request

    def send(self, *parts: bytes) -> None:
        """Write ``parts`` (each handed to the socket at once when its buffer is empty)."""
        for part in parts:
            self.writer.write(part)

    async def send_drained(self, *parts: bytes) -> None:
        """Write each part, drain, and let the event loop run twice so the client reads it."""
        for part in parts:
            self.writer.write(part)
            await self.writer.drain()
            await asyncio.sleep(0)
            await asyncio.sleep(0)

    def shutdown(self) -> None:
        """Send FIN now (with nothing buffered, write_eof shuts the socket down at once)."""
        self.writer.write_eof()

    def reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0)."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def eof(self) -> bytes:
        """Wait until the client closes; return what it sent meanwhile (stall until then)."""
        try:
            return await self.reader.read()
        except ConnectionError:
            return b""

    async def finished(self) -> None:
        """Wait until this connection's script has returned (e.g. echo saw the client's EOF)."""
        async with asyncio.timeout(GUARD.read):
            await self.done.wait()

    async def close(self) -> None:
        """Close (FIN) and wait until the socket is closed."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


Handler = Callable[[Peer], Awaitable[None]]


async def echo(peer: Peer) -> None:
    """Answer every request with ``ID METHOD BODY``, keep-alive."""
    while (request := await peer.request()) is not None:
        body = f"{request.id} {request.method} ".encode() + request.body
        peer.send(response(body))


class RawServer(LoopbackServer):
    """A scripted HTTP server on 127.0.0.1: ``handler`` runs once per connection."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.handler: Handler = echo
        self.tls = tls
        self.peers: list[Peer] = []
        self.arrivals: Counter[str] = Counter()
        self.errors: list[BaseException] = []
        #: Set whenever a connection is accepted / a request arrives.
        self.accepted = asyncio.Event()
        self.arrived = asyncio.Event()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(self, len(self.peers), reader, writer)
        self.peers.append(peer)
        self.accepted.set()
        try:
            if self.tls is not None:
                try:
                    await writer.start_tls(self.tls)
                except (ssl.SSLError, ConnectionError) as exc:
                    peer.tls_error = exc
                    peer.partial = await peer.eof()
                    return
            await self.handler(peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: part of most scenarios
        except asyncio.CancelledError:
            pass  # stop(): a plain return spares asyncio's "task cancelled" log line
        except Exception as exc:
            self.errors.append(exc)
        finally:
            writer.close()  # flushes what the script wrote, then FIN
            peer.done.set()

    async def end_connections(self) -> None:
        await super().end_connections()
        for peer in self.peers:
            peer.writer.transport.abort()  # a client that never read its bytes: drop them

    async def stop(self) -> None:
        await super().stop()
        await asyncio.sleep(0)  # let the aborted transports close their sockets

    async def requests_seen(self, count: int) -> None:
        """Wait until ``count`` requests have arrived over all connections."""
        async with asyncio.timeout(GUARD.read):
            while sum(self.arrivals.values()) < count:
                self.arrived.clear()
                await self.arrived.wait()

    def check(self) -> None:
        """No script failed and no request id arrived twice."""
        assert self.errors == []
        twice = {rid: n for rid, n in self.arrivals.items() if rid and n > 1}
        assert twice == {}, f"requests received more than once: {twice}"


@pytest.fixture
async def raw(loop_errors: list[dict[str, Any]]) -> AsyncIterator[RawServer]:
    """The scripted raw server (default script: keep-alive echo)."""
    server = RawServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
    server.check()


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What asyncio reports to the loop's exception handler during the test: must be nothing.

    That is where "Future exception was never retrieved", "unclosed transport" and
    exceptions in callbacks (protocol methods) go; gc.collect() at the end brings out
    the ones reported when an object is freed.
    """
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        yield errors
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert [context.get("message") for context in errors] == []


def make_client(transport: HTTP11Transport, timeout: httpx.Timeout = GUARD) -> httpx.AsyncClient:
    """An httpx client over ``transport`` that stamps every request with an ``X-Id``."""
    return httpx.AsyncClient(
        transport=transport, timeout=timeout, trust_env=False, event_hooks={"request": [stamp]}
    )


@pytest.fixture
async def transport() -> AsyncIterator[HTTP11Transport]:
    """An HTTP11Transport with 10 connections at most, closed after the test."""
    pool = HTTP11Transport(max_connections=10)
    yield pool
    await pool.aclose()


@pytest.fixture
async def client(transport: HTTP11Transport) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client over the ``transport`` fixture."""
    async with make_client(transport) as http:
        yield http


def idle_connections(pool: HTTP11Transport) -> list[Any]:
    """The pool's idle connections (of every origin)."""
    return [conn for conns in pool._idle.values() for conn in conns]


# -- real servers ---------------------------------------------------------------------


@dataclass
class RealServer:
    """A real HTTP server answering with a JSON echo; ``peers`` is each request's client port."""

    name: str
    url: str = ""
    peers: list[int] = field(default_factory=list)


async def _answer(server: RealServer, method: str, rid: str, body: bytes, port: int) -> bytes:
    server.peers.append(port)
    await asyncio.sleep(0)  # let concurrent requests overlap
    echoed = {"method": method, "id": rid, "body": body.decode("latin-1"), "peer": port}
    return json.dumps(echoed).encode()


def _bound_socket() -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on such sockets (else Nagle
    # holds uvicorn's last chunk for the client's delayed ACK, 40 ms a response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.asynccontextmanager
async def serve_uvicorn(http: str) -> AsyncIterator[RealServer]:
    """uvicorn (``http="h11"`` or ``"httptools"``) with an echo ASGI app in this loop."""
    import uvicorn

    real = RealServer(f"uvicorn-{http}")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        rid = dict(scope["headers"]).get(b"x-id", b"").decode()
        payload = await _answer(real, scope["method"], rid, body, scope["client"][1])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": payload})

    config = uvicorn.Config(
        app, http=http, lifespan="off", log_config=None, log_level="warning", ws="none"
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    sock = _bound_socket()
    await server.startup(sockets=[sock])
    real.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield real
    finally:
        # uvicorn's own shutdown() sleeps 0.1 s; closing and waiting by steps is enough here.
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        for _ in range(1000):
            if not (server.server_state.connections or server.server_state.tasks):
                break
            await asyncio.sleep(0)
        else:
            await server.shutdown(sockets=[sock])
        for listener in server.servers:
            await listener.wait_closed()
        sock.close()


@contextlib.asynccontextmanager
async def serve_aiohttp() -> AsyncIterator[RealServer]:
    """aiohttp.web with an echo handler in this loop."""
    from aiohttp import web

    real = RealServer("aiohttp")

    async def handle(request: web.Request) -> web.Response:
        assert request.transport is not None
        port = request.transport.get_extra_info("peername")[1]
        body = await request.read()
        rid = request.headers.get("X-Id", "")
        payload = await _answer(real, request.method, rid, body, port)
        return web.Response(body=payload)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = _bound_socket()
    site = web.SockSite(runner, sock)
    await site.start()
    real.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        yield real
    finally:
        await runner.cleanup()
        sock.close()


@pytest.fixture(params=["uvicorn-h11", "uvicorn-httptools", "aiohttp"])
async def real(request: pytest.FixtureRequest) -> AsyncIterator[RealServer]:
    """Each real server in turn: uvicorn with h11, uvicorn with httptools, aiohttp.web."""
    name: str = request.param
    server = serve_aiohttp() if name == "aiohttp" else serve_uvicorn(name.split("-")[1])
    async with server as running:
        yield running
    gc.collect()


def distinct(ports: Iterable[int]) -> int:
    """How many different client ports (connections) appear in ``ports``."""
    return len(set(ports))


# -- outcomes -------------------------------------------------------------------------

#: The errors that mean "the request never left": nothing was written to a socket.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


async def fails_after_sending(
    pool: HTTP11Transport, url: str, method: str = "GET", limits: httpx.Timeout = GUARD
) -> httpx.HTTPError:
    """Send a request that must fail after it was written; return its error."""
    request = make_request(url, method, timeout=limits)
    with pytest.raises(httpx.HTTPError) as caught:
        await pool.handle_async_request(request)
    error = caught.value
    assert not isinstance(error, NEVER_SENT), repr(error)
    assert request.extensions.get(WRITTEN) is True
    assert isinstance(error, httpx.RequestError)
    assert error.request is request
    return error


async def fails_before_sending(
    pool: HTTP11Transport, url: str, limits: httpx.Timeout = GUARD
) -> httpx.HTTPError:
    """Send a request that must fail before anything was written; return its error."""
    request = make_request(url, timeout=limits)
    with pytest.raises(NEVER_SENT) as caught:
        await pool.handle_async_request(request)
    assert WRITTEN not in request.extensions
    assert caught.value.request is request
    return caught.value


def held(release: asyncio.Event) -> Handler:
    """A script answering each request like :func:`echo`, but only once ``release`` is set."""

    async def script(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            await release.wait()
            peer.send(response(f"{request.id} {request.method} ".encode() + request.body))

    return script


def first_then(script: Handler, others: Handler = echo) -> Handler:
    """A handler running ``script`` on the first connection and ``others`` (:func:`echo`
    unless given) on the rest."""

    async def handler(peer: Peer) -> None:
        await (script(peer) if peer.index == 0 else others(peer))

    return handler


async def answered(
    pool: HTTP11Transport, url: str, method: str = "GET", limits: httpx.Timeout = GUARD
) -> httpx.Response:
    """A request that must succeed with :func:`echo`'s answer to it."""
    request = make_request(url, method, timeout=limits)
    reply = await pool.handle_async_request(request)
    assert reply.status_code == 200
    assert await reply.aread() == f"{request.headers['x-id']} {method} ".encode()
    return reply


class Clock:
    """The running loop's clock, moved forward by hand: ``loop.time()`` reads the real
    monotonic clock plus :attr:`offset`, so timers due within a jump fire at the next
    loop step. Tests that need time to pass jump it by far more than the test can take
    in real time, so the outcome never depends on how fast the machine is."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.offset = 0.0
        self._real = loop.time

    def time(self) -> float:
        return self._real() + self.offset

    async def advance(self, seconds: float, steps: int = 3) -> None:
        """Jump ``seconds`` ahead, then let the loop run ``steps`` steps (timers fire)."""
        self.offset += seconds
        for _ in range(steps):
            await asyncio.sleep(0)


@pytest.fixture
async def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The running loop's clock, which a test moves forward with ``await clock.advance(s)``."""
    loop = asyncio.get_running_loop()
    virtual = Clock(loop)
    monkeypatch.setattr(loop, "time", virtual.time)
    return virtual


@pytest.fixture(scope="package", autouse=True)
def _frozen_heap() -> Iterator[None]:
    """Freeze the objects alive before these tests, so each test's gc.collect() is quick."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
