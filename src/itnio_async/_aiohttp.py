"""The ``aiohttp`` backend: an httpx transport backed by aiohttp (``httpx-aiohttp``).

Selected with ``AsyncItnio(http_backend="aiohttp")``; signing, retries and decoding
are unchanged. Needs the extra: ``pip install "itnio-async[aiohttp]"``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._exceptions import ItnioError

__all__ = ["make_aiohttp_transport"]


def make_aiohttp_transport(max_connections: int) -> httpx.AsyncBaseTransport:
    """An aiohttp-backed transport whose errors keep the "was anything sent" distinction."""
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ItnioError(
            'http_backend="aiohttp" needs the aiohttp extra: pip install "itnio-async[aiohttp]"'
        ) from exc

    class _Transport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                return await super().handle_async_request(request)
            except httpx.ConnectTimeout as exc:
                # httpx-aiohttp maps every aiohttp.ClientConnectionError to ConnectTimeout,
                # including a server that disconnected after the request was written.
                cause: Any = exc.__cause__
                if isinstance(cause, aiohttp.ServerDisconnectedError):
                    raise httpx.RemoteProtocolError(str(cause) or "server disconnected") from cause
                if isinstance(cause, aiohttp.ClientOSError) and not isinstance(
                    cause, aiohttp.ClientConnectorError
                ):
                    raise httpx.ReadError(str(cause)) from cause
                raise

    return _Transport(
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
    )
