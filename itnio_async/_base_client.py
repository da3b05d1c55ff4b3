"""The generic half of the client: lifecycle, and the loop that carries out a call.

:class:`BaseClient` knows HTTP, not the OTP API. A call (``_call.Call``) goes
through :meth:`BaseClient._request`, a short loop over one attempt and one decision:

1. **attempt**: build the request bytes, signed afresh by the client's
   :class:`Signer`; send them through the client's ``_routes.Network``; read the
   answer into the call's result (:meth:`BaseClient._parse`) or a typed error
   (``_failures``), as an ``_retry.Attempt``;
2. **decide** (``_retry.decide``, beside the retry policy): return, raise, retry after
   a delay, recover (retry at once after a ``-16``), or resolve (send the call's
   resolver's lookup); the loop carries it out, within one deadline and one budget.

A subclass supplies what is its API's: the signer, how an answer becomes a result
(:meth:`BaseClient._parse`), and what can be fixed before a retry
(:meth:`BaseClient._recover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import warnings
import weakref
from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, Protocol, TypeVar, overload

import attrs
import httpx

from ._call import Call, CallInfo, CallState, ClientPort, RawResponse, Ticket
from ._engine import HTTP11Transport, Proxy, WireRequest
from ._exceptions import ItnioError
from ._failures import deadline_error, describe, reason, transport_error
from ._logging import logger
from ._retry import Action, Attempt, Step, decide, parse_http_date
from ._routes import Failed, Network

if TYPE_CHECKING:
    import ssl
    from types import TracebackType

    from ._options import Options
    from ._wire import Answer

__all__ = ["DEFAULT_MAX_CONNECTIONS", "BaseClient", "Shared", "Signature", "Signer"]

T = TypeVar("T")

#: Size of the connection pool the SDK creates (bulk lookups stay at or below it).
DEFAULT_MAX_CONNECTIONS: Final = 100
_OTHER_LOOP: Final = (
    "this AsyncItnio's connection pool belongs to another event loop that is still "
    "running; a client serves one event loop (and one thread): create one per loop"
)


class Signature(NamedTuple):
    """The headers that sign one request, and the values among them never to show.

    Attributes:
        lines: the header lines (``Name: value\r\n`` each), no CR, LF or NUL inside.
        secrets: values in them that must never be shown (a replayable signature).
    """

    lines: bytes
    secrets: tuple[str, ...]


class Signer(Protocol):
    """Signs each attempt afresh (the product client supplies it)."""

    def sign_request(self) -> Signature:
        """The signature headers of a request sent now."""
        ...


@attrs.define(slots=True, eq=False)
class Shared:
    """State shared by a client and all of its ``with_options`` copies.

    Attributes:
        signer: signs every attempt.
        base_url: the URL every API path is appended to.
        origin: ``(scheme, host, port)`` of ``base_url``.
        target: the path of ``base_url`` (``b"/otp"``), the prefix of every request target.
        host: the ``Host`` header line every request starts with.
        headers: the headers every request carries next (a client's
            ``default_headers`` replace those of the same name).
        network: the route to the network, created in the event loop it serves.
        last_seen: the latest answer and the loop time it arrived (its ``Date`` is
            read only when the server's clock is needed).
        flights: calls in flight by key (:meth:`BaseClient._in_flight`).
    """

    signer: Signer
    base_url: str
    origin: tuple[str, str, int]
    target: bytes
    host: bytes
    headers: tuple[tuple[str, str], ...]
    transport: httpx.AsyncBaseTransport | None
    user_http: httpx.AsyncClient | None
    proxy: Proxy | None
    ssl_context: ssl.SSLContext | None
    max_response_size: int
    network: Network | None = None
    closed: bool = False
    last_seen: tuple[Answer, float] | None = None
    flights: dict[Hashable, _Flight] = attrs.field(factory=dict)
    #: What the unclosed-client finalizer sees (it may not hold the Shared itself).
    box: _Box = attrs.field(factory=lambda: _Box())


class _Box:
    """The network of a client family, as its finalizer sees it."""

    __slots__ = ("network",)

    def __init__(self) -> None:
        self.network: Network | None = None


def _unclosed(box: _Box) -> None:
    """Finalizer of a client family that was never closed: warn, close its sockets.

    Only the SDK's own engine is the SDK's to close: a user's client or transport is
    the user's business."""
    network = box.network
    if network is None or network.closed or network.own is None:
        return
    network.abort()
    warnings.warn(
        "an AsyncItnio client was never closed (use `async with AsyncItnio() as client` "
        "or `await client.aclose()`); its connections were closed when it was collected",
        ResourceWarning,
        stacklevel=1,
    )


class _Flight:
    """Calls in flight under one key: how many now, how many ever started."""

    __slots__ = ("active", "started")

    def __init__(self) -> None:
        self.active = 0
        self.started = 0


class _Ticket:
    __slots__ = ("_flight", "_mark", "_overlapped")

    def __init__(self, flight: _Flight) -> None:
        self._flight = flight
        self._overlapped = flight.active > 0
        flight.active += 1
        flight.started += 1
        self._mark = flight.started

    def alone(self) -> bool:
        return not self._overlapped and self._flight.started == self._mark


class BaseClient:
    """The request path and the lifecycle; subclasses add the API."""

    _shared: Shared
    _options: Options
    _derived: bool
    _closed: bool
    _port: ClientPort

    def _setup(self, shared: Shared, options: Options, *, derived: bool) -> None:
        """Initialise a client or a ``with_options`` copy (the one path for both)."""
        self._shared = shared
        self._options = options
        self._derived = derived
        self._closed = False
        given = {name.lower(): (name, value) for name, value in options.default_headers}
        fields = [given.pop(name.lower(), (name, value)) for name, value in shared.headers]
        fields += given.values()
        lines = [b"%s: %s\r\n" % (name.encode(), value.encode()) for name, value in fields]
        self._head = shared.host + b"".join(lines)
        self._port = _Port(self)
        if not derived:
            weakref.finalize(shared, _unclosed, shared.box)

    # -- what a subclass supplies ---------------------------------------------------------

    def _parse(self, answer: Answer, call: Call[Any]) -> Any:
        """The result of a call from its answer, or an ``ItnioError``."""
        raise NotImplementedError

    def _recover(self, error: ItnioError, answer: Answer) -> bool:
        """Fix what ``error`` says is wrong with the client; True to retry at once."""
        return False

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """True once this client (or the client it was derived from) is closed."""
        return self._closed or self._shared.closed

    async def __aenter__(self) -> BaseClient:
        self._network()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise ItnioError(
            f"{type(self).__name__} cannot be pickled or copied (it holds the API secret and "
            "a connection pool): create a client in each process, or use with_options()"
        )

    async def aclose(self) -> None:
        """Close the client (safe to call twice). Closes the pool only if the SDK created it.

        Calls still in flight end with an ``ItnioError`` (``TransportError`` with
        ``sent`` set truthfully) and start no retry; calls still connecting end too.

        Raises:
            ItnioError: the pool is in use by another event loop that is still running.
        """
        if self._derived:
            self._closed = True
            return
        shared = self._shared
        self._forget_network_of_ended_loop(asyncio.get_running_loop())
        network = shared.network
        self._closed = shared.closed = True
        shared.network = shared.box.network = None
        if network is not None:
            await network.aclose()

    def _check_open(self) -> None:
        if self._closed or self._shared.closed:
            raise ItnioError("this AsyncItnio client is closed; create a new one")

    def _forget_network_of_ended_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close and drop a network whose event loop has ended; refuse one whose loop runs."""
        network = self._shared.network
        if network is None or network.loop is loop:
            return
        if not network.loop.is_closed():
            raise ItnioError(_OTHER_LOOP)
        logger.debug("the pool's event loop has ended; closing that pool")
        network.abort()
        self._shared.network = self._shared.box.network = None

    def _network(self) -> Network:
        """The network, created on first use inside the running event loop.

        A network belongs to the loop it was created in. When that loop has ended (a
        second ``asyncio.run``, a test framework's fresh loop per test), its
        connections are closed and a new network is made in the current loop; using
        the client from another loop that is still running raises ``ItnioError``.
        """
        self._check_open()
        shared = self._shared
        loop = asyncio.get_running_loop()
        network = shared.network
        if network is not None and network.loop is loop:
            return network
        self._forget_network_of_ended_loop(loop)
        network = shared.network = shared.box.network = self._make_network(loop)
        return network

    def _make_network(self, loop: asyncio.AbstractEventLoop) -> Network:
        shared = self._shared
        own = None
        transport = shared.transport
        if isinstance(transport, HTTP11Transport):
            own, transport = transport, None  # the SDK's engine, configured by the user
        elif shared.user_http is None and transport is None:
            own = HTTP11Transport(
                max_connections=DEFAULT_MAX_CONNECTIONS,
                ssl_context=shared.ssl_context,
                max_response_size=shared.max_response_size,
                proxy=shared.proxy,
            )
        return Network(
            loop,
            own=own,
            transport=transport,
            http=shared.user_http,
            max_body=shared.max_response_size,
            ssl_context=shared.ssl_context,
            proxy=_httpx_proxy(shared.proxy),
        )

    def _pool_size(self) -> int | None:
        shared = self._shared
        if isinstance(shared.transport, HTTP11Transport):
            return shared.transport.max_connections
        if shared.user_http is None and shared.transport is None:
            return DEFAULT_MAX_CONNECTIONS
        return None

    @contextlib.contextmanager
    def _in_flight(self, key: Hashable) -> Iterator[Ticket]:
        """Register a call under ``key`` while the context is open (see ``Ticket.alone``)."""
        flights = self._shared.flights
        flight = flights.get(key)
        if flight is None:
            flight = flights[key] = _Flight()
        try:
            yield _Ticket(flight)
        finally:
            flight.active -= 1
            if flight.active == 0:
                del flights[key]

    # -- the request path -----------------------------------------------------------------

    async def _observed(self, call: Call[T], raw: bool) -> T | RawResponse[T]:
        """:meth:`_request` for a client with event hooks: the call carries a
        :class:`CallInfo`, and the ``"call"`` hooks get it once the call has ended."""
        info = CallInfo(call.method, call.route, call.path)
        hooks = self._options.hooks
        try:
            return await self._request(call, raw=raw, info=info)
        except BaseException as exc:
            info.error = exc
            raise
        finally:
            for hook in hooks.call if hooks is not None else ():
                result = hook(info)
                if inspect.isawaitable(result):
                    await result

    async def _request(
        self, call: Call[T], *, raw: bool = False, info: CallInfo | None = None
    ) -> T | RawResponse[T]:
        """Carry out ``call``: attempts and decisions until it returns or raises.

        Args:
            call: what to send and how to read the answer.
            raw: return a :class:`RawResponse` (the result beside the HTTP answer).
            info: what event hooks see of the call (only when hooks are set).
        """
        network = self._network()
        loop = network.loop
        options = self._options
        started = loop.time()
        deadline = None if options.deadline is None else started + options.deadline
        state = CallState(started, deadline)
        base_url, hooks = self._shared.base_url, options.hooks
        step: Call[Any] = call
        while True:
            request = self._wire(step, state)
            url = base_url + step.path
            if info is not None:
                info.attempt += 1
            try:
                answer = await network.send(request, url, hooks, info)
            except Failed as failed:
                error = transport_error(failed.error, step, request, url, state.retries + 1)
                attempt = self._failed(step, state, None, error, step is not call)
            else:
                attempt = self._answered(step, state, answer, info, step is not call)
            action = decide(options.policy, call, state, attempt, loop.time)
            if action.step is Step.RETURN:
                return _finish(action.value, state, raw)
            if action.step is Step.RAISE:
                raise _ended(action.value, state)
            why = attempt.error or state.unknown  # a failure, or a lost answer to resolve
            await self._pause(call, state, why, action, info)
            step = _next_step(call, state, action.lookup)

    def _answered(
        self, call: Call[Any], state: CallState, answer: Answer, info: CallInfo | None, lookup: bool
    ) -> Attempt:
        """What an attempt that got ``answer`` gave: the call's result, or its error."""
        self._saw(answer, state, info)
        try:
            result = self._parse(answer, call)
            if call.check is not None:
                call.check(result)
        except ItnioError as error:
            return self._failed(call, state, answer, error, lookup)
        if not lookup:
            state.sent = True
        _log_attempt(call, state, answer, "ok")
        return Attempt(lookup, result)

    def _failed(
        self,
        call: Call[Any],
        state: CallState,
        answer: Answer | None,
        error: ItnioError,
        lookup: bool,
    ) -> Attempt:
        """What a failed attempt gave (``answer``: the answer it failed on, if any)."""
        if not lookup:
            state.sent = state.sent or error.sent
        _log_attempt(call, state, answer, describe(error))
        recoverable = answer is not None and not state.recovered and self._recover(error, answer)
        return Attempt(lookup, error=error, recoverable=recoverable)

    def _wire(self, call: Call[Any], state: CallState) -> WireRequest:
        """A request for one attempt, signed afresh (its secrets join the call's)."""
        shared = self._shared
        signature = shared.signer.sign_request()
        for secret in signature.secrets:
            call.secrets.add(secret)
        lines = signature.lines
        content = call.content
        if content is None:
            body = b""
            head = self._head + lines
        else:
            body = content
            head = self._head + lines + b"Content-Length: %d\r\n" % len(content)
        connect, read, write, pool = self._options.timeouts
        return WireRequest(
            call.method,
            shared.origin,
            shared.target + call.path.encode("ascii"),
            head,
            body,
            connect=connect,
            read=read,
            write=write,
            pool=None if call.queue else pool,
            deadline=state.deadline_at,
        )

    def _saw(self, answer: Answer, state: CallState, info: CallInfo | None) -> None:
        """Note an answer: the call's latest, and the client's (for the server's clock)."""
        state.answer = answer
        self._shared.last_seen = (answer, asyncio.get_running_loop().time())
        if info is not None:
            info.response = answer.http_response()

    async def _pause(
        self,
        call: Call[Any],
        state: CallState,
        error: ItnioError | None,
        action: Action,
        info: CallInfo | None,
    ) -> None:
        """Before a retry: say why, sleep its delay. A client closed meanwhile, or a
        deadline passed, ends the call instead."""
        if error is not None:
            if info is not None:
                info.retry_reasons.append(reason(error))
            if action.counted:
                logger.info(
                    "%s %s: %s, retry %d/%d in %.2fs",
                    call.method,
                    call.path,
                    type(error).__name__,
                    state.retries,
                    self._options.policy.max_retries,
                    action.delay,
                )
                await asyncio.sleep(action.delay)
        if self.is_closed and error is not None:  # closed while this call ran: no retry starts
            raise _ended(error, state)
        deadline = state.deadline_at
        if deadline is not None and asyncio.get_running_loop().time() >= deadline:
            # The sleep overran the deadline (a busy loop): no attempt starts.
            url = self._shared.base_url + call.path
            raise _ended(deadline_error(call, url, state.retries, sent=False), state)

    # -- the server's clock ---------------------------------------------------------------

    def _server_time(self, at: float) -> float:
        """The server's clock (epoch seconds) at loop time ``at``.

        From the ``Date`` header of the latest answer, moved on by the loop time since
        it arrived; without one, the signing clock (local time plus any learned
        offset) is the best estimate there is.
        """
        seen = self._shared.last_seen
        when = None if seen is None else parse_http_date(seen[0].header(b"date"))
        if seen is None or when is None:
            return self._clock_now() - (asyncio.get_running_loop().time() - at)
        return when + (at - seen[1])

    def _clock_now(self) -> float:
        """The signing clock now (epoch seconds as the server should see them)."""
        raise NotImplementedError


class _Port:
    """The :class:`ClientPort` of a client: forwards to its private request path."""

    __slots__ = ("_client", "_raw")

    def __init__(self, client: BaseClient, *, raw: bool = False) -> None:
        self._client = client
        self._raw = raw

    def __repr__(self) -> str:
        return repr(self._client)

    @overload
    def request(self, call: Call[T], *, raw: Literal[False] = ...) -> Any: ...
    @overload
    def request(self, call: Call[T], *, raw: Literal[True]) -> Any: ...
    def request(self, call: Call[T], *, raw: bool = False) -> Any:
        # Returns the coroutine itself: no extra frame on the hot path.
        client = self._client
        if client._options.hooks is not None:
            return client._observed(call, raw or self._raw)
        return client._request(call, raw=raw or self._raw)

    def check_open(self) -> None:
        self._client._check_open()

    def pool_size(self) -> int | None:
        return self._client._pool_size()

    def server_time(self, at: float) -> float:
        return self._client._server_time(at)

    def in_flight(self, key: Hashable) -> contextlib.AbstractContextManager[Ticket]:
        return self._client._in_flight(key)

    def raw(self) -> ClientPort:
        return _Port(self._client, raw=True)


def _httpx_proxy(proxy: Proxy | None) -> httpx.Proxy | None:
    """The engine's proxy as httpx takes it (for the client a mock intercepts)."""
    if proxy is None:
        return None
    auth = proxy.authorization
    headers = None if auth is None else {"Proxy-Authorization": auth.decode("latin-1")}
    return httpx.Proxy(proxy.url, headers=headers)


def _next_step(call: Call[Any], state: CallState, lookup: bool) -> Call[Any]:
    """What the next attempt sends: the call itself, or its resolver's lookup."""
    resolver = call.resolver
    return resolver.lookup(state) if lookup and resolver is not None else call


def _finish(result: T, state: CallState, raw: bool) -> T | RawResponse[T]:
    if not raw:
        return result
    answer = state.answer
    if answer is None:  # pragma: no cover - a result always comes with an answer
        raise ItnioError("no HTTP response to show")
    return RawResponse(answer, state.retries, result)


def _ended(error: ItnioError, state: CallState) -> ItnioError:
    """``error`` as the call's outcome: ``sent`` covers every attempt of the call."""
    if state.sent and not error.sent:
        error.sent = True
    return error


def _log_attempt(call: Call[Any], state: CallState, answer: Answer | None, outcome: str) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s %s attempt=%d status=%s outcome=%s elapsed=%.1fms",
            call.method,
            call.path,
            state.retries + 1,
            answer.status if answer is not None else "-",
            outcome,
            (asyncio.get_running_loop().time() - state.started) * 1000,
        )
