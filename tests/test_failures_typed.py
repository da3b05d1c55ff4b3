"""How an HTTP-layer failure becomes the SDK's typed error, seen from a user's transport:
a proxy that refused the request never forwarded it, so it was never sent (and a send may
go again); a failure after the request left is sent (and a send never goes again)."""

from __future__ import annotations

import httpx
import pytest

from itnio_async import AsyncItnio, SendResult, TransportError

from .conftest import mock_client

SEND = {"verificationId": "22206051443051000003", "to": "8613800138000", "channel": "sms"}


async def send(client: AsyncItnio) -> SendResult:
    return await client.verifications.send(app_id="mRELxtHc", template_id=455, to=SEND["to"])


@pytest.mark.parametrize(
    "failure", [httpx.ProxyError, httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
)
async def test_a_send_refused_before_it_left_is_retried(failure: type[httpx.RequestError]) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise failure("refused", request=request)
        return httpx.Response(200, json={"status": "0", "reason": "success", "data": SEND})

    async with mock_client(handler) as client:
        sent = await send(client)
    assert sent.verification_id == SEND["verificationId"]
    assert len(seen) == 2


@pytest.mark.parametrize(
    "failure", [httpx.ProxyError, httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
)
async def test_a_refusal_before_the_request_left_says_never_sent(
    failure: type[httpx.RequestError],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure("refused", request=request)

    async with mock_client(handler, max_retries=0) as client:
        with pytest.raises(TransportError) as info:
            await send(client)
    assert info.value.sent is False
    assert type(info.value.__cause__) is failure


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError])
async def test_a_send_lost_after_it_left_is_sent_and_not_retried(
    failure: type[httpx.RequestError],
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise failure("lost", request=request)

    async with mock_client(handler) as client:
        with pytest.raises(TransportError) as info:
            await send(client)
    assert info.value.sent is True
    assert len(seen) == 1
