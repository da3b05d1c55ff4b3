"""The ``aiohttp`` backend: an httpx transport that sends through an ``aiohttp`` session.

Selected with ``AsyncItnio(http_backend="aiohttp")``; signing, retries, the deadline
and decoding are unchanged, only the connection pool differs. It stays flat as
concurrency rises, where httpcore's pool spends more CPU per request the more
requests it holds (see ``benchmarks/README.md``). Needs the extra:
``pip install "itnio-async[aiohttp]"``.

The transport builds on ``httpx_aiohttp.AiohttpTransport`` (its SSL context, limits
and session) with two changes:

* every aiohttp failure becomes the httpx error that keeps the SDK's "was anything
  sent" distinction right: only a failure to connect (or a connect/pool timeout) is
  "never sent". ``httpx-aiohttp`` maps every ``ClientConnectionError`` — including
  ``ServerDisconnectedError`` after the request was written — to ``ConnectTimeout``,
  and lets other aiohttp errors (a bad status line) escape as raw aiohttp exceptions;
* the response body is read inside the transport (the SDK never streams), which
  saves the per-chunk stream wrapper.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from ._exceptions import ItnioError

__all__ = ["make_aiohttp_transport", "map_aiohttp_error"]

_HTTP11: dict[str, Any] = {"http_version": b"HTTP/1.1"}


def map_aiohttp_error(exc: BaseException) -> httpx.HTTPError | None:
    """The httpx error for an aiohttp failure, or ``None`` when it is not one.

    ``ConnectError`` / ``ConnectTimeout`` (the SDK's "never sent") only for
    failures before a connection was usable; everything after is read, protocol or
    timeout trouble on a request that may have reached the server.
    """
    import aiohttp

    message = str(exc) or type(exc).__name__
    connection_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)  # aiohttp >= 3.10
    socket_timeout = getattr(aiohttp, "SocketTimeoutError", None)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS handshake
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerFingerprintMismatch):
        return httpx.ConnectError(message)
    if connection_timeout is not None and isinstance(exc, connection_timeout):
        return httpx.ConnectTimeout(message)  # pool wait or connect, before writing
    if socket_timeout is not None and isinstance(exc, socket_timeout):
        return httpx.ReadTimeout(message)
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        # aiohttp < 3.10 raises this for connect and read timeouts alike: assume sent.
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError(message)
    if isinstance(exc, (aiohttp.InvalidURL, getattr(aiohttp, "NonHttpUrlClientError", ()))):
        return httpx.UnsupportedProtocol(message)
    if isinstance(exc, aiohttp.ClientOSError):  # reset or broken pipe on a live connection
        return httpx.ReadError(message)
    if isinstance(exc, aiohttp.ClientError):
        # ServerDisconnectedError, ClientConnectionResetError, a malformed response
        # (ClientResponseError), anything newer: the request may have been sent.
        return httpx.RemoteProtocolError(message)
    return None


def make_aiohttp_transport(max_connections: int) -> httpx.AsyncBaseTransport:
    """An aiohttp-backed transport with ``max_connections`` pooled connections.

    Raises:
        ItnioError: the ``aiohttp`` extra is not installed.
    """
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ItnioError(
            'http_backend="aiohttp" needs the aiohttp extra: pip install "itnio-async[aiohttp]"'
        ) from exc

    class _Transport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            session = self.client
            if not isinstance(session, aiohttp.ClientSession):
                session = self.client = self.get_client()
            timeout = request.extensions.get("timeout", {})
            try:
                data: Any = request.content or None
            except httpx.RequestNotRead:  # pragma: no cover - the SDK always sends bytes
                data = request.stream
            try:
                async with session.request(
                    request.method,
                    str(request.url),
                    headers=request.headers.multi_items(),
                    data=data,
                    allow_redirects=False,
                    auto_decompress=False,  # httpx decodes Content-Encoding itself
                    timeout=aiohttp.ClientTimeout(
                        connect=timeout.get("pool"),
                        sock_connect=timeout.get("connect"),
                        sock_read=timeout.get("read"),
                    ),
                    server_hostname=request.extensions.get("sni_hostname"),
                ) as response:
                    body = await response.read()
                    status = response.status
                    headers = response.raw_headers
                    reason = response.reason
            except (TimeoutError, aiohttp.ClientError) as exc:
                mapped = map_aiohttp_error(exc)
                if mapped is None:  # pragma: no cover - every ClientError is mapped
                    raise
                raise mapped from exc
            extensions = _HTTP11
            if reason:
                extensions = {**_HTTP11, "reason_phrase": reason.encode("latin-1", "replace")}
            return httpx.Response(
                status, headers=headers, content=body, request=request, extensions=extensions
            )

    return _Transport(
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
    )
