"""What :meth:`HTTP11Transport.exchange` takes and gives back: plain objects, no httpx.

:class:`WireRequest` is built once per attempt on the request path, so it is a
``__slots__`` class with a plain ``__init__`` (no validation: the caller guarantees a
head without CR, LF or NUL inside a value). Its ``written`` flag is the exact answer to
"was anything of this request handed to a socket", set by the engine the moment it
is. Neither class shows headers or bodies in its ``repr``: they carry ``Sign``,
``Api-Key``, codes and phone numbers.
"""

from __future__ import annotations

from typing import Final

__all__ = ["WRITTEN", "WireRequest", "WireResponse"]

#: ``httpx.Request.extensions`` key the httpx adapter sets from :attr:`WireRequest.written`.
WRITTEN: Final = "itnio.written"


class WireRequest:
    """One HTTP/1.1 request, serialised but for its request line.

    Attributes:
        method: ``"GET"``, ``"POST"``, ``"HEAD"``...
        origin: ``(scheme, host, port)`` of the server, e.g. ``("https", "api.example", 443)``.
        target: the origin-form request target, already percent-encoded (``b"/otp/x?a=1"``).
        head: every header line, each ending ``b"\\r\\n"``, ``Host`` included, without the
            blank line that ends the head; ``Content-Length`` included when there is a body.
        body: the body (``b""`` for none).
        connect, read, write, pool: per-operation timeouts in seconds (``None``: none).
        deadline: absolute ``loop.time()`` by which the exchange must be over (``None``: none).
        written: set ``True`` by the engine as soon as any byte was handed to a socket.
        close: the request is the last on its connection (it says ``Connection: close``).
    """

    __slots__ = (
        "body",
        "close",
        "connect",
        "deadline",
        "head",
        "method",
        "origin",
        "pool",
        "read",
        "target",
        "write",
        "written",
    )

    def __init__(
        self,
        method: str,
        origin: tuple[str, str, int],
        target: bytes,
        head: bytes,
        body: bytes = b"",
        *,
        connect: float | None = None,
        read: float | None = None,
        write: float | None = None,
        pool: float | None = None,
        deadline: float | None = None,
        close: bool = False,
    ) -> None:
        self.method: str = method
        self.origin: tuple[str, str, int] = origin
        self.target: bytes = target
        self.head: bytes = head
        self.body: bytes = body
        self.connect: float | None = connect
        self.read: float | None = read
        self.write: float | None = write
        self.pool: float | None = pool
        self.deadline: float | None = deadline
        self.written: bool = False
        self.close: bool = close

    def __repr__(self) -> str:
        scheme, host, port = self.origin
        return (
            f"<WireRequest {self.method} {scheme}://{host}:{port} "
            f"body={len(self.body)}B written={self.written}>"
        )


class WireResponse:
    """A complete response: status, reason, headers as received, the decoded body.

    ``headers`` lack ``Content-Encoding`` and ``Content-Length`` when the body was
    decoded (gzip or deflate); ``body`` is complete and within ``max_response_size``.
    """

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        self.status: int = status
        self.reason: bytes = reason
        self.headers: list[tuple[bytes, bytes]] = headers
        self.body: bytes = body

    def __repr__(self) -> str:
        return f"<WireResponse {self.status} headers={len(self.headers)} body={len(self.body)}B>"
