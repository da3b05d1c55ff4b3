"""Tracing instrumentation of httpx never moves the SDK off its engine.

OpenTelemetry's ``HTTPXClientInstrumentor().instrument()`` wraps httpx's transport (and
client) process-wide. It is not a mock: the SDK's calls stay on its own engine, which
keeps the client's ``ssl_context`` (here: a private certificate authority that httpx's
own transport would not trust) and answers them.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator

import pytest

from itnio_async import AsyncItnio

from .test_sdk_over_sockets import RECORD, RecordingServer

pytest.importorskip("trustme")
pytest.importorskip("opentelemetry.instrumentation.httpx")
import trustme
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor


class TlsRecordingServer(RecordingServer):
    """The recording server behind TLS, with the certificate ``context`` holds."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self.context = context

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]


@pytest.fixture
def instrumented() -> Iterator[None]:
    """httpx instrumented for the test (undone after it)."""
    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument()
    try:
        yield
    finally:
        instrumentor.uninstrument()


async def test_an_instrumented_httpx_leaves_calls_on_the_engine_with_a_private_ca(
    instrumented: None,
) -> None:
    """With httpx instrumented, a lookup over TLS to a server whose certificate only the
    client's ssl_context trusts succeeds, on the SDK's engine (no fallback client)."""
    from itnio_async._routes import mocked

    ca = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_side)
    client_side = ssl.create_default_context()
    ca.configure_trust(client_side)
    assert not mocked()
    async with TlsRecordingServer(server_side) as server:
        base_url = server.base_url.replace("http://", "https://")
        async with AsyncItnio(
            "key-1234", "secret-1234", base_url=base_url, ssl_context=client_side
        ) as client:
            record = await client.records.get_by_order_id(RECORD["orderId"])
            network = client._network()
            assert network.own is not None
            assert network._mock_client is None
    assert record.order_id == RECORD["orderId"]
    assert len(server.seen) == 1
