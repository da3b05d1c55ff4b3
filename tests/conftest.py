"""Shared fixtures: a client wired to an in-process mock transport (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from itnio_async import AsyncItnio, RetryPolicy
from itnio_async.testing import FakeItnio, SeedData

API_KEY = "bDqJFiq9"
API_SECRET = "7bz1lzh9"
FIXED_TIME = 1630468800
#: The vendor's documented Sign for API_KEY / API_SECRET / FIXED_TIME.
FIXED_SIGN = "05d7a50893e22a5c4bb3216ae3396c7c"
BASE_URL = "https://api.itniotech.com/otp"


def envelope(data: Any = None, status: str = "0", reason: str = "success") -> dict[str, Any]:
    """A documented response envelope."""
    body: dict[str, Any] = {"status": status, "reason": reason}
    if data is not None:
        body["data"] = data
    return body


#: A retry policy that never sleeps (backoff 0).
NO_BACKOFF = RetryPolicy(base_delay=0.0, max_delay=0.0)


def mock_client(handler: Any, **options: Any) -> AsyncItnio:
    """A client around any httpx handler or transport (the caller closes it).

    It signs with the vendor's example credentials at ``FIXED_TIME`` and never sleeps
    between retries, unless ``options`` say otherwise.
    """
    transport = (
        handler if isinstance(handler, httpx.AsyncBaseTransport) else httpx.MockTransport(handler)
    )
    options.setdefault("retry_policy", NO_BACKOFF)
    options.setdefault("clock", lambda: FIXED_TIME)
    options.setdefault("base_url", BASE_URL)
    return AsyncItnio(API_KEY, API_SECRET, transport=transport, **options)


@pytest.fixture(autouse=True)
def _no_insecure_http_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """ITNIO_ALLOW_INSECURE_HTTP of the developer's shell never reaches a test."""
    monkeypatch.delenv("ITNIO_ALLOW_INSECURE_HTTP", raising=False)


@pytest.fixture
async def shift(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Seconds added to the running loop's clock (and so to the clocks that follow it: a
    test server's, the signing clock), set by a test instead of waiting."""
    loop = asyncio.get_running_loop()
    real = loop.time
    moved = [0.0]
    monkeypatch.setattr(loop, "time", lambda: real() + moved[0])
    return moved


@pytest.fixture
def no_retry_sleep() -> RetryPolicy:
    """A retry policy that never sleeps (backoff 0)."""
    return NO_BACKOFF


@pytest.fixture
def router() -> respx.Router:
    """A respx router that fails on any unmatched request."""
    return respx.Router(base_url=BASE_URL, assert_all_called=False)


@pytest.fixture
async def client(router: respx.Router, no_retry_sleep: RetryPolicy) -> AsyncIterator[AsyncItnio]:
    """An AsyncItnio signing with the vendor's example credentials and a frozen clock."""
    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(router.async_handler),
        retry_policy=no_retry_sleep,
        clock=lambda: FIXED_TIME,
    ) as c:
        yield c


@pytest.fixture
def make_client() -> Callable[..., AsyncItnio]:
    """Build a client around any httpx handler or transport (caller closes it)."""
    return mock_client


@pytest.fixture
async def served() -> AsyncIterator[tuple[FakeItnio, SeedData, str]]:
    """The fake with its seeded data, served over TCP on 127.0.0.1: (fake, seed, base_url)."""
    fake = FakeItnio()
    seed = fake.seed()
    async with fake.serve() as base_url:
        yield fake, seed, base_url
