"""The route a call takes to the network, and what each route builds.

On the SDK's own engine with no event hook, no raw response and no mock, a call goes
from request bytes to the decoded model without one ``httpx.Request``, ``Response``,
``Headers`` or ``URL``; they are built where a user can see them (hooks, raw
responses), and a user's ``http_client=`` / ``transport=`` is driven with them, its
answer read within the cap and closed at once when it is over.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, TransportError
from itnio_async.testing import FakeItnio, SeedData

from .conftest import envelope, mock_client

COUNTED = (httpx.Request, httpx.Response, httpx.Headers, httpx.URL)


@contextlib.contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Count the httpx objects constructed while the block runs."""
    made = {cls.__name__: 0 for cls in COUNTED}
    with monkeypatch.context() as patch:
        for cls in COUNTED:
            original = cls.__init__

            def counted(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> None:
                made[type(self).__name__] = made.get(type(self).__name__, 0) + 1
                __original(self, *args, **kwargs)

            patch.setattr(cls, "__init__", counted)
        yield made


async def test_the_happy_path_builds_no_httpx_object(
    served: tuple[FakeItnio, SeedData, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads, a send and a lookup on the SDK's own engine: no httpx Request, Response,
    Headers or URL is constructed for any of them."""
    fake, seed, base_url = served
    async with AsyncItnio(fake.api_key, fake.api_secret, base_url=base_url) as client:
        await client.templates.list()  # the first call opens the connection
        with counting(monkeypatch) as made:
            await client.templates.get(seed.template_id)
            await client.records.get_by_order_id(seed.order_id)
            await client.verifications.send(
                app_id=seed.app_id, template_id=seed.template_id, to="8613900001111"
            )
            async for lookup in client.records.iter_by_order_ids([seed.order_id] * 5):
                assert lookup.ok
    assert made == dict.fromkeys(made, 0)


async def test_hooks_and_raw_responses_get_httpx_objects(
    served: tuple[FakeItnio, SeedData, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a user can see them, they are built: a hook gets the httpx.Request and
    httpx.Response, a raw response its httpx.Response (on first use)."""
    fake, seed, base_url = served
    seen: list[Any] = []
    hooks: dict[str, list[Any]] = {"request": [seen.append], "response": [seen.append]}
    async with AsyncItnio(
        fake.api_key, fake.api_secret, base_url=base_url, event_hooks=hooks
    ) as client:
        await client.templates.get(seed.template_id)
    request, response = seen
    assert isinstance(request, httpx.Request)
    assert isinstance(response, httpx.Response)
    assert response.request is request
    async with AsyncItnio(fake.api_key, fake.api_secret, base_url=base_url) as client:
        with counting(monkeypatch) as made:
            raw = await client.templates.with_raw_response.get(seed.template_id)
            assert made["Response"] == 0  # not until someone asks
            assert raw.http_response.request.url.path.endswith(f"/{seed.template_id}")
        assert made["Response"] == 1


async def test_a_users_over_cap_answer_is_closed_at_once() -> None:
    """A user's transport streams an answer past max_response_size: the call fails with a
    TransportError and the stream is closed right away (not at garbage collection)."""
    closed: list[bool] = []

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 65536

        async def aclose(self) -> None:
            closed.append(True)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Endless())

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        AsyncItnio("key-1234", "secret-1234", http_client=http, max_retries=0) as client,
    ):
        with pytest.raises(TransportError, match="ResponseTooLarge"):
            await client.flows.get(1)
        assert closed == [True]


@pytest.mark.parametrize("coding", ["gzip, gzip, identity", "gzip, deflate", "br"])
async def test_a_users_answer_with_codings_the_engine_refuses_is_a_typed_error(
    coding: str,
) -> None:
    """Through a user's transport, a body with stacked or unknown codings is refused by the
    engine's one decoder (a DecodeError), never decoded by httpx without a limit."""
    import gzip

    body = gzip.compress(gzip.compress(b'{"status":"0"}'))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"Content-Encoding": coding}, stream=httpx.ByteStream(body)
        )

    from itnio_async import DecodeError

    async with mock_client(handler, max_retries=0) as client:
        with pytest.raises(DecodeError):
            await client.flows.get(1)


async def test_a_user_transports_answer_is_decoded_within_the_cap() -> None:
    """A gzip answer through a user's transport is decoded by the engine's decoder, within
    max_response_size (a small cap refuses what unpacks past it)."""
    import gzip
    import json

    payload = json.dumps(envelope({"flowId": 1, "name": "n" * 5000, "flow": []})).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"Content-Encoding": "gzip"},
            stream=httpx.ByteStream(gzip.compress(payload)),
        )

    async with mock_client(handler, max_retries=0) as client:
        flow = await client.flows.get(1)
    assert flow.name == "n" * 5000
    async with mock_client(handler, max_retries=0, max_response_size=1000) as client:
        with pytest.raises(TransportError, match="larger than 1000 bytes"):
            await client.flows.get(1)


async def test_a_hook_sees_the_request_httpx_itself_would_build() -> None:
    """The ``httpx.Request`` a hook and a user's transport get is the one httpx builds from
    the same method, URL, headers and body: same URL, header list, body and stream."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope({"appList": []}))

    async with AsyncItnio(
        "k" * 16,
        "s" * 32,
        base_url="https://api.example.test/otp",
        transport=httpx.MockTransport(answer),
    ) as client:
        await client.request("POST", "/app/list", json={"pageNum": 1})
        await client.request("POST", "/app/list")
    for request in seen:
        rebuilt = httpx.Request(
            request.method, str(request.url), headers=request.headers.raw, content=request.content
        )
        assert request.url == rebuilt.url
        assert request.headers.raw == rebuilt.headers.raw
        assert request.content == rebuilt.content
        stream = request.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        assert [chunk async for chunk in stream] == [request.content]
    with_body, without_body = seen
    assert with_body.content == b'{"pageNum":1}'
    assert with_body.headers["content-length"] == "13"
    assert without_body.headers["content-length"] == "0"  # httpx's own rule for a POST


def test_parsed_urls_are_remembered_within_a_bound() -> None:
    """Parsed URLs are reused, and however many distinct ones pass (a path can carry an
    id), no more than ``URLS_KEPT`` are kept."""
    from itnio_async import _wire

    first = _wire.parsed_url("https://api.example.test/otp/template/get/1")
    assert _wire.parsed_url("https://api.example.test/otp/template/get/1") is first
    assert first == httpx.URL("https://api.example.test/otp/template/get/1")
    for n in range(3 * _wire.URLS_KEPT):
        url = _wire.parsed_url(f"https://api.example.test/otp/template/get/{n}")
        assert url.path == f"/otp/template/get/{n}"
        assert len(_wire._URLS) <= _wire.URLS_KEPT
    with pytest.raises(httpx.InvalidURL):
        _wire.parsed_url("https://[::1/")


async def test_a_users_client_sends_one_host_and_length_and_its_own_defaults() -> None:
    """Through a user's ``http_client=``: httpx sets Host and Content-Length (once each,
    the SDK's values), the client's default headers and cookies are kept, and the SDK's
    own headers win over the client's defaults."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope({"appList": []}))

    user = httpx.AsyncClient(
        transport=httpx.MockTransport(answer),
        headers={"X-Team": "billing", "Accept": "text/html"},
        cookies={"session": "abc"},
    )
    async with (
        user,
        AsyncItnio(
            "k" * 16, "s" * 32, base_url="https://api.example.test:8443/otp", http_client=user
        ) as client,
    ):
        await client.request("POST", "/app/list", json={"pageNum": 1})
    (request,) = seen
    names = [name.lower() for name, _ in request.headers.raw]
    assert names.count(b"host") == 1
    assert names.count(b"content-length") == 1
    assert request.headers["host"] == "api.example.test:8443"
    assert request.headers["content-length"] == str(len(request.content))
    assert request.headers["x-team"] == "billing"
    assert request.headers["cookie"] == "session=abc"
    assert request.headers["accept"] == "application/json"
