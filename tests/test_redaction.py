"""What an error shows of what a call sent: ``_redact`` and everything built on it.

People's data (phone numbers, codes), each request's ``Sign`` and the secret must not
be shown by an error, whatever the server answered and however the error is looked at.

* The helpers: :func:`mask_phone` keeps a number's last four digits, :func:`redact`
  masks the phone and code members of JSON text, :func:`mask_digits` any run of seven
  digits or more.
* Echoes: a server or proxy that quotes the code, the number and the ``Sign`` of each
  request in every place an answer has — the envelope ``reason`` (HTTP 200 and
  non-2xx), an HTML error page (non-2xx and 2xx), a truncated JSON body, a ``data`` of
  the wrong shape, a response header, the message of a transport failure — never gets
  them shown: not by ``str``, ``repr``, any attribute, a pickled copy,
  ``logging.exception`` output, or any exception chained to it (a ``JSONDecodeError``
  would carry the whole body as ``.doc``). An echoed number is masked, not dropped.
* Traceback locals: error reporters (Sentry, rich's ``show_locals``, ``pytest
  --showlocals``, ``traceback.TracebackException(capture_locals=True)``) print the
  ``repr`` of every local of every frame a traceback passed through, along the whole
  exception chain. Every call that carries people's data is driven down every way it
  can fail, and a bad configuration is refused; none of what was sent (code, number,
  body, ``Sign``, secret) may be found in any local of any frame. The server there (an
  ``httpx.MockTransport`` handler) records every ``Sign`` and body it receives and
  echoes them back in its answers, so a leak of an echo is caught too.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import pickle
import re
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

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
from itnio_async._redact import mask_digits, mask_phone, redact

from ._loopback import LoopbackServer, Request, response
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
MASKED = "*********5678"
E = TypeVar("E", bound=ItnioError)

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


#: The sensitive calls whose error is raised (a bulk lookup's is not), as they succeed.
ECHO_CALLS: dict[str, Factory] = {
    name: CALLS[name]
    for name in (
        "send_code",
        "verify",
        "send",
        "backfill.report",
        "resend",
        "records.get_by_order_id",
    )
}


# -- the helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91856321412", "*******1412"),
        ("1234", "****"),
        ("12", "**"),
        (None, "None"),
        (8613512345678, "*********5678"),
    ],
)
def test_mask_phone(value: object, expected: str) -> None:
    """Everything but the last 4 digits is starred (short values entirely)."""
    assert mask_phone(value) == expected


def test_redact_masks_numbers_and_codes_in_json_text() -> None:
    """Phone members keep their last 4 digits, code members are starred, the rest is kept."""
    text = (
        '{"to":"91856321412","oriReceiver": 91856321412, "number" : "8613512345678",'
        ' "code":"A7Q9Z2","verificationId":"22206051443051000003","reason":"ok"}'
    )
    out = redact(text)
    assert "91856321412" not in out
    assert "8613512345678" not in out
    assert "A7Q9Z2" not in out
    assert '"to":"*******1412"' in out
    assert '"oriReceiver": *******1412' in out
    assert '"code":"***"' in out
    assert '"verificationId":"22206051443051000003"' in out


def test_redact_handles_a_truncated_value() -> None:
    """A body cut inside a number still has it masked."""
    assert redact('{"to":"9185632141') == '{"to":"******2141"'


def test_mask_digits_keeps_short_numbers() -> None:
    """Runs of 7+ digits are masked; errnos, ports and addresses are kept."""
    text = "[Errno 111] connect to 127.0.0.1:8080 failed for 8613512345678"
    assert mask_digits(text) == "[Errno 111] connect to 127.0.0.1:8080 failed for *********5678"


# -- what every error is looked at through -----------------------------------------------------


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


def _views(error: BaseException) -> list[str]:
    """Everything a person can see of one exception: message, repr, args and attributes."""
    views = [str(error), repr(error), repr(error.args)]
    for name, value in vars(error).items():
        views.append(f"{name}={value!r}")
        if isinstance(value, httpx.Headers):
            views += [f"{k}: {v}" for k, v in value.multi_items()]
    return views


def _logged(error: BaseException) -> str:
    """What ``logging.exception`` writes for ``error`` (with its traceback and chain)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    log = logging.getLogger("tests.echo")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise error
        except ItnioError:
            log.exception("the call failed")
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


# -- echoes -----------------------------------------------------------------------------------


#: Where the echo is placed, and the error the call ends with.
PLACES: dict[str, type[ItnioError]] = {
    "reason-200": APIError,
    "reason-400": HTTPStatusError,
    "html-403": HTTPStatusError,
    "html-200": DecodeError,
    "truncated-json-200": DecodeError,
    "wrong-shape-200": DecodeError,
    "header-400": HTTPStatusError,
    "header-api-error": APIError,
    "transport-message": TransportError,
}


class Echoing:
    """Answers every request with ``place``, quoting the code, number and Sign it got."""

    def __init__(self, place: str) -> None:
        self.place = place
        self.signs: list[str] = []

    def echo(self, request: httpx.Request) -> str:
        """The values a careless server or proxy writes back, in three spellings."""
        sent = json.loads(request.content) if request.content else {}
        values = [sent[k] for k in ("code", "to", "number") if k in sent]
        values.append(request.headers["Sign"])
        quoted = " ".join(str(v) for v in values)
        members = json.dumps({k: sent[k] for k in ("code", "to", "number") if k in sent})
        return f"rejected: {quoted} / {members} / Sign:{request.headers['Sign']}"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.signs.append(request.headers["Sign"])
        echo = self.echo(request)
        place = self.place
        page = f"<html><body><h1>Request rejected</h1><pre>{echo}</pre></body></html>"
        html = {"Content-Type": "text/html"}
        if place == "reason-200":
            return httpx.Response(200, json={"status": "-22", "reason": echo})
        if place == "reason-400":
            return httpx.Response(400, json={"status": "-22", "reason": echo})
        if place == "html-403":
            return httpx.Response(403, text=page, headers=html)
        if place == "html-200":
            return httpx.Response(200, text=page, headers=html)
        if place == "truncated-json-200":
            return httpx.Response(200, text=json.dumps({"status": "0", "data": echo})[:-3])
        if place == "wrong-shape-200":
            return httpx.Response(
                200, json={"status": [echo], "data": [{"to": echo, "code": echo}]}
            )
        if place == "header-400":
            return httpx.Response(400, headers={"X-Echo": echo}, json={"status": "-22"})
        if place == "header-api-error":
            return httpx.Response(200, headers={"X-Echo": echo}, json={"status": "-22"})
        assert place == "transport-message"
        raise httpx.RemoteProtocolError(f"illegal status line: {echo!r}", request=request)


def _echo_cases() -> Iterator[Any]:
    for place in PLACES:
        for name in ECHO_CALLS:
            if place == "wrong-shape-200" and name == "backfill.report":
                continue  # it returns nothing: its data is never decoded
            yield pytest.param(name, place, id=f"{name}-{place}")


@pytest.mark.parametrize(("name", "place"), list(_echo_cases()))
async def test_echoed_code_number_and_sign_are_never_shown(name: str, place: str) -> None:
    """Wherever the answer echoes them, the code, the number and every Sign of the call are in
    no message, repr, attribute, pickled copy, log line or chained exception."""
    server = Echoing(place)
    async with client_of(server, retry_policy=ONE_QUICK_RETRY) as client:
        with pytest.raises(ItnioError) as info:
            await ECHO_CALLS[name](client)
    error = info.value
    assert isinstance(error, PLACES[place]), repr(error)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    shown = [view for linked in _chain(error) for view in _views(linked)]
    shown += [*_views(copy), _logged(error)]
    everything = "\n".join(shown)
    forbidden = {"code": CODE, "number": PHONE_SENT, "written number": PHONE_GIVEN}
    assert not any(re.search(r"\d{7}", sign) for sign in server.signs)  # see SIGN_TIME
    forbidden |= {f"Sign #{i}": sign for i, sign in enumerate(server.signs)}
    forbidden["secret"] = API_SECRET
    for what, value in forbidden.items():
        assert value not in everything, f"the {what} is shown"
    assert not any(isinstance(e, json.JSONDecodeError) for e in _chain(error))
    assert not any(hasattr(e, "doc") for e in _chain(error))


async def failed_send_code(
    handler: Callable[[httpx.Request], httpx.Response], expected: type[E]
) -> E:
    """The error (of type ``expected``) a send_code ends with, ``handler`` answering it once."""
    async with client_of(handler, max_retries=0) as client:
        with pytest.raises(expected) as info:
            await CALLS["send_code"](client)
    return info.value


@pytest.mark.parametrize("place", ["reason-200", "reason-400", "html-403", "html-200"])
async def test_an_echoed_number_is_masked_not_dropped(place: str) -> None:
    """An echoed number still shows its last four digits, so the message stays useful."""
    error = await failed_send_code(Echoing(place), ItnioError)
    shown = f"{error} {getattr(error, 'body', '')}"
    assert MASKED in shown
    assert "***" in shown


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": "0", "data": {"to": "8613512345678", "code": "Q7z3Kp95"',
        b"<html>8613512345678 Q7z3Kp95</html>",
        b'{"status": "0", "data": "\\ud800 8613512345678 Q7z3Kp95" ',
    ],
    ids=["truncated", "html", "bad-escape"],
)
async def test_decode_error_keeps_no_json_error_with_the_body(body: bytes) -> None:
    """A body that is not JSON gives a DecodeError with neither a cause nor a context that
    holds the body (json's JSONDecodeError keeps all of it as ``.doc``)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    error = await failed_send_code(handler, DecodeError)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert error.__suppress_context__ is False or error.__context__ is None
    assert CODE not in error.body
    assert PHONE_SENT not in error.body


class SignEchoingProxy(LoopbackServer):
    """HTTP/1.1 on 127.0.0.1 that answers each request with a 502 whose malformed header
    line quotes the request's Sign, then hangs up."""

    def __init__(self) -> None:
        super().__init__()
        self.signs: list[str] = []

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        sign = request.headers["sign"]
        self.signs.append(sign)
        writer.write(response(b"", 502, f"Echoed Sign {sign}", reason="Bad Gateway", length=False))
        await writer.drain()
        return False


async def test_an_echo_in_an_illegal_header_line_is_not_shown_through_the_cause() -> None:
    """Over a real socket with httpx's own transport (a user's http_client), a proxy that
    echoes the Sign in a malformed header line gets an h11 error quoting that line; neither
    the TransportError nor its chained httpx error may show the Sign."""
    async with (
        SignEchoingProxy() as proxy,
        httpx.AsyncClient() as http,
        AsyncItnio(
            API_KEY,
            API_SECRET,
            base_url=proxy.base_url,
            http_client=http,
            max_retries=0,
            clock=lambda: SIGN_TIME,
        ) as client,
    ):
        with pytest.raises(TransportError) as info:
            await CALLS["send_code"](client)
    [sign] = proxy.signs
    error = info.value
    assert isinstance(error.__cause__, httpx.RemoteProtocolError)
    everything = "\n".join(
        [view for linked in _chain(error) for view in _views(linked)] + [_logged(error)]
    )
    assert sign not in everything


# -- traceback locals -------------------------------------------------------------------------


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


def _locals_cases() -> Iterator[Any]:
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


@pytest.mark.parametrize(("name", "mode"), list(_locals_cases()))
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


# -- a configuration error's traceback locals -------------------------------------------------


CONSTRUCTION_ERRORS: dict[str, dict[str, Any]] = {
    "malformed secret": {"api_secret": API_SECRET + "\n"},
    "bad max_response_size": {"max_response_size": 0},
    "bad base_url": {"base_url": "https://api.example.com/otp?x=1"},
    "bad timeout": {"timeout": -1},
}


def _construction_error(options: dict[str, Any]) -> ItnioError:
    """The error ``AsyncItnio`` raises for ``options`` (with a well-formed secret)."""
    try:
        AsyncItnio(**{"api_key": API_KEY, "api_secret": API_SECRET, **options})
    except ItnioError as exc:
        return exc
    raise AssertionError("the options were accepted")


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:
        return f"<repr failed: {type(exc).__name__}>"


@pytest.mark.parametrize("options", CONSTRUCTION_ERRORS.values(), ids=list(CONSTRUCTION_ERRORS))
def test_a_construction_error_keeps_no_secret_in_traceback_locals(options: dict[str, Any]) -> None:
    """No frame of a configuration error's traceback holds the secret (as given or as it
    would be used) in a local whose repr shows it."""
    error = _construction_error(options)
    shown = []
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals["__name__"].startswith("itnio_async"):  # not this test's frame
            shown += [f"{k}={_safe_repr(v)}" for k, v in frame.f_locals.items()]
        tb = tb.tb_next
    assert API_SECRET not in "\n".join(shown)


@pytest.mark.parametrize("options", CONSTRUCTION_ERRORS.values(), ids=list(CONSTRUCTION_ERRORS))
def test_a_construction_error_can_be_formatted_with_captured_locals(
    options: dict[str, Any],
) -> None:
    """An error reporter that captures locals can format a configuration error."""
    error = _construction_error(options)
    formatted = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    assert type(error).__name__ in formatted
