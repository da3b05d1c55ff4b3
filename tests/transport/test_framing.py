"""Framing and limits: lengths, chunking, EOF bodies, 1xx, HEAD/204/304, sizes, codings."""

from __future__ import annotations

import functools
import gzip
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable

import httpx
import pytest

from itnio_async._engine import DEFAULT_MAX_RESPONSE_SIZE, HTTP11Transport, ResponseTooLarge

from .._loopback import response
from .conftest import (
    GUARD,
    SHORT_READ,
    Peer,
    RawServer,
    answered,
    chunked,
    echo,
    fails_after_sending,
    first_then,
    make_request,
)

MiB = 1024 * 1024
#: A read timeout for streaming scripts: a stall after the stream means a client that
#: failed to stop it fails fast (ReadTimeout, not ResponseTooLarge).
STREAM_READ = httpx.Timeout(10.0, read=1.0)


def answer_once(*parts: bytes, then: str = "echo") -> Callable[[Peer], Awaitable[None]]:
    """A script: read one request, write ``parts``; then ``echo`` on, ``close`` or ``stall``."""

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(*parts)
        if then == "echo":
            await echo(peer)
        elif then == "stall":
            await peer.eof()
        else:
            await peer.close()

    return script


def streaming(
    head: bytes, piece: bytes, total: int, *, one_read_each: bool = False
) -> Callable[[Peer], Awaitable[None]]:
    """A script: after one request, write ``head`` then ``piece`` until ``total`` bytes, stall.

    ``one_read_each``: let the client read each piece before the next is written.
    """

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(head)
        sent = 0
        while sent < total:
            if one_read_each:
                await peer.send_drained(piece)
            else:
                peer.send(piece)
                await peer.writer.drain()
            sent += len(piece)
        await peer.eof()

    return script


async def get(pool: HTTP11Transport, url: str, method: str = "GET") -> httpx.Response:
    """One request straight through the transport; its response with the body read."""
    return await pool.handle_async_request(make_request(url, method))


# -- Content-Length -------------------------------------------------------------------


async def test_content_length_shorter_than_the_body(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A Content-Length shorter than the body sent: bytes past the end, a protocol error."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, world"
    raw.handler = first_then(answer_once(head, then="stall"))
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.RemoteProtocolError
    assert "past the end" in str(error)
    await answered(transport, raw.url)


@pytest.mark.parametrize(("then", "kind"), [("close", "eof"), ("stall", "stall")])
async def test_content_length_longer_than_the_body(
    raw: RawServer, transport: HTTP11Transport, then: str, kind: str
) -> None:
    """A Content-Length longer than the body: EOF is a protocol error, a stall a ReadTimeout."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nonly ten b"
    raw.handler = first_then(answer_once(head, then=then))
    error = await fails_after_sending(transport, raw.url, limits=SHORT_READ)
    expected = httpx.RemoteProtocolError if kind == "eof" else httpx.ReadTimeout
    assert type(error) is expected
    await answered(transport, raw.url)


@pytest.mark.parametrize(
    "headers",
    [
        "Content-Length: 5\r\nContent-Length: 6",
        "Content-Length: -1",
        "Content-Length: 5x",
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
    ],
    ids=["two-lengths", "negative", "not-a-number", "length-and-chunked"],
)
async def test_bad_content_length_is_a_protocol_error(
    raw: RawServer, transport: HTTP11Transport, headers: str
) -> None:
    """Conflicting or malformed Content-Length: a protocol error, never a guess."""
    head = f"HTTP/1.1 200 OK\r\n{headers}\r\n\r\nhello".encode()
    raw.handler = first_then(answer_once(head, then="stall"))
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.RemoteProtocolError
    await answered(transport, raw.url)


# -- chunked --------------------------------------------------------------------------


async def test_chunked_body(raw: RawServer, transport: HTTP11Transport) -> None:
    """A chunked body is joined; the connection is reused."""
    head = response(b"", 200, "Transfer-Encoding: chunked", length=False)
    raw.handler = first_then(answer_once(head + chunked(b"hello, ", b"world", b"!")))
    assert (await get(transport, raw.url)).content == b"hello, world!"
    await answered(transport, raw.url)
    assert len(raw.peers) == 1


async def test_chunked_trailers_are_not_merged_into_the_headers(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """Trailer fields stay out of the header section (a Content-Encoding trailer decodes none)."""
    head = response(b"", 200, "Transfer-Encoding: chunked", length=False)
    body = chunked(b"plain", trailer=b"Content-Encoding: gzip\r\nX-Checksum: 1\r\n")
    raw.handler = first_then(answer_once(head + body))
    reply = await get(transport, raw.url)
    assert reply.content == b"plain"
    assert "content-encoding" not in reply.headers
    assert "x-checksum" not in reply.headers
    await answered(transport, raw.url)


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXX0\r\n\r\n",
        b"fffffffffffffffffff\r\n",
        b"-5\r\nhello\r\n0\r\n\r\n",
        b"5\r\nhello\r\n0\r\nbroken trailer\r\n\r\n",
    ],
    ids=["bad-size", "missing-crlf", "size-overflow", "negative-size", "bad-trailer"],
)
async def test_broken_chunking_is_a_protocol_error(
    raw: RawServer, transport: HTTP11Transport, body: bytes
) -> None:
    """Malformed chunked framing fails the request; the pool carries on."""
    head = response(b"", 200, "Transfer-Encoding: chunked", length=False)
    raw.handler = first_then(answer_once(head + body, then="stall"))
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.RemoteProtocolError
    await answered(transport, raw.url)


async def test_eof_inside_a_chunk(raw: RawServer, transport: HTTP11Transport) -> None:
    """The connection closing inside a chunk is a protocol error (the body is incomplete)."""
    head = response(b"", 200, "Transfer-Encoding: chunked", length=False)
    raw.handler = first_then(answer_once(head + b"a\r\nhello", then="close"))
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.RemoteProtocolError


# -- 1xx ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "interim",
    [
        [b"HTTP/1.1 100 Continue\r\n\r\n"],
        [b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"],
        [
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 102 Processing\r\n\r\n",
            b"HTTP/1.1 103 Early Hints\r\nLink: </a.js>\r\n\r\n",
        ],
    ],
    ids=["100", "103", "100-102-103"],
)
async def test_interim_answers_are_skipped(
    raw: RawServer, transport: HTTP11Transport, interim: list[bytes]
) -> None:
    """1xx answers before the final one are skipped, their headers dropped; keep-alive holds."""
    final = response(b"final", 201, "X-Final: yes", reason="Created")
    raw.handler = first_then(answer_once(b"".join(interim) + final))
    reply = await get(transport, raw.url)
    assert (reply.status_code, reply.content) == (201, b"final")
    assert reply.extensions["reason_phrase"] == b"Created"
    assert reply.headers["x-final"] == "yes"
    assert "link" not in reply.headers
    await answered(transport, raw.url)
    assert len(raw.peers) == 1


async def test_interim_answers_split_from_the_final_one(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A 100 Continue in its own read, then the final answer: still one answer."""

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send_drained(b"HTTP/1.1 100 Continue\r\n\r\n", response(b"final"))
        await echo(peer)

    raw.handler = script
    assert (await get(transport, raw.url)).content == b"final"


async def test_switching_protocols_is_refused(raw: RawServer, transport: HTTP11Transport) -> None:
    """A 101 answer is a protocol error (the SDK never asks to upgrade)."""
    head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    raw.handler = first_then(answer_once(head, then="stall"))
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.RemoteProtocolError
    assert "101" in str(error)
    await answered(transport, raw.url)


async def test_endless_interim_answers_are_too_large(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """An endless stream of 100 Continue answers, read a few at a time, hits the head limit."""
    piece = b"HTTP/1.1 100 Continue\r\n\r\n" * 100
    raw.handler = streaming(b"", piece, 4 * MiB, one_read_each=True)
    error = await fails_after_sending(transport, raw.url, limits=STREAM_READ)
    assert isinstance(error, ResponseTooLarge)


# -- close-delimited ------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1", "1.0"])
async def test_body_delimited_by_the_end_of_the_connection(
    raw: RawServer, transport: HTTP11Transport, version: str
) -> None:
    """No Content-Length, no chunking: the body runs until EOF; the next call reconnects."""

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send_drained(
            response(b"", 200, length=False, version=version), b"part one, ", b"part two"
        )
        await peer.close()

    raw.handler = first_then(script)
    assert (await get(transport, raw.url)).content == b"part one, part two"
    await answered(transport, raw.url)
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]


async def test_empty_body_delimited_by_the_end_of_the_connection(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A close-delimited answer with no body at all is an empty body."""
    raw.handler = answer_once(response(b"", 200, length=False), then="close")
    assert (await get(transport, raw.url)).content == b""


async def test_reset_ends_a_close_delimited_body_with_an_error(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A reset instead of a FIN truncates a close-delimited body: an error, not a short body."""

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send_drained(response(b"", 200, length=False), b"truncated")
        peer.reset()

    raw.handler = script
    error = await fails_after_sending(transport, raw.url)
    assert isinstance(error, httpx.ReadError)


@pytest.mark.parametrize(
    ("headers", "reused"),
    [((), False), (("Connection: keep-alive",), True)],
    ids=["plain", "keep-alive"],
)
async def test_http_1_0_keep_alive_is_opt_in(
    raw: RawServer, transport: HTTP11Transport, headers: tuple[str, ...], reused: bool
) -> None:
    """An HTTP/1.0 answer with a length is reused only with ``Connection: keep-alive``."""

    async def script(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            peer.send(response(request.id.encode(), 200, *headers, version="1.0"))

    raw.handler = script
    for _ in range(2):
        reply = await transport.handle_async_request(make_request(raw.url))
        assert reply.content == reply.request.headers["x-id"].encode()
    assert len(raw.peers) == (1 if reused else 2)


# -- HEAD, 204, 304 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        response(b"", 200, "Content-Length: 1000", length=False),
        response(b"", 200, f"Content-Length: {50 * MiB}", length=False),
        response(b"hello"),
        response(b"", 200, "Transfer-Encoding: chunked", length=False),
    ],
    ids=["length-1000", "length-past-the-cap", "body-sent-anyway", "chunked"],
)
async def test_head_reads_no_body_and_is_not_reused(
    raw: RawServer, transport: HTTP11Transport, answer: bytes
) -> None:
    """A HEAD answer ends at its head whatever its framing says; its connection is dropped."""
    raw.handler = first_then(answer_once(answer))
    reply = await get(transport, raw.url, "HEAD")
    assert (reply.status_code, reply.content) == (200, b"")
    await answered(transport, raw.url)
    assert [len(peer.requests) for peer in raw.peers] == [1, 1]


@pytest.mark.parametrize(
    "answer",
    [
        response(b"", 204, reason="No Content", length=False),
        response(b"", 304, reason="Not Modified", length=False),
        response(b"", 304, f"Content-Length: {50 * MiB}", reason="Not Modified", length=False),
    ],
    ids=["204", "304", "304-with-representation-length"],
)
async def test_no_content_answers_have_no_body_and_keep_alive(
    raw: RawServer, transport: HTTP11Transport, answer: bytes
) -> None:
    """204 and 304 answers have no body (whatever Content-Length says) and keep the connection."""
    raw.handler = first_then(answer_once(answer))
    reply = await get(transport, raw.url)
    assert reply.content == b""
    await answered(transport, raw.url)
    assert [len(peer.requests) for peer in raw.peers] == [2]


# -- size limits ----------------------------------------------------------------------


def assert_bounded(peak: int, cap: int) -> None:
    """The traced memory peak stayed within 8 MiB over ``cap``."""
    assert peak < cap + 8 * MiB, f"peak {peak / MiB:.1f} MiB"


async def too_large(pool: HTTP11Transport, url: str, cap: int) -> ResponseTooLarge:
    """A request that must fail with ResponseTooLarge within bounded memory."""
    tracemalloc.start()
    try:
        error = await fails_after_sending(pool, url, limits=STREAM_READ)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, ResponseTooLarge), repr(error)
    assert_bounded(peak, cap)
    return error


async def test_giant_header_line(raw: RawServer, transport: HTTP11Transport) -> None:
    """One endless header line: ResponseTooLarge long before it ends, memory bounded."""
    raw.handler = streaming(b"HTTP/1.1 200 OK\r\nX-Big: ", b"a" * 65536, 32 * MiB)
    await too_large(transport, raw.url, DEFAULT_MAX_RESPONSE_SIZE)


async def test_giant_status_line(raw: RawServer, transport: HTTP11Transport) -> None:
    """An endless reason phrase: ResponseTooLarge, memory bounded."""
    raw.handler = streaming(b"HTTP/1.1 200 ", b"O" * 65536, 32 * MiB)
    await too_large(transport, raw.url, DEFAULT_MAX_RESPONSE_SIZE)


async def test_too_many_headers(raw: RawServer, transport: HTTP11Transport) -> None:
    """101 headers (the limit is 100): ResponseTooLarge."""
    headers = [f"X-H{i}: {i}" for i in range(101)]
    raw.handler = first_then(answer_once(response(b"", 200, *headers), then="stall"))
    error = await fails_after_sending(transport, raw.url)
    assert isinstance(error, ResponseTooLarge)
    assert "headers" in str(error)
    await answered(transport, raw.url)


async def test_headers_past_the_head_size(raw: RawServer) -> None:
    """Headers adding up past ``max_head_size`` (each one small): ResponseTooLarge."""
    pool = HTTP11Transport(max_head_size=4096)
    try:
        headers = [f"X-H{i}: {'v' * 100}" for i in range(50)]
        raw.handler = first_then(answer_once(response(b"", 200, *headers), then="stall"))
        assert isinstance(await fails_after_sending(pool, raw.url), ResponseTooLarge)
        headers = [f"X-H{i}: {'v' * 100}" for i in range(30)]  # 3.3 kB: fits
        raw.handler = answer_once(response(b"fits", 200, *headers))
        assert (await get(pool, raw.url)).content == b"fits"
    finally:
        await pool.aclose()


async def test_content_length_past_the_cap_fails_at_the_head(raw: RawServer) -> None:
    """Content-Length over the cap fails as soon as the head arrives (no body is awaited)."""
    pool = HTTP11Transport(max_response_size=1000)
    try:
        raw.handler = answer_once(b"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n", then="stall")
        error = await fails_after_sending(pool, raw.url, limits=SHORT_READ)
        assert isinstance(error, ResponseTooLarge)
    finally:
        await pool.aclose()


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
async def test_body_at_the_cap_passes_and_one_byte_more_fails(raw: RawServer, framing: str) -> None:
    """A body of exactly ``max_response_size`` bytes is accepted; one byte more is not."""
    pool = HTTP11Transport(max_response_size=1000)

    def framed(body: bytes) -> bytes:
        if framing == "length":
            return response(body)
        if framing == "chunked":
            te = "Transfer-Encoding: chunked"
            return response(b"", 200, te, length=False) + chunked(body[:500], body[500:])
        return response(body, 200, length=False)

    try:
        raw.handler = answer_once(framed(b"x" * 1000), then="close")
        assert (await get(pool, raw.url)).content == b"x" * 1000
        raw.handler = answer_once(framed(b"x" * 1001), then="close")
        assert isinstance(await fails_after_sending(pool, raw.url), ResponseTooLarge)
    finally:
        await pool.aclose()


@pytest.mark.parametrize(
    ("head", "piece"),
    [
        (response(b"", 200, length=False), b"z" * 65536),
        (
            response(b"", 200, "Transfer-Encoding: chunked", length=False),
            chunked(b"z" * 65535)[:-5],
        ),
        (response(b"", 200, "Transfer-Encoding: chunked", length=False), b"1\r\nz\r\n" * 10000),
    ],
    ids=["close-delimited", "chunked", "one-byte-chunks"],
)
async def test_endless_body_is_too_large(raw: RawServer, head: bytes, piece: bytes) -> None:
    """An endless body (close-delimited or chunked) fails at the cap with bounded memory."""
    pool = HTTP11Transport(max_response_size=256 * 1024)
    try:
        raw.handler = streaming(head, piece, 32 * MiB)
        await too_large(pool, raw.url, 256 * 1024)
    finally:
        await pool.aclose()


async def test_endless_chunk_extension_is_too_large(raw: RawServer) -> None:
    """Chunk framing without body bytes (an endless chunk extension) is bounded too."""
    pool = HTTP11Transport(max_response_size=4096)
    try:
        head = response(b"", 200, "Transfer-Encoding: chunked", length=False) + b"1;ext="
        raw.handler = streaming(head, b"e" * 65536, 16 * MiB)
        await too_large(pool, raw.url, 4096)
    finally:
        await pool.aclose()


async def test_large_body_in_the_same_read_as_the_head(raw: RawServer) -> None:
    """A small head and a body far larger than ``max_head_size``, in one write, is accepted."""
    pool = HTTP11Transport(max_head_size=1024)
    body = bytes(range(256)) * 800  # 200 kB
    try:
        raw.handler = answer_once(response(body))
        assert (await get(pool, raw.url)).content == body
    finally:
        await pool.aclose()


# -- content codings ------------------------------------------------------------------

TEXT = b"The quick brown fox jumps over the lazy dog. " * 200


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "packed"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("x-gzip", gzip.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", _raw_deflate(TEXT)),
        ("identity", TEXT),
        ("GZip", gzip.compress(TEXT)),
    ],
    ids=["gzip", "x-gzip", "deflate-zlib", "deflate-raw", "identity", "case"],
)
async def test_content_coding_is_decoded_and_dropped(
    raw: RawServer, client: httpx.AsyncClient, coding: str, packed: bytes
) -> None:
    """gzip and deflate (zlib or raw) bodies are unpacked here; Content-Encoding is gone."""
    raw.handler = answer_once(response(packed, 200, f"Content-Encoding: {coding}"))
    reply = await client.get(raw.url)
    assert reply.content == TEXT
    assert reply.headers.get("content-encoding") in (None, "identity")
    assert reply.headers["content-length"] == str(len(TEXT))


@pytest.mark.parametrize(
    ("coding", "body"),
    [("br", b"\x1b\x00\x00"), ("gzip", b"not gzip at all"), ("deflate", b"not deflate")],
    ids=["brotli", "bad-gzip", "bad-deflate"],
)
async def test_undecodable_body_is_a_decoding_error(
    raw: RawServer, transport: HTTP11Transport, coding: str, body: bytes
) -> None:
    """An unsupported or corrupt coding is httpx.DecodingError (the connection stays usable)."""
    raw.handler = answer_once(response(body, 200, f"Content-Encoding: {coding}"))
    error = await fails_after_sending(transport, raw.url)
    assert isinstance(error, httpx.DecodingError)
    if coding == "br":
        assert "unsupported Content-Encoding 'br'" in str(error)
    await answered(transport, raw.url)
    assert len(raw.peers) == 1


@functools.cache
def bomb(coding: str) -> bytes:
    """~200 KiB of gzip or zlib data that unpacks to 200 MiB of zeros."""
    wbits = zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits, 9, zlib.Z_RLE)
    block = bytes(MiB)
    return b"".join([packer.compress(block) for _ in range(200)] + [packer.flush()])


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_compression_bomb_is_too_large_in_bounded_memory(
    raw: RawServer, transport: HTTP11Transport, coding: str
) -> None:
    """A 200 KiB body that unpacks to 200 MiB fails with ResponseTooLarge; memory stays bounded."""
    packed = bomb(coding)
    assert len(packed) < 250 * 1024
    raw.handler = answer_once(response(packed, 200, f"Content-Encoding: {coding}"))
    tracemalloc.start()
    try:
        error = await fails_after_sending(transport, raw.url, limits=GUARD)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, ResponseTooLarge)
    assert "decompressed" in str(error)
    assert_bounded(peak, DEFAULT_MAX_RESPONSE_SIZE)
