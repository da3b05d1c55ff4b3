"""The one retry policy, and the one place that decides what follows an attempt.

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

``verify`` is UNSAFE here; after an ambiguous failure (see :func:`outcome_unknown`)
its :class:`~itnio_async._call.Resolver` learns what happened with a lookup sent in
the same loop, retry budget and deadline; what the lookup means is the resolver's
business (``_resources/verifications.py``).

:func:`decide` is the decision after every attempt of a call: return its result,
raise, retry after a delay (the call itself, or the resolver's lookup), recover
from ``-16`` (retry at once, once per call), or resolve (send the lookup). The
request loop (``_base_client.BaseClient._request``) only carries it out.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import attrs

from ._call import REPEAT
from ._exceptions import (
    DecodeError,
    HTTPStatusError,
    ItnioError,
    MismatchedAnswerError,
    ServerError,
    TransportError,
)

if TYPE_CHECKING:
    from ._call import Call, CallState

__all__ = [
    "Action",
    "Attempt",
    "CallKind",
    "RetryPolicy",
    "Step",
    "decide",
    "outcome_unknown",
    "parse_http_date",
    "parse_retry_after",
]

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

    A sent request that timed out or lost its connection, an HTTP
    408/429/500/502/503/504, or envelope -18. A resolver (``verify``) then looks up
    what happened; a SAFE call is sent again.
    """
    if isinstance(error, TransportError):
        return error.sent
    if isinstance(error, HTTPStatusError):  # an HTTPServerError is a ServerError too
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

        Args:
            error: the error the attempt ended with.
            kind: how the call may be retried: ``CallKind.SAFE`` for a read or an
                idempotent write, ``CallKind.UNSAFE`` for a send, whose repeat could
                deliver a second code.

        Returns:
            True when another attempt may be made: the request never left (a
            ``TransportError`` with ``sent`` false), or, for a SAFE call only, the
            outcome is unknown (a lost answer, HTTP 408/429/500/502/503/504, envelope
            -18) or the answer was another id's (``MismatchedAnswerError``).
        """
        if isinstance(error, TransportError) and not error.sent:
            return True
        if kind is not CallKind.SAFE:
            return False
        return outcome_unknown(error) or isinstance(error, MismatchedAnswerError)

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before retry number ``retry`` (1-based): ``U(0, ceiling)``.

        ``ceiling = min(max_delay, base_delay * 2 ** (retry - 1))``.

        Args:
            retry: which retry this is: 1 for the first one (the second attempt).
            rand: a source of uniform numbers in ``[0, 1)`` (default
                ``random.random``; tests pass a fixed one).

        Returns:
            The delay in seconds, from 0 up to the ceiling.
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

        Args:
            error: the error the attempt ended with (its ``retry_after``, when it has
                one, is read).
            retry: which retry this is: 1 for the first one (the second attempt).
            rand: a source of uniform numbers in ``[0, 1)`` for :meth:`backoff`
                (default ``random.random``).

        Returns:
            The seconds to sleep: the backoff, or the ``Retry-After`` when that is
            longer; ``None`` when the ``Retry-After`` is above ``max_retry_after``.
        """
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(retry_after, self.backoff(retry, rand))
        return self.backoff(retry, rand)


# -- what follows an attempt ---------------------------------------------------------------


class Step(enum.Enum):
    """What the request loop does next."""

    RETURN = "return"  #: the call ends with ``Action.value`` (its result)
    RAISE = "raise"  #: the call ends with ``Action.value`` (an ``ItnioError``)
    RETRY = "retry"  #: send again after ``Action.delay`` (the lookup if ``Action.lookup``)


@attrs.frozen(slots=True)
class Action:
    """A decision: the step, its value, and for a retry the delay and what to send."""

    step: Step
    value: Any = None
    delay: float = 0.0
    lookup: bool = False
    #: the retry counts against ``max_retries`` (a lookup after a lost answer, or a
    #: recovery from ``-16``, does not)
    counted: bool = False


@attrs.frozen(slots=True)
class Attempt:
    """What one attempt gave.

    Attributes:
        lookup: it was the resolver's lookup, not the call itself.
        result: the decoded result (when ``error`` is ``None``).
        error: why it failed.
        recoverable: the client has fixed what ``error`` said was wrong (it learned
            the server's clock from a ``-16`` answer): the call may go again at once.
    """

    lookup: bool = False
    result: Any = None
    error: ItnioError | None = None
    recoverable: bool = False


def decide(
    policy: RetryPolicy,
    call: Call[Any],
    state: CallState,
    attempt: Attempt,
    now: Callable[[], float],
) -> Action:
    """The one decision after an attempt of ``call`` (``now``: the event loop's clock,
    read only when a retry must fit the deadline).

    Updates ``state`` with what the decision needs later (the first unknown outcome,
    the retries made, a recovery, an answer being rechecked).
    """
    if attempt.lookup:
        return _after_lookup(policy, call, state, attempt, now)
    if attempt.error is None:
        return _after_answer(call, state, attempt.result, now)
    return _after_error(policy, call, state, attempt, now)


def _after_answer(
    call: Call[Any], state: CallState, result: Any, now: Callable[[], float]
) -> Action:
    resolver = call.resolver
    if resolver is not None and state.unknown is not None and resolver.recheck(result):
        # An answer after a lost one may report what the lost attempt did.
        state.answered = result
        return _resolve(state, state.unknown, now)
    return Action(Step.RETURN, result)


def _after_error(
    policy: RetryPolicy,
    call: Call[Any],
    state: CallState,
    attempt: Attempt,
    now: Callable[[], float],
) -> Action:
    error = attempt.error
    assert error is not None
    if attempt.recoverable and not state.recovered:
        state.recovered = True  # refused before acting: even a send may go again, once
        return Action(Step.RETRY)
    if call.resolver is not None and (outcome_unknown(error) or isinstance(error, DecodeError)):
        state.unknown = state.unknown or error
        return _resolve(state, error, now)
    if not policy.is_retryable(error, call.kind):
        return Action(Step.RAISE, error)
    return _again(policy, state, error, now, lookup=False)


def _after_lookup(
    policy: RetryPolicy,
    call: Call[Any],
    state: CallState,
    attempt: Attempt,
    now: Callable[[], float],
) -> Action:
    resolver = call.resolver
    unknown = state.unknown
    assert resolver is not None
    assert unknown is not None
    error = attempt.error
    if error is not None:
        if policy.is_retryable(error, CallKind.SAFE):
            return _again(policy, state, error, now, lookup=True)
        return Action(Step.RAISE, _caused(unknown, error))
    verdict = resolver.judge(attempt.result, state.answered, state)
    if isinstance(verdict, ItnioError):
        return Action(Step.RAISE, verdict)
    if verdict is REPEAT:
        state.answered = None
        return _again(policy, state, unknown, now, lookup=False)
    return Action(Step.RETURN, verdict)


def _resolve(state: CallState, error: ItnioError, now: Callable[[], float]) -> Action:
    """Send the resolver's lookup now: it follows an answer that was lost (or must be
    rechecked) and is part of that attempt, not a retry; only the deadline bounds it."""
    if state.deadline_at is not None and now() >= state.deadline_at:
        return Action(Step.RAISE, _final(state, error))
    return Action(Step.RETRY, lookup=True)


def _again(
    policy: RetryPolicy,
    state: CallState,
    error: ItnioError,
    now: Callable[[], float],
    *,
    lookup: bool,
) -> Action:
    """Send again (the call, or a lookup that failed) after the policy's backoff, if
    ``max_retries`` and the deadline allow; else raise."""
    if state.retries >= policy.max_retries:
        return Action(Step.RAISE, _final(state, error))
    delay = policy.delay(error, state.retries + 1)
    if delay is None:
        return Action(Step.RAISE, _final(state, _with_retry_after(error, policy)))
    if state.deadline_at is not None and now() + delay >= state.deadline_at:
        return Action(Step.RAISE, _final(state, error))
    state.retries += 1
    return Action(Step.RETRY, delay=delay, lookup=lookup, counted=True)


def _final(state: CallState, error: ItnioError) -> ItnioError:
    """The error that ends a call that cannot go on: the first unknown outcome if any
    (with what stopped its resolution as the cause)."""
    unknown = state.unknown
    if unknown is None or unknown is error:
        return error
    return _caused(unknown, error)


def _caused(error: ItnioError, cause: ItnioError) -> ItnioError:
    error.__cause__ = cause
    return error


def _with_retry_after(error: ItnioError, policy: RetryPolicy) -> ItnioError:
    """``error``, its message saying that the wait it asked for is not made."""
    asked = getattr(error, "retry_after", None)
    if asked is not None and error.args and isinstance(error.args[0], str):
        error.args = (
            f"{error.args[0]}; the server asked to wait {asked:g} s (Retry-After), more than "
            f"RetryPolicy.max_retry_after ({policy.max_retry_after:g} s): not retried",
            *error.args[1:],
        )
    return error
