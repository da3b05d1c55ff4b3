"""The ASGI way in: a plain ASGI 3 application around a :class:`FakeItnio` (no framework)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ._records import Dropped, Hung

if TYPE_CHECKING:
    from ._fake import FakeItnio
    from ._service import Response

__all__ = ["FakeASGIApp", "InjectedDisconnectError", "read_body"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class InjectedDisconnectError(ConnectionError):
    """Raised inside the ASGI app after the response started: a ``"drop"`` fault.

    The server then closes the connection mid-response, as a crashing upstream would.
    """


class FakeASGIApp:
    """Serves a :class:`FakeItnio` to any ASGI server.

    Requests are answered under ``/otp/...`` (below the scope's ``root_path`` when
    mounted; when mounted *at* ``.../otp`` the paths below it are answered), and
    ``GET /_sandbox/deliveries`` beside it (see :class:`FakeItnio`).
    Lifespan events are acknowledged; websockets are refused.

    Args:
        fake: the fake that answers (``FakeItnio.asgi_app`` makes one for itself).
    """

    def __init__(self, fake: FakeItnio) -> None:
        self._fake = fake

    def __repr__(self) -> str:
        return f"<FakeASGIApp of {self._fake!r}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI 3 entry point."""
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})
            return
        if kind != "http":
            return
        body = await read_body(receive)
        if body is None:
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", [])
        }
        path: str = scope["path"]
        root: str = scope.get("root_path", "") or ""
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        page = self._fake._sandbox_answer(
            scope["method"], path, scope.get("query_string", b"").decode("latin-1")
        )
        if page is not None:
            await _respond(send, page)
            return
        if not path.startswith("/otp/") and root.rstrip("/").endswith("/otp"):
            path = "/otp" + path
        outcome = await self._fake.exchange(scope["method"], path, headers, body)
        if isinstance(outcome, Dropped):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json;charset=UTF-8")],
                }
            )
            raise InjectedDisconnectError("injected fault: connection dropped mid-response")
        if isinstance(outcome, Hung):
            if await _client_gone_within(receive, outcome.delay):
                return
            outcome = outcome.late
        await _respond(send, outcome)


async def read_body(receive: Receive) -> bytes | None:
    """An HTTP request's whole body, or ``None`` when the client left before sending it."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        body += chunk
        if not message.get("more_body", False):
            return body


async def _respond(send: Send, response: Response) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [
                (name.encode("latin-1"), value.encode("latin-1"))
                for name, value in response.headers
            ]
            + [(b"content-length", str(len(response.body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": response.body})


async def _client_gone_within(receive: Receive, seconds: float) -> bool:
    """Wait until the client disconnects (True) or ``seconds`` pass (False)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
