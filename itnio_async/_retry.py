"""The one retry policy: what is retried, how long to wait, and when to give up.

Calls come in two kinds:

* ``SAFE`` — reads and updates (every GET, every PUT, the record-lookup POST):
  retried on any transport failure, HTTP 408/429/500/502/503/504 and envelope -18.
* ``UNSAFE`` — sends, creates, backfill and verify (they cost money, reach a
  person's phone or consume a code): retried only when the request provably never
  left this process (connect error, connect timeout, pool timeout).

For every kind, a ``-16`` (timestamp expired) is retried once after the client has
learned the server's clock offset: the server rejected the request before acting
on it. A ``DecodeError`` is not retried, except a ``MismatchedAnswerError`` (an
answer to another request) for a SAFE call. Backoff is exponential with full
jitter; ``Retry-After`` is honoured up to ``max_retry_after`` seconds (above it,
the error is raised instead of sleeping). One deadline bounds every attempt and
every sleep of a call (enforced by the client, which owns the clock).

``verify`` is UNSAFE here; what it does after an ambiguous failure (see
:func:`outcome_unknown`) lives in ``_resources/verifications.py``.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime

import attrs

from ._exceptions import (
    HTTPStatusError,
    ItnioError,
    MismatchedAnswerError,
    ServerError,
    TransportError,
)

__all__ = ["CallKind", "RetryPolicy", "outcome_unknown", "parse_http_date", "parse_retry_after"]

#: HTTP statuses that a SAFE call retries.
RETRY_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})

# 2 ** 63 already dwarfs any max_delay; a larger exponent would overflow a float.
_MAX_EXPONENT = 63


class CallKind(enum.Enum):
    """How a call may be retried."""

    SAFE = "safe"
    UNSAFE = "unsafe"


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP date (``Date``, ``Retry-After``); ``None`` if unparsable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # "-0000" means UTC without a source zone (RFC 5322)
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    Args:
        value: the header value, or ``None``.
        now: the current time *as the server sees it* (epoch seconds), to turn a
            date into a delay — the response's ``Date`` header when it has one.

    Returns:
        Seconds (never negative), or ``None`` when the header is absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        when = parse_http_date(value)
        if when is None:
            return None
        seconds = when - now
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def outcome_unknown(error: ItnioError) -> bool:
    """True when the request may have been processed but its answer is unknown.

    A sent request that timed out or lost its connection, an HTTP 408/429/5xx, or
    envelope -18. Used by ``verify`` to decide whether to resolve through the record.
    """
    if isinstance(error, TransportError):
        return error.sent
    if isinstance(error, HTTPStatusError):
        return error.status_code in RETRY_STATUS_CODES
    return isinstance(error, ServerError)


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ItnioError(f"RetryPolicy.{attribute.name} must be a number >= 0, got {value!r}")


def _retries(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ItnioError(f"RetryPolicy.max_retries must be an int >= 0, got {value!r}")


@attrs.frozen
class RetryPolicy:
    """Retry decisions and backoff; pure and clock-free so tests need no sleeping.

    Attributes:
        max_retries: extra attempts after the first (0 disables retries).
        base_delay: first backoff ceiling in seconds (doubles each attempt).
        max_delay: backoff ceiling in seconds.
        max_retry_after: the longest ``Retry-After`` honoured; longer ones raise
            the error at once (it carries ``retry_after``).
    """

    max_retries: int = attrs.field(default=2, validator=_retries)
    base_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=30.0, validator=_non_negative)

    def is_retryable(self, error: ItnioError, kind: CallKind) -> bool:
        """Whether ``error`` may be retried for a call of ``kind`` (attempts aside).

        A request that provably never left may go again for every kind; one whose
        outcome is unknown (:func:`outcome_unknown`) only for a SAFE call.
        """
        if isinstance(error, TransportError) and not error.sent:
            return True
        if kind is not CallKind.SAFE:
            return False
        return outcome_unknown(error) or isinstance(error, MismatchedAnswerError)

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before retry number ``retry`` (1-based): ``U(0, ceiling)``.

        ``ceiling = min(max_delay, base_delay * 2 ** (retry - 1))``.
        """
        exponent = min(max(retry - 1, 0), _MAX_EXPONENT)
        ceiling = min(self.max_delay, self.base_delay * 2.0**exponent)
        return rand() * ceiling

    def delay(
        self,
        error: ItnioError,
        retry: int,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to sleep before retry ``retry``, or ``None`` to raise ``error`` now.

        A ``Retry-After`` on the error is a floor for the jittered backoff; one above
        ``max_retry_after`` means "give up now".
        """
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(retry_after, self.backoff(retry, rand))
        return self.backoff(retry, rand)
