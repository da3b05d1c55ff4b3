"""Options as ``AsyncItnio(...)`` and ``with_options(...)`` take them: which
``max_retries`` is in force after a copy, and what ``default_headers`` may hold."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, ItnioError, RetryPolicy

from .conftest import API_KEY, API_SECRET, BASE_URL, envelope, mock_client

FLOW = {"flowId": 1, "name": "name", "flow": []}


def new(**options: Any) -> AsyncItnio:
    return AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL, **options)


def test_a_copy_of_a_client_without_max_retries_takes_a_new_policys_count() -> None:
    """max_retries never given: the count is the policy's, in the client and in a copy
    given another policy (the original's count is not carried over as if explicit)."""
    client = new(retry_policy=RetryPolicy(max_retries=5))
    assert client.max_retries == 5
    assert client.with_options(retry_policy=RetryPolicy(max_retries=1)).max_retries == 1
    assert client.with_options(retry_policy=None).max_retries == 2
    assert client.with_options(timeout=1.0).max_retries == 5


def test_an_explicit_max_retries_is_kept_by_copies() -> None:
    client = new(max_retries=4, retry_policy=RetryPolicy(max_retries=1))
    assert client.max_retries == 4
    assert client.with_options(retry_policy=RetryPolicy(max_retries=7)).max_retries == 4
    assert client.with_options(max_retries=0).max_retries == 0


async def test_a_copys_policy_count_is_the_one_used_on_the_wire() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json=envelope(status="-18"))

    async with mock_client(handler, retry_policy=RetryPolicy(max_retries=3, base_delay=0.0)) as c:
        copy = c.with_options(retry_policy=RetryPolicy(max_retries=1, base_delay=0.0))
        with pytest.raises(ItnioError):
            await copy.flows.get(1)
    assert len(seen) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"": "v"},
        {"X-Team": "a\x7fb"},
        {"X-Team": "a\x00b"},
        {"X-Team": "caf\xe9"},
        {"Proxy-Authorization": "Basic dTpw"},
        {"host": "elsewhere.example"},
        {"Sign": "forged"},
    ],
    ids=["empty name", "DEL", "NUL", "non-ASCII", "proxy auth", "host", "sign"],
)
def test_default_headers_refused(headers: dict[str, str]) -> None:
    with pytest.raises(ItnioError, match="default_headers"):
        new(default_headers=headers)


async def test_default_header_values_are_sent_stripped() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope(FLOW))

    async with mock_client(handler, default_headers={"X-Team": "  otp\t"}) as client:
        assert client.default_headers == {"X-Team": "otp"}
        await client.flows.get(1)
    assert [value for name, value in seen[0].headers.raw if name == b"X-Team"] == [b"otp"]
