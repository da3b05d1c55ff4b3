"""Users' mocks keep working with the SDK's default engine (no ``http_client``, no ``transport``).

``respx.mock`` with its default settings (it patches httpcore), ``respx.mock(using=
"httpx")``, respx's ``respx_mock`` fixture and pytest-httpx's ``httpx_mock`` fixture
must intercept the calls exactly (method, path, headers, body) and a mocked call must
never reach the network: ``base_url`` points at a loopback server that counts its
connections, and it must see none. When the mock ends, the SDK's own engine serves
the next call again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pytest_httpx import HTTPXMock

from itnio_async import AsyncItnio, RequestTimeoutError, RetryPolicy, TransportError
from itnio_async._engine import HTTP11Transport

from .conftest import API_KEY, API_SECRET, FIXED_SIGN, FIXED_TIME, envelope
from .test_sdk_over_sockets import RECORD, RecordingServer

NUMBER = "8613800138000"
NO_SLEEP = RetryPolicy(base_delay=0.0, max_delay=0.0)
SEND_ANSWER = {"verificationId": "f" * 32, "to": NUMBER, "channel": "sms"}
RECORD_ANSWER = {**RECORD, "orderId": "1234566"}
LOOKUP_BODY = b'{"appId":"ad454212","orderId":"1234566"}'


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    """A loopback server that counts connections: a mocked call must open none."""
    async with RecordingServer() as running:
        yield running


def make_client(base_url: str, **options: Any) -> AsyncItnio:
    """A client on the SDK's default engine, signing with the documented example clock."""
    options.setdefault("max_retries", 0)
    return AsyncItnio(API_KEY, API_SECRET, base_url=base_url, clock=lambda: FIXED_TIME, **options)


def assert_signed_lookup(request: httpx.Request, base_url: str) -> None:
    """The record lookup went out exactly as the API reference says."""
    assert request.method == "POST"
    assert str(request.url) == f"{base_url}/verification/orderId/record"
    assert request.headers["Sign"] == FIXED_SIGN
    assert request.headers["Timestamp"] == str(FIXED_TIME)
    assert request.headers["Api-Key"] == API_KEY
    assert request.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert request.content == LOOKUP_BODY


def assert_engine_is_own(client: AsyncItnio) -> None:
    """The client runs on the SDK's own engine (no http_client, transport or proxy)."""
    assert isinstance(client._network().own, HTTP11Transport)


# -- respx ------------------------------------------------------------------------------


@pytest.mark.parametrize("using", [None, "httpcore", "httpx"])
async def test_respx_mock_intercepts_the_default_engine(
    server: RecordingServer, using: str | None
) -> None:
    """respx.mock (default, httpcore, httpx) answers a lookup and a send with the exact
    requests, and the loopback server behind base_url sees no connection."""
    mocker = (
        respx.mock(base_url=server.base_url)
        if using is None
        else respx.mock(base_url=server.base_url, using=using)
    )
    async with mocker as mock, make_client(server.base_url) as client:
        assert_engine_is_own(client)
        lookup = mock.post("/verification/orderId/record").respond(json=envelope(RECORD_ANSWER))
        send = mock.post("/verification/send").respond(json=envelope(SEND_ANSWER))
        record = await client.records.get_by_order_id("1234566", app_id="ad454212")
        sent = await client.verifications.send(app_id="ad454212", template_id=9, to=NUMBER)
    assert record.order_id == "1234566"
    assert sent.verification_id == "f" * 32
    assert lookup.call_count == send.call_count == 1
    assert_signed_lookup(lookup.calls.last.request, server.base_url)
    assert json.loads(send.calls.last.request.content) == {
        "appId": "ad454212",
        "templateId": 9,
        "to": NUMBER,
    }
    assert server.connections == 0
    assert server.seen == []


@respx.mock(base_url="https://api.itniotech.com/otp")
async def test_respx_mock_as_a_decorator_with_the_default_base_url(
    respx_mock: respx.MockRouter,
) -> None:
    """@respx.mock on a test, and the SDK's default base_url: a GET goes to the mock."""
    route = respx_mock.get("/template/details/455").respond(
        json=envelope({"templateId": 455, "appId": "ad454212", "name": "n", "text": "##code##"})
    )
    async with AsyncItnio(API_KEY, API_SECRET) as client:
        assert_engine_is_own(client)
        template = await client.templates.get(455)
    assert template.template_id == 455
    request = route.calls.last.request
    assert (request.method, request.url.path, request.content) == (
        "GET",
        "/otp/template/details/455",
        b"",
    )
    assert {"sign", "timestamp", "api-key"} <= set(request.headers)


async def test_respx_mock_fixture(respx_mock: respx.MockRouter, server: RecordingServer) -> None:
    """respx's respx_mock fixture intercepts the SDK's default engine too."""
    route = respx_mock.post(f"{server.base_url}/verification/orderId/record").respond(
        json=envelope(RECORD_ANSWER)
    )
    async with make_client(server.base_url) as client:
        await client.records.get_by_order_id("1234566", app_id="ad454212")
    assert_signed_lookup(route.calls.last.request, server.base_url)
    assert server.connections == 0


@pytest.mark.parametrize("using", ["httpcore", "httpx"])
async def test_respx_unmocked_route_is_an_error_not_a_network_call(
    server: RecordingServer, using: str
) -> None:
    """With assert_all_mocked (respx's default), a call to an unmocked route raises respx's
    error and never reaches the server behind base_url."""
    async with (
        respx.mock(base_url=server.base_url, using=using, assert_all_called=False) as mock,
        make_client(server.base_url, max_retries=2) as client,
    ):
        mock.get("/flow/list").respond(json=envelope([]))
        with pytest.raises(AssertionError, match="not mocked"):
            await client.templates.list()
    assert server.connections == 0


async def test_respx_side_effects_become_typed_errors(server: RecordingServer) -> None:
    """A mocked ConnectError on a send is "never sent" (retried, then TransportError with
    sent=False); a mocked ReadTimeout is a RequestTimeoutError with sent=True."""
    async with (
        respx.mock(base_url=server.base_url) as mock,
        make_client(server.base_url, max_retries=2, retry_policy=NO_SLEEP) as client,
    ):
        refused = mock.post("/verification/send").mock(side_effect=httpx.ConnectError)
        with pytest.raises(TransportError) as info:
            await client.verifications.send(app_id="ad454212", template_id=9, to=NUMBER)
        assert info.value.sent is False
        assert refused.call_count == 3
        mock.get("/flow/list").mock(side_effect=httpx.ReadTimeout)
        with pytest.raises(RequestTimeoutError) as timeout:
            await client.with_options(max_retries=0).flows.list()
        assert timeout.value.sent is True
    assert server.connections == 0


async def test_respx_retries_through_the_mock(server: RecordingServer) -> None:
    """A mocked 503 then 200 for a read: retried through the mock, the second answer wins."""
    async with (
        respx.mock(base_url=server.base_url) as mock,
        make_client(server.base_url, max_retries=2, retry_policy=NO_SLEEP) as client,
    ):
        route = mock.get("/flow/list").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json=envelope([]))]
        )
        raw = await client.flows.with_raw_response.list()
    assert raw.parse() == []
    assert raw.retries_taken == 1
    assert route.call_count == 2
    signs = [call.request.headers["Sign"] for call in route.calls]
    assert signs == [FIXED_SIGN, FIXED_SIGN]
    assert server.connections == 0


@pytest.mark.parametrize("using", ["httpcore", "httpx"])
async def test_after_the_mock_the_own_engine_serves_again(
    server: RecordingServer, using: str
) -> None:
    """A client warmed on its own engine, then mocked, then unmocked: the mocked call never
    reaches the server, and the next call goes out on the same pooled connection."""
    async with make_client(server.base_url) as client:
        await client.records.get_by_order_id("before")
        engine = client._network()
        assert isinstance(engine.own, HTTP11Transport)
        assert engine.own.stats().connections == 1
        async with respx.mock(base_url=server.base_url, using=using) as mock:
            route = mock.post("/verification/orderId/record").respond(
                json=envelope({**RECORD_ANSWER, "orderId": "mocked"})
            )
            assert (await client.records.get_by_order_id("mocked")).order_id == "mocked"
        assert route.call_count == 1
        assert [json.loads(s.body)["orderId"] for s in server.seen] == ["before"]
        assert (await client.records.get_by_order_id("after")).order_id == "after"
        assert client._network() is engine
        assert engine.own.stats() == (1, 1, 0, 0)
    assert [json.loads(s.body)["orderId"] for s in server.seen] == ["before", "after"]
    assert server.connections == 1  # the own engine's keep-alive connection, reused


# -- pytest-httpx ------------------------------------------------------------------------


async def test_pytest_httpx_intercepts_the_default_engine(
    httpx_mock: HTTPXMock, server: RecordingServer
) -> None:
    """pytest-httpx's httpx_mock answers a lookup and a send with the exact requests; the
    server behind base_url sees no connection."""
    base = server.base_url
    httpx_mock.add_response(
        method="POST", url=f"{base}/verification/orderId/record", json=envelope(RECORD_ANSWER)
    )
    httpx_mock.add_response(
        method="POST", url=f"{base}/verification/send", json=envelope(SEND_ANSWER)
    )
    async with make_client(base) as client:
        assert_engine_is_own(client)
        record = await client.records.get_by_order_id("1234566", app_id="ad454212")
        sent = await client.verifications.send(app_id="ad454212", template_id=9, to=NUMBER)
    assert record.order_id == "1234566"
    assert sent.to == NUMBER
    lookup, send = httpx_mock.get_requests()
    assert_signed_lookup(lookup, base)
    assert send.url.path == "/otp/verification/send"
    assert json.loads(send.content)["to"] == NUMBER
    assert server.connections == 0


@pytest.mark.httpx_mock(assert_all_requests_were_expected=False)
async def test_pytest_httpx_unmatched_request_never_reaches_the_network(
    httpx_mock: HTTPXMock, server: RecordingServer
) -> None:
    """A request pytest-httpx has no answer for fails (its TimeoutException, typed by the
    SDK) without reaching the server."""
    async with make_client(server.base_url) as client:
        with pytest.raises(RequestTimeoutError):
            await client.flows.list()
    assert len(httpx_mock.get_requests()) == 1
    assert server.connections == 0


# -- recognised by what they install, whenever imported ----------------------------------

#: A script run in a fresh interpreter: a loopback server that counts connections, a mock
#: started *before* ``itnio_async`` is first imported, then a call through the SDK.
LAZY_IMPORT = """
import asyncio, json, sys
import respx

USING = sys.argv[1]

async def main() -> None:
    connections = 0

    async def serve(reader, writer):
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    base = "http://127.0.0.1:%d/otp" % server.sockets[0].getsockname()[1]
    envelope = {"status": "0", "reason": "ok", "data": []}
    async with respx.mock(base_url=base, using=USING) as mock:
        route = mock.get("/template/list").respond(json=envelope)
        from itnio_async import AsyncItnio  # first imported while the mock is active

        async with AsyncItnio("key-1234", "secret-1234", base_url=base) as client:
            assert await client.templates.list() == []
    server.close()
    await server.wait_closed()
    print(json.dumps({"calls": route.call_count, "connections": connections}))

asyncio.run(main())
"""


@pytest.mark.parametrize("using", ["httpcore", "httpx"])
def test_a_mock_active_before_the_sdk_is_first_imported_intercepts_it(using: str) -> None:
    """itnio_async imported for the first time inside an active respx mock (a lazy import in
    a test): the mock answers, and not one connection reaches the server behind base_url."""
    done = subprocess.run(
        [sys.executable, "-c", LAZY_IMPORT, using],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"calls": 1, "connections": 0}


PYTEST_HTTPX_THEN_NONE = """
import json

import pytest

from itnio_async import AsyncItnio

RECORD = %r


@pytest.fixture
async def server():
    import asyncio

    seen = []

    async def serve(reader, writer):
        head = await reader.readuntil(b"\\r\\n\\r\\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\\r\\n")[0])
        seen.append(json.loads(await reader.readexactly(length))["orderId"])
        body = json.dumps({"status": "0", "data": dict(RECORD, orderId=seen[-1])}).encode()
        head = b"HTTP/1.1 200 OK\\r\\nContent-Length: %%d\\r\\n\\r\\n" %% len(body)
        writer.write(head + body)
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    yield "http://127.0.0.1:%%d/otp" %% port, seen
    listening.close()


async def test_1_mocked(httpx_mock, server):
    base, seen = server
    httpx_mock.add_response(json={"status": "0", "data": dict(RECORD, orderId="mocked")})
    async with AsyncItnio("key-1234", "secret-1234", base_url=base) as client:
        assert (await client.records.get_by_order_id("mocked")).order_id == "mocked"
    assert seen == []


async def test_2_after_the_mock(server):
    base, seen = server
    async with AsyncItnio("key-1234", "secret-1234", base_url=base) as client:
        assert (await client.records.get_by_order_id("after")).order_id == "after"
    assert seen == ["after"]
"""


def test_after_pytest_httpx_the_own_engine_serves_again(tmp_path: Path) -> None:
    """pytest-httpx's httpx_mock in one test, none in the next (same process): the mocked
    call never reaches the server, the next call does, on the SDK's engine."""
    module = tmp_path / "test_sequence.py"
    module.write_text(PYTEST_HTTPX_THEN_NONE % (RECORD_ANSWER,))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            str(module),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


async def test_a_wrapper_that_is_not_a_mock_keeps_the_own_engine(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tracing instrumentation wraps httpx's transport (OpenTelemetry's HTTPX instrumentor
    does): that is not a mock, so calls stay on the SDK's engine and reach the server."""
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def traced(self: Any, request: httpx.Request) -> httpx.Response:
        return await original(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", traced)
    async with make_client(server.base_url) as client:
        await client.records.get_by_order_id("1234566")
        assert not client._network().closed
    assert [json.loads(s.body)["orderId"] for s in server.seen] == ["1234566"]


async def test_a_unittest_mock_in_httpx_is_recognised(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx's transport replaced by a unittest.mock AsyncMock: the SDK's calls go to it,
    none reaches the server."""
    from unittest import mock

    answer = httpx.Response(200, json=envelope(RECORD_ANSWER))
    patched = mock.AsyncMock(return_value=answer)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", patched)
    async with make_client(server.base_url) as client:
        record = await client.records.get_by_order_id("1234566")
    assert record.order_id == "1234566"
    assert patched.await_count == 1
    assert server.connections == 0
