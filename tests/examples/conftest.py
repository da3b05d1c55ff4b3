"""Fixtures for the framework recipes: the SDK's TCP sandbox and a uvicorn runner."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from itnio_async import AsyncItnio
from itnio_async.testing import FakeItnio, SeedData


@contextlib.asynccontextmanager
async def run_uvicorn(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app (with its lifespan) on a free 127.0.0.1 port; yield its URL."""
    import uvicorn

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    try:
        for _ in range(1000):
            if server.started or task.done():
                break
            await asyncio.sleep(0.005)
        if task.done():
            task.result()
        assert server.started, "uvicorn did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.fixture
def fake() -> FakeItnio:
    """A fresh fake of the OTP API."""
    return FakeItnio()


@pytest.fixture
def seeded(fake: FakeItnio) -> SeedData:
    """The fake's small data set (an app, templates, a flow)."""
    return fake.seed()


@pytest.fixture
async def sandbox_url(fake: FakeItnio) -> AsyncIterator[str]:
    """The fake served over TCP on 127.0.0.1 (the SDK's sandbox)."""
    async with fake.serve() as url:
        yield url


@pytest.fixture
def client_factory(fake: FakeItnio, sandbox_url: str) -> Callable[[], AsyncItnio]:
    """What a service passes to its lifespan: builds an AsyncItnio for the TCP sandbox."""
    created: list[AsyncItnio] = []

    def factory() -> AsyncItnio:
        client = AsyncItnio(
            fake.api_key, fake.api_secret, base_url=sandbox_url, clock=fake.now, max_retries=0
        )
        created.append(client)
        return client

    factory.created = created  # type: ignore[attr-defined]
    return factory


def assert_no_resource_warnings() -> None:
    """Collect garbage and fail on any ResourceWarning (unclosed sockets or clients)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    leaks = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, [str(w.message) for w in leaks]
