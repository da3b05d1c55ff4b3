"""The decision after an attempt (``_retry.decide``) at its edges, on a fake clock.

The request loop only carries the decision out, and loop time cannot be placed
exactly on a deadline from outside; here ``now`` is a number, so the boundaries
(a deadline reached exactly, a backoff ending exactly on it, a ``Retry-After``
equal to the limit) and the bookkeeping (which retries count, which error ends
the call) are checked one decision at a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from itnio_async import (
    DecodeError,
    HTTPStatusError,
    RequestTimeoutError,
    RetryPolicy,
    TransportError,
)
from itnio_async._call import REPEAT, Call, CallState
from itnio_async._retry import Action, Attempt, CallKind, Step, decide

NOW = 1000.0


class Resolver:
    """A resolver whose lookup is a GET and whose verdict is scripted."""

    def __init__(self, verdict: Any = REPEAT, recheck: bool = False) -> None:
        self.verdict = verdict
        self.rechecks = recheck

    def lookup(self, state: CallState) -> Call[Any]:
        return Call("GET", "/record", "/record", CallKind.SAFE)

    def recheck(self, result: Any) -> bool:
        return self.rechecks

    def judge(self, found: Any, answered: Any, state: CallState) -> Any:
        return self.verdict


def call(kind: CallKind = CallKind.SAFE, resolver: Resolver | None = None) -> Call[Any]:
    return Call("POST", "/x", "/x", kind, resolver=resolver)


def lost(message: str = "lost") -> RequestTimeoutError:
    """An attempt whose request left and whose answer never came."""
    return RequestTimeoutError(message, method="POST", path="/x", sent=True)


def never_left() -> TransportError:
    return TransportError("refused", method="POST", path="/x", sent=False)


class Fixed(RetryPolicy):
    """A policy whose backoff is exactly ``10`` seconds (a Retry-After still floors it)."""

    def backoff(self, retry: int, rand: Any = None) -> float:
        return 10.0


def at(now: float) -> Any:
    return lambda: now


# -- the deadline -------------------------------------------------------------------------


def test_the_lookup_after_a_lost_answer_is_not_sent_once_the_deadline_is_reached() -> None:
    """Reaching the deadline exactly is too late: the lost answer's error ends the call."""
    state = CallState(NOW, NOW + 5)
    error = lost()
    action = decide(
        Fixed(), call(CallKind.UNSAFE, Resolver()), state, Attempt(error=error), at(NOW + 5)
    )
    assert action.step is Step.RAISE
    assert action.value is error


def test_the_lookup_after_a_lost_answer_is_sent_just_before_the_deadline() -> None:
    state = CallState(NOW, NOW + 5)
    action = decide(
        Fixed(), call(CallKind.UNSAFE, Resolver()), state, Attempt(error=lost()), at(NOW + 4.999)
    )
    assert action == Action(Step.RETRY, lookup=True)
    assert state.retries == 0  # the lookup is part of the lost attempt, not a retry


def test_a_backoff_ending_exactly_at_the_deadline_is_not_slept() -> None:
    """The retry could not even start before the deadline: raise now, sleep nothing."""
    state = CallState(NOW, NOW + 10)
    error = lost()
    action = decide(Fixed(), call(), state, Attempt(error=error), at(NOW))
    assert action.step is Step.RAISE
    assert action.value is error
    assert state.retries == 0


def test_a_backoff_ending_before_the_deadline_is_a_counted_retry() -> None:
    state = CallState(NOW, NOW + 10.001)
    action = decide(Fixed(), call(), state, Attempt(error=lost()), at(NOW))
    assert action == Action(Step.RETRY, delay=10.0, counted=True)
    assert state.retries == 1


# -- what counts against max_retries -----------------------------------------------------


def test_a_minus_16_recovery_is_immediate_uncounted_and_once() -> None:
    state = CallState(NOW, None)
    error = HTTPStatusError(200, method="POST", path="/x", status=-16)
    first = decide(
        Fixed(), call(CallKind.UNSAFE), state, Attempt(error=error, recoverable=True), at(NOW)
    )
    assert first == Action(Step.RETRY)  # no delay, not counted
    assert state.retries == 0
    again = decide(
        Fixed(), call(CallKind.UNSAFE), state, Attempt(error=error, recoverable=True), at(NOW)
    )
    assert again.step is Step.RAISE


def test_a_failed_lookup_is_retried_as_a_lookup_and_counted() -> None:
    """A lookup that got no answer goes again as the lookup (never as a second send)."""
    state = CallState(NOW, None)
    state.unknown = lost()
    action = decide(
        Fixed(),
        call(CallKind.UNSAFE, Resolver()),
        state,
        Attempt(lookup=True, error=lost("lookup")),
        at(NOW),
    )
    assert action == Action(Step.RETRY, delay=10.0, lookup=True, counted=True)
    assert state.retries == 1


def test_retries_stop_at_max_retries_with_the_first_unknown_outcome() -> None:
    """Out of retries while resolving: the first lost answer is raised, caused by the last."""
    state = CallState(NOW, None)
    first = lost("first")
    state.unknown = first
    state.retries = 2
    later = lost("lookup")
    action = decide(
        Fixed(max_retries=2),
        call(CallKind.UNSAFE, Resolver()),
        state,
        Attempt(lookup=True, error=later),
        at(NOW),
    )
    assert action.step is Step.RAISE
    assert action.value is first
    assert first.__cause__ is later


def test_a_lost_answer_raised_itself_is_not_its_own_cause() -> None:
    state = CallState(NOW, None)
    error = lost()
    action = decide(Fixed(max_retries=0), call(), state, Attempt(error=error), at(NOW))
    assert action.value is error
    assert error.__cause__ is None


def test_a_second_lost_answer_does_not_replace_the_first() -> None:
    """The first unknown outcome is the one the call ends with (and the one resolved)."""
    state = CallState(NOW, None)
    first, second = lost("first"), lost("second")
    resolver = Resolver()
    decide(Fixed(), call(CallKind.UNSAFE, resolver), state, Attempt(error=first), at(NOW))
    decide(Fixed(), call(CallKind.UNSAFE, resolver), state, Attempt(error=second), at(NOW))
    assert state.unknown is first


def test_an_unreadable_answer_of_a_resolved_call_is_resolved() -> None:
    """A DecodeError may hide an applied verify: look it up, do not raise or repeat it."""
    state = CallState(NOW, None)
    error = DecodeError("garbled", method="POST", path="/x")
    action = decide(
        Fixed(), call(CallKind.UNSAFE, Resolver()), state, Attempt(error=error), at(NOW)
    )
    assert action == Action(Step.RETRY, lookup=True)
    assert state.unknown is error


def test_a_repeat_verdict_forgets_the_rechecked_answer() -> None:
    state = CallState(NOW, None)
    state.unknown = lost()
    state.answered = "ALREADY_USED"
    action = decide(
        Fixed(),
        call(CallKind.UNSAFE, Resolver(REPEAT)),
        state,
        Attempt(lookup=True, result="record"),
        at(NOW),
    )
    assert action == Action(Step.RETRY, delay=10.0, counted=True)
    assert state.answered is None


def test_an_answer_without_an_earlier_lost_one_is_never_rechecked() -> None:
    state = CallState(NOW, None)
    action = decide(
        Fixed(),
        call(CallKind.UNSAFE, Resolver(recheck=True)),
        state,
        Attempt(result="used"),
        at(NOW),
    )
    assert action == Action(Step.RETURN, "used")


# -- Retry-After ---------------------------------------------------------------------------


def busy(retry_after: float) -> HTTPStatusError:
    return HTTPStatusError(429, method="GET", path="/x", retry_after=retry_after)


def test_a_retry_after_equal_to_the_limit_is_waited() -> None:
    state = CallState(NOW, None)
    action = decide(Fixed(max_retry_after=30.0), call(), state, Attempt(error=busy(30.0)), at(NOW))
    assert action == Action(Step.RETRY, delay=30.0, counted=True)


def test_a_retry_after_is_a_floor_not_the_delay() -> None:
    state = CallState(NOW, None)
    action = decide(Fixed(), call(), state, Attempt(error=busy(1.0)), at(NOW))
    assert action.delay == 10.0


@pytest.mark.parametrize("asked", [30.5, 3600.0])
def test_a_retry_after_beyond_the_limit_raises_and_says_why(asked: float) -> None:
    state = CallState(NOW, None)
    error = busy(asked)
    action = decide(Fixed(max_retry_after=30.0), call(), state, Attempt(error=error), at(NOW))
    assert action.step is Step.RAISE
    assert action.value is error
    message = str(error)
    assert message.startswith("HTTP 429 from GET /x; ")
    assert f"the server asked to wait {asked:g} s (Retry-After)" in message
    assert "RetryPolicy.max_retry_after (30 s): not retried" in message
    assert state.retries == 0
