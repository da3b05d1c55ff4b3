"""The generic half of the client: the HTTP engine, attempts, and the one retry loop.

:class:`BaseClient` knows HTTP, not the OTP API. It owns

* the **engine** (:class:`_Engine`): the ``httpx.AsyncClient`` and, on the SDK's own
  pool, its :class:`~itnio_async._transport.HTTP11Transport`, created lazily inside
  the running event loop and bound to it;
* **attempts**: build the request afresh, signed by the client's signer
  (``_auth.ItnioAuth.headers``, the one place a ``Sign`` is made), run the event
  hooks, send, read the body within ``max_response_size``;
* **the retry loop** (:meth:`BaseClient._request`): one deadline for every attempt and
  backoff sleep of a call, the retry decision of ``_retry.RetryPolicy``, and for
  ``verify`` the resolution of an unknown outcome (:class:`Resolver`);
* **raw responses** (``with_raw_response``) and the clean-up that keeps people's data
  out of tracebacks (:func:`public`).

``_client.AsyncItnio`` adds what is ITNIO's: reading the credentials, the envelope
(``_envelope.parse``), the clock offset learned from ``-16``, and the namespaces.
Namespaces reach the client only through :class:`ClientPort`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import math
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
import httpcore
import httpx

from ._auth import Clock, ItnioAuth
from ._exceptions import (
    APIError,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    RequestTimeoutError,
    TransportError,
)
from ._logging import logger
from ._redact import Secrets, mask_digits, scrub_traceback
from ._retry import CallKind, RetryPolicy, outcome_unknown, parse_http_date
from ._transport import WRITTEN, HTTP11Transport, ResponseTooLarge, decode_body

if TYPE_CHECKING:
    import ssl
    from types import TracebackType

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "NOT_GIVEN",
    "BaseClient",
    "Call",
    "CallInfo",
    "CallState",
    "ClientPort",
    "EventHook",
    "NotGiven",
    "RawMethod",
    "RawResponse",
    "Resolver",
    "public",
    "raw_of",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
P = ParamSpec("P")

#: Size of the connection pool the SDK creates (bulk lookups stay at or below it).
DEFAULT_MAX_CONNECTIONS: Final = 100
_OTHER_LOOP: Final = (
    "this AsyncItnio's connection pool belongs to another event loop that is still "
    "running; a client serves one event loop (and one thread): create one per loop"
)
#: Parsed URLs kept per client (paths with ids churn; the bound keeps that harmless).
_URL_CACHE_SIZE: Final = 256

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


# -- what a call is ----------------------------------------------------------------------


class Resolver(Protocol[T]):
    """How a call whose answer was lost learns what happened (``verify``).

    The retry loop asks it instead of the retry policy when an attempt's outcome is
    unknown (:func:`~itnio_async._retry.outcome_unknown`).
    """

    async def unknown(self, error: ItnioError, state: CallState) -> T | None:
        """The call's result if the server is known to have acted on it, ``None`` if it
        provably did not (another attempt is then safe); raise when it cannot tell."""
        ...

    async def answered(self, result: T, state: CallState) -> T:
        """The result to return for an answer that came after an unknown outcome."""
        ...


@attrs.define(slots=True, eq=False, repr=False)
class Call(Generic[T]):
    """One API call, as a namespace describes it to the request path.

    Attributes:
        method / path: HTTP method and API path (ids validated and percent-encoded).
        route: the path with ``{placeholders}`` instead of ids (for hooks and traces).
        kind: how it may be retried (:class:`~itnio_async._retry.CallKind`).
        cast: the model ``data`` decodes into; ``None`` when the call returns nothing.
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
    """What the retry loop knows of a call in progress (handed to a :class:`Resolver`).

    Attributes:
        started: event-loop time when the call began.
        deadline_at: event-loop time by which every attempt must be over, or ``None``.
        unknown: the first error whose outcome was unknown, if any.
        response: the last HTTP response the call (or a request made to resolve it) got.
        retries: attempts made after the first.
    """

    started: float
    deadline_at: float | None
    unknown: ItnioError | None = None
    response: httpx.Response | None = None
    retries: int = 0


@attrs.define(slots=True, eq=False)
class CallInfo:
    """One call as event hooks see it, in ``request.extensions["itnio.call"]``.

    The same object rides on every attempt's request of one call, so a hook can tell
    a retry from the next call; ``event_hooks={"call": [...]}`` hooks get it once,
    when the call has ended. Present only when event hooks are set.

    Attributes:
        method / route / path: the call; ``route`` has ``{placeholders}`` for ids
            (``/template/details/{templateId}``), for names that carry no id.
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


@attrs.frozen(slots=True)
class RawResponse(Generic[T_co]):
    """A call's HTTP answer beside its parsed result (``client.<ns>.with_raw_response``).

    Attributes:
        http_response: the final attempt's ``httpx.Response`` (body read).
        retries_taken: attempts made after the first.
    """

    http_response: httpx.Response
    retries_taken: int
    _parsed: T_co = attrs.field(alias="parsed", repr=False)

    @property
    def status_code(self) -> int:
        """The HTTP status of the final answer."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The headers of the final answer (the server's ``Date`` among them)."""
        return self.http_response.headers

    def parse(self) -> T_co:
        """The model the plain method returns (decoded once, when the call completed)."""
        return self._parsed


class ClientPort(Protocol):
    """Everything a namespace may use of its client: the request path and two facts.

    Namespaces hold a port, never the client, so the client's insides stay its own.
    """

    @overload
    def request(
        self, call: Call[T], *, raw: Literal[False] = ..., deadline_at: float | None = ...
    ) -> Awaitable[T]: ...
    @overload
    def request(
        self, call: Call[T], *, raw: Literal[True], deadline_at: float | None = ...
    ) -> Awaitable[RawResponse[T]]: ...
    def request(
        self, call: Call[T], *, raw: bool = False, deadline_at: float | None = None
    ) -> Awaitable[T | RawResponse[T]]:
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


# -- the engine ------------------------------------------------------------------------------

# respx and pytest-httpx replace these to intercept requests; the SDK's own engine
# steps aside while one of them is replaced, so users' mocks keep working.
_MOCK_POINTS: Final = (
    (httpx.AsyncHTTPTransport, "handle_async_request"),
    (httpx.AsyncClient, "_transport_for_url"),
    (httpcore.AsyncConnectionPool, "handle_async_request"),
)
_ORIGINALS: Final = tuple(getattr(cls, name, None) for cls, name in _MOCK_POINTS)


def httpx_is_mocked() -> bool:
    """Whether respx or pytest-httpx is intercepting httpx right now."""
    return any(
        getattr(cls, name, None) is not original
        for (cls, name), original in zip(_MOCK_POINTS, _ORIGINALS, strict=True)
    )


@attrs.define(slots=True, eq=False)
class _Engine:
    """The HTTP stack of a client family, bound to the event loop it was created in.

    Attributes:
        http: the ``httpx.AsyncClient`` (the user's, or one the SDK created).
        transport: driven directly (``handle_async_request``) on an SDK-created
            client: its own engine or a ``transport=`` the user gave; else ``None``.
        owned: the SDK created ``http`` and closes it.
        watch_mocks: step aside for respx / pytest-httpx (the SDK's own engine only).
        max_body: the response size cap.
    """

    http: httpx.AsyncClient
    transport: httpx.AsyncBaseTransport | None
    loop: asyncio.AbstractEventLoop
    owned: bool
    watch_mocks: bool
    max_body: int
    fallback: httpx.AsyncClient | None = None

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send one attempt and return its response, body read (within ``max_body``)."""
        transport = self.transport
        if transport is not None and not (self.watch_mocks and httpx_is_mocked()):
            if self.watch_mocks:
                request.extensions[WRITTEN] = False  # the engine sets it once it wrote
            response = await transport.handle_async_request(request)
            response.request = request
        else:
            # A user's client (its defaults, hooks and transport apply), a proxy, or a
            # mocked httpx. Never follow a redirect: httpx would carry Api-Key and a
            # replayable Sign to whatever host the Location names.
            http = self.http if transport is None else self._mock_client()
            response = await http.send(request, stream=True, follow_redirects=False)
        try:
            body = response.content  # the SDK's own engine and most transports read it
        except httpx.ResponseNotRead:
            return await _read_capped(response, self.max_body)
        if len(body) > self.max_body:
            raise ResponseTooLarge(f"response larger than {self.max_body} bytes")
        return response

    def _mock_client(self) -> httpx.AsyncClient:
        if self.fallback is None:
            self.fallback = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        return self.fallback

    async def aclose(self) -> None:
        try:
            if self.owned:
                await self.http.aclose()
        finally:
            if self.fallback is not None:
                await self.fallback.aclose()


async def _read_capped(response: httpx.Response, limit: int) -> httpx.Response:
    """``response`` (a stream not read yet) with its body read, or ``ResponseTooLarge``
    past ``limit`` bytes (once decompressed)."""
    headers = response.headers
    length = headers.get("Content-Length")
    if (
        length is not None
        and length.isascii()
        and length.isdigit()
        and int(length) <= limit
        and headers.get("Content-Encoding", "identity").strip().lower() == "identity"
    ):
        # A declared, small, unencoded body: the HTTP layer reads exactly that much.
        await response.aread()
        return response
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise ResponseTooLarge(f"response larger than {limit} bytes")
            chunks.append(chunk)
    finally:
        await response.aclose()
    raw_headers, body = decode_body(response.headers.raw, b"".join(chunks), limit, response.request)
    return httpx.Response(
        response.status_code,
        headers=raw_headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


# -- configuration ---------------------------------------------------------------------------


@attrs.frozen(slots=True)
class _Options:
    """Per-client options (a ``with_options`` copy has its own)."""

    timeout: httpx.Timeout
    policy: RetryPolicy
    deadline: float | None
    request_hooks: tuple[EventHook, ...]
    response_hooks: tuple[EventHook, ...]
    call_hooks: tuple[EventHook, ...]
    #: ``timeout`` as the dict a request carries (and without a pool timeout, for bulk
    #: lookups), each with the longest timeout in it that a deadline must cap: a
    #: deadline further away than that leaves the dict as it is.
    plain: tuple[dict[str, float | None], float] = attrs.field(init=False)
    queued: tuple[dict[str, float | None], float] = attrs.field(init=False)

    @property
    def hooked(self) -> bool:
        """Whether any event hook is set (calls then carry a :class:`CallInfo`)."""
        return bool(self.request_hooks or self.response_hooks or self.call_hooks)

    def __attrs_post_init__(self) -> None:
        timeouts = self.timeout.as_dict()
        longest = max(math.inf if v is None else v for v in timeouts.values())
        queued_longest = max(
            (math.inf if v is None else v for k, v in timeouts.items() if k != "pool"),
            default=0.0,
        )
        object.__setattr__(self, "plain", (timeouts, longest))
        object.__setattr__(self, "queued", ({**timeouts, "pool": None}, queued_longest))


def make_options(
    *,
    timeout: float | httpx.Timeout | None,
    max_retries: int | NotGiven,
    deadline: float | None,
    retry_policy: RetryPolicy,
    event_hooks: Mapping[str, Sequence[EventHook]] | None,
) -> _Options:
    """Check and combine the options ``__init__`` and ``with_options`` take.

    Raises:
        ItnioError: an option is invalid.
    """
    policy = retry_policy
    if not isinstance(max_retries, NotGiven):
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ItnioError(f"max_retries must be an int >= 0, got {max_retries!r}")
        policy = attrs.evolve(policy, max_retries=max_retries)
    if deadline is not None and (
        isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0
    ):
        raise ItnioError(f"deadline must be a positive number of seconds or None, got {deadline!r}")
    hooks = dict(event_hooks or {})
    unknown = set(hooks) - {"request", "response", "call"}
    if unknown:
        raise ItnioError(
            f"event_hooks takes 'request', 'response' and 'call' lists, got {sorted(unknown)}"
        )
    for name, listed in hooks.items():
        if isinstance(listed, (str, bytes)) or not all(callable(h) for h in listed):
            raise ItnioError(f"event_hooks[{name!r}] must be a list of callables")
    return _Options(
        timeout=_to_timeout(timeout),
        policy=policy,
        deadline=None if deadline is None else float(deadline),
        request_hooks=tuple(hooks.get("request", ())),
        response_hooks=tuple(hooks.get("response", ())),
        call_hooks=tuple(hooks.get("call", ())),
    )


def _to_timeout(value: float | httpx.Timeout | None) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        return value
    if value is None:
        return httpx.Timeout(None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ItnioError(
            f"timeout must be a positive number of seconds or httpx.Timeout, got {value!r}"
        )
    return httpx.Timeout(float(value))


@attrs.define(slots=True, eq=False)
class _Shared:
    """State shared by a client and all of its ``with_options`` copies."""

    auth: ItnioAuth
    clock: Clock
    base_url: str
    transport: httpx.AsyncBaseTransport | None
    user_http: httpx.AsyncClient | None
    proxy: str | httpx.Proxy | None
    ssl_context: ssl.SSLContext | None
    max_response_size: int
    engine: _Engine | None = None
    #: The fixed headers of every request (the client's defaults and ``Host``).
    head: tuple[tuple[bytes, bytes], ...] = ()
    urls: dict[str, httpx.URL] = attrs.field(factory=dict)
    closed: bool = False
    #: The latest response seen and the loop time it arrived (its ``Date`` header is
    #: read only when the server's clock is needed).
    last_seen: tuple[httpx.Response, float] | None = None


# -- the client --------------------------------------------------------------------------------


class BaseClient:
    """The request path, the engine and the lifecycle; subclasses add the API."""

    _shared: _Shared
    _options: _Options
    _derived: bool
    _closed: bool
    _port: ClientPort

    def _setup(self, shared: _Shared, options: _Options, *, derived: bool) -> None:
        """Initialise a client or a ``with_options`` copy (the one path for both)."""
        if not shared.head:
            host = httpx.URL(shared.base_url).netloc
            defaults = [(k.encode(), v.encode()) for k, v in self._default_headers]
            shared.head = (*defaults, (b"Host", host))
        self._shared = shared
        self._options = options
        self._derived = derived
        self._closed = False
        self._port = _Port(self)

    #: Headers sent with every request, before the signature.
    _default_headers: tuple[tuple[str, str], ...] = ()

    # -- subclass hooks ------------------------------------------------------------------

    def _parse(self, response: httpx.Response, call: Call[Any]) -> Any:
        """The result of a call from its final response, or an ``ItnioError``."""
        raise NotImplementedError

    def _recover(self, error: ItnioError, response: httpx.Response) -> bool:
        """Fix what ``error`` says is wrong with the client; True to retry at once."""
        return False

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """True once this client (or the client it was derived from) is closed."""
        return self._closed or self._shared.closed

    async def __aenter__(self) -> BaseClient:
        self._engine()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client (safe to call twice). Closes the pool only if the SDK created it.

        Calls still in flight end with an ``ItnioError`` (``TransportError`` with
        ``sent`` set truthfully) and start no retry.

        Raises:
            ItnioError: the pool is in use by another event loop that is still running.
        """
        if self._derived:
            self._closed = True
            return
        shared = self._shared
        self._forget_engine_of_ended_loop(asyncio.get_running_loop())
        engine = shared.engine
        self._closed = shared.closed = True
        shared.engine = None
        if engine is not None:
            await engine.aclose()

    def _check_open(self) -> None:
        if self._closed or self._shared.closed:
            raise ItnioError("this AsyncItnio client is closed; create a new one")

    def _forget_engine_of_ended_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Drop an engine whose event loop has ended; refuse one whose loop still runs."""
        engine = self._shared.engine
        if engine is None or engine.loop is loop:
            return
        if not engine.loop.is_closed():
            raise ItnioError(_OTHER_LOOP)
        logger.debug("the pool's event loop has ended; dropping that pool")
        self._shared.engine = None

    def _engine(self) -> _Engine:
        """The engine, created on first use inside the running event loop.

        An engine belongs to the loop it was created in. When that loop has ended (a
        second ``asyncio.run``, a test framework's fresh loop per test), its
        connections are unusable, so a new one is made in the current loop; using
        the client from another loop that is still running raises ``ItnioError``.
        """
        self._check_open()
        shared = self._shared
        loop = asyncio.get_running_loop()
        engine = shared.engine
        if engine is not None and engine.loop is loop:
            return engine
        self._forget_engine_of_ended_loop(loop)
        engine = shared.engine = self._make_engine(loop)
        return engine

    def _make_engine(self, loop: asyncio.AbstractEventLoop) -> _Engine:
        shared = self._shared
        cap = shared.max_response_size
        if shared.user_http is not None:
            return _Engine(shared.user_http, None, loop, False, False, cap)
        limits = httpx.Limits(
            max_connections=DEFAULT_MAX_CONNECTIONS,
            max_keepalive_connections=DEFAULT_MAX_CONNECTIONS,
        )
        common: dict[str, Any] = {
            "timeout": self._options.timeout,
            "limits": limits,
            "follow_redirects": False,
        }
        if shared.transport is not None:
            http = httpx.AsyncClient(transport=shared.transport, **common)
            return _Engine(http, shared.transport, loop, True, False, cap)
        if shared.proxy is not None or _proxy_from_environment(shared.base_url):
            # Proxies are httpx's business: its own transport applies the argument
            # and the HTTP(S)_PROXY / ALL_PROXY / NO_PROXY variables.
            verify: ssl.SSLContext | bool = shared.ssl_context or True
            http = httpx.AsyncClient(proxy=shared.proxy, verify=verify, trust_env=True, **common)
            return _Engine(http, None, loop, True, False, cap)
        transport = HTTP11Transport(
            max_connections=DEFAULT_MAX_CONNECTIONS,
            ssl_context=shared.ssl_context,
            max_response_size=cap,
        )
        http = httpx.AsyncClient(transport=transport, **common)
        return _Engine(http, transport, loop, True, True, cap)

    def _pool_size(self) -> int | None:
        shared = self._shared
        if shared.user_http is None and shared.transport is None:
            return DEFAULT_MAX_CONNECTIONS
        return None

    # -- the request path ------------------------------------------------------------------

    def _url(self, path: str) -> httpx.URL:
        """The parsed URL of an API path (parsing costs more than the rest of a request)."""
        urls = self._shared.urls
        url = urls.get(path)
        if url is None:
            if len(urls) >= _URL_CACHE_SIZE:
                urls.clear()
            url = urls[path] = httpx.URL(self._shared.base_url + path)
        return url

    def _build(
        self,
        engine: _Engine,
        call: Call[Any],
        timeout: dict[str, float | None],
        info: CallInfo | None,
    ) -> httpx.Request:
        """A request for one attempt, signed afresh (its ``Sign`` joins the call's secrets)."""
        shared = self._shared
        auth = shared.auth.headers()
        call.secrets.add(auth["Sign"])
        extensions: dict[str, Any] = {"timeout": timeout}
        if info is not None:
            info.attempt += 1
            extensions["itnio.call"] = info
        if engine.transport is None and engine.http is shared.user_http:
            # A user's client brings its own defaults (a proxy's or tracing headers,
            # cookies), as it would for its own requests; ours win where both set one.
            return engine.http.build_request(
                call.method,
                self._url(call.path),
                headers=[*self._default_headers, *auth.items()],
                content=call.content,
                extensions=extensions,
            )
        # Every header given, so httpx adds none and merges nothing: the cheap way in.
        content = call.content or b""
        headers = [
            *shared.head,
            (b"Api-Key", auth["Api-Key"].encode()),
            (b"Timestamp", auth["Timestamp"].encode()),
            (b"Sign", auth["Sign"].encode()),
        ]
        if call.content is not None:
            headers.append((b"Content-Length", str(len(content)).encode()))
        request = httpx.Request(
            call.method,
            self._url(call.path),
            headers=headers,
            stream=httpx.ByteStream(content),
            extensions=extensions,
        )
        request.read()  # .content for hooks and transports, as with content=
        return request

    async def _exchange(
        self, engine: _Engine, request: httpx.Request, call: Call[Any]
    ) -> httpx.Response:
        """One attempt on the wire, with the event hooks around it.

        Only the engine's failures become typed errors: what a hook raises (even an
        httpx error, such as ``raise_for_status()``'s) ends the call unchanged.
        """
        options = self._options
        for hook in options.request_hooks:
            result = hook(request)
            if inspect.isawaitable(result):
                await result
        failure: Exception
        try:
            response = await engine.send(request)
        except httpx.RequestError as exc:
            failure = exc
        except Exception as exc:
            if not self.is_closed:
                raise  # a user client's own hook, or a user transport's own exception
            failure = exc
        else:
            for hook in options.response_hooks:
                result = hook(response)
                if inspect.isawaitable(result):
                    await result
            return response
        # Raised outside the except block: the original (whose message may quote what
        # a server echoed) is neither the cause nor the context.
        wrapped = _transport_error(failure, call, request)
        raise wrapped from wrapped.__cause__

    async def _observed(
        self, call: Call[T], raw: bool, deadline_at: float | None
    ) -> T | RawResponse[T]:
        """:meth:`_request` for a client with event hooks: the call carries a
        :class:`CallInfo`, and the ``"call"`` hooks get it once the call has ended."""
        info = CallInfo(call.method, call.route, call.path)
        try:
            return await self._request(call, raw=raw, deadline_at=deadline_at, info=info)
        except BaseException as exc:
            info.error = exc
            raise
        finally:
            for hook in self._options.call_hooks:
                result = hook(info)
                if inspect.isawaitable(result):
                    await result

    async def _request(
        self,
        call: Call[T],
        *,
        raw: bool = False,
        deadline_at: float | None = None,
        info: CallInfo | None = None,
    ) -> T | RawResponse[T]:
        """Send ``call`` with retries until it succeeds, the policy stops, or time is up.

        Args:
            call: what to send and how to read the answer.
            raw: return a :class:`RawResponse` (the result beside the HTTP answer).
            deadline_at: an outer deadline (event-loop time) this call must also keep,
                for a request made on behalf of another call.
            info: what event hooks see of the call (only when hooks are set).
        """
        engine = self._engine()
        loop = engine.loop
        options = self._options
        policy = options.policy
        started = loop.time()
        if options.deadline is not None:
            mine = started + options.deadline
            deadline_at = mine if deadline_at is None else min(deadline_at, mine)
        state = CallState(started, deadline_at)
        # Bulk lookups queue for a connection by design: no pool timeout for them.
        base_timeout, longest = options.queued if call.queue else options.plain
        sent = False  # whether any attempt so far may have reached the server
        recovered = False
        debug = logger.isEnabledFor(logging.DEBUG)
        while True:
            timeout: dict[str, float | None] = base_timeout
            if deadline_at is not None:
                remaining = deadline_at - loop.time()
                if remaining <= 0:
                    host = self._url(call.path).host
                    raise _deadline_error(call, state.retries, sent=sent, host=host)
                if remaining < longest:
                    # httpx timeouts apply per operation; capping them keeps each one
                    # inside the deadline, and timeout_at bounds the attempt as a whole.
                    timeout = {
                        k: remaining if v is None else min(v, remaining) for k, v in timeout.items()
                    }

            request: httpx.Request | None = None
            response: httpx.Response | None = None
            try:
                request = self._build(engine, call, timeout, info)
                scope = asyncio.timeout_at(deadline_at)
                try:
                    async with scope:
                        response = await self._exchange(engine, request, call)
                except TimeoutError:
                    if not scope.expired():
                        raise  # a RequestTimeoutError, or an event hook's own TimeoutError
                    attempts = state.retries + 1
                    raise _deadline_error(
                        call, attempts, sent=_written(request), host=request.url.host
                    ) from None
                state.response = response
                if info is not None:
                    info.response = response
                self._shared.last_seen = (response, loop.time())
                result = self._parse(response, call)
                if call.check is not None:
                    call.check(result)
            except ItnioError as error:
                if debug:
                    _log_attempt(call, state, response, _outcome(error), started, loop)
                if not recovered and response is not None and self._recover(error, response):
                    recovered = sent = True  # refused before acting: even a send may go again
                    if info is not None:
                        info.retry_reasons.append(_reason(error))
                    continue
                sent = sent or response is not None or getattr(error, "sent", False)
                if call.resolver is not None and (
                    outcome_unknown(error) or isinstance(error, DecodeError)
                ):
                    state.unknown = state.unknown or error
                    resolved = await call.resolver.unknown(error, state)
                    if resolved is not None:
                        return _finish(resolved, state, raw)
                    retryable = True  # the server provably did not act: safe to repeat
                    error = state.unknown
                else:
                    retryable = policy.is_retryable(error, call.kind)
                if not retryable or state.retries >= policy.max_retries or self.is_closed:
                    raise error from error.__cause__
                state.retries += 1
                if info is not None:
                    info.retry_reasons.append(_reason(error))
                if not await self._sleep_before_retry(error, state.retries, deadline_at, call):
                    raise error from error.__cause__
                if self.is_closed:  # closed while this call slept: no retry starts
                    raise error from error.__cause__
                continue
            if debug:
                _log_attempt(call, state, response, "ok", started, loop)
            if call.resolver is not None and state.unknown is not None:
                # Outside the try: what the resolver raises ends the call.
                result = await call.resolver.answered(result, state)
            return _finish(result, state, raw)

    async def _sleep_before_retry(
        self, error: ItnioError, retry: int, deadline_at: float | None, call: Call[Any]
    ) -> bool:
        """Sleep the policy's delay before retry ``retry``; False if it says stop or won't fit."""
        policy = self._options.policy
        delay = policy.delay(error, retry)
        if delay is None:
            return False
        if deadline_at is not None and asyncio.get_running_loop().time() + delay >= deadline_at:
            return False
        logger.info(
            "%s %s: %s, retry %d/%d in %.2fs",
            call.method,
            call.path,
            type(error).__name__,
            retry,
            policy.max_retries,
            delay,
        )
        await asyncio.sleep(delay)
        return True

    # -- the server's clock ------------------------------------------------------------------

    def _server_time(self, at: float) -> float:
        """The server's clock (epoch seconds) at loop time ``at``.

        From the ``Date`` header of the latest response; without one, the signing
        clock (local time plus any learned offset) is the best estimate there is.
        """
        seen = self._shared.last_seen
        when = None if seen is None else parse_http_date(seen[0].headers.get("Date"))
        if seen is None or when is None:
            return self._shared.clock.now() - (asyncio.get_running_loop().time() - at)
        return when + (at - seen[1])


class _Port:
    """The :class:`ClientPort` of a client: forwards to its private request path."""

    __slots__ = ("_client", "_raw")

    def __init__(self, client: BaseClient, *, raw: bool = False) -> None:
        self._client = client
        self._raw = raw

    def __repr__(self) -> str:
        return repr(self._client)

    @overload
    def request(
        self, call: Call[T], *, raw: Literal[False] = ..., deadline_at: float | None = ...
    ) -> Awaitable[T]: ...
    @overload
    def request(
        self, call: Call[T], *, raw: Literal[True], deadline_at: float | None = ...
    ) -> Awaitable[RawResponse[T]]: ...
    def request(
        self, call: Call[T], *, raw: bool = False, deadline_at: float | None = None
    ) -> Awaitable[T | RawResponse[T]]:
        # Returns the coroutine itself: no extra frame on the hot path.
        client = self._client
        if client._options.hooked:
            return client._observed(call, raw or self._raw, deadline_at)
        return client._request(call, raw=raw or self._raw, deadline_at=deadline_at)

    def check_open(self) -> None:
        self._client._check_open()

    def pool_size(self) -> int | None:
        return self._client._pool_size()

    def server_time(self, at: float) -> float:
        return self._client._server_time(at)

    def raw(self) -> ClientPort:
        return _Port(self._client, raw=True)


def _finish(result: T, state: CallState, raw: bool) -> T | RawResponse[T]:
    if not raw:
        return result
    response = state.response
    if response is None:  # pragma: no cover - a result always comes with a response
        raise ItnioError("no HTTP response to show")
    return RawResponse(http_response=response, retries_taken=state.retries, parsed=result)


def _written(request: httpx.Request) -> bool:
    """Whether ``request`` may have reached the server (exact on the SDK's own engine,
    which records it; ``True`` whenever it is not known)."""
    return bool(request.extensions.get(WRITTEN, True))


def _deadline_error(
    call: Call[Any], attempts: int, *, sent: bool, host: str = ""
) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"deadline exceeded for {call.method} {host}{call.path} after {attempts} attempt(s)",
        method=call.method,
        path=call.path,
        sent=sent,
    )


def _transport_error(exc: BaseException, call: Call[Any], request: httpx.Request) -> ItnioError:
    """Turn an engine failure into a typed error that knows whether anything was sent.

    Its ``__cause__`` is a copy of ``exc``: the same type, the message scrubbed of what
    the call sent, no traceback (the original's frames hold the request).
    """
    never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    sent = not never_sent and _written(request)
    what = type(exc).__name__
    where = f"{call.method} {request.url.host}{call.path}"
    if isinstance(exc, httpx.DecodingError):
        wrapped: ItnioError = DecodeError(
            f"{where}: the response body could not be decoded ({what})",
            method=call.method,
            path=call.path,
        )
    elif isinstance(exc, httpx.TimeoutException):
        wrapped = RequestTimeoutError(
            f"{what} on {where}", method=call.method, path=call.path, sent=sent
        )
    elif isinstance(exc, ResponseTooLarge):
        # The SDK's own words, holding only sizes (no masking of their digits).
        wrapped = TransportError(
            f"{what} on {where}: {exc}", method=call.method, path=call.path, sent=sent
        )
    else:
        first = str(exc).splitlines()[0][:160] if str(exc) else ""
        detail = mask_digits(call.secrets.scrub(first)) if first else ""
        wrapped = TransportError(
            f"{what} on {where}" + (f": {detail}" if detail else ""),
            method=call.method,
            path=call.path,
            sent=sent,
        )
    wrapped.__cause__ = _scrubbed_copy(exc, call.secrets)
    return wrapped


def _scrubbed_copy(exc: BaseException, secrets: Secrets) -> BaseException:
    """``exc`` again (its request too), its message scrubbed; ``Exception`` when its type
    cannot be rebuilt from a message."""
    message = secrets.scrub(str(exc))
    try:
        if isinstance(exc, httpx.RequestError):
            try:
                request: httpx.Request | None = exc.request
            except RuntimeError:  # an httpx error raised without its request
                request = None
            return type(exc)(message, request=request)
        return type(exc)(message)
    except Exception:  # noqa: BLE001 - any constructor may refuse one string
        return Exception(f"{type(exc).__name__}: {message}")


def _reason(error: ItnioError) -> str:
    """Why an attempt is retried, for :attr:`CallInfo.retry_reasons`."""
    if isinstance(error, HTTPStatusError):
        return f"http {error.status_code}"
    if isinstance(error, APIError):
        return f"status {error.status}"
    if isinstance(error, TransportError):
        return f"no answer ({_outcome(error)})"
    return type(error).__name__


def _outcome(error: ItnioError) -> str:
    """How an attempt ended, for the log: the httpx failure behind a TransportError."""
    cause = error.__cause__
    if isinstance(error, TransportError) and cause is not None:
        return type(cause).__name__
    return type(error).__name__


def _log_attempt(
    call: Call[Any],
    state: CallState,
    response: httpx.Response | None,
    outcome: str,
    started: float,
    loop: asyncio.AbstractEventLoop,
) -> None:
    logger.debug(
        "%s %s attempt=%d status=%s outcome=%s elapsed=%.1fms",
        call.method,
        call.path,
        state.retries + 1,
        response.status_code if response is not None else "-",
        outcome,
        (loop.time() - started) * 1000,
    )


def _proxy_from_environment(base_url: str) -> bool:
    """Whether a proxy variable names a proxy for ``base_url``'s scheme.

    httpx's own transport then takes over: it applies the proxy, and ``NO_PROXY``.
    """
    proxies = urllib.request.getproxies_environment()
    return bool(proxies.get(httpx.URL(base_url).scheme) or proxies.get("all"))


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
