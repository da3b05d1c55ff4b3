"""A client's options: what ``AsyncItnio(...)`` and ``with_options(...)`` take, checked once.

The options of one client (timeouts, retries, deadline, event hooks, extra headers)
are an immutable :class:`Options`; a ``with_options`` copy gets its own, built by the
same constructor from the same arguments, so one rule decides what each means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import attrs
import httpx

from . import _validation as v
from ._call import EventHook
from ._exceptions import ItnioError
from ._retry import RetryPolicy

__all__ = ["RESERVED_HEADERS", "Hooks", "Options", "make_options"]

#: Headers the request path writes itself: ``default_headers`` may not set them (nor
#: the signer's; ``User-Agent`` and ``Accept`` it may: those replace the SDK's).
RESERVED_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "accept-encoding",
        "proxy-authorization",
    }
)
#: A header name: an RFC 9110 token.
_TOKEN: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


@attrs.frozen(slots=True)
class Hooks:
    """The event hooks of a client (present only when at least one is set)."""

    request: tuple[EventHook, ...]
    response: tuple[EventHook, ...]
    call: tuple[EventHook, ...]

    def as_dict(self) -> dict[str, list[EventHook]]:
        """The hooks as ``event_hooks=`` takes them."""
        return {
            "request": list(self.request),
            "response": list(self.response),
            "call": list(self.call),
        }


@attrs.frozen(slots=True)
class Options:
    """The options of one client.

    Attributes:
        timeout: per-operation timeouts of each attempt.
        max_retries: the ``max_retries`` given, or ``None`` when left to the policy.
        retry_policy: the policy as given (``None``: the default ``RetryPolicy()``).
        policy: the policy in force (``max_retries`` applied).
        deadline: seconds that bound all attempts of one call, or ``None``.
        hooks: the event hooks, or ``None`` when none is set.
        default_headers: extra headers sent with every request.
        timeouts: ``(connect, read, write, pool)`` seconds of each attempt.
    """

    timeout: httpx.Timeout
    max_retries: int | None
    retry_policy: RetryPolicy | None
    policy: RetryPolicy
    deadline: float | None
    hooks: Hooks | None
    default_headers: tuple[tuple[str, str], ...]
    timeouts: tuple[float | None, float | None, float | None, float | None] = attrs.field(
        init=False
    )

    def __attrs_post_init__(self) -> None:
        t = self.timeout
        object.__setattr__(self, "timeouts", (t.connect, t.read, t.write, t.pool))


def make_options(
    *,
    timeout: float | httpx.Timeout | None,
    max_retries: int | None,
    deadline: float | None,
    retry_policy: RetryPolicy | None,
    event_hooks: Mapping[str, Sequence[EventHook]] | None,
    default_headers: Mapping[str, str] | None,
    signed: frozenset[str] = frozenset(),
) -> Options:
    """Check and combine the options ``AsyncItnio(...)`` takes (``signed``: the lowercase
    names of the headers the signer sets, which ``default_headers`` may not set either).

    ``None`` means what it means there: no timeout, no deadline, the default retry
    policy, no hooks, no extra headers; ``max_retries=None``: the policy's own count.

    Raises:
        ItnioError: an option is invalid.
    """
    if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
        raise ItnioError(f"retry_policy must be a RetryPolicy or None, got {retry_policy!r}")
    policy = retry_policy or RetryPolicy()
    if max_retries is not None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ItnioError(f"max_retries must be an int >= 0, got {max_retries!r}")
        policy = attrs.evolve(policy, max_retries=max_retries)
    return Options(
        timeout=_to_timeout(timeout),
        max_retries=max_retries,
        retry_policy=retry_policy,
        policy=policy,
        deadline=_to_deadline(deadline),
        hooks=_to_hooks(event_hooks),
        default_headers=_to_headers(default_headers, RESERVED_HEADERS | signed),
    )


def _to_timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(None)
    if not v.is_positive_number(value):
        raise ItnioError(
            f"timeout must be a positive number of seconds, an httpx.Timeout or None, got {value!r}"
        )
    return httpx.Timeout(float(value))


def _to_deadline(value: float | None) -> float | None:
    if value is None:
        return None
    if not v.is_positive_number(value):
        raise ItnioError(f"deadline must be a positive number of seconds or None, got {value!r}")
    return float(value)


def _to_hooks(event_hooks: Mapping[str, Sequence[EventHook]] | None) -> Hooks | None:
    hooks = dict(event_hooks or {})
    unknown = set(hooks) - {"request", "response", "call"}
    if unknown:
        raise ItnioError(
            f"event_hooks takes 'request', 'response' and 'call' lists, got {sorted(unknown)}"
        )
    for name, listed in hooks.items():
        if isinstance(listed, (str, bytes)) or not all(callable(h) for h in listed):
            raise ItnioError(f"event_hooks[{name!r}] must be a list of callables")
    made = Hooks(
        tuple(hooks.get("request", ())),
        tuple(hooks.get("response", ())),
        tuple(hooks.get("call", ())),
    )
    return made if made.request or made.response or made.call else None


def _to_headers(
    headers: Mapping[str, str] | None, reserved: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    """``default_headers`` checked: token names, printable ASCII values, none reserved."""
    if headers is None:
        return ()
    if not isinstance(headers, Mapping):
        raise ItnioError(f"default_headers must be a mapping of str to str, got {headers!r}")
    checked: list[tuple[str, str]] = []
    for name, value in headers.items():
        if not isinstance(name, str) or not name or not set(name) <= _TOKEN:
            raise ItnioError(f"default_headers: {name!r} is not a valid header name")
        if name.lower() in reserved:
            raise ItnioError(f"default_headers: {name!r} is set by the SDK itself")
        if not isinstance(value, str) or not all(" " <= c <= "~" or c == "\t" for c in value):
            raise ItnioError(
                f"default_headers[{name!r}] must be printable ASCII text (no CR, LF or NUL)"
            )
        checked.append((name, value.strip()))
    return tuple(checked)
