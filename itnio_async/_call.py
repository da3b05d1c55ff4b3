"""What a call is: the contract between the namespaces and the request path.

A namespace method validates its arguments and describes one API call as a
:class:`Call`; it hands the call to the client through a :class:`ClientPort` (the
only part of the client a namespace sees) and gets back the decoded model, or a
:class:`RawResponse` on a ``with_raw_response`` view. Nothing here sends anything.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AbstractContextManager
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Final,
    Generic,
    Literal,
    ParamSpec,
    Protocol,
    TypeVar,
    overload,
)

import attrs

from ._redact import Secrets, scrub_traceback

if TYPE_CHECKING:
    import httpx

    from ._exceptions import ItnioError
    from ._retry import CallKind
    from ._wire import Answer

__all__ = [
    "NOT_GIVEN",
    "REPEAT",
    "Call",
    "CallInfo",
    "CallState",
    "ClientPort",
    "EventHook",
    "NotGiven",
    "RawMethod",
    "RawResponse",
    "Repeat",
    "Resolver",
    "Ticket",
    "public",
    "raw_of",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
P = ParamSpec("P")

#: An event hook: called with the ``httpx.Request`` or ``httpx.Response``; may be async.
EventHook = Callable[[Any], Any]


class NotGiven:
    """Sentinel for "argument not given" where ``None`` has a meaning."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


class Repeat:
    """A :class:`Resolver`'s verdict that the call provably did not act: send it again."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REPEAT"


REPEAT: Final = Repeat()


class Resolver(Protocol[T]):
    """How a call whose answer was lost learns what happened (``verify``).

    The request loop uses it after an attempt whose outcome is unknown
    (:func:`~itnio_async._retry.outcome_unknown`, or an unreadable answer): instead
    of repeating the call it sends :meth:`lookup`, within the same retry budget and
    deadline, and asks :meth:`judge` what the lookup's answer means.
    """

    def lookup(self, state: CallState) -> Call[Any]:
        """The call that reads what became of this one (it must be safe to repeat)."""
        ...

    def recheck(self, result: T) -> bool:
        """Whether an answer that came after an unknown outcome must be checked with
        a lookup (it may describe what the lost attempt did, not this one)."""
        ...

    def judge(self, found: Any, answered: T | None, state: CallState) -> T | Repeat | ItnioError:
        """What the lookup's result ``found`` means for the call.

        Args:
            found: the lookup's decoded result.
            answered: the answer being rechecked (see :meth:`recheck`), or ``None``
                when the lookup follows a lost answer.
            state: the call so far.

        Returns:
            The call's result; :data:`REPEAT` when the call provably did not act (it
            is then safe to send again); or the error to raise when it cannot tell.
        """
        ...


class Ticket(Protocol):
    """A call registered as in flight under a key (see :meth:`ClientPort.in_flight`)."""

    def alone(self) -> bool:
        """Whether no other call with the same key was in flight at any moment since
        this one began (in this client and its ``with_options`` copies)."""
        ...


@attrs.define(slots=True, eq=False, repr=False)
class Call(Generic[T]):
    """One API call, as a namespace describes it to the request path.

    Attributes:
        method / path: HTTP method and API path (ids validated and percent-encoded).
        route: the path with ``{placeholders}`` instead of ids (for hooks and traces).
        kind: how it may be retried (:class:`~itnio_async._retry.CallKind`).
        cast: the model ``data`` decodes into; ``None`` when the call returns nothing;
            ``RAW_JSON`` (``_envelope``) for ``data`` as plain JSON.
        many: ``data`` is a list of ``cast``.
        content: the JSON body, encoded; ``None`` for none.
        secrets: what the call sends that must never be shown (codes, numbers).
        queue: wait for a free connection without a pool timeout (bulk lookups).
        check: validates the decoded result; raises ``DecodeError`` when it does not
            belong to the request (a lookup answered with another id's record).
        resolver: resolves an unknown outcome (``verify``).
    """

    method: str
    path: str
    route: str
    kind: CallKind
    cast: Any = None
    many: bool = False
    content: bytes | None = None
    secrets: Secrets = attrs.field(factory=Secrets)
    queue: bool = False
    check: Callable[[T], None] | None = None
    resolver: Resolver[T] | None = None

    def __repr__(self) -> str:
        return f"<Call {self.method} {self.route}>"


@attrs.define(slots=True, eq=False)
class CallState:
    """What the request loop knows of a call in progress (the decision's memory).

    Attributes:
        started: event-loop time when the call began.
        deadline_at: event-loop time by which every attempt must be over, or ``None``.
        retries: attempts made after the first (the call's own and its lookups; a
            ``-16`` recovery is not counted).
        sent: whether any attempt of the call itself may have reached the server.
        unknown: the first error whose outcome was unknown, if any.
        answered: an answer that came after an unknown outcome and is being checked.
        recovered: a ``-16`` was already recovered from (once per call).
        answer: the last HTTP answer the call (or a lookup made for it) got.
    """

    started: float
    deadline_at: float | None
    retries: int = 0
    sent: bool = False
    unknown: ItnioError | None = None
    answered: Any = None
    recovered: bool = False
    answer: Answer | None = None


@attrs.define(slots=True, eq=False)
class CallInfo:
    """One call as event hooks see it, in ``request.extensions["itnio.call"]``.

    The same object rides on every attempt's request of one call, so a hook can tell
    a retry from the next call; ``event_hooks={"call": [...]}`` hooks get it once,
    when the call has ended. Present only when event hooks are set.

    Attributes:
        method: the call's HTTP method, such as ``"GET"``.
        route: the call's path with ``{placeholders}`` for its ids
            (``/template/details/{templateId}``): a name for spans and metrics that
            carries no id.
        path: the call's path as sent, below the base URL
            (``/template/details/455``).
        attempt: the attempts made so far (1 during the first).
        retry_reasons: why each attempt that was retried failed, oldest first:
            ``"http 503"``, ``"status -18"``, ``"no answer (ReadTimeout)"``.
        response: the last HTTP answer the call got, if any.
        error: what ended the call, once it has ended with an exception.
    """

    method: str
    route: str
    path: str
    attempt: int = 0
    retry_reasons: list[str] = attrs.field(factory=list)
    response: httpx.Response | None = None
    error: BaseException | None = None


class RawResponse(Generic[T_co]):
    """A call's HTTP answer beside its parsed result (``client.<ns>.with_raw_response``).

    Built by the SDK: every ``with_raw_response`` method returns one; there is no need
    to make one by hand.

    Args:
        answer: the final attempt's HTTP answer, body read (the SDK's own record of
            it, from which :attr:`http_response` is built).
        retries_taken: attempts made after the first.
        parsed: the model the plain method returns, decoded from ``answer``.

    Attributes:
        retries_taken: attempts made after the first.
    """

    __slots__ = ("_answer", "_parsed", "retries_taken")

    def __init__(self, answer: Answer, retries_taken: int, parsed: T_co) -> None:
        self._answer = answer
        self.retries_taken: int = retries_taken
        self._parsed = parsed

    def __repr__(self) -> str:
        return f"<RawResponse [{self._answer.status}] retries_taken={self.retries_taken}>"

    @property
    def http_response(self) -> httpx.Response:
        """The final attempt's answer as an ``httpx.Response`` (body read; built on first use)."""
        return self._answer.http_response()

    @property
    def status_code(self) -> int:
        """The HTTP status of the final answer."""
        return self._answer.status

    @property
    def headers(self) -> httpx.Headers:
        """The headers of the final answer (the server's ``Date`` among them)."""
        return self.http_response.headers

    def parse(self) -> T_co:
        """The model the plain method returns (decoded once, when the call completed)."""
        return self._parsed


class ClientPort(Protocol):
    """Everything a namespace may use of its client: the request path and a few facts.

    Namespaces hold a port, never the client, so the client's insides stay its own.
    """

    @overload
    def request(self, call: Call[T], *, raw: Literal[False] = ...) -> Awaitable[T]: ...
    @overload
    def request(self, call: Call[T], *, raw: Literal[True]) -> Awaitable[RawResponse[T]]: ...
    def request(self, call: Call[T], *, raw: bool = False) -> Awaitable[T | RawResponse[T]]:
        """Send ``call`` through the one request path (retries, deadline, decoding)."""
        ...

    def check_open(self) -> None:
        """Raise ``ItnioError`` if the client is closed."""
        ...

    def pool_size(self) -> int | None:
        """Requests the SDK's own pool serves at once; ``None`` on a pool you supplied."""
        ...

    def server_time(self, at: float) -> float:
        """The server's clock (epoch seconds) at event-loop time ``at``."""
        ...

    def in_flight(self, key: Hashable) -> AbstractContextManager[Ticket]:
        """Register a call as in flight under ``key`` while the context is open."""
        ...

    def raw(self) -> ClientPort:
        """A port whose requests return :class:`RawResponse`."""
        ...


def public(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Wrap a public coroutine method so no error leaves it carrying people's data.

    On any exception, the local variables of the finished frames it passed through
    (this method's arguments, request bodies, decoded answers) are cleared
    (:func:`~itnio_async._redact.scrub_traceback`).
    """

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except BaseException as exc:
            del args, kwargs
            scrub_traceback(exc)
            raise

    return wrapper


class RawMethod(Generic[P, T]):
    """A namespace method on its ``with_raw_response`` view: same arguments, a RawResponse.

    Made by :func:`raw_of`; looked up on a view (which holds the namespace bound to a
    raw port as ``_namespace``) it is that namespace's method.
    """

    __slots__ = ("_method",)

    def __init__(self, method: Callable[Concatenate[Any, P], Awaitable[T]]) -> None:
        self._method = method

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> RawMethod[P, T]: ...
    @overload
    def __get__(
        self, instance: object, owner: type[Any]
    ) -> Callable[P, Awaitable[RawResponse[T]]]: ...
    def __get__(self, instance: object, owner: type[Any]) -> Any:
        if instance is None:
            return self
        return functools.partial(self._method, instance._namespace)  # type: ignore[attr-defined]


def raw_of(
    method: Callable[Concatenate[Any, P], Awaitable[T]],
) -> Callable[[Callable[..., None]], RawMethod[P, T]]:
    """Declare a method of a ``with_raw_response`` view: ``method``'s arguments, typed.

    The decorated function is a stub that carries the docstring.
    """

    def declare(stub: Callable[..., None]) -> RawMethod[P, T]:
        return RawMethod(method)

    return declare
