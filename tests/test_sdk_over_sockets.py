"""The SDK on its own engine against a real HTTP/1.1 server on 127.0.0.1.

A tiny asyncio server (the ``loopback`` fixture) proves the whole call on the wire:
signed headers, exact body, decoding, API and HTTP error mapping, transport errors
that keep "was anything sent", bulk lookups, keep-alive and a clean close.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import warnings
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    AuthenticationError,
    Channel,
    HTTPStatusError,
    NotFoundError,
    RequestTimeoutError,
    TransportError,
)

from ._loopback import LoopbackServer, Request, response
from .conftest import API_KEY, API_SECRET, FIXED_SIGN, FIXED_TIME, envelope

#: ``data`` of the documented (seed 003) answer of POST /verification/orderId/record.
RECORD = json.loads(
    (Path(__file__).parent / "fixtures" / "record_by_order_id.json").read_text(encoding="utf-8")
)["data"]


@attrs.frozen
class Reply:
    """What the server answers.

    ``close=True`` reads the request and hangs up instead; ``raw`` is written as is
    (then the connection is closed).
    """

    status: int = 200
    body: bytes = b""
    close: bool = False
    delay: float = 0.0
    raw: bytes | None = None


def record_reply(order_id: str = "1234566") -> Reply:
    """The documented record answer, echoing ``order_id``."""
    data = json.loads(json.dumps(RECORD))
    data["orderId"] = order_id
    data["verifications"]["orderId"] = order_id
    return Reply(body=json.dumps(envelope(data)).encode())


def _default_handler(seen: Request) -> Reply:
    if seen.body:
        return record_reply(str(json.loads(seen.body).get("orderId", "")))
    # GET /verification/record/{verificationId}: the record of that id.
    data = {**RECORD, "verificationId": seen.target.rsplit("/", 1)[-1]}
    return Reply(body=json.dumps(envelope(data)).encode())


class RecordingServer(LoopbackServer):
    """A minimal keep-alive HTTP/1.1 server on 127.0.0.1 that records what it receives."""

    def __init__(self, handler: Callable[[Request], Reply] = _default_handler) -> None:
        super().__init__()
        self.handler = handler
        self.seen: list[Request] = []
        self.in_flight = 0
        self.peak = 0

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.seen.append(request)
        reply = self.handler(request)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            self.in_flight -= 1
        if reply.close:
            return False
        if reply.raw is not None:
            writer.write(reply.raw)
            await writer.drain()
            return False
        content_type = "Content-Type: application/json;charset=UTF-8"
        writer.write(response(reply.body, reply.status, content_type, reason="X"))
        await writer.drain()
        return True


@pytest.fixture
async def loopback() -> AsyncIterator[RecordingServer]:
    """A loopback HTTP/1.1 server answering the documented record response."""
    async with RecordingServer() as server:
        yield server


def make_real_client(base_url: str, **options: Any) -> AsyncItnio:
    """A client on its own engine, signing with the documented example clock."""
    options.setdefault("clock", lambda: FIXED_TIME)
    options.setdefault("max_retries", 0)
    return AsyncItnio(API_KEY, API_SECRET, base_url=base_url, **options)


def _refused_port() -> int:
    """A 127.0.0.1 port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_signed_headers_and_exact_body(loopback: RecordingServer) -> None:
    """The lookup POST carries the documented headers, Sign and byte-exact JSON body."""
    async with make_real_client(loopback.base_url) as client:
        await client.records.get_by_order_id("1234566", app_id="ad454212")
    (seen,) = loopback.seen
    assert seen.method == "POST"
    assert seen.target == "/otp/verification/orderId/record"
    assert seen.headers["sign"] == FIXED_SIGN
    assert seen.headers["timestamp"] == str(FIXED_TIME)
    assert seen.headers["api-key"] == API_KEY
    assert seen.headers["content-type"] == "application/json;charset=UTF-8"
    assert seen.headers["content-length"] == str(len(seen.body))
    assert seen.body == b'{"appId":"ad454212","orderId":"1234566"}'


async def test_get_without_body(loopback: RecordingServer) -> None:
    """A GET sends no body and no Content-Length of a body."""
    async with make_real_client(loopback.base_url) as client:
        await client.records.get("5d3c5bc5b6a84a84bd1ba4a1c5d4a8f3")
    (seen,) = loopback.seen
    assert seen.method == "GET"
    assert seen.target == "/otp/verification/record/5d3c5bc5b6a84a84bd1ba4a1c5d4a8f3"
    assert seen.body == b""
    assert seen.headers.get("content-length", "0") == "0"
    assert seen.headers["sign"] == FIXED_SIGN


async def test_record_decodes(loopback: RecordingServer) -> None:
    """The documented answer decodes into a Record identically on both transports."""
    async with make_real_client(loopback.base_url) as client:
        record = await client.records.get_by_order_id("1234566")
    assert record.order_id == "1234566"
    assert record.flow_id == 1
    assert record.verifications is not None
    assert record.verifications.channel is Channel.CALL
    assert record.sms[0].pay == Decimal("0.000002")
    assert record.call[0].rate == Decimal("0.138")
    assert record.call[0].display_num is None
    assert record.sna == []


@pytest.mark.parametrize(("status", "error"), [("-24", NotFoundError), ("-1", AuthenticationError)])
async def test_api_error_mapping(status: str, error: type[Exception]) -> None:
    """An envelope status other than "0" raises the class of the status table."""
    body = json.dumps(envelope(status=status, reason="nope")).encode()
    async with (
        RecordingServer(lambda _: Reply(body=body)) as server,
        make_real_client(server.base_url) as client,
    ):
        with pytest.raises(error) as info:
            await client.records.get_by_order_id("1234566")
    assert info.value.status == int(status)  # type: ignore[attr-defined]
    assert info.value.reason == "nope"  # type: ignore[attr-defined]


async def test_http_status_error() -> None:
    """A 503 raises HTTPStatusError with the status code and the envelope it carried."""
    body = json.dumps(envelope(status="-18", reason="busy")).encode()
    async with (
        RecordingServer(lambda _: Reply(status=503, body=body)) as server,
        make_real_client(server.base_url) as client,
    ):
        with pytest.raises(HTTPStatusError) as info:
            await client.records.get_by_order_id("1234566")
    assert info.value.status_code == 503
    assert info.value.status == -18
    assert len(server.seen) == 1


async def test_server_disconnect_after_request_is_sent() -> None:
    """A server that reads the request and hangs up gives TransportError(sent=True)."""
    async with (
        RecordingServer(lambda _: Reply(close=True)) as server,
        make_real_client(server.base_url) as client,
    ):
        with pytest.raises(TransportError) as info:
            await client.verifications.send(app_id="ad454212", template_id=1, to="8613800138000")
    assert info.value.sent is True
    assert not isinstance(info.value, RequestTimeoutError)
    assert len(server.seen) == 1  # the request did arrive: it must not count as "never sent"


async def test_refused_connection_is_not_sent() -> None:
    """A refused connection gives TransportError(sent=False): the request never left."""
    url = f"http://127.0.0.1:{_refused_port()}/otp"
    async with make_real_client(url) as client:
        with pytest.raises(TransportError) as info:
            await client.records.get_by_order_id("1234566")
    assert info.value.sent is False


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", id="bad-status-line"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", id="truncated-body"),
    ],
)
async def test_broken_response_is_a_sent_transport_error(raw: bytes) -> None:
    """A malformed or truncated answer is a TransportError(sent=True), never a raw aiohttp error."""
    async with (
        RecordingServer(lambda _: Reply(raw=raw)) as server,
        make_real_client(server.base_url) as client,
    ):
        with pytest.raises(TransportError) as info:
            await client.records.get_by_order_id("1234566")
    assert info.value.sent is True


async def test_unsafe_send_retried_only_when_never_sent() -> None:
    """On aiohttp a hang-up after sending is not retried for send (one request arrives)."""
    async with (
        RecordingServer(lambda _: Reply(close=True)) as server,
        make_real_client(server.base_url, max_retries=2) as client,
    ):
        with pytest.raises(TransportError):
            await client.verifications.send(app_id="ad454212", template_id=1, to="8613800138000")
    assert len(server.seen) == 1


async def test_read_timeout_maps_to_request_timeout() -> None:
    """A server slower than the read timeout raises RequestTimeoutError with sent=True."""
    reply = Reply(body=json.dumps(envelope()).encode(), delay=0.5)
    async with (
        RecordingServer(lambda _: reply) as server,
        make_real_client(server.base_url, timeout=httpx.Timeout(0.05, connect=1.0)) as client,
    ):
        with pytest.raises(RequestTimeoutError) as info:
            await client.records.get_by_order_id("1234566")
    assert info.value.sent is True


async def test_bulk_lookups(loopback: RecordingServer) -> None:
    """Bulk lookups over a real socket return every id, in order, on both transports."""
    ids = [f"o{i}" for i in range(60)]
    async with make_real_client(loopback.base_url) as client:
        results = await client.records.get_many_by_order_ids(ids, app_id="ad454212", concurrency=8)
    assert [r.order_id for r in results] == ids
    assert all(r.record is not None and r.record.order_id == r.order_id for r in results)
    assert sorted(json.loads(s.body)["orderId"] for s in loopback.seen) == sorted(ids)
    assert loopback.connections <= 8  # connections are reused, never more than in flight


async def test_connections_kept_alive(loopback: RecordingServer) -> None:
    """Sequential calls reuse one keep-alive connection."""
    async with make_real_client(loopback.base_url) as client:
        for i in range(5):
            await client.records.get_by_order_id(f"k{i}")
    assert loopback.connections == 1
    assert len(loopback.seen) == 5


async def test_close_leaves_no_unclosed_session(loopback: RecordingServer) -> None:
    """Closing the client closes the aiohttp session: no "Unclosed" warning or loop error."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = make_real_client(loopback.base_url)
            await client.records.get_by_order_id("1234566")
            await client.aclose()
            del client
            gc.collect()
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert [str(w.message) for w in caught if "nclosed" in str(w.message)] == []
    assert errors == []


def test_calls_and_bulk_lookups_on_uvloop() -> None:
    """On a uvloop event loop the SDK's own engine serves single calls and a bulk run."""
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        async with RecordingServer() as server, make_real_client(server.base_url) as client:
            record = await client.records.get_by_order_id("1234566")
            assert record.order_id == "1234566"
            ids = [f"u{i}" for i in range(50)]
            lookups = await client.records.get_many_by_order_ids(ids, concurrency=8)
            assert [lookup.order_id for lookup in lookups if lookup.ok] == ids

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())
