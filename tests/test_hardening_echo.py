"""A server or proxy that echoes what it was sent never gets it shown (issue 12, item 4).

The server here quotes the code, the phone number and the ``Sign`` of each request in
every place an answer has: the envelope ``reason`` (HTTP 200 and non-2xx), an HTML
error page (non-2xx and 2xx), a truncated JSON body, a ``data`` of the wrong shape,
a response header, and the message of a transport failure. Whatever error the call
ends with, none of those values may reach ``str``, ``repr``, any attribute, a pickled
copy, ``logging.exception`` output, or any exception chained to it (a
``JSONDecodeError`` would carry the whole body as ``.doc``).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import pickle
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from itnio_async import (
    APIError,
    AsyncItnio,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    TransportError,
)

from ._loopback import LoopbackServer, Request, response
from .test_hardening_locals import (
    API_KEY,
    API_SECRET,
    APP_ID,
    CODE,
    ONE_QUICK_RETRY,
    PHONE_GIVEN,
    PHONE_SENT,
    SIGN_TIME,
    VID,
    Factory,
    client_of,
)

MASKED = "*********5678"
E = TypeVar("E", bound=ItnioError)

CALLS: dict[str, Factory] = {
    "send_code": lambda c: c.verifications.send_code(app_id=APP_ID, code=CODE, to=PHONE_GIVEN),
    "verify": lambda c: c.verifications.verify(VID, CODE),
    "send": lambda c: c.verifications.send(app_id=APP_ID, template_id=455, to=PHONE_GIVEN),
    "backfill.report": lambda c: c.backfill.report(
        app_id=APP_ID, verification_id=VID, time=1681184764000, number=PHONE_GIVEN
    ),
    "resend": lambda c: c.verifications.resend(VID),
    "records.get_by_order_id": lambda c: c.records.get_by_order_id("order-1", app_id=APP_ID),
}

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


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception linked to it (cause and context)."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        exc = todo.pop()
        if id(exc) not in seen:
            seen.add(id(exc))
            yield exc
            todo += [e for e in (exc.__cause__, exc.__context__) if e is not None]


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


def _cases() -> Iterator[Any]:
    for place in PLACES:
        for name in CALLS:
            if place == "wrong-shape-200" and name == "backfill.report":
                continue  # it returns nothing: its data is never decoded
            yield pytest.param(name, place, id=f"{name}-{place}")


@pytest.mark.parametrize(("name", "place"), list(_cases()))
async def test_echoed_code_number_and_sign_are_never_shown(name: str, place: str) -> None:
    """Wherever the answer echoes them, the code, the number and every Sign of the call are in
    no message, repr, attribute, pickled copy, log line or chained exception."""
    server = Echoing(place)
    async with client_of(server, retry_policy=ONE_QUICK_RETRY) as client:
        with pytest.raises(ItnioError) as info:
            await CALLS[name](client)
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
