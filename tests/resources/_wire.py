"""Helpers shared by the resource tests: exact wire assertions and the status table."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from itnio_async import (
    AlreadyExistsError,
    APIError,
    AuthenticationError,
    InsufficientBalanceError,
    InvalidParameterError,
    IPNotAllowedError,
    PhoneSendLimitError,
    PricingError,
    SensitiveContentError,
    ServerError,
    TimestampExpiredError,
    TotalSendLimitError,
)

from ..conftest import API_KEY, FIXED_SIGN, FIXED_TIME, envelope

CONTENT_TYPE = "application/json;charset=UTF-8"
BASE_PATH = "/otp"

#: Envelope status → the exception class the SDK must raise (§5 of the reference).
STATUS_CLASSES: dict[int, type[APIError]] = {
    -1: AuthenticationError,
    -2: IPNotAllowedError,
    -10: InsufficientBalanceError,
    -16: TimestampExpiredError,
    -18: ServerError,
    -20: AlreadyExistsError,
    -22: InvalidParameterError,
    -26: PricingError,
    -27: TotalSendLimitError,
    -28: PhoneSendLimitError,
    -29: SensitiveContentError,
}

# The documented per-endpoint lists (§5), without the success code 0.
READ_STATUSES = (-1, -2, -16, -18, -20, -22)
PLAIN_STATUSES = (-1, -2, -16, -18, -22)
SEND_STATUSES = (-1, -2, -10, -16, -18, -22, -26, -27, -28, -29)
#: postback.backfill lists none: the global table applies.
GLOBAL_STATUSES = tuple(STATUS_CLASSES)


def reply(router: respx.Router, data: Any = None, **extra: Any) -> respx.Route:
    """Answer every request with a success envelope carrying ``data``."""
    body = envelope(data)
    body.update(extra)
    return router.route().mock(return_value=httpx.Response(200, json=body))


def reply_status(router: respx.Router, status: int) -> respx.Route:
    """Answer every request with an error envelope of ``status``."""
    return router.route().mock(
        return_value=httpx.Response(200, json=envelope(status=str(status), reason="no"))
    )


def _canonical(value: Any) -> str:
    # sort_keys keeps 1 / 1.0 / True / "1" apart, which == on dicts does not.
    return json.dumps(value, sort_keys=True)


def assert_wire(route: respx.Route, method: str, path: str, body: Any = None) -> httpx.Request:
    """Assert one request was sent with exactly this method, raw path, headers and JSON body.

    ``body=None`` asserts that no body was sent at all.
    """
    assert route.call_count == 1
    request: httpx.Request = route.calls.last.request
    assert request.method == method
    assert request.url.raw_path.decode("ascii") == BASE_PATH + path
    assert request.url.query == b""
    assert request.headers["Content-Type"] == CONTENT_TYPE
    assert request.headers["Api-Key"] == API_KEY
    assert request.headers["Timestamp"] == str(FIXED_TIME)
    assert request.headers["Sign"] == FIXED_SIGN
    if body is None:
        assert request.content == b""
    else:
        sent = json.loads(request.content)
        assert sent == body
        assert _canonical(sent) == _canonical(body)
    return request


def sent_json(route: respx.Route) -> Any:
    """The JSON body of the last request of ``route``."""
    return json.loads(route.calls.last.request.content)


async def assert_status_raises(router: respx.Router, status: int, call: Any) -> None:
    """Answer with ``status``; ``await call()`` must raise the mapped class carrying it."""
    reply_status(router, status)
    with pytest.raises(APIError) as info:
        await call()
    assert type(info.value) is STATUS_CLASSES[status]
    assert info.value.status == status
    assert info.value.reason == "no"
