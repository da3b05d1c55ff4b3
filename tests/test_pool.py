"""``PooledTransport``: the pool the SDK creates for the default backend, over real sockets."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from itnio_async import AsyncItnio, TransportError
from itnio_async._pool import PooledTransport

from .test_aiohttp_backend import Reply, Seen, record_reply, serve_loopback


def _slow(seen: Seen) -> Reply:
    reply = record_reply(str(json.loads(seen.body)["orderId"]) if seen.body else "x")
    return Reply(body=reply.body, delay=0.02)


async def _post(http: httpx.AsyncClient, url: str, order_id: str) -> str:
    response = await http.post(url, json={"orderId": order_id})
    return str(response.json()["data"]["orderId"])


async def test_sdk_pool_is_the_pooled_transport() -> None:
    """Without proxy variables the SDK's own httpx pool is a PooledTransport of 100."""
    async with serve_loopback() as server, AsyncItnio("k", "s", base_url=server.base_url) as c:
        transport = c._shared.direct
        assert isinstance(transport, PooledTransport)
        assert transport._max == 100
        await c.records.get_by_order_id("1")


async def test_proxy_variables_keep_httpx_default_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HTTPS_PROXY set, httpx's own transport (which applies it) is kept."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    async with AsyncItnio("k", "s") as client:
        assert client._shared.direct is None or not isinstance(
            client._shared.direct, PooledTransport
        )


async def test_sequential_requests_reuse_one_connection() -> None:
    """Calls one after another keep using one warm keep-alive connection."""
    async with serve_loopback() as server:
        transport = PooledTransport(10)
        async with httpx.AsyncClient(transport=transport) as http:
            for i in range(5):
                assert await _post(http, server.base_url + "/r", str(i)) == str(i)
            assert len(transport._all) == 1
        assert server.connections == 1


async def test_connections_never_exceed_the_limit() -> None:
    """Twenty concurrent requests through a pool of 4 use at most 4 connections, all answered."""
    async with serve_loopback(_slow) as server:
        transport = PooledTransport(4)
        async with httpx.AsyncClient(transport=transport) as http:
            ids = [str(i) for i in range(20)]
            got = await asyncio.gather(*(_post(http, server.base_url + "/r", i) for i in ids))
        assert got == ids
        assert server.connections == 4
        assert transport._waiters == type(transport._waiters)()


async def test_pool_timeout_is_honoured() -> None:
    """A request that finds every connection busy past the pool timeout gets PoolTimeout."""
    async with serve_loopback(_slow) as server:
        transport = PooledTransport(1)
        timeout = httpx.Timeout(5.0, pool=0.001)
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
            first = asyncio.ensure_future(_post(http, server.base_url + "/r", "a"))
            await asyncio.sleep(0.005)
            with pytest.raises(httpx.PoolTimeout):
                await _post(http, server.base_url + "/r", "b")
            assert await first == "a"


async def test_pool_timeout_is_a_never_sent_transport_error() -> None:
    """Through the SDK, a pool timeout is a TransportError with sent=False."""
    async with serve_loopback(_slow) as server:
        client = AsyncItnio(
            "k",
            "s",
            base_url=server.base_url,
            max_retries=0,
            timeout=httpx.Timeout(5.0, pool=0.001),
        )
        async with client:
            client._http()
            client._shared.direct._max = 1  # type: ignore[union-attr]
            first = asyncio.ensure_future(client.records.get_by_order_id("a"))
            await asyncio.sleep(0.005)
            with pytest.raises(TransportError) as info:
                await client.records.get_by_order_id("b")
            assert info.value.sent is False
            assert (await first).order_id == "a"


async def test_cancelled_waiter_does_not_lose_the_connection() -> None:
    """Cancelling a request that waits for a connection leaves the pool fully usable."""
    async with serve_loopback(_slow) as server:
        transport = PooledTransport(1)
        async with httpx.AsyncClient(transport=transport) as http:
            first = asyncio.ensure_future(_post(http, server.base_url + "/r", "a"))
            await asyncio.sleep(0.005)
            waiting = asyncio.ensure_future(_post(http, server.base_url + "/r", "b"))
            await asyncio.sleep(0.005)
            waiting.cancel()
            assert await first == "a"
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert await _post(http, server.base_url + "/r", "c") == "c"
            assert len(transport._all) == 1


async def test_aclose_fails_waiting_requests() -> None:
    """Closing the pool fails requests still waiting for a connection with ConnectError."""
    async with serve_loopback(_slow) as server:
        transport = PooledTransport(1)
        request = httpx.Request("POST", server.base_url + "/r", json={"orderId": "a"})
        first = asyncio.ensure_future(transport.handle_async_request(request))
        await asyncio.sleep(0.005)
        second = asyncio.ensure_future(
            transport.handle_async_request(
                httpx.Request("POST", server.base_url + "/r", json={"orderId": "b"})
            )
        )
        await asyncio.sleep(0)
        await transport.aclose()
        with pytest.raises(httpx.ConnectError):
            await second
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)


def test_one_ssl_context_for_all_connections() -> None:
    """Every one-connection pool shares the SSL context built once."""
    transport = PooledTransport(3)
    assert transport._options["verify"] is transport._options["verify"]
    assert transport._options["limits"].max_connections == 1
