"""The HTTP answer on errors, and the call on every error.

``APIError`` and ``HTTPStatusError`` carry ``status_code`` and ``headers`` of the
answer that raised them (scrubbed of what the call sent that must stay private);
every error a call raises carries its ``method`` and ``path``; transport and HTTP
errors name the host as well as the path, and a 404 says where to look. Checked on
the SDK's own engine and a user ``http_client`` (over a real socket in front of the
stateful fake) and through ``FakeItnio``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from itnio_async import (
    APIError,
    AsyncItnio,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    MismatchedAnswerError,
    NotFoundError,
    OutcomeUnknownError,
    RequestTimeoutError,
    SendLimitError,
    TransportError,
)
from itnio_async.testing import FakeItnio, SeedData

from ._loopback import LoopbackServer, response
from .conftest import FIXED_TIME
from .test_raw_response import ENGINES, NO_SLEEP, FakeGateway, connect

NUMBER = "8613800138000"


def seeded() -> tuple[FakeItnio, SeedData]:
    """A fake with its demo data, on a frozen clock."""
    fake = FakeItnio(random_seed=11, clock=lambda: float(FIXED_TIME))
    return fake, fake.seed()


def host_of(client: AsyncItnio) -> str:
    """The client's base URL: messages name scheme, host, port and the API prefix."""
    return client.base_url


# -- APIError: the answer's status and headers -------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
async def test_api_error_carries_the_answers_status_code_and_headers(engine: str) -> None:
    """An envelope error (-24 on HTTP 200) has status_code 200 and the answer's headers:
    the server's Date and, through the gateway, its header."""
    fake, _ = seeded()
    async with connect(engine, fake) as (client, gateway):
        with pytest.raises(NotFoundError) as info:
            await client.templates.get(987_654)
    error = info.value
    assert (error.status, error.status_code) == (-24, 200)
    assert isinstance(error.headers, httpx.Headers)
    assert error.headers["date"] == "Wed, 01 Sep 2021 04:00:00 GMT"
    assert error.headers["content-type"].startswith("application/json")
    if gateway is not None:
        assert error.headers["x-gateway"] == "edge-7"
    assert (error.method, error.path) == ("GET", "/template/details/987654")


@pytest.mark.parametrize("engine", ENGINES)
async def test_send_limit_error_carries_the_http_answer(engine: str) -> None:
    """A send refused by the app's per-phone limit (-28) carries status_code and headers too."""
    fake, seed = seeded()
    async with connect(engine, fake) as (client, _):
        fake.fail_next("api", status=-28, reason="limit for 8613800138000")
        with pytest.raises(SendLimitError) as info:
            await client.verifications.send(
                app_id=seed.app_id, template_id=seed.template_id, to=NUMBER
            )
    error = info.value
    assert error.status_code == 200
    assert error.headers is not None
    assert "date" in error.headers
    assert error.reason is not None
    assert NUMBER not in error.reason
    assert (error.method, error.path) == ("POST", "/verification/send")


# -- HTTPStatusError: the answer's status and headers -----------------------------------


@pytest.mark.parametrize("engine", ENGINES)
async def test_http_status_error_carries_the_answers_headers(engine: str) -> None:
    """A 503 with Retry-After: status_code, headers (Retry-After, Date, the gateway's) and the
    call; the message names the host and the path."""
    fake, seed = seeded()
    async with connect(engine, fake, max_retries=0) as (client, gateway):
        fake.fail_next(503, retry_after=7)
        with pytest.raises(HTTPStatusError) as info:
            await client.templates.get(seed.template_id)
    error = info.value
    assert error.status_code == 503
    assert error.retry_after == 7
    assert isinstance(error.headers, httpx.Headers)
    assert error.headers["retry-after"] == "7"
    assert error.headers["date"] == "Wed, 01 Sep 2021 04:00:00 GMT"
    if gateway is not None:
        assert error.headers["x-gateway"] == "edge-7"
    path = f"/template/details/{seed.template_id}"
    assert (error.method, error.path) == ("GET", path)
    assert f"{host_of(client)}{path}" in str(error)


@pytest.mark.parametrize("engine", ENGINES)
async def test_http_status_error_with_an_envelope_keeps_it(engine: str) -> None:
    """A 502 whose body is an envelope keeps its status and reason, digits masked."""
    fake, _ = seeded()
    body = json.dumps({"status": "-18", "reason": "upstream 8613800138000 busy"})
    async with connect(engine, fake, max_retries=0) as (client, _):
        fake.fail_next(502, body=body)
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.list()
    error = info.value
    assert (error.status_code, error.status) == (502, -18)
    assert error.reason is not None
    assert NUMBER not in error.reason
    assert NUMBER[-4:] in error.reason
    assert NUMBER not in error.body


async def test_the_error_of_a_retried_call_carries_the_last_answer() -> None:
    """After three 503s, the error's headers are those of the third answer."""
    fake, seed = seeded()
    answers = iter(range(1, 10))

    def numbered(target: str, headers: dict[str, str], body: bytes) -> bytes:
        return (
            f"HTTP/1.1 503 Busy\r\nX-Answer: {next(answers)}\r\nContent-Length: 4\r\n\r\nbusy"
        ).encode()

    async with (
        FakeGateway(fake, raw_reply=numbered) as gateway,
        AsyncItnio(
            fake.api_key,
            fake.api_secret,
            base_url=gateway.base_url,
            clock=fake.now,
            retry_policy=NO_SLEEP,
        ) as client,
    ):
        with pytest.raises(HTTPStatusError) as info:
            await client.templates.get(seed.template_id)
    assert gateway.requests == 3
    assert info.value.headers is not None
    assert info.value.headers["x-answer"] == "3"


# -- what the redaction rules forbid never reaches the error ---------------------------


def echoing_gateway(fake: FakeItnio, status: int, envelope: dict[str, Any]) -> FakeGateway:
    """A gateway that answers with headers echoing the request's Sign, number and code."""

    def echo(target: str, headers: dict[str, str], body: bytes) -> bytes:
        sent = json.loads(body) if body else {}
        payload = json.dumps(envelope).encode()
        lines = [
            f"HTTP/1.1 {status} X",
            "Content-Type: application/json",
            f"X-Echo-Sign: {headers['sign']}",
            f"X-Debug: sign={headers['sign']}; ts={headers['timestamp']}",
            f"X-Echo-To: {sent.get('to', '')}",
            f"X-Echo-Code: {sent.get('code', '')}",
            "X-Request-Id: edge-7/abc-123",
            "Server: gateway/1.2",
            f"Content-Length: {len(payload)}",
        ]
        return "\r\n".join(lines).encode() + b"\r\n\r\n" + payload

    return FakeGateway(fake, raw_reply=echo)


@contextlib.asynccontextmanager
async def echo_client(
    fake: FakeItnio, status: int, envelope: dict[str, Any], *, user_client: bool
) -> AsyncIterator[tuple[AsyncItnio, list[httpx.Request]]]:
    """A client (own engine or a user http_client) of an echoing gateway; yields the requests."""
    sent: list[httpx.Request] = []
    async with contextlib.AsyncExitStack() as stack:
        gateway = await stack.enter_async_context(echoing_gateway(fake, status, envelope))
        options: dict[str, Any] = {
            "clock": fake.now,
            "retry_policy": NO_SLEEP,
            "max_retries": 0,
            "event_hooks": {"request": [sent.append]},
        }
        if user_client:
            options["http_client"] = await stack.enter_async_context(
                httpx.AsyncClient(trust_env=False)
            )
        client = await stack.enter_async_context(
            AsyncItnio(fake.api_key, fake.api_secret, base_url=gateway.base_url, **options)
        )
        yield client, sent


def assert_scrubbed(error: ItnioError, request: httpx.Request, *secrets: str) -> None:
    """Neither the Sign of ``request`` nor any of ``secrets`` is anywhere in the error."""
    sign = request.headers["Sign"]
    headers = getattr(error, "headers", None)
    assert headers is not None
    shown = [str(error), repr(error), *(f"{k}: {v}" for k, v in headers.multi_items())]
    shown += [str(v) for v in vars(error).values() if not isinstance(v, httpx.Headers)]
    for text in shown:
        assert sign not in text
        for secret in secrets:
            assert secret not in text
    assert headers["x-echo-sign"] == "***"
    assert headers["x-request-id"] == "edge-7/abc-123"  # what is not private stays
    assert headers["server"] == "gateway/1.2"


@pytest.mark.parametrize("user_client", [False, True], ids=["own", "http_client"])
async def test_a_header_echoing_the_sign_is_scrubbed_from_an_api_error(user_client: bool) -> None:
    """An API error whose answer echoes the Sign, the number and the code in headers carries
    those headers with the three removed."""
    fake, seed = seeded()
    envelope = {"status": "-22", "reason": "bad code"}
    async with echo_client(fake, 200, envelope, user_client=user_client) as (client, sent):
        with pytest.raises(APIError) as info:
            await client.verifications.send_code(
                app_id=seed.app_id, code="864209", to=NUMBER, template_id=seed.template_id
            )
    (request,) = sent
    assert_scrubbed(info.value, request, NUMBER, "864209")
    assert info.value.status_code == 200
    assert info.value.headers is not None
    assert info.value.headers["x-echo-to"] == "*********8000"
    assert info.value.headers["x-echo-code"] == "***"


@pytest.mark.parametrize("user_client", [False, True], ids=["own", "http_client"])
async def test_a_header_echoing_the_sign_is_scrubbed_from_an_http_error(user_client: bool) -> None:
    """A 500 whose answer echoes the Sign and the code in headers: both removed from the
    HTTPStatusError's headers, message and attributes."""
    fake, _ = seeded()
    envelope = {"status": "-18", "reason": "internal"}
    async with echo_client(fake, 500, envelope, user_client=user_client) as (client, sent):
        with pytest.raises(HTTPStatusError) as info:
            await client.verifications.verify("a" * 32, "531246")
    assert sent
    for request in sent:
        assert_scrubbed(info.value, request, "531246")
    assert info.value.status_code == 500


# -- method and path on every error a call raises -------------------------------------------


def refused_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_transport_error_names_the_call_and_the_host() -> None:
    """A refused connection: TransportError(sent=False) with method, path, and a message
    naming host and path."""
    base_url = f"http://127.0.0.1:{refused_port()}/otp"
    async with AsyncItnio("key-1234", "secret-1234", base_url=base_url, max_retries=0) as client:
        with pytest.raises(TransportError) as info:
            await client.flows.get(42)
    error = info.value
    assert error.sent is False
    assert (error.method, error.path) == ("GET", "/flow/details/42")
    assert f"{base_url}/flow/details/42" in str(error)
    assert "GET" in str(error)


@pytest.mark.parametrize("engine", ENGINES)
async def test_dropped_connection_error_names_the_call_and_the_host(engine: str) -> None:
    """A connection lost after the request: TransportError(sent=True) with the call and host."""
    fake, seed = seeded()
    async with connect(engine, fake) as (client, _):
        fake.fail_next("drop")
        with pytest.raises(TransportError) as info:
            await client.verifications.send(
                app_id=seed.app_id, template_id=seed.template_id, to=NUMBER
            )
    error = info.value
    assert error.sent is True
    assert (error.method, error.path) == ("POST", "/verification/send")
    assert f"{host_of(client)}/verification/send" in str(error)


async def test_read_timeout_names_the_call_and_the_host() -> None:
    """A read timeout (the fake's transport) is a RequestTimeoutError with the call and host."""
    fake, _ = seeded()
    async with fake.client(max_retries=0) as client:
        fake.fail_next("timeout")
        with pytest.raises(RequestTimeoutError) as info:
            await client.templates.list()
    error = info.value
    assert (error.method, error.path) == ("GET", "/template/list")
    assert f"{client.base_url}/template/list" in str(error)


class SilentServer(LoopbackServer):
    """A server on 127.0.0.1 that reads requests and never answers."""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)


async def test_deadline_error_names_the_call() -> None:
    """The call's deadline passing is a RequestTimeoutError with method and path."""
    async with (
        SilentServer() as server,
        AsyncItnio("key-1234", "secret-1234", base_url=server.base_url, deadline=0.05) as client,
    ):
        with pytest.raises(RequestTimeoutError) as info:
            await client.flows.get(42)
    error = info.value
    assert (error.method, error.path) == ("GET", "/flow/details/42")
    assert error.sent is True


async def test_deadline_error_names_the_host() -> None:
    """The deadline's RequestTimeoutError names the host, as other transport errors do."""
    async with (
        SilentServer() as server,
        AsyncItnio("key-1234", "secret-1234", base_url=server.base_url, deadline=0.05) as client,
    ):
        with pytest.raises(RequestTimeoutError) as info:
            await client.flows.get(42)
    assert f"GET {server.base_url}/flow/details/42 " in str(info.value)


@pytest.mark.parametrize("engine", ENGINES)
async def test_decode_error_names_the_call(engine: str) -> None:
    """An HTML page with HTTP 200 is a DecodeError with method and path."""
    fake, seed = seeded()
    async with connect(engine, fake) as (client, _):
        fake.fail_next("malformed")
        with pytest.raises(DecodeError) as info:
            await client.apps.get(seed.app_id)
    assert (info.value.method, info.value.path) == ("GET", f"/app/details/{seed.app_id}")


@pytest.mark.parametrize("engine", ENGINES)
async def test_outcome_unknown_error_names_the_call(engine: str) -> None:
    """A verify whose answer is lost after it matched (the record cannot date the match
    after the call began) raises OutcomeUnknownError with method and path."""
    fake, seed = seeded()
    async with connect(engine, fake) as (client, _):
        sent = await client.verifications.send(
            app_id=seed.app_id, template_id=seed.template_id, to=NUMBER
        )
        fake.fail_next("drop", after=True, path="/verification/verify")
        with pytest.raises(OutcomeUnknownError) as info:
            await client.verifications.verify(sent.verification_id, fake.last_code(NUMBER))
    assert (info.value.method, info.value.path) == ("POST", "/verification/verify")
    assert isinstance(info.value.__cause__, TransportError)


def answer_with_another_record(fake: FakeItnio) -> Callable[[str, dict[str, str], bytes], bytes]:
    """Answers every record lookup with the record of another verification."""

    def other(target: str, headers: dict[str, str], body: bytes) -> bytes:
        data = {"verificationId": "b" * 32, "orderId": "someone-else", "flowId": 1}
        payload = json.dumps({"status": "0", "reason": "success", "data": data}).encode()
        return response(payload)

    return other


async def mismatched_record_lookup() -> MismatchedAnswerError:
    """The error of a record lookup (id ``"a" * 32``) answered with another verification's
    record."""
    fake, _ = seeded()
    async with (
        FakeGateway(fake, raw_reply=answer_with_another_record(fake)) as gateway,
        AsyncItnio(
            fake.api_key, fake.api_secret, base_url=gateway.base_url, clock=fake.now, max_retries=0
        ) as client,
    ):
        with pytest.raises(MismatchedAnswerError) as info:
            await client.records.get("a" * 32)
    return info.value


async def test_mismatched_answer_names_the_call() -> None:
    """A record lookup answered with another verification's record: MismatchedAnswerError
    with the method."""
    error = await mismatched_record_lookup()
    assert error.method == "GET"
    assert error.path.startswith("/verification/record/")


async def test_mismatched_answer_path_is_the_path_called() -> None:
    """MismatchedAnswerError.path is the path called (with the id), like every other error's."""
    error = await mismatched_record_lookup()
    assert error.path == "/verification/record/" + "a" * 32


# -- a 404 says where to look ------------------------------------------------------------


@pytest.mark.parametrize("engine", ["own", "http_client"])
async def test_a_404_says_to_check_the_base_url(engine: str) -> None:
    """A base_url without the /otp prefix gets 404s: the error names host and path and says
    to check that base_url ends with the API prefix."""
    fake, seed = seeded()
    async with FakeGateway(fake) as gateway, contextlib.AsyncExitStack() as stack:
        options: dict[str, Any] = {"clock": fake.now, "max_retries": 0}
        if engine == "http_client":
            options["http_client"] = await stack.enter_async_context(
                httpx.AsyncClient(trust_env=False)
            )
        base_url = gateway.base_url.removesuffix("/otp")
        client = await stack.enter_async_context(
            AsyncItnio(fake.api_key, fake.api_secret, base_url=base_url, **options)
        )
        with pytest.raises(HTTPStatusError) as info:
            await client.templates.get(seed.template_id)
    error = info.value
    assert error.status_code == 404
    assert (error.method, error.path) == ("GET", f"/template/details/{seed.template_id}")
    message = str(error)
    assert f"GET {base_url}/template/details/{seed.template_id};" in message
    assert "check that base_url ends with the API prefix" in message
    assert error.headers is not None
    assert "date" in error.headers


async def test_a_404_for_an_id_under_the_api_prefix_gives_no_prefix_hint() -> None:
    """base_url ends with /otp and the path carries an id: the id, not the prefix, is the
    likely cause of a 404, so the message gives no prefix hint (it names the full URL)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="no such template")

    async with AsyncItnio(
        "key-1234", "secret-1234", transport=httpx.MockTransport(handler), max_retries=0
    ) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.templates.get(999)
        with pytest.raises(HTTPStatusError) as listed:
            await client.templates.list()
    assert str(info.value) == (
        "HTTP 404 from GET https://api.itniotech.com/otp/template/details/999"
    )
    assert str(listed.value).endswith(
        "check that base_url ends with the API prefix (for example /otp)"
    )
