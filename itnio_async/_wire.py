"""The request path's view of HTTP, and the adapter to httpx's objects at its edge.

An attempt is a :class:`~itnio_async._engine.WireRequest` (signed request bytes and
time limits) and its answer an :class:`Answer` (status, raw headers, decoded body).
On the SDK's own engine with no event hook and no mock, nothing else is built. The
httpx objects a user can see — the ``httpx.Request`` an event hook gets, the
``httpx.Response`` of a hook or a raw response, the ``httpx.Headers`` of an error —
are made here, from those two, only when someone asks; and a user's transport or
client (``transport=``, ``http_client=``) is driven through them.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Final

import httpx

from ._engine import WRITTEN, ResponseTooLarge, WireRequest, WireResponse, decode_body

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "Answer",
    "head_of",
    "http_request",
    "read_capped",
    "wire_request",
]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_Headers = list[tuple[bytes, bytes]]
#: Parsed URLs by their text (``httpx.URL`` is immutable): parsing one costs more than
#: the rest of an ``httpx.Request``. Bounded: emptied when full (a path can carry an id).
_URLS: dict[str, httpx.URL] = {}
URLS_KEPT: Final = 256
#: What httpx derives itself when it builds a request.
_DERIVED: Final = (b"Host", b"Content-Length")


def parsed_url(url: str) -> httpx.URL:
    """``url`` as an ``httpx.URL``, parsed once while it stays among the last ones seen.

    Raises:
        httpx.InvalidURL: ``url`` is not a valid URL.
    """
    found = _URLS.get(url)
    if found is None:
        found = httpx.URL(url)
        if len(_URLS) >= URLS_KEPT:
            _URLS.clear()
        _URLS[url] = found
    return found


class Answer:
    """An HTTP answer as the request path reads it.

    Attributes:
        status: the HTTP status.
        headers: the raw header fields (a decoded body's ``Content-Encoding`` and
            ``Content-Length`` dropped).
        body: the whole body, decoded, within the response size cap.
    """

    __slots__ = ("_http", "_request", "_url", "body", "headers", "reason", "status")

    def __init__(
        self,
        status: int,
        headers: _Headers,
        body: bytes,
        *,
        reason: bytes = b"",
        request: WireRequest | None = None,
        url: str = "",
        http: httpx.Response | None = None,
    ) -> None:
        self.status: int = status
        self.headers: _Headers = headers
        self.body: bytes = body
        self.reason: bytes = reason
        self._request = request
        self._url = url
        self._http = http

    @classmethod
    def of(cls, response: WireResponse, request: WireRequest, url: str) -> Answer:
        """The answer of the SDK's own engine to ``request`` (sent to ``url``)."""
        return cls(
            response.status,
            response.headers,
            response.body,
            reason=response.reason,
            request=request,
            url=url,
        )

    @classmethod
    def of_http(cls, response: httpx.Response) -> Answer:
        """The answer an ``httpx.Response`` (body read) carries."""
        return cls(response.status_code, response.headers.raw, response.content, http=response)

    def __repr__(self) -> str:
        return f"<Answer [{self.status}] {len(self.body)} bytes>"

    def header(self, name: bytes) -> str | None:
        """The value of the header ``name`` (lowercase bytes), or ``None`` (the last
        one wins when it is repeated, as a single-valued field should not be)."""
        found: bytes | None = None
        for key, value in self.headers:
            if len(key) == len(name) and key.lower() == name:
                found = value
        return None if found is None else found.decode("latin-1")

    def http_response(self) -> httpx.Response:
        """This answer as an ``httpx.Response`` with its request (built once, on demand)."""
        if self._http is None:
            request = None if self._request is None else http_request(self._request, self._url)
            self._http = http_response(self, request)
        return self._http


def head_of(headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """Header lines (``Name: value\\r\\n`` each) of ``headers``; CR, LF or NUL in a name
    or value raises ``httpx.LocalProtocolError`` (an injected header would change the
    request)."""
    head = b"".join(b"%s: %s\r\n" % (name, value) for name, value in headers)
    if head.count(b"\n") != len(headers) or head.count(b"\r") != len(headers) or b"\0" in head:
        raise httpx.LocalProtocolError("a header contains CR, LF or NUL")
    return head


def _parse_head(head: bytes) -> _Headers:
    """The header fields of ``head`` (as :func:`head_of` makes it)."""
    fields: _Headers = []
    for line in head.split(b"\r\n"):
        if line:
            name, _, value = line.partition(b": ")
            fields.append((name, value))
    return fields


def http_request(
    request: WireRequest,
    url: str,
    now: float | None = None,
    client: httpx.AsyncClient | None = None,
) -> httpx.Request:
    """``request`` as an ``httpx.Request`` to ``url`` (what event hooks and httpx see).

    With ``now`` (event-loop time), each timeout of its ``timeout`` extension is capped
    by the time left before the request's deadline, so an httpx transport gives up on
    its own before the deadline cuts it off. Built by a user's ``client``, it carries
    that client's default headers and cookies too (the request's own headers win).
    """
    connect, read, write, pool = request.connect, request.read, request.write, request.pool
    if now is not None and request.deadline is not None:
        left = max(request.deadline - now, 0.0)
        connect, read, write, pool = (
            left if t is None else min(t, left) for t in (connect, read, write, pool)
        )
    extensions = {
        "timeout": {"connect": connect, "read": read, "write": write, "pool": pool},
        WRITTEN: request.written,
    }
    target = parsed_url(url)
    headers = _parse_head(request.head)
    body = request.body
    if client is not None:
        # Its defaults and cookies apply: httpx builds the request, and sets the Host and
        # Content-Length it derives from the URL and the body (the same values).
        headers = [field for field in headers if field[0] not in _DERIVED]
        return client.build_request(
            request.method, target, headers=headers, content=body, extensions=extensions
        )
    # With a body, the head already has Host and Content-Length: the body is the
    # request's stream as it is. Without one, httpx adds what such a request needs.
    built = httpx.Request(
        request.method,
        target,
        headers=headers,
        content=body,
        stream=httpx.ByteStream(body) if body else None,
        extensions=extensions,
    )
    built.read()
    return built


def wire_request(request: httpx.Request, like: WireRequest) -> WireRequest:
    """An ``httpx.Request`` (as event hooks left it) back as a request for the engine,
    with ``like``'s time limits.

    Raises:
        httpx.UnsupportedProtocol: the URL is not ``http`` or ``https``.
        httpx.LocalProtocolError: a header carries CR, LF or NUL.
    """
    url = request.url
    scheme = url.scheme
    if scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
    fields = request.headers.raw
    close = any(
        name.lower() == b"connection" and b"close" in value.lower() for name, value in fields
    )
    return WireRequest(
        request.method,
        (scheme, url.host, url.port or _DEFAULT_PORTS[scheme]),
        url.raw_path,
        head_of(fields),
        request.content,
        connect=like.connect,
        read=like.read,
        write=like.write,
        pool=like.pool,
        deadline=like.deadline,
        close=close,
    )


def http_response(answer: Answer, request: httpx.Request | None) -> httpx.Response:
    """``answer`` as an ``httpx.Response`` (body read) answering ``request``."""
    response = httpx.Response(
        answer.status,
        headers=answer.headers,
        content=answer.body,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
    )
    if request is not None:
        response.request = request
    return response


async def read_capped(response: httpx.Response, limit: int) -> httpx.Response:
    """``response`` with its body read and decoded within ``limit`` bytes (an answer of a
    user's transport or client, or of a mock).

    A stream is read raw (never through httpx's decoders, which have no limit) and
    decoded by the engine's one decoder; a body already read is only measured.

    Raises:
        ResponseTooLarge: past ``limit`` bytes, before or after decoding.
        httpx.DecodingError: a coding the engine does not accept.
    """
    if response.is_stream_consumed:
        body = response.content
        if len(body) > limit:
            await response.aclose()
            raise ResponseTooLarge(f"response larger than {limit} bytes")
        return response
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(f"response larger than {limit} bytes")
            chunks.append(chunk)
    finally:
        await response.aclose()
    try:
        headers, body = decode_body(response.headers.raw, b"".join(chunks), limit)
    except httpx.RequestError as exc:
        with contextlib.suppress(RuntimeError):  # a response built without its request
            exc.request = response.request
        raise
    decoded = httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        extensions=response.extensions,
    )
    with contextlib.suppress(RuntimeError):  # a response built without its request
        decoded.request = response.request
    return decoded
