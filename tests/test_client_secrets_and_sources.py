"""What an error says about the call and the credentials: the number a custom request
sent is never shown, and authentication advice names where each credential came from."""

from __future__ import annotations

import httpx
import pytest

from itnio_async import APIError, AsyncItnio, AuthenticationError

from .conftest import API_KEY, API_SECRET, BASE_URL, mock_client

NUMBER = "+1 (555) 010-9999"


async def test_a_number_member_of_a_custom_body_is_never_shown() -> None:
    """client.request(json={"number": ...}) answered with an error that echoes it."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "-22", "reason": f"bad number {NUMBER}"})

    async with mock_client(handler) as client:
        with pytest.raises(APIError) as info:
            await client.request("POST", "/number/check", json={"number": NUMBER})
    shown = f"{info.value} {info.value.reason}"
    assert "(555) 010" not in shown


@pytest.mark.parametrize(
    ("key", "secret", "said"),
    [
        (API_KEY, None, "key from the api_key argument, secret from the ITNIO_API_SECRET"),
        (
            None,
            API_SECRET,
            "key from the ITNIO_API_KEY environment variable, secret from the api_secret argument",
        ),
    ],
)
async def test_authentication_advice_names_each_credentials_source(
    monkeypatch: pytest.MonkeyPatch, key: str | None, secret: str | None, said: str
) -> None:
    monkeypatch.setenv("ITNIO_API_KEY", API_KEY)
    monkeypatch.setenv("ITNIO_API_SECRET", API_SECRET)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "-1", "reason": "authentication failed"})

    transport = httpx.MockTransport(handler)
    async with AsyncItnio(key, secret, transport=transport, base_url=BASE_URL) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.flows.get(1)
    assert said in str(info.value)
