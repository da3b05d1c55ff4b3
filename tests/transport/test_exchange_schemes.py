"""``exchange()`` with an origin whose scheme is neither http nor https: refused, typed,
before anything is dialled or written."""

from __future__ import annotations

import httpx
import pytest

from itnio_async._engine import HTTP11Transport, WireRequest

from .conftest import GUARD, RawServer


@pytest.mark.parametrize("scheme", ["ftp", "ws", ""])
async def test_an_unknown_scheme_is_refused_before_dialling(
    raw: RawServer, transport: HTTP11Transport, scheme: str
) -> None:
    """The origin points at a live server: only the scheme check keeps the bytes home."""
    head = f"Host: 127.0.0.1:{raw.port}\r\n".encode()
    request = WireRequest(
        "POST",
        (scheme, "127.0.0.1", raw.port),
        b"/x",
        head + b"Content-Length: 4\r\n",
        b"body",
        connect=GUARD.connect,
        read=GUARD.read,
    )
    with pytest.raises(httpx.UnsupportedProtocol, match="unsupported URL scheme"):
        await transport.exchange(request)
    assert request.written is False
    assert raw.peers == []  # no connection was made
    assert transport.stats() == (0, 0, 0, 0)
