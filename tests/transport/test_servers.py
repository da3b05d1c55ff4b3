"""HTTP11Transport against real servers: uvicorn (h11 and httptools) and aiohttp.web."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from itnio_async._engine import WRITTEN, HTTP11Transport

from .conftest import RealServer, distinct, make_client, make_request


@pytest.mark.parametrize(
    ("method", "content"),
    [("GET", None), ("POST", b'{"a": 1}'), ("PUT", b"x" * 100_000)],
)
async def test_round_trip(
    real: RealServer, client: httpx.AsyncClient, method: str, content: bytes | None
) -> None:
    """GET, POST and PUT (a 100 kB body) reach the server intact and its answer comes back."""
    answer = await client.request(method, real.url + "/path?q=1", content=content)
    assert answer.status_code == 200
    echoed = answer.json()
    assert echoed["method"] == method
    assert echoed["id"] == answer.request.headers["x-id"]
    assert echoed["body"] == (content or b"").decode()


async def test_streamed_request_body(real: RealServer, client: httpx.AsyncClient) -> None:
    """A request body given as an async iterator (httpx frames it chunked) arrives whole."""

    async def parts() -> AsyncIterator[bytes]:
        yield b"hello "
        yield b"world"

    answer = await client.post(real.url, content=parts())
    assert answer.json()["body"] == "hello world"
    assert (await client.get(real.url)).json()["method"] == "GET"  # the connection is not desynced


async def test_direct_handle_async_request(real: RealServer, transport: HTTP11Transport) -> None:
    """``handle_async_request`` returns the response with its body read and marks it written."""
    request = make_request(real.url, "POST", content=b"direct")
    answer = await transport.handle_async_request(request)
    assert answer.status_code == 200
    assert answer.extensions["http_version"] == b"HTTP/1.1"
    assert json.loads(await answer.aread())["body"] == "direct"
    assert request.extensions[WRITTEN] is True


async def test_sequential_calls_reuse_one_connection(
    real: RealServer, client: httpx.AsyncClient, transport: HTTP11Transport
) -> None:
    """Five sequential calls travel on a single keep-alive connection."""
    for _ in range(5):
        assert (await client.get(real.url)).status_code == 200
    assert len(real.peers) == 5
    assert distinct(real.peers) == 1
    assert transport.stats() == (1, 1, 0, 0)


async def test_200_requests_through_10_connections(real: RealServer) -> None:
    """200 concurrent requests share at most 10 connections and each gets its own answer."""
    pool = HTTP11Transport(max_connections=10)
    async with make_client(pool) as client:
        ids = [f"c{i}" for i in range(200)]
        answers = await asyncio.gather(
            *(client.post(real.url, content=rid.encode(), headers={"X-Id": rid}) for rid in ids)
        )
        for rid, answer in zip(ids, answers, strict=True):
            echoed = answer.json()
            assert (echoed["id"], echoed["body"]) == (rid, rid)
        assert 1 < distinct(real.peers) <= 10
        stats = pool.stats()
        assert stats.connections <= 10
        assert (stats.busy, stats.waiting) == (0, 0)
