"""The sandbox over real sockets: the SDK against ``FakeItnio.serve()`` (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    Channel,
    FlowStep,
    FlowTrigger,
    HTTPStatusError,
    MatchStatus,
    RequestTimeoutError,
    TransportError,
)
from itnio_async.testing import FakeItnio

PHONE = "8613512345678"


async def test_full_flow_over_tcp() -> None:
    """Create app, template and flow; send; verify wrong then right; look the record up twice."""
    fake = FakeItnio()
    async with fake.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/otp")
        async with fake.client(base_url=base_url, transport=None) as client:
            app = await client.apps.create(name="tcp-shop", code_expiry=3)
            template = await client.templates.create(
                app_id=app.app_id, name="tcp-login", text="Code ##code##", code_length=6
            )
            flow = await client.flows.create(
                name="tcp-flow",
                steps=[
                    FlowStep(waiting_time=30, status=FlowTrigger.NOT_VERIFIED, channel=Channel.CALL)
                ],
            )
            sent = await client.verifications.send(
                app_id=app.app_id,
                template_id=template.template_id,
                to=PHONE,
                flow_id=flow.flow_id,
                order_id="tcp-order-1",
            )
            code = fake.last_code(PHONE)
            assert len(code) == 6
            wrong = await client.verifications.verify(sent.verification_id, "abcdef")
            assert wrong.matched is MatchStatus.FAILED
            right = await client.verifications.verify(sent.verification_id, code)
            assert right.ok
            by_id = await client.records.get(sent.verification_id)
            by_order = await client.records.get_by_order_id("tcp-order-1", app_id=app.app_id)
    assert by_id.verification_id == sent.verification_id
    for record in (by_id, by_order):
        assert record.verifications is not None
        assert record.verifications.matched is MatchStatus.MATCHED
        assert record.verifications.channel is Channel.SMS
        assert record.verifications.order_id == "tcp-order-1"
        assert len(record.sms) == 1
    assert by_order.flow_id == flow.flow_id
    assert [r.path for r in fake.requests] == [
        "/app/add",
        "/template/add",
        "/flow/add",
        "/verification/send",
        "/verification/verify",
        "/verification/verify",
        f"/verification/record/{sent.verification_id}",
        "/verification/orderId/record",
    ]
    assert all(r.status == "0" for r in fake.requests)
    assert fake.requests[0].headers["content-type"] == "application/json;charset=UTF-8"


async def test_dropped_connection_over_tcp_is_a_transport_error() -> None:
    """A drop fault kills the TCP connection mid-response: the SDK raises TransportError."""
    fake = FakeItnio()
    ids = fake.seed()
    async with fake.serve() as base_url, fake.client(base_url=base_url, transport=None) as client:
        fake.fail_next("drop", path="/verification/send", after=True)
        with pytest.raises(TransportError) as info:
            await client.verifications.send(
                app_id=ids.app_id, template_id=ids.template_id, to=PHONE
            )
        assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
        assert info.value.sent is True
        # The send happened (after=True) and the connection pool recovers.
        assert len(fake.sent_to(PHONE)) == 2  # one from the seed, one now
        assert (await client.flows.get(ids.flow_id)).name == "sms-then-call"
    assert [(r.path, r.fault) for r in fake.requests] == [
        ("/verification/send", "drop"),
        (f"/flow/details/{ids.flow_id}", None),
    ]


async def test_timeout_and_http_status_over_tcp() -> None:
    """Over TCP a timeout fault makes the client give up; a 503 carries Retry-After."""
    fake = FakeItnio()
    async with (
        fake.serve() as base_url,
        fake.client(base_url=base_url, transport=None, timeout=0.2) as client,
    ):
        fake.fail_next("timeout")
        with pytest.raises(RequestTimeoutError):
            await client.with_options(max_retries=0).flows.list()
        fake.fail_next("http", status=503, retry_after=9)
        with pytest.raises(HTTPStatusError) as info:
            await client.apps.create(name="never-made")
    assert (info.value.status_code, info.value.retry_after) == (503, 9)
    assert [r.fault for r in fake.requests] == ["timeout", "http"]


async def test_serve_on_a_busy_port_raises_oserror() -> None:
    """A port that is taken raises OSError instead of stopping the process."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=r"(?i)address"):
            async with FakeItnio().serve(port=port):
                pass


async def test_serve_forever_runs_until_cancelled() -> None:
    """serve_forever announces its URL, serves requests, and stops cleanly when cancelled."""
    fake = FakeItnio()
    urls: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.ensure_future(fake.serve_forever(port=0, ready=urls.put_nowait))
    base_url = await asyncio.wait_for(urls.get(), timeout=5)
    assert base_url.startswith("http://127.0.0.1:")
    async with fake.client(base_url=base_url, transport=None) as client:
        assert await client.flows.list() == []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(base_url + "/flow/list")


async def test_advance_over_http_lets_a_client_see_a_code_expire() -> None:
    """POST /_sandbox/advance?seconds=N over TCP moves the served fake's clock: a code sent
    by a client that signs with the real time expires without sleeping, and that client
    is not refused for its Timestamp afterwards."""
    fake = FakeItnio()
    async with fake.serve() as base_url:
        root = base_url.removesuffix("/otp")
        async with (
            AsyncItnio(fake.api_key, fake.api_secret, base_url=base_url) as client,
            httpx.AsyncClient(trust_env=False) as http,
        ):
            app = await client.apps.create(name="clock-shop", code_expiry=1)
            template = await client.templates.create(
                app_id=app.app_id, name="clock-login", text="Code ##code##"
            )
            sent = await client.verifications.send(
                app_id=app.app_id, template_id=template.template_id, to=PHONE
            )
            before = fake.now()
            answer = await http.post(f"{root}/_sandbox/advance", params={"seconds": "61"})
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("application/json")
            assert answer.json()["advanced"] == 61.0
            assert fake.now() - before >= 61
            result = await client.verifications.verify(sent.verification_id, fake.last_code(PHONE))
    assert result.matched is MatchStatus.EXPIRED
    assert [r.status for r in fake.requests] == ["0"] * 4  # no -16 after the advance


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?seconds=",
        "?seconds=abc",
        "?seconds=0",
        "?seconds=-5",
        "?seconds=nan",
        "?seconds=inf",
        "?seconds=1e400",
    ],
)
async def test_advance_refuses_what_is_no_positive_finite_number(query: str) -> None:
    """A missing, non-numeric, zero, negative or infinite N answers 400 with a JSON error and
    leaves the clock alone; another method answers 405."""
    now = [1_000_000.0]
    fake = FakeItnio(clock=lambda: now[0])
    async with fake.serve() as base_url, httpx.AsyncClient(trust_env=False) as http:
        url = base_url.removesuffix("/otp") + "/_sandbox/advance"
        answer = await http.post(url + query)
        wrong_method = await http.get(url + "?seconds=5")
    assert answer.status_code == 400
    assert answer.json()["error"] == "Bad Request"
    assert answer.json()["message"].startswith("seconds must be a positive finite number")
    assert fake.now() == 1_000_000.0
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
