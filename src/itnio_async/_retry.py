"""The one retry policy: what is retried, how long to wait, and when to give up.

Calls come in two kinds:

* ``SAFE`` — reads and updates (every GET, every PUT, the record-lookup POST):
  retried on any transport failure, HTTP 408/429/500/502/503/504 and envelope -18.
* ``UNSAFE`` — sends, creates, backfill and verify (they cost money, reach a
  person's phone or consume a code): retried only when the request provably never
  left this process (connect error, connect timeout, pool timeout).

For every kind, a ``-16`` (timestamp expired) is retried once after the client has
learned the server's clock offset: the server rejected the request before acting
on it. A ``DecodeError`` is never retried. Backoff is exponential with full
jitter; ``Retry-After`` is honoured up to ``max_retry_after`` seconds (above it,
the error is raised instead of sleeping). One deadline bounds every attempt and
every sleep of a call.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import attrs

from ._exceptions import (
    HTTPStatusError,
    ItnioError,
    ServerError,
    TransportError,
)

__all__ = ["CallKind", "RetryPolicy", "parse_retry_after"]

RETRY_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})


class CallKind(enum.Enum):
    """How a call may be retried."""

    SAFE = "safe"
    UNSAFE = "unsafe"


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@attrs.frozen
class RetryPolicy:
    """Retry decisions and backoff; pure and clock-free so tests need no sleeping.

    Attributes:
        max_retries: extra attempts after the first (0 disables retries).
        base_delay: first backoff ceiling in seconds (doubles each attempt).
        max_delay: backoff ceiling in seconds.
        max_retry_after: the longest ``Retry-After`` honoured; longer ones raise.
    """

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def is_retryable(self, error: ItnioError, kind: CallKind) -> bool:
        """Whether ``error`` may be retried for a call of ``kind`` (attempts aside)."""
        if isinstance(error, TransportError):
            return kind is CallKind.SAFE or not error.sent
        if kind is CallKind.UNSAFE:
            return False
        if isinstance(error, HTTPStatusError):
            return error.status_code in RETRY_STATUS_CODES
        return isinstance(error, ServerError)

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return rand() * ceiling

    def delay(
        self,
        error: ItnioError,
        retry: int,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to sleep before retry ``retry``, or ``None`` to raise ``error`` now."""
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(retry_after, self.backoff(retry, rand))
        return self.backoff(retry, rand)
