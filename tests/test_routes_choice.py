"""Which route an attempt takes, and what each route keeps of the client.

* With an event hook, a call on the SDK's own engine goes through httpx objects: a
  request that was written and then lost must still count as sent (a send is then
  never repeated).
* While respx is installed, a call goes through a plain httpx client the mock
  intercepts; a route the mock passes through must reach the network as the SDK
  would: through the client's proxy, with the client's TLS context.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from itnio_async import AsyncItnio, RetryPolicy, TransportError

from ._loopback import LoopbackServer, Request, success
from .conftest import API_KEY, API_SECRET, FIXED_TIME
from .test_proxy import PROXY_VARIABLES, ForwardProxy

trustme = pytest.importorskip("trustme")

FLOW = {"flowId": 1, "name": "name", "flow": []}
SEND = {"verificationId": "22206051443051000003", "to": "8613800138000", "channel": "sms"}
NO_SLEEP = RetryPolicy(base_delay=0.0, max_delay=0.0)


class HangUp(LoopbackServer):
    """Reads each request whole, then closes the connection without an answer."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.requests.append(request)
        return False


class Answering(LoopbackServer):
    """Answers every request with a flow (over TLS when given a context)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.tls = tls
        self.requests: list[Request] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.requests.append(request)
        writer.write(success(FLOW))
        await writer.drain()
        return True


def new(base_url: str, **options: Any) -> AsyncItnio:
    return AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=base_url,
        clock=lambda: FIXED_TIME,
        retry_policy=NO_SLEEP,
        **options,
    )


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


async def hook(request: httpx.Request) -> None:
    """An event hook that only looks."""


@pytest.mark.parametrize("hooked", [False, True])
async def test_a_send_lost_after_it_was_written_is_sent_and_not_repeated(
    hooked: bool, no_proxy_env: None
) -> None:
    """The server reads the whole send and hangs up: TransportError with sent=True and
    one request on the wire, with or without an event hook (whose route converts the
    request to httpx objects and back)."""
    hooks = {"request": [hook]} if hooked else None
    async with HangUp() as server, new(server.base_url, event_hooks=hooks) as client:
        with pytest.raises(TransportError) as info:
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to=SEND["to"])
    assert info.value.sent is True
    assert [(r.method, r.target) for r in server.requests] == [("POST", "/otp/verification/send")]


async def test_a_mock_passing_a_call_through_keeps_the_clients_proxy(no_proxy_env: None) -> None:
    async with Answering() as server, ForwardProxy() as proxy:
        # respx in httpx's client (its default, in httpcore's pool, cannot read the
        # absolute-form target a proxy request carries).
        with respx.mock(assert_all_called=False, using="httpx") as mock:
            mock.route().pass_through()
            async with new(server.base_url, proxy=proxy.url) as client:
                flow = await client.flows.get(1)
    assert flow.flow_id == 1
    assert [(r.method, r.target) for r in proxy.forwarded] == [
        ("GET", f"{server.base_url}/flow/details/1")
    ]
    assert len(server.requests) == 1


@pytest.fixture
async def tls_server() -> AsyncIterator[tuple[Answering, ssl.SSLContext]]:
    """An HTTPS server whose certificate only a private CA vouches for, and a client
    context trusting that CA."""
    ca = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(served)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    async with Answering(served) as server:
        yield server, trusting


async def test_a_mock_passing_a_call_through_keeps_the_clients_tls_context(
    tls_server: tuple[Answering, ssl.SSLContext], no_proxy_env: None
) -> None:
    server, trusting = tls_server
    base_url = f"https://127.0.0.1:{server.port}/otp"
    with respx.mock(assert_all_called=False) as mock:
        mock.route().pass_through()
        async with new(base_url, ssl_context=trusting) as client:
            flow = await client.flows.get(1)
            through = client._network()._mock_client  # the client the mock intercepted
    assert flow.flow_id == 1
    # Its pass-through connection is the SDK's to close, with the client.
    assert through is not None
    assert through.is_closed
    assert [(r.method, r.target) for r in server.requests] == [("GET", "/otp/flow/details/1")]
