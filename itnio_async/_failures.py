"""How a failure of the HTTP layer becomes an ``ItnioError`` that knows whether it was sent.

The engine (and httpx, on a user's route) report failures as httpx exceptions. The
request path turns each into the SDK's own error here: a :class:`TransportError`
(or :class:`RequestTimeoutError`, :class:`DecodeError`) whose ``sent`` is exact on
the SDK's engine and conservative elsewhere, whose message names the call and its
URL, and whose ``__cause__`` is a copy of the original with what the call sent
scrubbed out and no traceback (the original's frames hold the request).
"""

from __future__ import annotations

from typing import Any

import httpx

from ._call import Call
from ._engine import DeadlineExceeded, ResponseTooLarge, WireRequest
from ._exceptions import (
    APIError,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    RequestTimeoutError,
    TransportError,
)
from ._redact import Secrets, mask_digits

__all__ = ["deadline_error", "describe", "reason", "transport_error"]

#: Failures that happen before a request's first byte leaves: it was never sent.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


def transport_error(
    exc: BaseException, call: Call[Any], request: WireRequest, url: str, attempts: int
) -> ItnioError:
    """The typed error for ``exc``, an HTTP-layer failure of one attempt of ``call``."""
    sent = request.written and not isinstance(exc, _NEVER_SENT)
    where = f"{call.method} {url}"
    what = type(exc).__name__
    if isinstance(exc, DeadlineExceeded):
        return deadline_error(call, url, attempts, sent=sent)
    if isinstance(exc, httpx.DecodingError):
        wrapped: ItnioError = DecodeError(
            f"{where}: the response body could not be decoded ({what})",
            method=call.method,
            path=call.path,
        )
    elif isinstance(exc, httpx.TimeoutException):
        wrapped = RequestTimeoutError(
            f"{what} on {where}", method=call.method, path=call.path, sent=sent
        )
    elif isinstance(exc, ResponseTooLarge):
        # The engine's own words, holding only sizes (no masking of their digits).
        wrapped = TransportError(
            f"{what} on {where}: {exc}", method=call.method, path=call.path, sent=sent
        )
    else:
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        detail = mask_digits(call.secrets.scrub(first)) if first else ""
        wrapped = TransportError(
            f"{what} on {where}" + (f": {detail}" if detail else ""),
            method=call.method,
            path=call.path,
            sent=sent,
        )
    wrapped.__cause__ = _scrubbed_copy(exc, call.secrets)
    return wrapped


def deadline_error(call: Call[Any], url: str, attempts: int, *, sent: bool) -> RequestTimeoutError:
    """The error of a call whose deadline passed during its ``attempts``-th attempt."""
    return RequestTimeoutError(
        f"deadline exceeded for {call.method} {url} after {attempts} attempt(s)",
        method=call.method,
        path=call.path,
        sent=sent,
    )


def _scrubbed_copy(exc: BaseException, secrets: Secrets) -> BaseException:
    """``exc`` again (its request too, if it has one), its message scrubbed; ``Exception``
    when its type cannot be rebuilt from a message."""
    message = secrets.scrub(str(exc))
    try:
        if isinstance(exc, httpx.RequestError):
            try:
                request: httpx.Request | None = exc.request
            except RuntimeError:  # raised without its request (the engine builds none)
                request = None
            return type(exc)(message, request=request)
        return type(exc)(message)
    except Exception:  # noqa: BLE001 - any constructor may refuse one string
        return Exception(f"{type(exc).__name__}: {message}")


def reason(error: ItnioError) -> str:
    """Why an attempt is retried, for :attr:`CallInfo.retry_reasons`."""
    if isinstance(error, HTTPStatusError):
        return f"http {error.status_code}"
    if isinstance(error, APIError):
        return f"status {error.status}"
    if isinstance(error, TransportError):
        return f"no answer ({describe(error)})"
    return type(error).__name__


def describe(error: ItnioError) -> str:
    """How an attempt ended, for the log: the httpx failure behind a TransportError."""
    cause = error.__cause__
    if isinstance(error, TransportError) and cause is not None:
        return type(cause).__name__
    return type(error).__name__
