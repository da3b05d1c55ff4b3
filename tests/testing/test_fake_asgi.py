"""The fake as a plain ASGI 3 app: SDK through httpx.ASGITransport, raw ASGI messages, mounting."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from itnio_async import AsyncItnio, make_sign
from itnio_async.testing import FakeItnio, InjectedDisconnectError

from .conftest import KEY, PHONE, SECRET, T0

Message = MutableMapping[str, Any]


def _scope(path: str, *, method: str = "GET", root_path: str = "") -> dict[str, Any]:
    stamp = str(int(T0))
    headers = [
        (b"api-key", KEY.encode()),
        (b"timestamp", stamp.encode()),
        (b"sign", make_sign(KEY, SECRET, stamp).encode()),
        (b"content-type", b"application/json;charset=UTF-8"),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": headers,
    }


def _channel(
    *incoming: Message, then_disconnect_after: float | None = None
) -> tuple[Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]], list[Message]]:
    queue = list(incoming)
    sent: list[Message] = []

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        if then_disconnect_after is None:
            await asyncio.Event().wait()  # never: the client stays connected
        else:
            await asyncio.sleep(then_disconnect_after)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    return receive, send, sent


def _body(sent: list[Message]) -> Any:
    assert sent[0]["type"] == "http.response.start"
    return json.loads(b"".join(m.get("body", b"") for m in sent[1:]))


async def test_sdk_through_asgi_transport(fake: FakeItnio) -> None:
    """The SDK runs a full send → verify against the ASGI app via httpx.ASGITransport."""
    transport = httpx.ASGITransport(app=fake.asgi_app)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        fake.client(http_client=http, base_url="http://sandbox.test/otp") as client,
    ):
        app = await client.apps.create(name="asgi-app")
        template = await client.templates.create(
            app_id=app.app_id, name="asgi-template", text="##code##"
        )
        sent = await client.verifications.send(
            app_id=app.app_id, template_id=template.template_id, to=PHONE
        )
        assert (await client.verifications.verify(sent.verification_id, fake.last_code(PHONE))).ok
    assert [r.status for r in fake.requests] == ["0"] * 4


async def test_raw_asgi_request_in_chunks(fake: FakeItnio) -> None:
    """A body split over several http.request messages is reassembled; headers are complete."""
    body = json.dumps({"name": "chunked-app"}).encode()
    receive, send, sent = _channel(
        {"type": "http.request", "body": body[:5], "more_body": True},
        {"type": "http.request", "body": body[5:], "more_body": False},
    )
    await fake.asgi_app(_scope("/otp/app/add", method="POST"), receive, send)
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 200
    assert headers[b"content-type"] == b"application/json;charset=UTF-8"
    assert int(headers[b"content-length"]) == len(sent[1]["body"])
    assert b"date" in headers
    assert _body(sent)["data"]["name"] == "chunked-app"


@pytest.mark.parametrize(
    ("path", "root_path"),
    [("/sandbox/otp/flow/list", "/sandbox"), ("/api/otp/flow/list", "/api/otp")],
)
async def test_root_path_is_honoured(fake: FakeItnio, path: str, root_path: str) -> None:
    """Mounted below a root_path (or at .../otp), the app answers the API paths."""
    receive, send, sent = _channel({"type": "http.request", "body": b""})
    await fake.asgi_app(_scope(path, root_path=root_path), receive, send)
    assert _body(sent) == {"status": "0", "reason": "success", "data": []}
    assert fake.requests[-1].path == "/flow/list"


async def test_mounted_in_a_fastapi_app(fake: FakeItnio) -> None:
    """fake.asgi_app mounted in a FastAPI app serves the SDK under the mount path."""
    outer = FastAPI()
    outer.mount("/sandbox", fake.asgi_app)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=outer)) as http,
        fake.client(http_client=http, base_url="http://outer.test/sandbox/otp") as client,
    ):
        assert await client.flows.list() == []
    assert fake.requests[-1].path == "/flow/list"


async def test_drop_starts_the_response_then_raises(fake: FakeItnio) -> None:
    """A drop fault sends http.response.start, then raises so the server kills the connection."""
    fake.fail_next("drop")
    receive, send, sent = _channel({"type": "http.request", "body": b""})
    with pytest.raises(InjectedDisconnectError):
        await fake.asgi_app(_scope("/otp/flow/list"), receive, send)
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert fake.requests[-1].fault == "drop"


async def test_timeout_waits_for_the_client_to_give_up(fake: FakeItnio) -> None:
    """A timeout fault answers nothing and returns once the client disconnects."""
    fake.fail_next("timeout")
    receive, send, sent = _channel(
        {"type": "http.request", "body": b""}, then_disconnect_after=0.01
    )
    await asyncio.wait_for(fake.asgi_app(_scope("/otp/flow/list"), receive, send), 1)
    assert sent == []
    assert fake.requests[-1].fault == "timeout"


@pytest.mark.parametrize(("after", "status"), [(False, 504), (True, 200)])
async def test_timeout_answers_late_if_the_client_waits(
    fake: FakeItnio, after: bool, status: int
) -> None:
    """After `delay` seconds with the client still there: 504, or the real answer if after=True."""
    fake.fail_next("timeout", delay=0.01, after=after)
    receive, send, sent = _channel({"type": "http.request", "body": b""})
    await asyncio.wait_for(fake.asgi_app(_scope("/otp/flow/list"), receive, send), 1)
    assert sent[0]["status"] == status


async def test_disconnect_before_the_body_is_complete(fake: FakeItnio) -> None:
    """A client that disconnects mid-body gets nothing and nothing is logged."""
    receive, send, sent = _channel(
        {"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}
    )
    await fake.asgi_app(_scope("/otp/app/add", method="POST"), receive, send)
    assert sent == []
    assert fake.requests == []


async def test_lifespan_and_websocket(fake: FakeItnio) -> None:
    """Lifespan startup/shutdown are acknowledged; websockets are closed."""
    receive, send, sent = _channel({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"})
    await fake.asgi_app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    receive, send, sent = _channel({"type": "websocket.connect"})
    await fake.asgi_app({"type": "websocket", "path": "/otp/x"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1000}]


def test_ways_in_are_cached_and_shared(fake: FakeItnio) -> None:
    """transport and asgi_app are created once per fake and answer from the same state."""
    assert fake.transport is fake.transport
    assert fake.asgi_app is fake.asgi_app
    assert "FakeItnio" in repr(fake.transport)
    assert "FakeItnio" in repr(fake.asgi_app)


async def test_client_defaults(fake: FakeItnio) -> None:
    """fake.client() uses the fake's credentials and base URL; options override them."""
    async with fake.client() as client:
        assert client.base_url == "http://itnio.fake/otp"
        assert client.api_key == KEY
        assert client.retry_policy.base_delay == 0
    async with fake.client(api_key="other-key", max_retries=0) as client:
        assert client.api_key == "other-key"
        assert client.max_retries == 0
    assert isinstance(client, AsyncItnio)
