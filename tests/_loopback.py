"""One HTTP/1.1 server on 127.0.0.1 for the tests that need a real socket.

:class:`LoopbackServer` holds what every such server shares: listening on an
ephemeral port, a task per connection, the count of connections, and on exit
closing the listener, cancelling each connection's task and waiting for them. A
subclass keeps only its answers: :meth:`LoopbackServer.respond` for each request,
or :meth:`LoopbackServer.serve` (or ``connected``) for a connection it drives
itself. :func:`read_request` reads a request the way each of them does (head,
lower-cased header names, a ``Content-Length`` body) and :func:`response` writes
the bytes of an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, Self

import attrs

#: The ``Content-Type`` line of a JSON answer.
JSON = "Content-Type: application/json"


@attrs.frozen
class Request:
    """One request as it arrived on the socket."""

    method: str
    target: str
    headers: dict[str, str]  # lower-cased names, values stripped
    body: bytes = b""
    #: The header lines as sent: (name, value), names in their own case, in order.
    fields: tuple[tuple[str, str], ...] = attrs.field(default=(), eq=False, repr=False)

    @classmethod
    def of_head(cls, head: bytes) -> Self:
        """The request ``head`` (up to its blank line) starts; its body is not read yet."""
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        fields: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields.append((name.strip(), value.strip()))
        headers = {name.lower(): value for name, value in fields}
        return cls(method, target, headers, fields=tuple(fields))

    async def with_body(self, reader: asyncio.StreamReader) -> Self:
        """This request with its body: the ``Content-Length`` bytes read from ``reader``."""
        return attrs.evolve(
            self, body=await reader.readexactly(int(self.headers.get("content-length", "0")))
        )


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request on ``reader``, or None when the client closed (or reset) the
    connection before a whole request head came."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return await Request.of_head(head).with_body(reader)


def response(
    body: bytes = b"",
    status: int = 200,
    *headers: str,
    reason: str = "OK",
    length: bool = True,
    version: str = "1.1",
) -> bytes:
    """The bytes of a response; ``length=False`` leaves the framing to ``headers``."""
    lines = [f"HTTP/{version} {status} {reason}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def success(data: Any) -> bytes:
    """A 200 JSON answer: the API's success envelope around ``data``."""
    body = json.dumps({"status": "0", "reason": "success", "data": data}).encode()
    return response(body, 200, JSON)


class LoopbackServer:
    """An HTTP/1.1 server on an ephemeral port of 127.0.0.1, run with ``async with``.

    Each connection is served by its own task (:meth:`serve`: keep-alive, one
    :meth:`respond` per request); ``connections`` counts those accepted. On exit
    the server stops listening, cancels every connection's task and waits for them.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/otp``: the API's prefix on this server."""
        return f"{self.url}/otp"

    async def start(self) -> None:
        """Listen on an ephemeral port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and end every open connection."""
        assert self._server is not None
        self._server.close()
        await self.end_connections()
        await self._server.wait_closed()

    async def end_connections(self) -> None:
        """Cancel the task of every open connection and wait until each one is done."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            await self.connected(reader, writer)
        finally:
            self._tasks.discard(task)

    async def connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one connection, then close it; a client that went away is no error."""
        try:
            await self.serve(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer the connection's requests in turn until :meth:`respond` says to close or
        the client goes."""
        while (request := await read_request(reader)) is not None:
            if not await self.respond(request, reader, writer):
                return

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answer ``request``; False when the connection must close afterwards."""
        raise NotImplementedError
