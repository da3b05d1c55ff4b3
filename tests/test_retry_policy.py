"""RetryPolicy unit tests: what is retried, full-jitter backoff, Retry-After (no sleeping)."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from itnio_async import (
    APIError,
    AsyncItnio,
    AuthenticationError,
    DecodeError,
    HTTPStatusError,
    InvalidParameterError,
    ItnioError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    TimestampExpiredError,
    TransportError,
)
from itnio_async._retry import CallKind, outcome_unknown, parse_http_date, parse_retry_after

from .conftest import API_KEY, API_SECRET, BASE_URL

SAFE, UNSAFE = CallKind.SAFE, CallKind.UNSAFE
NOW = 1_700_000_000.0


def never_sent(cls: type[TransportError] = TransportError) -> TransportError:
    """A transport failure that provably never left (connect error / timeout)."""
    return cls("ConnectError on GET /x", method="GET", path="/x", sent=False)


def maybe_sent(cls: type[TransportError] = TransportError) -> TransportError:
    """A transport failure after the request may have left (read timeout, dropped)."""
    return cls("ReadError on GET /x", method="GET", path="/x", sent=True)


def http(code: int, retry_after: float | None = None) -> HTTPStatusError:
    """A non-2xx answer."""
    return HTTPStatusError(code, method="GET", path="/x", retry_after=retry_after)


# -- defaults and validation ------------------------------------------------------------------


def test_defaults_match_the_documented_policy() -> None:
    """Two retries, 0.5 s base, 8 s cap and a 30 s Retry-After cap by default."""
    policy = RetryPolicy()
    assert (policy.max_retries, policy.base_delay, policy.max_delay) == (2, 0.5, 8.0)
    assert policy.max_retry_after == 30.0


@pytest.mark.parametrize(
    "options",
    [
        {"max_retries": -1},
        {"max_retries": True},
        {"max_retries": 1.5},
        {"base_delay": -0.1},
        {"max_delay": float("nan")},
        {"max_retry_after": "5"},
    ],
)
def test_invalid_policy_values_raise(options: dict[str, Any]) -> None:
    """Nonsense settings fail at construction with an ItnioError naming the field."""
    with pytest.raises(ItnioError, match=next(iter(options))):
        RetryPolicy(**options)


def test_client_max_retries_overrides_policy_and_with_options() -> None:
    """max_retries on the client wins over the policy; with_options changes only the copy."""
    client = AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        max_retries=5,
        retry_policy=RetryPolicy(max_retries=1, base_delay=0.25),
    )
    assert client.max_retries == 5
    assert client.retry_policy.base_delay == 0.25
    copy = client.with_options(max_retries=0)
    assert copy.max_retries == 0
    assert copy.retry_policy.base_delay == 0.25
    assert client.max_retries == 5
    assert AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL).max_retries == 2


# -- what is retried --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "safe", "unsafe"),
    [
        pytest.param(never_sent(), True, True, id="connect-error"),
        pytest.param(never_sent(RequestTimeoutError), True, True, id="connect-timeout"),
        pytest.param(maybe_sent(), True, False, id="read-error"),
        pytest.param(maybe_sent(RequestTimeoutError), True, False, id="read-timeout"),
        *(pytest.param(http(c), True, False, id=f"http-{c}") for c in (408, 429, 500, 502, 503)),
        pytest.param(http(504), True, False, id="http-504"),
        *(pytest.param(http(c), False, False, id=f"http-{c}") for c in (400, 401, 404, 501)),
        pytest.param(ServerError(-18, "busy"), True, False, id="status-18"),
        pytest.param(InvalidParameterError(-22), False, False, id="status-22"),
        pytest.param(AuthenticationError(-1), False, False, id="status-1"),
        pytest.param(APIError(-99), False, False, id="status-unknown"),
        pytest.param(TimestampExpiredError(-16), False, False, id="status-16-by-policy"),
        pytest.param(DecodeError("not JSON"), False, False, id="decode-error"),
    ],
)
def test_is_retryable_table(error: ItnioError, safe: bool, unsafe: bool) -> None:
    """SAFE retries transport, 408/429/5xx and -18; UNSAFE only what never left."""
    policy = RetryPolicy()
    assert policy.is_retryable(error, SAFE) is safe
    assert policy.is_retryable(error, UNSAFE) is unsafe


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (maybe_sent(), True),
        (maybe_sent(RequestTimeoutError), True),
        (never_sent(), False),
        (http(503), True),
        (http(429), True),
        (http(404), False),
        (ServerError(-18), True),
        (InvalidParameterError(-22), False),
        (DecodeError("x"), False),
    ],
)
def test_outcome_unknown(error: ItnioError, unknown: bool) -> None:
    """Only failures after which the server may have acted count as ambiguous (verify)."""
    assert outcome_unknown(error) is unknown


# -- backoff ---------------------------------------------------------------------------------


def test_backoff_ceilings_double_up_to_the_cap() -> None:
    """With rand()=1 the delay is the ceiling: 0.5, 1, 2, 4, 8, then capped at 8."""
    policy = RetryPolicy()
    assert [policy.backoff(n, rand=lambda: 1.0) for n in range(1, 8)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
        8.0,
    ]


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.999])
def test_backoff_is_full_jitter(rand: float) -> None:
    """The delay is rand() times the ceiling (anywhere from 0 up to it)."""
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0)
    assert policy.backoff(1, rand=lambda: rand) == pytest.approx(rand * 1.0)
    assert policy.backoff(2, rand=lambda: rand) == pytest.approx(rand * 2.0)
    assert policy.backoff(5, rand=lambda: rand) == pytest.approx(rand * 3.0)


def test_backoff_uses_the_injected_random_every_time() -> None:
    """Each call draws a fresh random number (no shared jitter between retries)."""
    draws = iter([0.1, 0.9])
    policy = RetryPolicy()
    assert policy.backoff(3, rand=lambda: next(draws)) == pytest.approx(0.2)
    assert policy.backoff(3, rand=lambda: next(draws)) == pytest.approx(1.8)


def test_backoff_never_overflows() -> None:
    """A huge retry number (max_retries=10_000) stays at the cap instead of overflowing."""
    assert RetryPolicy().backoff(10_000, rand=lambda: 1.0) == 8.0


def test_delay_without_retry_after_is_the_backoff() -> None:
    """No Retry-After: the jittered backoff."""
    assert RetryPolicy().delay(http(503), 2, rand=lambda: 0.5) == pytest.approx(0.5)


def test_retry_after_is_a_floor_for_the_backoff() -> None:
    """Retry-After is waited at least; a larger jittered backoff still wins."""
    policy = RetryPolicy()
    assert policy.delay(http(429, retry_after=3.0), 1, rand=lambda: 0.0) == 3.0
    assert policy.delay(http(429, retry_after=3.0), 5, rand=lambda: 1.0) == 8.0


def test_retry_after_above_the_cap_means_raise() -> None:
    """A Retry-After longer than max_retry_after returns None: raise, don't sleep."""
    policy = RetryPolicy(max_retry_after=30.0)
    assert policy.delay(http(503, retry_after=30.0), 1, rand=lambda: 0.0) == 30.0
    assert policy.delay(http(503, retry_after=30.5), 1, rand=lambda: 0.0) is None


# -- Retry-After / Date parsing with a fake clock ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-3", 0.0),
        (formatdate(NOW + 42, usegmt=True), 42.0),
        (formatdate(NOW - 10, usegmt=True), 0.0),
        ("Tue, 14 Nov 2023 22:13:20 -0000", 0.0),
        ("nan", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Delta-seconds and HTTP dates (against the given 'now') become seconds to wait."""
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_infinite_is_above_any_cap() -> None:
    """An absurd value parses as infinity, which every cap rejects."""
    seconds = parse_retry_after("1e999", NOW)
    assert seconds == float("inf")
    assert RetryPolicy().delay(http(503, retry_after=seconds), 1) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (formatdate(NOW, usegmt=True), NOW),
        ("Tue, 14 Nov 2023 22:13:20 -0000", NOW),
        ("Tue, 14 Nov 2023 23:13:20 +0100", NOW),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_http_date(value: str | None, expected: float | None) -> None:
    """HTTP dates become epoch seconds; a zone-less '-0000' date is UTC."""
    assert parse_http_date(value) == expected


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York", "UTC"])
def test_a_zone_less_http_date_is_utc_whatever_the_local_zone(
    zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'-0000' is UTC on every machine: the local time zone never shifts a server's Date."""
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert parse_http_date("Tue, 14 Nov 2023 22:13:20 -0000") == NOW
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_retry_after_date_is_read_against_the_response_date() -> None:
    """A Retry-After date is measured from the server's Date, not the (wrong) local clock."""
    server_now = NOW + 3600.0  # the local clock is an hour behind the server

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            503,
            headers={
                "Date": formatdate(server_now, usegmt=True),
                "Retry-After": formatdate(server_now + 45, usegmt=True),
            },
        )

    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        clock=lambda: NOW,
    ) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)
    assert info.value.retry_after == 45.0
