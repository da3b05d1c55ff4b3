"""Bytes in and out: the httpx adapter's request serialisation and body decoding.

:func:`decode_body` is the one body decoder of the SDK (the engine's, and the request
path's for a user's transport or client): it raises only typed errors
(``httpx.DecodingError``, :class:`ResponseTooLarge`) and needs no ``httpx.Request``.
"""

from __future__ import annotations

import zlib
from typing import Any

import httpx

from ._errors import ResponseTooLarge
from ._proxy import Proxy
from ._wire import WRITTEN, WireRequest

__all__ = ["decode_body", "request_bytes", "wire_request"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def request_bytes(request: WireRequest, proxy: Proxy | None) -> bytes:
    """The bytes of ``request``: request line, head, blank line, body.

    To a proxy, an ``http://`` origin's request line has the absolute form
    (``GET http://host:port/path HTTP/1.1``) and the head the proxy's credentials; an
    ``https://`` origin's request goes through a tunnel, as to the origin itself.
    """
    method = request.method.encode("ascii")
    scheme, host, port = request.origin
    if proxy is None or scheme == "https":
        return b"".join(
            (method, b" ", request.target, b" HTTP/1.1\r\n", request.head, b"\r\n", request.body)
        )
    authority = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        authority += f":{port}"
    return b"".join(
        (
            method,
            b" http://",
            authority.encode("ascii"),
            request.target,
            b" HTTP/1.1\r\n",
            request.head,
            proxy.header_lines(),
            b"\r\n",
            request.body,
        )
    )


class _AdaptedRequest(WireRequest):
    """A :class:`WireRequest` whose ``written`` also sets the httpx request's
    ``itnio.written`` extension, the moment it is set (a caller cut off mid-exchange
    reads it there)."""

    __slots__ = ("_extensions", "_written")

    def __init__(self, extensions: dict[str, object], *args: Any, **kwargs: Any) -> None:
        self._extensions = extensions
        super().__init__(*args, **kwargs)

    # A property where WireRequest has a plain attribute: still a readable, settable bool.
    @property
    def written(self) -> bool:  # pyright: ignore[reportIncompatibleVariableOverride]
        return self._written

    @written.setter
    def written(self, value: bool) -> None:  # pyright: ignore[reportIncompatibleVariableOverride]
        self._written = value
        if value:
            self._extensions[WRITTEN] = True


def wire_request(request: httpx.Request, body: bytes) -> WireRequest:
    """``request`` (its body read: ``body``) as a :class:`WireRequest` for ``exchange()``.

    Raises:
        httpx.UnsupportedProtocol: neither http nor https.
        httpx.LocalProtocolError: a header name or value holds CR, LF or NUL.
    """
    url = request.url
    scheme = url.scheme
    if scheme not in _DEFAULT_PORTS:
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}", request=request)
    parts: list[bytes] = []
    headers = request.headers.raw
    chunked = last = False
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
        size = len(name)  # (a cheap test before the case-insensitive one)
        if size == 10 and name.lower() == b"connection":
            last = b"close" in value.lower()
        elif size == 17 and name.lower() == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    head = b"".join(parts)
    # Exactly one CRLF per line and nothing else: a CR, LF or NUL inside a value
    # (an injected header) would change the count.
    lines = len(headers)
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
        raise httpx.LocalProtocolError("a header contains CR, LF or NUL", request=request)
    if chunked:
        # A streamed body (httpx announced it chunked), read whole: frame it as one chunk.
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    timeouts = request.extensions.get("timeout") or {}
    return _AdaptedRequest(
        request.extensions,
        request.method,
        (scheme, url.host, url.port or _DEFAULT_PORTS[scheme]),
        url.raw_path,
        head,
        body,
        connect=timeouts.get("connect"),
        read=timeouts.get("read"),
        write=timeouts.get("write"),
        pool=timeouts.get("pool"),
        close=last,
    )


def decode_body(
    headers: list[tuple[bytes, bytes]], body: bytes, limit: int
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Unpack a gzip or deflate body within ``limit``; drop Content-Encoding and -Length.

    At most one coding among ``gzip``, ``x-gzip`` and ``deflate`` over every
    Content-Encoding line (``identity`` entries are ignored): stacked codings are
    refused, so nothing is left for httpx to unpack again without a limit. A gzip body
    must be one whole member: truncated (no trailer), trailing bytes, or a second
    member are errors.

    Raises:
        httpx.DecodingError: several or unknown codings, or a body that does not unpack.
        ResponseTooLarge: the unpacked body is larger than ``limit``.
    """
    coding = _coding(headers)
    if coding is None:
        return headers, body
    if coding in (b"gzip", b"x-gzip"):
        unpacked = _unpack(body, zlib.MAX_WBITS | 16, limit, "gzip")
    else:
        try:
            unpacked = _unpack(body, zlib.MAX_WBITS, limit, "deflate")
        except httpx.DecodingError:  # "deflate" is often sent raw, without the zlib header
            unpacked = _unpack(body, -zlib.MAX_WBITS, limit, "deflate")
    kept = [(n, v) for n, v in headers if n.lower() not in (b"content-encoding", b"content-length")]
    return kept, unpacked


def _coding(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The one content coding of a response (None: identity), over all its lines."""
    codings = [
        coding
        for name, value in headers
        if name.lower() == b"content-encoding"
        for part in value.split(b",")
        if (coding := part.strip().lower()) not in (b"", b"identity")
    ]
    if not codings:
        return None
    if len(codings) > 1:
        raise httpx.DecodingError(
            f"{len(codings)} content codings stacked; at most one (gzip or deflate) is accepted"
        )
    coding = codings[0]
    if coding not in (b"gzip", b"x-gzip", b"deflate"):
        shown = coding.decode("latin-1")[:40]
        raise httpx.DecodingError(f"unsupported Content-Encoding {shown!r}")
    return coding


def _unpack(body: bytes, wbits: int, limit: int, name: str) -> bytes:
    """``body`` unpacked, checked whole: one complete stream and nothing after it."""
    decompressor = zlib.decompressobj(wbits)
    try:
        unpacked = decompressor.decompress(body, limit + 1)
    except zlib.error as exc:
        raise httpx.DecodingError(f"bad {name} body: {exc}") from None
    if len(unpacked) > limit:
        raise ResponseTooLarge(f"response larger than {limit} bytes once decompressed")
    if not decompressor.eof:
        raise httpx.DecodingError(f"truncated {name} body")
    if decompressor.unused_data:
        raise httpx.DecodingError(f"bytes after the end of the {name} body")
    return unpacked
