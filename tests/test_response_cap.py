"""The response size cap (``max_response_size``) through the SDK, on every engine.

A raw asyncio server on 127.0.0.1 answers ``GET /otp/template/list`` with a body of
a chosen shape — 100 MiB with a ``Content-Length``, an endless chunked body, an
endless body delimited by the close, a gzip bomb — and ``GET /otp/flow/list`` with a
small valid answer (to warm the client before memory is measured). On the SDK's own
engine, a user ``http_client``, ``transport=`` (httpx's streaming transport) and a
proxy, a body over the cap must end the call with a typed ``TransportError``
(``sent=True``) while the peak of traced memory stays far below the body's size;
``deadline=None`` makes sure it is the cap that stops an endless body, not time.

The cap must be a positive int of bytes. Through a user's ``http_client`` an answer
arrives streamed: its chunks are counted (gzip: what they unpack to) and joined, and
the answer rebuilt from them keeps its headers, extensions and request.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    RequestTimeoutError,
    TransportError,
)
from itnio_async._engine import DEFAULT_MAX_RESPONSE_SIZE, HTTP11Transport, ResponseTooLarge

from ._loopback import JSON, LoopbackServer, Request, response
from .conftest import API_KEY, API_SECRET, envelope
from .test_proxy import ForwardProxy

MiB = 1024 * 1024
ENGINES = ("own", "http_client", "transport", "proxy")
SHAPES = ("length", "chunked", "close", "gzip")
#: Peak traced memory allowed while a 64-100 MiB (or endless) body is refused under the
#: default 1 MiB cap: measured at 0.3-2.2 MiB on every engine (the in-process proxy and
#: server included); without a cap it is the body's size.
DEFAULT_CAP_PEAK = 6 * MiB
SMALL_CAP = 4096
#: The same under a 4 KiB cap: measured at 0.3-0.9 MiB (buffers of the stack, not the body).
SMALL_CAP_PEAK = MiB + MiB // 4
SMALL_ANSWER = json.dumps({"status": "0", "reason": "success", "data": []}).encode()
_BLOCK = b"x" * 65536
FLOW = {"flowId": 1, "name": "name", "flow": []}


@functools.cache
def gzip_bomb(unpacked: int = 64 * MiB) -> bytes:
    """A gzip body of ``unpacked`` zero bytes (about 64 KiB on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(MiB)
    parts = [packer.compress(zeros) for _ in range(unpacked // MiB)]
    return b"".join([*parts, packer.flush()])


def envelope_of_size(size: int) -> bytes:
    """A valid envelope (an empty template list) padded with spaces to exactly ``size`` bytes."""
    body = SMALL_ANSWER
    assert len(body) <= size
    return body + b" " * (size - len(body))


class BodyServer(LoopbackServer):
    """Answers ``/flow/list`` small and ``/template/list`` with a body of ``shape``.

    Shapes: ``length`` (``Content-Length`` of 100 MiB, written until the client goes),
    ``chunked`` and ``close`` (endless), ``gzip`` (a 64 MiB gzip bomb), ``exact``
    (``payload`` as is) and ``gzip-exact`` (``payload`` gzip-compressed).
    """

    def __init__(self, shape: str, payload: bytes = b"") -> None:
        super().__init__()
        self.shape = shape
        self.payload = payload
        self.requests = 0
        self.big_requests = 0

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.requests += 1
        if request.target.endswith("/flow/list"):
            writer.write(response(SMALL_ANSWER, 200, JSON))
            await writer.drain()
            return True
        self.big_requests += 1
        return await self._big(writer)

    async def _big(self, writer: asyncio.StreamWriter) -> bool:
        """Write the big answer; False when the connection must close afterwards."""
        shape = self.shape
        if shape == "exact":
            writer.write(response(self.payload, 200, JSON))
        elif shape == "gzip-exact":
            packed = gzip.compress(self.payload)
            writer.write(response(packed, 200, JSON, "Content-Encoding: gzip"))
        elif shape == "gzip":
            writer.write(response(gzip_bomb(), 200, JSON, "Content-Encoding: gzip"))
        elif shape == "length":
            writer.write(response(b"", 200, JSON, f"Content-Length: {100 * MiB}", length=False))
            for _ in range(100 * MiB // len(_BLOCK)):
                writer.write(_BLOCK)
                await writer.drain()
        elif shape == "chunked":
            writer.write(response(b"", 200, JSON, "Transfer-Encoding: chunked", length=False))
            chunk = b"%x\r\n%s\r\n" % (len(_BLOCK), _BLOCK)
            while True:
                writer.write(chunk)
                await writer.drain()
        elif shape == "close":
            writer.write(response(b"", 200, JSON, "Connection: close", length=False))
            while True:
                writer.write(_BLOCK)
                await writer.drain()
        await writer.drain()
        return shape in ("exact", "gzip-exact", "gzip")


@contextlib.asynccontextmanager
async def client_on(engine: str, base_url: str, **options: Any) -> AsyncIterator[AsyncItnio]:
    """A client of ``base_url`` on ``engine``; no retries, no overall deadline."""
    options.setdefault("max_retries", 0)
    options.setdefault("deadline", None)
    async with contextlib.AsyncExitStack() as stack:
        if engine == "http_client":
            options["http_client"] = await stack.enter_async_context(
                httpx.AsyncClient(trust_env=False)
            )
        elif engine == "transport":
            options["transport"] = httpx.AsyncHTTPTransport()
        elif engine == "proxy":
            options["proxy"] = (await stack.enter_async_context(ForwardProxy())).url
        client = await stack.enter_async_context(
            AsyncItnio("key-1234", "secret-1234", base_url=base_url, **options)
        )
        yield client
        if engine == "own":
            transport = client._network().own
            assert isinstance(transport, HTTP11Transport)
            stats = transport.stats()
            assert (stats.busy, stats.waiting) == (0, 0)


async def refused_with_peak(client: AsyncItnio) -> tuple[TransportError, int]:
    """Warm the client, then make the big call under tracemalloc: its error and the peak."""
    assert await client.flows.list() == []
    tracemalloc.start()
    try:
        with pytest.raises(TransportError) as info:
            await client.templates.list()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return info.value, peak


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("engine", ENGINES)
async def test_a_body_over_the_default_cap_ends_the_call(engine: str, shape: str) -> None:
    """100 MiB, an endless chunked or close-delimited body, or a gzip bomb, over the default
    1 MiB cap: TransportError(sent=True) naming the cap, and bounded memory."""
    async with BodyServer(shape) as server, client_on(engine, server.base_url) as client:
        assert client.max_response_size == DEFAULT_MAX_RESPONSE_SIZE == MiB
        error, peak = await refused_with_peak(client)
    assert type(error) is TransportError
    assert isinstance(error.__cause__, ResponseTooLarge)
    assert error.sent is True
    assert (error.method, error.path) == ("GET", "/template/list")
    assert peak < DEFAULT_CAP_PEAK, f"peak {peak / MiB:.1f} MiB"
    assert server.big_requests == 1


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("engine", ENGINES)
async def test_a_custom_small_cap_bounds_memory_tighter(engine: str, shape: str) -> None:
    """max_response_size=4096: the same bodies end the call with memory bounded by the
    small cap, not the default one."""
    async with (
        BodyServer(shape) as server,
        client_on(engine, server.base_url, max_response_size=SMALL_CAP) as client,
    ):
        error, peak = await refused_with_peak(client)
    assert type(error) is TransportError
    assert isinstance(error.__cause__, ResponseTooLarge)
    assert error.sent is True
    assert peak < SMALL_CAP_PEAK, f"peak {peak / 1024:.0f} KiB"


async def at_the_cap_then_one_byte_over(engine: str, shape: str) -> TransportError:
    """An answer of ``shape`` holding exactly SMALL_CAP bytes must decode; the error of the
    same answer one byte longer."""
    async with BodyServer(shape, envelope_of_size(SMALL_CAP)) as server:
        async with client_on(engine, server.base_url, max_response_size=SMALL_CAP) as client:
            assert await client.templates.list() == []
        server.payload = envelope_of_size(SMALL_CAP + 1)
        async with client_on(engine, server.base_url, max_response_size=SMALL_CAP) as client:
            with pytest.raises(TransportError) as info:
                await client.templates.list()
    return info.value


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_body_of_exactly_the_cap_decodes_and_one_byte_more_does_not(engine: str) -> None:
    """A valid answer of exactly max_response_size bytes decodes; one byte more is refused."""
    error = await at_the_cap_then_one_byte_over(engine, "exact")
    assert not isinstance(error, RequestTimeoutError)
    assert isinstance(error.__cause__, ResponseTooLarge)
    assert error.sent is True


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_compressed_body_is_capped_by_its_unpacked_size(engine: str) -> None:
    """A gzip answer that unpacks to exactly the cap decodes; one that unpacks to a byte
    more is refused, though both are tiny on the wire."""
    error = await at_the_cap_then_one_byte_over(engine, "gzip-exact")
    assert isinstance(error.__cause__, ResponseTooLarge)
    assert "once decompressed" in str(error)


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_body_within_the_default_cap_decodes(engine: str) -> None:
    """A 900 KiB valid answer (padding included) decodes under the default cap."""
    async with (
        BodyServer("exact", envelope_of_size(900 * 1024)) as server,
        client_on(engine, server.base_url) as client,
    ):
        assert await client.templates.list() == []


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_send_over_the_cap_is_maybe_sent_and_not_repeated(engine: str) -> None:
    """A send whose answer is over the cap is a TransportError(sent=True) and is not sent
    again, even with retries allowed."""
    async with (
        BodyServer("length") as server,
        client_on(engine, server.base_url, max_retries=2) as client,
    ):
        with pytest.raises(TransportError) as info:
            await client.verifications.send(app_id="ad454212", template_id=1, to="8613800138000")
    assert info.value.sent is True
    assert server.big_requests == 1


@pytest.mark.parametrize("engine", ["own", "http_client"])
async def test_the_message_names_the_cap_legibly(engine: str) -> None:
    """The error of a body over the default cap says which cap it passed, in plain digits."""
    async with BodyServer("chunked") as server, client_on(engine, server.base_url) as client:
        with pytest.raises(TransportError) as info:
            await client.templates.list()
    assert f"larger than {MiB} bytes" in str(info.value)


# -- the cap as configured, on a mocked transport ---------------------------------------------


@pytest.mark.parametrize("value", [0, -1, True, False, 1.5, "1024", None, 2.0])
def test_an_invalid_max_response_size_is_refused(value: Any) -> None:
    """max_response_size must be a positive int of bytes."""
    with pytest.raises(ItnioError, match="max_response_size"):
        AsyncItnio(API_KEY, API_SECRET, max_response_size=value)


async def test_max_response_size_is_enforced() -> None:
    """An answer larger than max_response_size is a TransportError, one within it decodes."""
    body = httpx.Response(200, json=envelope(FLOW)).content
    for cap, fits in ((len(body), True), (len(body) - 1, False)):
        async with AsyncItnio(
            API_KEY,
            API_SECRET,
            transport=httpx.MockTransport(lambda _: httpx.Response(200, content=body)),
            max_response_size=cap,
            max_retries=0,
        ) as client:
            assert client.max_response_size == cap
            if fits:
                assert (await client.flows.get(1)).flow_id == 1
            else:
                with pytest.raises(TransportError, match="larger than"):
                    await client.flows.get(1)


# -- a streamed answer (a user's http_client, a proxy, a mocked httpx) -----------------------


def _streamed(chunks: list[bytes], status: int = 200, headers: dict[str, str] | None = None) -> Any:
    """A MockTransport handler whose answer is streamed in ``chunks`` (not read up front)."""

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body(), headers=headers or {})

    return handler


@contextlib.asynccontextmanager
async def users_client(handler: Any, **options: Any) -> AsyncIterator[AsyncItnio]:
    """A client whose ``http_client`` is a user's, answered by ``handler``; no retries."""
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        AsyncItnio(
            API_KEY,
            API_SECRET,
            base_url="https://api.example.com/otp",
            http_client=http,
            max_retries=0,
            **options,
        ) as client,
    ):
        yield client


async def _flow_through_users_client(handler: Any, cap: int) -> Any:
    """Flow 1 through a user's client answered by ``handler``, under the cap ``cap``."""
    async with users_client(handler, max_response_size=cap) as client:
        return await client.flows.get(1)


async def test_a_streamed_answer_is_counted_over_all_its_chunks() -> None:
    """Through a user's client the body arrives in chunks: they are joined as they are, and
    the cap applies to their sum (exactly the cap passes, one byte more fails)."""
    body = httpx.Response(200, json=envelope(FLOW)).content
    chunks = [body[:10], body[10:20], body[20:]]
    flow = await _flow_through_users_client(_streamed(chunks), len(body))
    assert flow.flow_id == 1
    with pytest.raises(TransportError) as info:
        await _flow_through_users_client(_streamed(chunks), len(body) - 1)
    assert str(info.value) == (
        "ResponseTooLarge on GET https://api.example.com/otp/flow/details/1: "
        f"response larger than {len(body) - 1} bytes"
    )
    assert info.value.sent is True


async def test_a_streamed_gzip_answer_is_unpacked_within_the_cap() -> None:
    """A gzip answer streamed through a user's client is unpacked, and the cap applies to
    what it unpacks to."""
    flow = {**FLOW, "name": "n" * 500}  # compresses well: packed far below the cap
    body = httpx.Response(200, json=envelope(flow)).content
    packed = gzip.compress(body)
    assert len(packed) < len(body) // 4
    headers = {"Content-Encoding": "gzip"}
    decoded = await _flow_through_users_client(_streamed([packed], headers=headers), len(body))
    assert decoded.name == "n" * 500
    with pytest.raises(TransportError, match="once decompressed"):
        await _flow_through_users_client(_streamed([packed], headers=headers), len(body) - 1)


async def test_a_streamed_error_answer_keeps_its_headers_and_request() -> None:
    """A streamed 503 keeps its headers (Retry-After) and names the host it came from."""
    handler = _streamed([b"busy"], status=503, headers={"Retry-After": "3", "X-Trace": "t"})
    with pytest.raises(HTTPStatusError) as info:
        await _flow_through_users_client(handler, 1000)
    error = info.value
    assert str(error) == "HTTP 503 from GET https://api.example.com/otp/flow/details/1"
    assert error.retry_after == 3.0
    assert error.headers is not None
    assert error.headers["x-trace"] == "t"
    assert error.body == "busy"


async def test_a_streamed_answer_keeps_its_extensions_and_a_bad_body_its_request() -> None:
    """Through a user's client, the raw answer keeps the transport's extensions, and a body
    that cannot be unpacked is a DecodeError whose cause names the request."""
    body = httpx.Response(200, json=envelope(FLOW)).content

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), extensions={"reason_phrase": b"Fine"})

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"Content-Encoding": "gzip"})

    for answer, check in ((handler, "extensions"), (broken, "request")):
        async with users_client(answer) as client:
            if check == "extensions":
                raw = await client.flows.with_raw_response.get(1)
                assert raw.http_response.extensions["reason_phrase"] == b"Fine"
            else:
                with pytest.raises(DecodeError) as info:
                    await client.flows.get(1)
                cause = info.value.__cause__
                assert isinstance(cause, httpx.DecodingError)
                assert str(cause.request.url) == "https://api.example.com/otp/flow/details/1"
