"""One outcome model: every error says whether the request may have reached the API.

``ItnioError.sent`` is ``False`` only when a request provably never left this process;
``ServerError`` is a server-side failure however it arrives (envelope ``-18`` or HTTP
5xx, the latter also an ``HTTPStatusError``). The send-safety recipe of the docs
(:func:`send_or_reconcile`, the same code) catches, with one ``except`` clause, the
errors after which an SMS may have gone out, and reconciles them by the order id; it
lets through the errors after which nothing went out.

The faults come from the fake served over TCP (``fail_next(..., after=True)``: the send
took effect, then its answer was lost) and from loopback servers scripted by bytes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from itnio_async import (
    APIError,
    AsyncItnio,
    DecodeError,
    HTTPServerError,
    HTTPStatusError,
    ItnioError,
    OutcomeUnknownError,
    PhoneSendLimitError,
    Record,
    RequestTimeoutError,
    SendResult,
    ServerError,
    TotalSendLimitError,
    TransportError,
    ValidationError,
)
from itnio_async.testing import FakeItnio, SeedData

from ._loopback import LoopbackServer
from .conftest import mock_client

NUMBER = "8613900007777"


async def send_or_reconcile(
    client: AsyncItnio, *, app_id: str, template_id: int, to: str, order_id: str
) -> SendResult | Record:
    """The docs' send-safety recipe: send; if the SMS may have gone out but the answer was
    lost, look the order id up instead of sending again."""
    try:
        return await client.verifications.send(
            app_id=app_id, template_id=template_id, to=to, order_id=order_id
        )
    except (TransportError, ServerError, DecodeError) as exc:
        if not exc.sent:
            raise  # it provably never left: nothing went out, safe to try again later
        return await client.records.get_by_order_id(order_id, app_id=app_id)  # did it go out?


def client_of(fake: FakeItnio, base_url: str, **options: Any) -> AsyncItnio:
    """A client on the SDK's own engine, signing with the fake's clock."""
    options.setdefault("retry_policy", None)
    return AsyncItnio(fake.api_key, fake.api_secret, base_url=base_url, clock=fake.now, **options)


#: Faults after which the send took effect but its answer was lost: kind, fail_next
#: arguments, the error class the call raises (before the recipe catches it).
LOST_ANSWERS: dict[str, tuple[dict[str, Any], type[ItnioError]]] = {
    "read-timeout-after-write": ({"kind": "timeout"}, RequestTimeoutError),
    "reset-after-write": ({"kind": "drop"}, TransportError),
    "http-502-html": (
        {"kind": "http", "status": 502, "body": "<html><h1>502 Bad Gateway</h1></html>"},
        HTTPServerError,
    ),
    "http-503-html": (
        {"kind": "http", "status": 503, "body": "<html>Service Unavailable</html>"},
        HTTPServerError,
    ),
    "status-18": ({"kind": "api", "status": -18}, ServerError),
    "html-200": ({"kind": "malformed"}, DecodeError),
}


@pytest.mark.parametrize("fault", list(LOST_ANSWERS))
async def test_the_recipe_reconciles_every_send_whose_answer_was_lost(
    served: tuple[FakeItnio, SeedData, str], fault: str
) -> None:
    """The send took effect and its answer was lost: the raised error is sent=True and the
    recipe's one except clause catches it; the order id then shows the one SMS that went
    out (no second send)."""
    fake, seed, base_url = served
    arguments, raised = LOST_ANSWERS[fault]
    kind = arguments.pop("kind")
    fake.fail_next(kind, path="/verification/send", after=True, delay=30.0, **arguments)
    async with client_of(fake, base_url, timeout=httpx.Timeout(10.0, read=0.5)) as client:
        with pytest.raises(raised) as info:
            await client.verifications.send(
                app_id=seed.app_id, template_id=seed.template_id, to=NUMBER, order_id="o-1"
            )
        assert info.value.sent is True
        fake.fail_next(kind, path="/verification/send", after=True, delay=30.0, **arguments)
        outcome = await send_or_reconcile(
            client, app_id=seed.app_id, template_id=seed.template_id, to=NUMBER, order_id="o-2"
        )
    assert isinstance(outcome, Record)
    assert outcome.order_id == "o-2"
    assert len(fake.sent_to(NUMBER)) == 2  # one per call: never sent twice


async def test_the_recipe_reconciles_a_send_cut_by_the_deadline_after_it_was_written() -> None:
    """A send written to a server that never answers, cut by the call's deadline: sent=True,
    caught by the recipe, which then looks the order id up."""
    paths: list[str] = []

    class Silent(LoopbackServer):
        async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            paths.append(head.split(b" ")[1].decode())
            if b"/orderId/record" not in head:
                await reader.read()  # the send: never answered
                return
            await reader.readexactly(int(head.lower().split(b"content-length: ")[1].split()[0]))
            body = b'{"status":"0","data":{"verificationId":"1","orderId":"o-3"}}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()

    async with Silent() as server:
        slow = AsyncItnio("key-1234", "secret-1234", base_url=server.base_url, deadline=0.3)
        async with slow as client:
            with pytest.raises(RequestTimeoutError, match="deadline") as info:
                await client.verifications.send(app_id="mRELxtHc", template_id=455, to=NUMBER)
            assert info.value.sent is True
            reconciled = await send_or_reconcile(
                client.with_options(deadline=30.0),
                app_id="mRELxtHc",
                template_id=455,
                to=NUMBER,
                order_id="o-3",
            )
    assert isinstance(reconciled, Record)
    assert paths.count("/otp/verification/send") == 2
    assert paths.count("/otp/verification/orderId/record") == 1


#: Answers after which nothing went out: the recipe lets each through unchanged.
REJECTIONS: dict[str, tuple[dict[str, Any], type[ItnioError]]] = {
    "status-27": ({"kind": "api", "status": -27}, TotalSendLimitError),
    "status-28": ({"kind": "api", "status": -28}, PhoneSendLimitError),
    "http-429": ({"kind": "http", "status": 429}, HTTPStatusError),
    "http-400": ({"kind": "http", "status": 400}, HTTPStatusError),
}


@pytest.mark.parametrize("rejection", list(REJECTIONS))
async def test_the_recipe_lets_a_definite_rejection_through(
    served: tuple[FakeItnio, SeedData, str], rejection: str
) -> None:
    """The API refused the send before acting: the recipe re-raises (no lookup), and no
    SMS went out."""
    fake, seed, base_url = served
    arguments, raised = REJECTIONS[rejection]
    kind = arguments.pop("kind")
    fake.fail_next(kind, path="/verification/send", **arguments)
    async with client_of(fake, base_url, max_retries=0) as client:
        with pytest.raises(raised) as info:
            await send_or_reconcile(
                client, app_id=seed.app_id, template_id=seed.template_id, to=NUMBER, order_id="o"
            )
    assert not isinstance(info.value, ServerError)
    assert info.value.sent is True  # the API answered
    assert fake.sent_to(NUMBER) == []
    assert fake.requests_to("/verification/orderId/record") == []


async def test_the_recipe_re_raises_a_send_that_never_left() -> None:
    """A refused connection: the send never left (sent=False); the recipe re-raises it."""
    with socket_bound() as port:
        base_url = f"http://127.0.0.1:{port}/otp"
    async with AsyncItnio("key-1234", "secret-1234", base_url=base_url, max_retries=0) as client:
        with pytest.raises(TransportError) as info:
            await send_or_reconcile(
                client, app_id="mRELxtHc", template_id=455, to=NUMBER, order_id="o"
            )
    assert info.value.sent is False


async def test_the_recipe_re_raises_a_validation_error() -> None:
    """A number that is not one raises ValidationError (sent=False) before anything leaves."""
    async with AsyncItnio("key-1234", "secret-1234") as client:
        with pytest.raises(ValidationError) as info:
            await send_or_reconcile(
                client, app_id="mRELxtHc", template_id=455, to="12", order_id="o"
            )
    assert info.value.sent is False


def socket_bound() -> Any:
    """A port nothing listens on (bound, never listening, closed at the end)."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def bound() -> Any:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            yield sock.getsockname()[1]

    return bound()


# -- sent on every error ----------------------------------------------------------------


async def test_every_answer_is_sent_and_a_closed_client_is_not() -> None:
    """Errors built from an answer (HTTP status, envelope, undecodable body) are sent=True;
    a call on a closed client raises an ItnioError with sent=False."""
    answers = [
        httpx.Response(404, text="nope"),
        httpx.Response(200, json={"status": "-22", "reason": "bad"}),
        httpx.Response(200, text="<html>"),
    ]
    async with mock_client(lambda request: answers.pop(0), max_retries=0) as client:
        for expected in (HTTPStatusError, APIError, DecodeError):
            with pytest.raises(expected) as info:
                await client.flows.get(1)
            assert info.value.sent is True
    with pytest.raises(ItnioError) as closed:
        await client.flows.get(1)
    assert closed.value.sent is False
    assert ItnioError("configuration").sent is False
    assert OutcomeUnknownError("lost").sent is True


async def test_sent_remembers_an_earlier_attempt_that_may_have_arrived() -> None:
    """A read whose first attempt timed out after it was written and whose retry found the
    server refusing connections: the call's error says sent=True (the first may have
    arrived), although the last attempt's own failure never left."""
    failures: list[Exception] = [httpx.ReadTimeout("lost"), httpx.ConnectError("refused")]

    def handler(request: httpx.Request) -> httpx.Response:
        raise failures.pop(0)

    async with mock_client(handler, max_retries=1) as client:
        with pytest.raises(TransportError) as info:
            await client.flows.get(1)
    assert "ConnectError" in str(info.value)
    assert info.value.sent is True


@pytest.mark.parametrize("answer", ["http-500", "http-503", "http-504", "status-18"])
async def test_except_server_error_catches_a_server_failure_however_it_arrives(
    answer: str,
) -> None:
    """HTTP 5xx and envelope -18 are both ServerError (the HTTP one also an
    HTTPStatusError with its status code and headers), sent=True."""
    kind, _, code = answer.partition("-")

    def handler(request: httpx.Request) -> httpx.Response:
        if kind == "http":
            return httpx.Response(int(code), headers={"X-Trace": "t"}, text="<html>down</html>")
        return httpx.Response(200, json={"status": "-18", "reason": "busy"})

    async with mock_client(handler, max_retries=0) as client:
        with pytest.raises(ServerError) as info:
            await client.flows.get(1)
    error = info.value
    assert error.sent is True
    assert isinstance(error, HTTPStatusError) is (kind == "http")
    if isinstance(error, HTTPStatusError):
        assert error.status_code == int(code)
        assert error.headers is not None
        assert error.headers["x-trace"] == "t"
        assert error.status is None  # no envelope in the body
    else:
        assert error.status == -18
