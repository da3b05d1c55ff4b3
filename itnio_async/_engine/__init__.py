"""The SDK's HTTP/1.1 engine: asyncio Protocols and httptools (llhttp).

:meth:`HTTP11Transport.exchange` takes a :class:`WireRequest` and gives a
:class:`WireResponse`, building no httpx object on the way;
:meth:`HTTP11Transport.handle_async_request` is the ``httpx.AsyncBaseTransport``
adapter onto it. Errors are httpx exception classes: only ``ConnectError``,
``ConnectTimeout``, ``PoolTimeout`` and a :class:`DeadlineExceeded` whose request has
``written == False`` mean "never sent".
"""

from ._codec import decode_body
from ._dial import ProxyRefused
from ._errors import DeadlineExceeded, ResponseTooLarge
from ._pool import (
    DEFAULT_KEEPALIVE_EXPIRY,
    DEFAULT_MAX_RESPONSE_SIZE,
    HTTP11Transport,
    PoolStats,
)
from ._proxy import Proxy, proxy_for
from ._wire import WRITTEN, WireRequest, WireResponse

__all__ = [
    "DEFAULT_KEEPALIVE_EXPIRY",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "WRITTEN",
    "DeadlineExceeded",
    "HTTP11Transport",
    "PoolStats",
    "Proxy",
    "ProxyRefused",
    "ResponseTooLarge",
    "WireRequest",
    "WireResponse",
    "decode_body",
    "proxy_for",
]
