"""A hostile server: resets, EOFs, stalls, bytes past the end, idle closes, keep-alive limits.

Every fault is placed by bytes and events (see the raw server in conftest); the only
clock is a read timeout where the read timeout is the subject.
"""

from __future__ import annotations

import asyncio
import hashlib

import httpx
import pytest

from itnio_async._engine import WRITTEN, HTTP11Transport
from itnio_async._engine._exchange import READ_BUFFER as _READ_BUFFER

from .._loopback import response
from .conftest import (
    SHORT_READ,
    Handler,
    Peer,
    RawServer,
    answered,
    echo,
    fails_after_sending,
    first_then,
    happened,
    idle_connections,
    make_client,
    make_request,
)

MiB = 1024 * 1024
#: A complete response that belongs to nobody: it must never answer a request.
FORGED = response(b"SOMEONE-ELSE")
OK = response(b"0123456789")
#: Prefixes of OK: cut in the status line, in the headers, and in the body.
PARTIAL_HEAD = OK[:12]
PARTIAL_HEADERS = OK[:25]
PARTIAL_BODY = OK[:-4]


@pytest.mark.parametrize(
    "sent",
    [b"", PARTIAL_HEAD, PARTIAL_HEADERS, PARTIAL_BODY],
    ids=["nothing", "partial-status-line", "partial-headers", "partial-body"],
)
async def test_reset_mid_response_is_a_read_error(
    raw: RawServer, transport: HTTP11Transport, sent: bytes
) -> None:
    """A TCP reset before the response is complete fails the request as sent, not as unsent."""

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(sent)
        peer.reset()

    raw.handler = first_then(script)
    error = await fails_after_sending(transport, raw.url)
    assert isinstance(error, httpx.ReadError)
    await answered(transport, raw.url)
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]


async def test_reset_after_the_full_response_keeps_the_answer(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A reset right after a complete response: the answer stands, the connection is not reused."""

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(OK)
        peer.reset()

    raw.handler = first_then(script)
    reply = await transport.handle_async_request(make_request(raw.url))
    assert reply.content == b"0123456789"
    await answered(transport, raw.url)
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        (b"", "before any response arrived"),
        (PARTIAL_HEAD, "before the response was complete"),
        (PARTIAL_HEADERS, "before the response was complete"),
        (PARTIAL_BODY, "before the response was complete"),
    ],
    ids=["nothing", "partial-status-line", "partial-headers", "partial-body"],
)
async def test_eof_mid_response_is_a_protocol_error(
    raw: RawServer, transport: HTTP11Transport, sent: bytes, message: str
) -> None:
    """The server closing (FIN) before the response is complete fails the request as sent."""

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(sent)
        await peer.close()

    raw.handler = first_then(script)
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.RemoteProtocolError
    assert message in str(error)
    await answered(transport, raw.url)


async def test_close_after_reading_the_request_head(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A server that reads only the head of a POST and closes: a sent error, no second copy."""

    async def script(peer: Peer) -> None:
        await peer.head()
        peer.writer.close()

    raw.handler = first_then(script)
    error = await fails_after_sending(transport, raw.url, "POST")
    assert isinstance(error, httpx.ReadError | httpx.RemoteProtocolError | httpx.WriteError)
    await answered(transport, raw.url, "POST")


@pytest.mark.parametrize(
    "sent", [b"", PARTIAL_HEADERS, PARTIAL_BODY], ids=["nothing", "partial-head", "partial-body"]
)
async def test_stall_is_a_read_timeout(
    raw: RawServer, transport: HTTP11Transport, sent: bytes
) -> None:
    """A server that stops sending (until the client gives up) ends in ReadTimeout."""

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(sent)
        await peer.eof()  # the stall: nothing more until the client closes

    raw.handler = first_then(script)
    error = await fails_after_sending(transport, raw.url, limits=SHORT_READ)
    assert isinstance(error, httpx.ReadTimeout)
    await answered(transport, raw.url)
    assert transport.stats().connections == 1


# -- bytes past the end of a response -------------------------------------------------


@pytest.mark.parametrize("extra", [FORGED, b"X"], ids=["forged-response", "junk"])
async def test_bytes_past_content_length_in_the_same_write(
    raw: RawServer, transport: HTTP11Transport, extra: bytes
) -> None:
    """Extra bytes right behind a response fail it; the next request is answered by its own."""

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(OK + extra)
        await peer.eof()

    raw.handler = first_then(script)
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.RemoteProtocolError
    assert "past the end" in str(error)
    await answered(transport, raw.url)
    await transport.aclose()
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]


async def test_empty_lines_behind_a_response_are_skipped(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """CRLFs right behind a response are the empty lines HTTP lets a parser skip: no error."""

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(OK + b"\r\n\r\n")
        await echo(peer)

    raw.handler = script
    assert (await transport.handle_async_request(make_request(raw.url))).content == b"0123456789"
    await answered(transport, raw.url)


async def test_bytes_past_the_end_before_the_response_is_picked_up(
    raw: RawServer, transport: HTTP11Transport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Extra bytes read after the response completed but before it was picked up fail it."""
    from itnio_async._engine._connection import Connection as _Connection

    original = _Connection.data_received

    def two_reads(self: _Connection, data: bytes) -> None:
        # The kernel handing over the response and the extra bytes in two reads
        # before the waiting task resumes.
        original(self, data[: len(OK)])
        if data[len(OK) :]:
            original(self, data[len(OK) :])

    monkeypatch.setattr(_Connection, "data_received", two_reads)

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(OK + FORGED)
        await peer.eof()

    raw.handler = first_then(script)
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.RemoteProtocolError
    monkeypatch.undo()
    await answered(transport, raw.url)
    assert len(raw.peers) == 2


@pytest.mark.parametrize("seen", [False, True], ids=["in-socket", "seen-by-loop"])
@pytest.mark.parametrize(
    "extra", [FORGED, b"X", b"\r\n", None], ids=["forged-response", "junk", "crlf", "fin"]
)
async def test_idle_connection_that_received_bytes_or_eof_is_not_reused(
    raw: RawServer, transport: HTTP11Transport, extra: bytes | None, seen: bool
) -> None:
    """Bytes or a FIN on an idle connection: the next request goes, once, on a new connection."""
    # in-socket: the next request starts before the loop has read them (only poll() on
    # the socket knows); seen-by-loop: the loop has read them first. Either way the
    # first connection never receives a second request and the forged answer nobody.
    go, sent = asyncio.Event(), asyncio.Event()
    leftover: list[bytes] = []

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(OK)
        await go.wait()
        if extra is None:
            peer.shutdown()  # the FIN leaves now, not at the next loop step
        else:
            peer.send(extra)
        sent.set()
        leftover.append(await peer.eof())

    raw.handler = first_then(script)
    first = await transport.handle_async_request(make_request(raw.url))
    assert first.content == b"0123456789"
    assert transport.stats().idle == 1
    go.set()
    await happened(sent)
    if seen:
        for _ in range(3):
            await asyncio.sleep(0)
        assert transport.stats() == (0, 0, 0, 0)  # the pool forgot the dead connection
    await answered(transport, raw.url)
    await transport.aclose()
    await raw.peers[0].finished()
    assert leftover == [b""]
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]


async def test_server_closing_idle_connections_between_calls(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A server that closes every connection once idle: each call succeeds on a fresh one."""
    closed = asyncio.Event()

    async def script(peer: Peer) -> None:
        request = await peer.request()
        assert request is not None
        peer.send(response(request.id.encode()))
        peer.shutdown()
        closed.set()
        await peer.eof()

    raw.handler = script
    async with make_client(transport) as client:
        for _ in range(5):
            closed.clear()
            reply = await client.get(raw.url)
            assert reply.text == reply.request.headers["x-id"]
            await happened(closed)
    assert [len(peer.requests) for peer in raw.peers] == [1] * 5


# -- keep-alive limits ----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [("Connection: close",), ("Keep-Alive: timeout=0",), ("Keep-Alive: timeout=5, max=1",)],
    ids=["connection-close", "keep-alive-timeout-0", "keep-alive-max-1"],
)
async def test_connection_not_kept_alive_is_not_reused(
    raw: RawServer, transport: HTTP11Transport, headers: tuple[str, ...]
) -> None:
    """A response that ends keep-alive: the server keeps the socket open, the client leaves it."""
    leftover: list[bytes] = []

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(response(b"bye", 200, *headers))
        leftover.append(await peer.eof())

    raw.handler = first_then(script)
    assert (await transport.handle_async_request(make_request(raw.url))).content == b"bye"
    await answered(transport, raw.url)
    await asyncio.wait_for(raw.peers[0].writer.wait_closed(), 10)
    assert leftover == [b""]
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]


async def test_request_saying_connection_close_is_the_last_on_its_connection(
    raw: RawServer, client: httpx.AsyncClient
) -> None:
    """A request saying ``Connection: close`` is the last on its connection (RFC 9112 9.6)."""
    # The server's answer does not repeat the close, and the server keeps reading.
    leftover: list[bytes] = []

    async def script(peer: Peer) -> None:
        request = await peer.request()
        assert request is not None
        assert request.headers["connection"] == "close"
        peer.send(response(b"last"))
        leftover.append(await peer.eof())

    raw.handler = first_then(script)
    reply = await client.get(raw.url, headers={"Connection": "close"})
    assert reply.text == "last"
    assert (await client.get(raw.url)).status_code == 200
    await raw.peers[0].finished()
    assert leftover == [b""]
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]


async def test_keep_alive_timeout_sets_the_idle_expiry(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """``Keep-Alive: timeout=5`` makes an idle connection usable for 4 s, not at 4 s."""

    async def script(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            peer.send(response(request.id.encode(), 200, "Keep-Alive: timeout=5, max=100"))

    raw.handler = script
    await transport.handle_async_request(make_request(raw.url))
    (conn,) = idle_connections(transport)
    assert conn.expiry == 4.0
    assert conn.usable(conn.idle_since + 3.99)
    assert not conn.usable(conn.idle_since + 4.0)
    # Over the socket: the same connection while fresh, a new one once 4 s idle.
    await transport.handle_async_request(make_request(raw.url))
    assert len(raw.peers) == 1
    (conn,) = idle_connections(transport)
    conn.idle_since -= 4.0  # as if it had sat idle for 4 s
    await transport.handle_async_request(make_request(raw.url))
    assert [len(peer.requests) for peer in raw.peers] == [2, 1]


async def test_a_short_keep_alive_timeout_still_allows_reuse(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """``Keep-Alive: timeout=1`` keeps an idle connection usable for half a second."""

    async def script(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            peer.send(response(request.id.encode(), 200, "Keep-Alive: timeout=1"))

    raw.handler = script
    await transport.handle_async_request(make_request(raw.url))
    (conn,) = idle_connections(transport)
    assert conn.expiry == 0.5
    assert conn.usable(conn.idle_since + 0.49)
    assert not conn.usable(conn.idle_since + 0.5)
    await transport.handle_async_request(make_request(raw.url))
    assert [len(peer.requests) for peer in raw.peers] == [2]


async def test_keepalive_expiry_applies_without_a_server_timeout(raw: RawServer) -> None:
    """Without a server ``Keep-Alive`` header, ``keepalive_expiry`` bounds idle reuse."""
    pool = HTTP11Transport(keepalive_expiry=2.0)
    try:
        await answered(pool, raw.url)
        (conn,) = idle_connections(pool)
        assert conn.usable(conn.idle_since + 1.99)
        assert not conn.usable(conn.idle_since + 2.0)
        conn.idle_since -= 2.0
        await answered(pool, raw.url)
        assert [len(peer.requests) for peer in raw.peers] == [1, 1]
    finally:
        await pool.aclose()


# -- requests that must not leave -----------------------------------------------------


@pytest.mark.parametrize(
    "value", ["a\r\nX-Injected: 1", "a\nX-Injected: 1", "a\rb", "a\x00b"], ids=repr
)
async def test_header_injection_is_refused_before_sending(
    raw: RawServer, client: httpx.AsyncClient, value: str
) -> None:
    """CR, LF or NUL in a header value: LocalProtocolError, and the server sees no connection."""
    with pytest.raises(httpx.LocalProtocolError):
        await client.get(raw.url, headers={"X-Value": value})
    assert raw.peers == []
    assert (await client.get(raw.url)).status_code == 200


# -- writing --------------------------------------------------------------------------


async def test_server_not_reading_the_body_is_a_write_timeout(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A server that stops reading mid-body (until the client gives up): WriteTimeout, sent."""

    async def script(peer: Peer) -> None:
        await peer.head()
        await peer.done.wait()  # never reads again: the stall

    raw.handler = first_then(script)
    request = make_request(
        raw.url, "POST", content=bytes(32 * MiB), timeout=httpx.Timeout(10.0, write=0.2)
    )
    with pytest.raises(httpx.WriteTimeout):
        await transport.handle_async_request(request)
    assert request.extensions[WRITTEN] is True
    assert transport.stats() == (0, 0, 0, 0)
    await answered(transport, raw.url)


async def test_large_body_is_written_through_flow_control(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A 16 MiB body (the transport pauses writing) arrives whole and is answered."""
    body = bytes(range(256)) * (16 * 4096)

    async def script(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            peer.send(response(hashlib.sha256(request.body).hexdigest().encode()))

    raw.handler = script
    reply = await transport.handle_async_request(make_request(raw.url, "POST", content=body))
    assert reply.text == hashlib.sha256(body).hexdigest()
    assert transport.stats() == (1, 1, 0, 0)


async def test_server_closing_mid_body_is_a_write_error(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """The server closing while a large body is still being written: WriteError, sent."""

    async def script(peer: Peer) -> None:
        await peer.head()
        peer.reset()

    raw.handler = first_then(script)
    request = make_request(raw.url, "POST", content=bytes(32 * MiB))
    with pytest.raises(httpx.WriteError):
        await transport.handle_async_request(request)
    assert request.extensions[WRITTEN] is True
    await answered(transport, raw.url)


@pytest.mark.parametrize(
    ("value", "expiry"),
    [
        ("timeout=abc, max=50", 4.0),
        ("max=50", 4.0),
        ("timeout=3", 2.0),
        ("TIMEOUT = 3 , MAX = 7", 2.0),
        ("timeout=0", 0.0),
        # Above the client's own 4 s, a server's timeout never lengthens the expiry.
        ("timeout=6", 4.0),
        ("timeout=60", 4.0),
        ("timeout=3600, max=1000", 4.0),
    ],
)
async def test_keep_alive_header_parsing(
    raw: RawServer, transport: HTTP11Transport, value: str, expiry: float
) -> None:
    """``Keep-Alive`` parameters: a malformed one is ignored, ``timeout`` shortens the expiry."""
    raw.handler = first_then(answer_once_keep_alive(value))
    await transport.handle_async_request(make_request(raw.url))
    (conn,) = idle_connections(transport) or transport._open
    assert conn.expiry == expiry


@pytest.mark.parametrize(
    ("value", "expiry"),
    [("timeout=10", 9.0), ("timeout=60", 20.0), ("timeout=21", 20.0), ("max=5", 20.0)],
)
async def test_keep_alive_timeout_under_a_long_client_expiry(
    raw: RawServer, value: str, expiry: float
) -> None:
    """With ``keepalive_expiry=20``: a server's 10 s shortens it to 9, its 60 s does not
    lengthen it."""
    pool = HTTP11Transport(keepalive_expiry=20.0)
    raw.handler = first_then(answer_once_keep_alive(value))
    try:
        await pool.handle_async_request(make_request(raw.url))
        (conn,) = idle_connections(pool)
        assert conn.expiry == expiry
        assert conn.usable(conn.idle_since + expiry - 0.01)
        assert not conn.usable(conn.idle_since + expiry)
    finally:
        await pool.aclose()


def answer_once_keep_alive(value: str) -> Handler:
    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(response(b"ok", 200, f"Keep-Alive: {value}"))
        await echo(peer)

    return script


async def test_no_timeouts_at_all(raw: RawServer, transport: HTTP11Transport) -> None:
    """A request without any timeout (``httpx.Timeout(None)``) is answered."""
    request = make_request(raw.url, timeout=httpx.Timeout(None))
    assert (await transport.handle_async_request(request)).status_code == 200


async def test_unsupported_scheme(transport: HTTP11Transport) -> None:
    """A URL that is neither http nor https: UnsupportedProtocol, nothing attempted."""
    with pytest.raises(httpx.UnsupportedProtocol):
        await transport.handle_async_request(httpx.Request("GET", "ftp://127.0.0.1/"))


def exactly(size: int) -> bytes:
    """A response of exactly ``size`` bytes."""
    body = b""
    while len(answer := response(body)) != size:
        body = b"b" * (len(body) + size - len(answer))
    return answer


@pytest.mark.parametrize("method", ["HEAD", "GET"])
async def test_answer_and_extra_bytes_in_one_large_read(raw: RawServer, method: str) -> None:
    """An answer and 100 kB more in one read past the head allowance: no desync, HEAD or not."""
    # A HEAD answer stands (its connection is dropped), a GET answer is a protocol
    # error. The GET answer fills the head allowance exactly, so the extra bytes start
    # where the read is split.
    pool = HTTP11Transport(max_head_size=1024)
    allowance = 1024 + _READ_BUFFER
    answer = response(b"", 200, "Content-Length: 9", length=False)
    if method == "GET":
        answer = exactly(allowance)

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(answer + FORGED * 2000)
        await peer.eof()

    raw.handler = first_then(script)
    try:
        if method == "HEAD":
            reply = await pool.handle_async_request(make_request(raw.url, "HEAD"))
            assert (reply.status_code, reply.content) == (200, b"")
        else:
            error = await fails_after_sending(pool, raw.url)
            assert type(error) is httpx.RemoteProtocolError
        await answered(pool, raw.url)
        assert [len(peer.requests) for peer in raw.peers] == [1, 1]
    finally:
        await pool.aclose()
