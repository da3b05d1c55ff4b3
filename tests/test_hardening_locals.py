"""No error path leaves a code, a phone number, a request body, a Sign or the secret in
the local variables of its traceback (issue 12, item 3).

Error reporters (Sentry, rich's ``show_locals``, ``pytest --showlocals``,
``traceback.TracebackException(capture_locals=True)``) print the ``repr`` of every
local of every frame a traceback passed through, along the whole exception chain.
Every call that carries people's data is driven down every way it can fail; each
error is then formatted with its locals, and every local of every frame is ``repr``'d,
and none of what the call sent may be found in either.

The server (an ``httpx.MockTransport`` handler) records every ``Sign`` and body it
receives and echoes them back in its answers, so a leak of an echo is caught too.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from itnio_async import (
    APIError,
    AsyncItnio,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    OutcomeUnknownError,
    RequestTimeoutError,
    RetryPolicy,
    TransportError,
    ValidationError,
)

from .conftest import BASE_URL, FIXED_TIME

#: The signing clock: with these credentials its Sign has no run of 7 digits, which
#: mask_digits would mask by chance, hiding an echoed Sign that was never scrubbed.
SIGN_TIME = FIXED_TIME + 6

API_KEY = "hk-4f1c9a"
API_SECRET = "Sx9-secret-QpL7w2"
CODE = "Q7z3Kp95"
#: The number as a person writes it, and as the SDK sends it.
PHONE_GIVEN = "+86 135-1234-5678"
PHONE_SENT = "8613512345678"
VID = "22206051443051000003"
APP_ID = "mRELxtHc"
ORDER_ID = "order-0001"
CHINA = timezone(timedelta(hours=8))

Factory = Callable[[AsyncItnio], Awaitable[Any]]
#: One retry, with no sleep before it.
ONE_QUICK_RETRY = RetryPolicy(max_retries=1, base_delay=0.0, max_delay=0.0)


def client_of(
    handler: Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]],
    **options: Any,
) -> AsyncItnio:
    """A client whose calls ``handler`` answers, signing at ``SIGN_TIME`` (caller closes it)."""
    return AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        clock=lambda: SIGN_TIME,
        **options,
    )


async def _bulk(client: AsyncItnio, order_id: str = ORDER_ID) -> Any:
    """A one-id bulk lookup; its per-item error is the error of this path."""
    [lookup] = await client.records.get_many_by_order_ids([order_id], app_id=APP_ID)
    return lookup.error


#: Every call that carries something sensitive, as it is made when it succeeds.
CALLS: dict[str, Factory] = {
    "send": lambda c: c.verifications.send(app_id=APP_ID, template_id=455, to=PHONE_GIVEN),
    "send_code": lambda c: c.verifications.send_code(app_id=APP_ID, code=CODE, to=PHONE_GIVEN),
    "verify": lambda c: c.verifications.verify(VID, CODE),
    "resend": lambda c: c.verifications.resend(VID, channel="sms"),
    "backfill.report": lambda c: c.backfill.report(
        app_id=APP_ID, verification_id=VID, time=1681184764000, number=PHONE_GIVEN
    ),
    "records.get": lambda c: c.records.get(VID),
    "records.get_by_order_id": lambda c: c.records.get_by_order_id(ORDER_ID, app_id=APP_ID),
    "bulk": _bulk,
}

#: The same calls with one argument that fails validation, the sensitive ones still given.
INVALID_CALLS: dict[str, Factory] = {
    "send": lambda c: c.verifications.send(app_id="abc", template_id=455, to=PHONE_GIVEN),
    "send_code": lambda c: c.verifications.send_code(app_id="abc", code=CODE, to=PHONE_GIVEN),
    "verify": lambda c: c.verifications.verify(" ", CODE),
    "resend": lambda c: c.verifications.resend(VID, channel="fax"),
    "backfill.report": lambda c: c.backfill.report(
        app_id="abc", verification_id=VID, time=1681184764000, number=PHONE_GIVEN
    ),
    "records.get": lambda c: c.records.get(".."),
    "records.get_by_order_id": lambda c: c.records.get_by_order_id(" ", app_id=APP_ID),
    "bulk": lambda c: _bulk(c, "x" * 65),
}


class EchoServer:
    """Answers every request the way ``mode`` says, echoing what it received.

    Every ``Sign`` and body it receives (and every ``Sign`` an event hook saw) is
    recorded, so the test knows each value that must never be shown.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.signs: list[str] = []
        self.bodies: list[bytes] = []
        self.arrived = asyncio.Event()
        self._hold = asyncio.Event()  # never set: held requests wait until cancelled

    def echo(self, request: httpx.Request) -> str:
        """What a careless server or proxy writes back: the code, number and Sign it got.

        (Not the whole body: a lookup's body holds nothing private, and an echo of it
        may be shown; the test looks for the body in locals, not in echoes.)
        """
        sent = json.loads(request.content) if request.content else {}
        quoted = " ".join(f"{key}={sent[key]}" for key in ("code", "to", "number") if key in sent)
        return f"rejected {quoted} sign={request.headers['Sign']}"

    def hook(self, request: httpx.Request) -> None:
        """A request event hook that fails (the ``hook`` mode), after noting the Sign."""
        self.signs.append(request.headers["Sign"])
        if self.mode == "hook":
            raise RuntimeError("the request hook refused the request")

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.signs.append(request.headers["Sign"])
        self.bodies.append(request.content)
        self.arrived.set()
        record_lookup = request.url.path.startswith("/otp/verification/record/")
        mode = self.mode
        if mode == "never_sent":
            raise httpx.ConnectError("connection refused")
        if mode == "maybe_sent":
            raise httpx.ReadError("connection reset by peer")
        if mode in ("deadline", "cancel"):
            await self._hold.wait()
        if mode == "http_status":
            return httpx.Response(
                400, json={"status": "-22", "reason": self.echo(request), "data": None}
            )
        if mode == "api_error":
            return httpx.Response(200, json={"status": "-22", "reason": self.echo(request)})
        if mode == "not_json":
            page = f"<html><body><h1>Bad Gateway</h1><p>{self.echo(request)}</p></body></html>"
            return httpx.Response(200, text=page, headers={"Content-Type": "text/html"})
        if mode == "wrong_shape":
            echoed = self.echo(request)
            if request.url.path.endswith("/postback/backfill"):  # returns nothing: no data
                return httpx.Response(200, json={"status": [echoed]})
            data = {"verificationId": [echoed], "orderId": [echoed], "to": echoed}
            return httpx.Response(200, json={"status": "0", "data": data})
        if mode == "outcome_unknown":
            if not record_lookup:
                raise httpx.ReadTimeout("the answer was lost")
            # Matched, stamped the second this call began: not provably this call's.
            verified = datetime.fromtimestamp(SIGN_TIME, CHINA).isoformat()
            record = {
                "verificationId": VID,
                "verifications": {
                    "matched": 0,
                    "verifiedDate": verified,
                    "oriReceiver": PHONE_SENT,
                    "channel": "sms",
                },
            }
            return httpx.Response(200, json={"status": "0", "reason": "success", "data": record})
        raise AssertionError(f"unexpected mode {mode}")


#: Every way a call can fail, and the error it ends with (``None``: an exception of the
#: caller's making, or a cancellation).
MODES: dict[str, type[BaseException] | None] = {
    "validation": ValidationError,
    "never_sent": TransportError,
    "maybe_sent": TransportError,
    "deadline": RequestTimeoutError,
    "http_status": HTTPStatusError,
    "api_error": APIError,
    "not_json": DecodeError,
    "wrong_shape": DecodeError,
    "outcome_unknown": OutcomeUnknownError,
    "hook": RuntimeError,
    "cancel": asyncio.CancelledError,
}


def _cases() -> Iterator[Any]:
    for mode in MODES:
        for name in CALLS:
            if mode == "outcome_unknown" and name != "verify":
                continue  # only verify resolves a lost answer
            yield pytest.param(name, mode, id=f"{name}-{mode}")


async def _capture(factory: Factory, client: AsyncItnio) -> BaseException | None:
    """Run one call and return what it raised (a bulk lookup: its per-item error)."""
    try:
        result = await factory(client)
    except BaseException as exc:  # every error path is under test, cancellation too
        return exc
    return result if isinstance(result, BaseException) else None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception linked to it (cause, context, group members)."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        todo += [e for e in (exc.__cause__, exc.__context__) if e is not None]
        if isinstance(exc, BaseExceptionGroup):
            todo += list(exc.exceptions)


def shown_with_locals(error: BaseException) -> str:
    """What an error reporter would print: the chain formatted with captured locals, then
    the ``repr`` of every local of every frame of every traceback in the chain."""
    parts = list(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    for exc in _chain(error):
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            parts += [
                f"{frame.f_code.co_name}.{name}={value!r}" for name, value in frame.f_locals.items()
            ]
            tb = tb.tb_next
    return "\n".join(parts)


def forbidden(server: EchoServer) -> dict[str, str]:
    """Everything the call sent that must not be shown, by what it is."""
    values = {
        "code": CODE,
        "number as given": PHONE_GIVEN,
        "number as sent": PHONE_SENT,
        "secret": API_SECRET,
    }
    for i, sign in enumerate(server.signs):
        values[f"Sign #{i}"] = sign
    for i, body in enumerate(server.bodies):
        if body:
            values[f"body #{i}"] = body.decode()
            values[f"body #{i} (bytes)"] = repr(body)
    return values


@pytest.mark.parametrize(("name", "mode"), list(_cases()))
async def test_no_error_path_leaves_sensitive_values_in_traceback_locals(
    name: str, mode: str
) -> None:
    """Formatted with captured locals, every error of every sensitive call shows none of its
    code, number, body, Sign or the secret, in any frame of the whole chain."""
    server = EchoServer(mode)
    client = client_of(
        server,
        retry_policy=ONE_QUICK_RETRY,
        deadline=0.2 if mode == "deadline" else 30.0,
        event_hooks={"request": [server.hook]},
    )
    factory = INVALID_CALLS[name] if mode == "validation" else CALLS[name]
    async with client:
        if mode == "cancel":
            task = asyncio.ensure_future(_capture(factory, client))
            await server.arrived.wait()  # the request is on the server, held there
            task.cancel()
            error = await task
        else:
            error = await _capture(factory, client)
    expected = MODES[mode]
    assert expected is not None
    assert isinstance(error, expected), repr(error)
    if mode not in ("validation", "hook"):
        assert server.bodies or name == "records.get", "the request must have reached the server"
        assert server.signs
    shown = shown_with_locals(error)
    for what, value in forbidden(server).items():
        assert value not in shown, f"the {what} is shown: ...{_around(shown, value)}..."


def _around(text: str, value: str) -> str:
    """The text around the first occurrence of ``value`` (for a readable failure)."""
    at = text.find(value)
    return text[max(0, at - 200) : at + len(value) + 50]


def test_the_check_finds_what_it_looks_for() -> None:
    """The check is not vacuous: an unscrubbed error holding a code in a local is caught."""

    def leaky(code: str) -> None:
        raise ValueError("failed")

    try:
        leaky(CODE)
    except ValueError as exc:
        error = exc
    else:
        pytest.fail("leaky() did not raise")
    shown = shown_with_locals(error)
    assert f"code='{CODE}'" in shown
    assert CODE in shown


async def test_a_successful_call_after_errors_is_unaffected() -> None:
    """Clearing traceback frames never breaks the client: a call after a scrubbed error works."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(200, json={"status": "-22", "reason": "bad"})
        data = {"verificationId": VID, "to": PHONE_SENT, "channel": "sms", "matched": 0}
        return httpx.Response(200, json={"status": "0", "reason": "success", "data": data})

    async with client_of(handler) as client:
        with pytest.raises(ItnioError):
            await client.verifications.verify(VID, CODE)
        result = await client.verifications.verify(VID, CODE)
    assert result.ok
    assert calls == 2
