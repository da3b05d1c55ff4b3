"""What a request hook leaves in the request is what the SDK's engine sends, within the
rules of HTTP/1.1: the target as encoded, ``Connection: close`` honoured, no header
that would split the request; and the last of a repeated header in an answer wins."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, HTTPStatusError, RetryPolicy, TransportError
from itnio_async._engine import WireRequest
from itnio_async._wire import wire_request

from ._loopback import LoopbackServer, Request, success
from .conftest import API_KEY, API_SECRET, FIXED_TIME, envelope, mock_client

RECORD = {"verificationId": "a b/c", "verifications": {"matched": -1}}
NO_SLEEP = RetryPolicy(base_delay=0.0, max_delay=0.0)


class Server(LoopbackServer):
    """Answers every request with a record, keeping the connection open."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.requests.append(request)
        writer.write(success(RECORD))
        await writer.drain()
        return True


def hooked(server: Server, hook: Any) -> AsyncItnio:
    return AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=server.base_url,
        clock=lambda: FIXED_TIME,
        retry_policy=NO_SLEEP,
        event_hooks={"request": [hook]},
    )


async def look(request: httpx.Request) -> None:
    """A hook that changes nothing."""


async def test_a_hooked_request_keeps_its_percent_encoded_target() -> None:
    """An id with a space and a slash goes out encoded (``a%20b%2Fc``), not decoded into
    a path of two segments."""
    async with Server() as server, hooked(server, look) as client:
        await client.records.get("a b/c")
    assert [r.target for r in server.requests] == ["/otp/verification/record/a%20b%2Fc"]


async def test_connection_close_set_by_a_hook_closes_the_connection() -> None:
    async def close(request: httpx.Request) -> None:
        request.headers["Connection"] = "close"

    async with Server() as server, hooked(server, close) as client:
        await client.records.get("a b/c")
        await client.records.get("a b/c")
    assert server.connections == 2
    assert [r.headers["connection"] for r in server.requests] == ["close", "close"]


async def test_connections_are_reused_when_no_hook_asks_to_close() -> None:
    async with Server() as server, hooked(server, look) as client:
        await client.records.get("a b/c")
        await client.records.get("a b/c")
    assert server.connections == 1


@pytest.mark.parametrize("value", ["a\rb", "a\x00b", "a\nX-Injected: 1"])
async def test_a_header_a_hook_breaks_is_refused_before_sending(value: str) -> None:
    """CR, LF or NUL in a header a hook sets: a TransportError that was never sent, and
    nothing reaches the server."""

    async def inject(request: httpx.Request) -> None:
        request.headers["X-Trace"] = value

    async with Server() as server, hooked(server, inject) as client:
        with pytest.raises(TransportError) as info:
            await client.records.get("a b/c")
    assert info.value.sent is False
    assert server.requests == []


def test_a_url_without_a_port_goes_to_its_schemes_default_port() -> None:
    like = WireRequest("GET", ("https", "h", 443), b"/", b"", b"")
    for url, origin in (
        ("http://api.example.com/otp/x", ("http", "api.example.com", 80)),
        ("https://api.example.com/otp/x", ("https", "api.example.com", 443)),
        ("http://api.example.com:8080/otp/x", ("http", "api.example.com", 8080)),
    ):
        assert wire_request(httpx.Request("GET", url), like).origin == origin


async def test_the_last_of_a_repeated_retry_after_is_the_one_read() -> None:
    """``Retry-After: 1`` then ``Retry-After: 100``: the later one stands, and 100 s is
    above max_retry_after (30 s): the 429 is raised at once, saying so."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            429, headers=[("Retry-After", "1"), ("Retry-After", "100")], json=envelope()
        )

    async with mock_client(handler) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)
    assert "asked to wait 100 s" in str(info.value)
    assert len(calls) == 1
