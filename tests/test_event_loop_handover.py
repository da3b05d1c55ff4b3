"""A client whose event loop ended: the next loop's first call closes the old pool's
sockets (it does not merely forget them).

``asyncio.run`` lets the engine close its connections itself (``shutdown_asyncgens``);
a loop closed by hand without that step leaves them open, and the client closes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from itnio_async import AsyncItnio

from ._sandbox import ThreadedSandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ThreadedSandbox]:
    with ThreadedSandbox() as box:
        yield box


def test_the_pool_of_an_ended_loop_is_closed_by_the_next_loop(sandbox: ThreadedSandbox) -> None:
    """A loop closed without ``shutdown_asyncgens`` leaves a keep-alive connection open;
    the first call in the next loop closes it (the old engine has no connection left)."""
    client = AsyncItnio(
        sandbox.fake.api_key,
        sandbox.fake.api_secret,
        base_url=sandbox.url,
        clock=sandbox.fake.now,
        max_retries=0,
    )
    first: list[Any] = []

    async def call() -> str:
        app_id = (await client.apps.get(sandbox.ids.app_id)).app_id
        first.append(client._shared.network)
        return app_id

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(call()) == sandbox.ids.app_id
    finally:
        loop.close()
    old = first[0]
    assert old.own.stats().connections == 1  # kept alive when its loop ended
    assert asyncio.run(call()) == sandbox.ids.app_id
    assert old.closed
    assert old.own.stats().connections == 0
    first.clear()
    asyncio.run(client.aclose())
