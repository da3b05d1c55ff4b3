"""Where an HTTP answer becomes a model or an exception.

Every response of the OTP API is a JSON envelope ``{"status": "0", "reason": ...,
"data": ...}``. :func:`parse` checks, in this order:

1. the HTTP status: non-2xx → :class:`HTTPStatusError` (:class:`HTTPServerError` for
   a 5xx, which is also a :class:`ServerError`), with the envelope's status and
   reason when the body carries one;
2. the envelope: not a JSON object with a ``status`` → :class:`DecodeError`;
   ``status`` other than ``"0"`` → the exception :data:`STATUS_ERRORS` names for it
   (:class:`APIError` for a code it does not know);
3. ``data``: decoded by the one converter (``_converter.py``) into the call's model
   → :class:`DecodeError` when it does not fit (or returned as plain JSON for
   :data:`RAW_JSON`).

Everything a server sends back is untrusted text: before it reaches a message, an
excerpt or an attribute, phone numbers and codes are masked, and anything this call
sent that must stay private (its code, phone number, ``Sign``) is removed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import httpx

from ._converter import structure
from ._exceptions import (
    AlreadyExistsError,
    APIError,
    AuthenticationError,
    DecodeError,
    HTTPServerError,
    HTTPStatusError,
    InsufficientBalanceError,
    InvalidParameterError,
    IPNotAllowedError,
    NotFoundError,
    PhoneSendLimitError,
    PricingError,
    SensitiveContentError,
    ServerError,
    TimestampExpiredError,
    TotalSendLimitError,
    excerpt,
)
from ._ints import parse_int_text
from ._redact import Secrets
from ._retry import parse_http_date, parse_retry_after

if TYPE_CHECKING:
    from ._call import Call
    from ._wire import Answer

__all__ = ["RAW_JSON", "STATUS_ERRORS", "api_error", "decode", "parse", "read_status"]

#: A call's ``cast`` for "return ``data`` as plain JSON" (``client.request``).
RAW_JSON: Final = object()

#: The one table from envelope status to exception class. Any other code → APIError.
STATUS_ERRORS: dict[int, type[APIError]] = {
    -1: AuthenticationError,
    -2: IPNotAllowedError,
    -10: InsufficientBalanceError,
    -16: TimestampExpiredError,
    -18: ServerError,
    -20: AlreadyExistsError,
    -21: InvalidParameterError,
    -22: InvalidParameterError,
    -24: NotFoundError,
    -26: PricingError,
    -27: TotalSendLimitError,
    -28: PhoneSendLimitError,
    -29: SensitiveContentError,
}


def api_error(
    status: int,
    reason: str = "",
    *,
    method: str = "",
    path: str = "",
    status_code: int | None = None,
    headers: httpx.Headers | None = None,
) -> APIError:
    """Build the exception for an envelope status via :data:`STATUS_ERRORS`."""
    cls = STATUS_ERRORS.get(status, APIError)
    return cls(status, reason, method=method, path=path, status_code=status_code, headers=headers)


def read_status(value: object) -> int | None:
    """The envelope ``status`` as an int: an int, or an ASCII integer string; else ``None``."""
    if value == "0" and type(value) is str:  # every successful answer
        return 0
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return parse_int_text(value)
    return None


def parse(
    answer: Answer,
    call: Call[Any],
    *,
    url: str,
    now: Callable[[], float],
    hint: str = "",
) -> Any:
    """The decoded ``data`` of an answer to ``call`` (``None`` when its ``cast`` is
    ``None``), or raise.

    Args:
        answer: the final answer, body read.
        call: the call (its ``cast``, ``many``, method, path, and the secrets it sent,
            which are removed from every message, excerpt and attribute of an error).
        url: the call's URL, for messages.
        now: the current time as the server sees it, to read a ``Retry-After`` date
            when the answer has no ``Date``.
        hint: advice appended to an HTTP error's message.

    Raises:
        HTTPStatusError, DecodeError, APIError: as described in the module docstring.
    """
    body = answer.body
    method, path, secrets = call.method, call.path, call.secrets
    if not 200 <= answer.status < 300:
        raise _http_error(answer, call, url, now, hint)
    payload, problem = _load(body)
    if problem is not None:
        raise DecodeError(
            f"{method} {path}{problem}", body=_excerpt(body, secrets), method=method, path=path
        )
    status = read_status(payload["status"])
    if status is None:
        raise DecodeError(
            f"{method} {path}: envelope status is not an integer",
            body=_excerpt(body, secrets),
            method=method,
            path=path,
        )
    if status != 0:
        reason = payload.get("reason")
        raise api_error(
            status,
            secrets.scrub(reason) if isinstance(reason, str) else "",
            method=method,
            path=path,
            status_code=answer.status,
            headers=_headers(answer, secrets),
        )
    cast = call.cast
    if cast is None:
        return None
    if cast is RAW_JSON:
        return payload.get("data")
    return decode(
        payload.get("data"), cast, many=call.many, method=method, path=path, secrets=secrets
    )


def _http_error(
    answer: Answer, call: Call[Any], url: str, now: Callable[[], float], hint: str
) -> HTTPStatusError:
    status, reason = _peek_envelope(answer.body)
    secrets = call.secrets
    cls = HTTPServerError if answer.status >= 500 else HTTPStatusError
    return cls(
        answer.status,
        method=call.method,
        path=call.path,
        status=status,
        reason=None if reason is None else secrets.scrub(reason),
        retry_after=_retry_after(answer, now),
        body=_excerpt(answer.body, secrets),
        headers=_headers(answer, secrets),
        url=url,
        hint=hint,
    )


def _headers(answer: Answer, secrets: Secrets) -> httpx.Headers:
    """The answer's headers as an ``httpx.Headers``, every value scrubbed."""
    headers: httpx.Headers = secrets.scrub_headers(httpx.Headers(answer.headers))
    return headers


def decode(
    data: Any, cast: type[Any], *, many: bool, method: str, path: str, secrets: Secrets
) -> Any:
    """Decode an envelope's ``data`` into ``cast`` (or a list of it)."""
    target: Any = cast
    if many:
        if data is None:
            return []
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise _data_error(f"{method} {path}: data is not a list", data, method, path, secrets)
        target = list[cast]  # type: ignore[valid-type]
    elif not isinstance(data, dict):
        raise _data_error(f"{method} {path}: data is not an object", data, method, path, secrets)
    try:
        return structure(data, target)
    except Exception as exc:  # noqa: BLE001 - any converter failure is a DecodeError
        problem = type(exc).__name__
    # Raised outside the except block: the converter's exception holds the data.
    raise _data_error(
        f"{method} {path}: data does not match {cast.__name__} ({problem})",
        data,
        method,
        path,
        secrets,
    )


def _retry_after(answer: Answer, now: Callable[[], float]) -> float | None:
    """Seconds from ``Retry-After``; a date is read against the answer's own ``Date``."""
    value = answer.header(b"retry-after")
    if value is None:
        return None
    server_now = parse_http_date(answer.header(b"date"))
    return parse_retry_after(value, now() if server_now is None else server_now)


def _load(body: bytes) -> tuple[dict[str, Any], str | None]:
    """The envelope object, or a description of what is wrong with the body."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        # Not chained: json's error carries the whole body as ``.doc``.
        return {}, " answered with a body that is not JSON"
    if not isinstance(payload, dict) or "status" not in payload:
        return {}, " answered with JSON that is not an API envelope"
    return payload, None


def _excerpt(body: bytes, secrets: Secrets) -> str:
    """A short excerpt of a response body: phone numbers and codes masked, secrets removed.

    Beyond the known JSON members (``redact``), any run of 7+ digits is masked: free
    text such as a ``reason`` or an HTML error page may quote a number too.
    """
    return excerpt(secrets.scrub(body.decode("utf-8", "replace")))


def _data_error(message: str, data: Any, method: str, path: str, secrets: Secrets) -> DecodeError:
    try:
        text = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(data).__name__}>"
    return DecodeError(message, body=excerpt(secrets.scrub(text)), method=method, path=path)


def _peek_envelope(body: bytes) -> tuple[int | None, str | None]:
    """The envelope status and reason of a non-2xx body, if it has them."""
    payload, problem = _load(body)
    if problem is not None:
        return None, None
    status = read_status(payload["status"])
    if status is None:
        return None, None
    reason = payload.get("reason")
    return status, reason if isinstance(reason, str) else None
