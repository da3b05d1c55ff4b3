"""Transition shim: the engine lives in :mod:`itnio_async._engine`.

Only ``_base_client.py`` and ``_client.py`` import this module, until they import
from ``itnio_async._engine`` directly; then it goes. ``decode_body`` keeps its old
fourth argument (the request its errors name) for ``_base_client._read_capped``.
"""

from __future__ import annotations

import httpx

from ._engine import (
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_MAX_RESPONSE_SIZE,
    WRITTEN,
    HTTP11Transport,
    PoolStats,
    ResponseTooLarge,
)
from ._engine import decode_body as _decode_body

__all__ = [
    "DEFAULT_KEEPALIVE_EXPIRY",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "WRITTEN",
    "HTTP11Transport",
    "PoolStats",
    "ResponseTooLarge",
    "decode_body",
]


def decode_body(
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    limit: int,
    request: httpx.Request | None = None,
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """:func:`itnio_async._engine.decode_body`; its error names ``request``, if given."""
    try:
        return _decode_body(headers, body, limit)
    except httpx.RequestError as exc:
        if request is not None:
            exc.request = request
        raise
