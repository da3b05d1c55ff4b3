"""Event loops: one client outlives a finished loop, and refuses a second running one."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, ItnioError

from ._sandbox import ThreadedSandbox
from .conftest import API_KEY, API_SECRET, BASE_URL, FIXED_TIME, envelope

FLOW = {"flowId": 1, "name": "name", "flow": []}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ThreadedSandbox]:
    """One TCP sandbox for the module."""
    with ThreadedSandbox() as box:
        yield box


# The first loop ends with its keep-alive connection open (the user never closed the
# client in it); that connection can only be dropped, and the socket's finaliser warns.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_client_keeps_working_after_its_event_loop_ended(sandbox: ThreadedSandbox) -> None:
    """A client used in one asyncio.run works in the next one over real TCP (no 'loop closed')."""
    client = AsyncItnio(
        sandbox.fake.api_key,
        sandbox.fake.api_secret,
        base_url=sandbox.url,
        clock=sandbox.fake.now,
        max_retries=0,
    )

    async def call() -> str:
        return (await client.apps.get(sandbox.ids.app_id)).app_id

    first_pool: list[Any] = []

    async def first() -> str:
        app_id = await call()
        first_pool.append(client._shared.network)
        return app_id

    assert asyncio.run(first()) == sandbox.ids.app_id
    assert asyncio.run(call()) == sandbox.ids.app_id
    assert client._shared.network is not first_pool[0]  # a fresh pool in the new loop
    first_pool.clear()
    asyncio.run(client.aclose())
    assert client.is_closed
    gc.collect()


def test_aclose_in_a_new_loop_after_the_pool_loop_ended() -> None:
    """Closing a client whose pool's loop has ended just drops the pool, without an error."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=envelope(FLOW)))
    client = AsyncItnio(
        API_KEY, API_SECRET, base_url=BASE_URL, transport=transport, clock=lambda: FIXED_TIME
    )

    async def call() -> int:
        return (await client.flows.get(1)).flow_id

    assert asyncio.run(call()) == 1
    asyncio.run(client.aclose())
    assert client.is_closed
    assert client._shared.network is None


def test_a_second_running_loop_is_refused() -> None:
    """Using one client from two live event loops (two threads) is an ItnioError, not a hang."""
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=envelope(FLOW)))
    client = AsyncItnio(
        API_KEY, API_SECRET, base_url=BASE_URL, transport=transport, clock=lambda: FIXED_TIME
    )
    owner = asyncio.new_event_loop()
    thread = threading.Thread(target=owner.run_forever, daemon=True)
    thread.start()
    try:
        in_owner = asyncio.run_coroutine_threadsafe(client.flows.get(1), owner).result(10)
        assert in_owner.flow_id == 1

        async def elsewhere() -> None:
            with pytest.raises(ItnioError, match="another event loop"):
                await client.flows.get(1)
            with pytest.raises(ItnioError, match="another event loop"):
                await client.aclose()

        asyncio.run(elsewhere())
        assert not client.is_closed
        asyncio.run_coroutine_threadsafe(client.aclose(), owner).result(10)
        assert client.is_closed
    finally:
        owner.call_soon_threadsafe(owner.stop)
        thread.join(10)
        owner.close()
