"""The SDK's TCP sandbox served by a background thread, for tests that run their own loops."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from itnio_async.testing import FakeItnio, SeedData


class ThreadedSandbox:
    """A seeded ``FakeItnio`` served over TCP on 127.0.0.1 from a thread with its own loop.

    Use it where the test itself starts event loops (``asyncio.run``), so the server
    cannot live in the test's loop: ``with ThreadedSandbox() as box: ... box.url``.
    """

    def __init__(self, **fake_options: Any) -> None:
        self.fake = FakeItnio(**fake_options)
        self.ids: SeedData = self.fake.seed()
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self.fake.serve() as url:
            self.url = url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ThreadedSandbox:
        self._thread.start()
        assert self._ready.wait(10), "sandbox did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
