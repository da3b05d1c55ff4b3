"""``AsyncItnio``: configuration, the shared connection pool, and the one request path.

Every call of every namespace goes through :meth:`AsyncItnio._request`:
build the request once → for each attempt: sign (``httpx.Auth``), send, read the
envelope → status→exception table → retry decision (``_retry.RetryPolicy``) →
decode ``data`` with the one converter.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import os
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

import attrs
import httpx

from ._auth import Clock, ItnioAuth
from ._converter import structure
from ._exceptions import (
    DecodeError,
    HTTPStatusError,
    ItnioError,
    RequestTimeoutError,
    TimestampExpiredError,
    TransportError,
    api_error,
    excerpt,
)
from ._logging import logger, setup_logging_from_env
from ._redact import mask_digits, redact
from ._retry import CallKind, RetryPolicy, parse_http_date, parse_retry_after
from ._version import __version__

if TYPE_CHECKING:
    from types import TracebackType

    from ._resources.apps import Apps
    from ._resources.backfill import Backfill
    from ._resources.flows import Flows
    from ._resources.records import Records
    from ._resources.templates import Templates
    from ._resources.verifications import Verifications

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "AsyncItnio",
]

T = TypeVar("T")

DEFAULT_BASE_URL: Final = "https://api.itniotech.com/otp"
#: 10 s per read/write/pool wait, 5 s to connect.
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
#: Seconds that bound every attempt and backoff sleep of one call together.
DEFAULT_DEADLINE: Final = 30.0
#: Size of the connection pool the SDK creates (bulk lookups stay at or below it).
DEFAULT_MAX_CONNECTIONS: Final = 100
CONTENT_TYPE: Final = "application/json;charset=UTF-8"
_OTHER_LOOP: Final = (
    "this AsyncItnio's connection pool belongs to another event loop that is still "
    "running; a client serves one event loop (and one thread): create one per loop"
)
USER_AGENT: Final = f"itnio-async/{__version__}"
# Built once: httpx.Request copies them, so the constant is never changed.
_HEADERS: Final = httpx.Headers(
    {"Content-Type": CONTENT_TYPE, "Accept": "application/json", "User-Agent": USER_AGENT}
)
#: Parsed URLs kept per client (paths with ids churn; the bound keeps that harmless).
_URL_CACHE_SIZE: Final = 256


class _NotGiven:
    """Sentinel for "argument not given" where ``None`` has a meaning."""

    _instance: _NotGiven | None = None

    def __new__(cls) -> _NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = _NotGiven()


class _DefaultRetries(int):
    """The default ``max_retries`` (an ``int`` equal to 2), told apart from an explicit 2."""

    __slots__ = ()


#: ``AsyncItnio(max_retries=...)`` default: 2 extra attempts.
DEFAULT_MAX_RETRIES: Final[int] = _DefaultRetries(2)

# The deadline (loop time) of the outermost call in progress, so that a call made
# on behalf of another (verify resolving through records.get) shares its budget.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "itnio_deadline", default=None
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


@attrs.define(slots=True)
class _Shared:
    """State shared by a client and all of its ``with_options`` copies."""

    auth: ItnioAuth
    clock: Clock
    base_url: str
    transport: httpx.AsyncBaseTransport | None
    user_http: httpx.AsyncClient | None
    backend: str = "httpx"
    http: httpx.AsyncClient | None = None
    #: The event loop ``http`` was created in (its connections belong to that loop).
    loop: asyncio.AbstractEventLoop | None = None
    #: The transport of the pool the SDK created, driven directly (see ``_send``).
    direct: httpx.AsyncBaseTransport | None = None
    urls: dict[str, httpx.URL] = attrs.field(factory=dict)
    closed: bool = False
    #: The latest ``Date`` header seen and the loop time it arrived (parsed lazily).
    server_date: tuple[str, float] | None = None

    def forget_pool_of_ended_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Drop a pool whose event loop has ended; refuse one whose loop still runs.

        Raises:
            ItnioError: the pool belongs to another event loop that is still running.
        """
        if self.http is None or self.loop is loop:
            return
        if self.loop is not None and not self.loop.is_closed():
            raise ItnioError(_OTHER_LOOP)
        logger.debug("the pool's event loop has ended; dropping that pool")
        self.http = self.direct = None


class AsyncItnio:
    """Async client for the ITNIO OTP API.

    Create one per application and reuse it: it holds the connection pool. Use it
    as ``async with AsyncItnio() as client: ...`` or call :meth:`aclose`.

    Args:
        api_key: API key; defaults to ``ITNIO_API_KEY``.
        api_secret: API secret; defaults to ``ITNIO_API_SECRET``. Never shown in reprs,
            logs or exception messages.
        base_url: defaults to ``ITNIO_BASE_URL``, else ``https://api.itniotech.com/otp``.
        timeout: seconds or an ``httpx.Timeout`` per attempt; default 10 s (5 s connect).
        max_retries: extra attempts per call (default 2); see the README for which
            calls are retried when. Left at the default, a ``retry_policy``'s own
            ``max_retries`` applies.
        deadline: seconds that bound all attempts and backoff sleeps of one call
            together (default 30 s); ``None`` for no overall bound.
        http_client: an ``httpx.AsyncClient`` you own; the SDK uses it and never closes it.
        transport: an ``httpx.AsyncBaseTransport`` for the pool the SDK creates (for
            example ``FakeItnio().transport``).
        retry_policy: backoff settings (:class:`RetryPolicy`); an explicit
            ``max_retries`` wins over its ``max_retries``.
        http_backend: ``"httpx"`` (default) or ``"aiohttp"`` (an aiohttp-backed transport,
            faster at high concurrency; needs the ``aiohttp`` extra).
        clock: a function returning epoch seconds, for signing (tests inject one).

    Raises:
        ItnioError: credentials are missing, or an option is invalid.
    """

    apps: Apps
    templates: Templates
    flows: Flows
    verifications: Verifications
    records: Records
    backfill: Backfill

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        base_url: str | httpx.URL | None = None,
        timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = DEFAULT_DEADLINE,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        http_backend: Literal["httpx", "aiohttp"] = "httpx",
        clock: Callable[[], float] | None = None,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("ITNIO_API_KEY")
        api_secret = api_secret if api_secret is not None else os.environ.get("ITNIO_API_SECRET")
        if not api_key:
            raise ItnioError(
                "no API key: pass api_key=... or set the ITNIO_API_KEY environment variable"
            )
        if not api_secret:
            raise ItnioError(
                "no API secret: pass api_secret=... "
                "or set the ITNIO_API_SECRET environment variable"
            )
        if http_client is not None and transport is not None:
            raise ItnioError("pass either http_client or transport, not both")
        if http_backend not in ("httpx", "aiohttp"):
            raise ItnioError(f"http_backend must be 'httpx' or 'aiohttp', got {http_backend!r}")
        if http_backend == "aiohttp" and (http_client is not None or transport is not None):
            raise ItnioError(
                "http_backend='aiohttp' cannot be combined with http_client or transport"
            )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ItnioError("http_client must be an httpx.AsyncClient")
        url = str(base_url or os.environ.get("ITNIO_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise ItnioError(f"base_url must be an http(s) URL, got {url!r}") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ItnioError(f"base_url must be an http(s) URL, got {url!r}")
        setup_logging_from_env()
        clock_obj = Clock(clock)
        self._shared = _Shared(
            auth=ItnioAuth(api_key, api_secret, clock_obj),
            clock=clock_obj,
            base_url=url,
            transport=transport,
            user_http=http_client,
            backend=http_backend,
        )
        self._derived = False
        self._closed = False
        policy = retry_policy or RetryPolicy()
        # Left at its default, max_retries defers to a retry_policy's own count.
        retries = NOT_GIVEN if max_retries is DEFAULT_MAX_RETRIES else max_retries
        self._configure(timeout, retries, deadline, policy)

    # -- configuration -------------------------------------------------------------

    def _configure(
        self,
        timeout: float | httpx.Timeout | None,
        max_retries: int | _NotGiven,
        deadline: float | None,
        policy: RetryPolicy,
    ) -> None:
        if not isinstance(max_retries, _NotGiven):
            if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
                raise ItnioError(f"max_retries must be an int >= 0, got {max_retries!r}")
            policy = attrs.evolve(policy, max_retries=max_retries)
        if deadline is not None and (
            isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not deadline > 0
        ):
            raise ItnioError(
                f"deadline must be a positive number of seconds or None, got {deadline!r}"
            )
        self._timeout = _to_timeout(timeout)
        self._policy = policy
        self._deadline = None if deadline is None else float(deadline)
        self._bind_resources()

    def _bind_resources(self) -> None:
        from ._resources.apps import Apps
        from ._resources.backfill import Backfill
        from ._resources.flows import Flows
        from ._resources.records import Records
        from ._resources.templates import Templates
        from ._resources.verifications import Verifications

        self.apps = Apps(self)
        self.templates = Templates(self)
        self.flows = Flows(self)
        self.verifications = Verifications(self)
        self.records = Records(self)
        self.backfill = Backfill(self)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | _NotGiven | None = NOT_GIVEN,
        max_retries: int | _NotGiven = NOT_GIVEN,
        deadline: float | _NotGiven | None = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
    ) -> AsyncItnio:
        """Return a client with other options that shares this one's pool, credentials and clock.

        Closing the original closes the pool; closing the copy leaves it open.
        """
        self._check_open()
        clone = object.__new__(type(self))
        clone._shared = self._shared
        clone._derived = True
        clone._closed = False
        clone._configure(
            self._timeout if isinstance(timeout, _NotGiven) else timeout,
            max_retries,
            self._deadline if isinstance(deadline, _NotGiven) else deadline,
            retry_policy or self._policy,
        )
        return clone

    @property
    def base_url(self) -> str:
        """The base URL every API path is appended to."""
        return self._shared.base_url

    @property
    def api_key(self) -> str:
        """The API key (the secret is not readable back)."""
        return self._shared.auth.api_key

    @property
    def timeout(self) -> httpx.Timeout:
        """Per-attempt timeouts."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """Extra attempts per call."""
        return self._policy.max_retries

    @property
    def deadline(self) -> float | None:
        """Seconds bounding all attempts of one call, or ``None``."""
        return self._deadline

    @property
    def retry_policy(self) -> RetryPolicy:
        """The backoff settings in force."""
        return self._policy

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock when signing (learned from ``-16`` answers)."""
        return self._shared.clock.offset

    @property
    def is_closed(self) -> bool:
        """True once this client (or the client it was derived from) is closed."""
        return self._closed or self._shared.closed

    def __repr__(self) -> str:
        key = self._shared.auth.api_key
        shown = key[:4] + "…" if len(key) > 4 else "…"
        state = " closed" if self.is_closed else ""
        return f"<AsyncItnio base_url={self._shared.base_url!r} api_key={shown!r}{state}>"

    # -- lifecycle -----------------------------------------------------------------

    async def __aenter__(self) -> AsyncItnio:
        self._http()
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

        Raises:
            ItnioError: the pool is in use by another event loop that is still running.
        """
        if self._derived:
            self._closed = True
            return
        shared = self._shared
        # A pool of an ended loop is dropped: its connections died with that loop.
        shared.forget_pool_of_ended_loop(asyncio.get_running_loop())
        http = shared.http
        self._closed = shared.closed = True
        shared.http = shared.direct = None
        if http is not None:
            await http.aclose()

    def _check_open(self) -> None:
        if self._closed or self._shared.closed:
            raise ItnioError("this AsyncItnio client is closed; create a new one")

    def _http(self) -> httpx.AsyncClient:
        """The pool, created on first use inside the running event loop.

        A pool belongs to the loop it was created in. When that loop has ended (a
        second ``asyncio.run``, a test framework's fresh loop per test), its
        connections are unusable, so a new pool is made in the current loop; using
        the client from another loop that is still running raises ``ItnioError``.
        """
        self._check_open()
        shared = self._shared
        if shared.user_http is not None:
            return shared.user_http
        loop = asyncio.get_running_loop()
        shared.forget_pool_of_ended_loop(loop)
        if shared.http is None:
            limits = httpx.Limits(
                max_connections=DEFAULT_MAX_CONNECTIONS,
                max_keepalive_connections=DEFAULT_MAX_CONNECTIONS,
            )
            transport = shared.transport
            if shared.backend == "aiohttp":
                from ._aiohttp import make_aiohttp_transport

                transport = make_aiohttp_transport(DEFAULT_MAX_CONNECTIONS)
            elif transport is None and not urllib.request.getproxies_environment():
                # httpcore's own pool costs more CPU per request the more it holds
                # (see _pool.py). With proxy variables set, httpx's default transport
                # is kept because it is what applies them.
                from ._transport import HTTP11Transport

                transport = HTTP11Transport(max_connections=DEFAULT_MAX_CONNECTIONS)
            shared.http = httpx.AsyncClient(
                timeout=self._timeout,
                limits=limits,
                transport=transport,
                follow_redirects=False,
            )
            shared.direct = transport
            shared.loop = loop
        return shared.http

    def _url(self, path: str) -> httpx.URL:
        """The parsed URL of an API path (parsing costs more than the rest of a request)."""
        urls = self._shared.urls
        url = urls.get(path)
        if url is None:
            if len(urls) >= _URL_CACHE_SIZE:
                urls.clear()
            url = urls[path] = httpx.URL(self._shared.base_url + path)
        return url

    async def _send(self, http: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        """Sign and send one attempt; the body is read before returning.

        On the pool the SDK created, the request goes straight to its transport
        (``handle_async_request``, public httpx API): the SDK uses none of
        ``AsyncClient.send``'s redirects, cookies or hooks, which cost more CPU than
        the rest of the call. A user's own ``http_client`` gets ``send`` as usual.
        """
        shared = self._shared
        transport = shared.direct
        if transport is None or http.is_closed:
            # Never follow a redirect, even on a user's client that does: httpx would
            # carry Api-Key and a replayable Sign to whatever host the Location names.
            return await http.send(request, auth=shared.auth, follow_redirects=False)
        request.headers.update(shared.auth.headers())
        response = await transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    # -- the request path ----------------------------------------------------------

    @contextlib.contextmanager
    def _call_deadline(self) -> Iterator[float | None]:
        """Share one deadline among the requests made inside the block."""
        loop = asyncio.get_running_loop()
        outer = _DEADLINE.get()
        mine = None if self._deadline is None else loop.time() + self._deadline
        chosen = mine if outer is None else (outer if mine is None else min(outer, mine))
        token = _DEADLINE.set(chosen)
        try:
            yield chosen
        finally:
            _DEADLINE.reset(token)

    @overload
    async def _request(
        self,
        method: str,
        path: str,
        *,
        cast: type[T],
        kind: CallKind,
        body: Mapping[str, Any] | None = ...,
        many: Literal[False] = ...,
        pool_timeout: float | _NotGiven | None = ...,
    ) -> T: ...

    @overload
    async def _request(
        self,
        method: str,
        path: str,
        *,
        cast: type[T],
        kind: CallKind,
        body: Mapping[str, Any] | None = ...,
        many: Literal[True],
        pool_timeout: float | _NotGiven | None = ...,
    ) -> list[T]: ...

    @overload
    async def _request(
        self,
        method: str,
        path: str,
        *,
        cast: None,
        kind: CallKind,
        body: Mapping[str, Any] | None = ...,
        many: Literal[False] = ...,
        pool_timeout: float | _NotGiven | None = ...,
    ) -> None: ...

    async def _request(
        self,
        method: str,
        path: str,
        *,
        cast: type[Any] | None,
        kind: CallKind,
        body: Mapping[str, Any] | None = None,
        many: bool = False,
        pool_timeout: float | _NotGiven | None = NOT_GIVEN,
    ) -> Any:
        """Send one API call with retries and decode its ``data``.

        Args:
            method / path: HTTP method and API path (already validated and encoded).
            cast: model class of ``data``; ``None`` when the call returns no data.
            kind: retry class of the call (:class:`CallKind`).
            body: JSON body, or ``None`` for no body.
            many: ``data`` is a list of ``cast`` (a single object is wrapped).
            pool_timeout: override of the pool-wait timeout for this call.
        """
        http = self._http()
        content = (
            None
            if body is None
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        )
        if http is self._shared.user_http:
            # A user's client brings its own defaults (a proxy's or tracing headers,
            # cookies), as it would for its own requests; ours win where both set one.
            request = http.build_request(
                method, self._shared.base_url + path, headers=_HEADERS, content=content
            )
        else:
            request = httpx.Request(method, self._url(path), headers=_HEADERS, content=content)
        timeout = self._timeout.as_dict()
        if not isinstance(pool_timeout, _NotGiven):
            timeout["pool"] = pool_timeout
        with self._call_deadline() as deadline_at:
            data = await self._send_with_retries(http, request, timeout, kind, deadline_at, path)
        if cast is None:
            return None
        return self._decode(data, cast, many, method, path)

    async def _send_with_retries(
        self,
        http: httpx.AsyncClient,
        request: httpx.Request,
        timeout: dict[str, float | None],
        kind: CallKind,
        deadline_at: float | None,
        path: str,
    ) -> Any:
        """Attempt ``request`` until it succeeds, the policy says stop, or the deadline passes."""
        loop = asyncio.get_running_loop()
        policy = self._policy
        method = request.method
        retries = 0
        attempt = 0
        sent = False  # whether any attempt so far may have left this process
        skew_retried = False
        debug = logger.isEnabledFor(logging.DEBUG)
        while True:
            attempt += 1
            attempt_timeout = timeout
            if deadline_at is not None:
                remaining = deadline_at - loop.time()
                if remaining <= 0:
                    raise _deadline_error(method, path, attempt - 1, sent=sent)
                # httpx timeouts apply per operation; capping them keeps each one inside
                # the deadline, and _attempt bounds the attempt as a whole.
                attempt_timeout = {
                    k: remaining if v is None else min(v, remaining) for k, v in timeout.items()
                }
            request.extensions["timeout"] = attempt_timeout
            started = loop.time()
            response: httpx.Response | None = None
            outcome = "cancelled"
            try:
                response = await self._attempt(http, request, path, deadline_at, attempt)
                date = response.headers.get("Date")
                if date is not None:
                    self._shared.server_date = (date, loop.time())
                data = self._read_envelope(response, method, path)
            except TimestampExpiredError as exc:
                outcome = type(exc).__name__
                # The server refused before acting, so even an UNSAFE call may go again.
                if skew_retried or response is None or not self._learn_clock_offset(response):
                    raise
                skew_retried = True
                sent = True
                logger.info(
                    "%s %s: timestamp rejected (-16); clock offset now %+.0fs, re-signing",
                    method,
                    path,
                    self._shared.clock.offset,
                )
                continue
            except ItnioError as exc:
                outcome = type(exc).__name__
                error: ItnioError = exc
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
                error = _wrap_transport_error(exc, method, path)
            else:
                outcome = "ok"
                return data
            finally:
                if debug:
                    logger.debug(
                        "%s %s attempt=%d status=%s outcome=%s elapsed=%.1fms",
                        method,
                        path,
                        attempt,
                        response.status_code if response is not None else "-",
                        outcome,
                        (loop.time() - started) * 1000,
                    )
            sent = sent or response is not None or getattr(error, "sent", False)
            if retries >= policy.max_retries or not policy.is_retryable(error, kind):
                raise error
            retries += 1
            if not await self._sleep_before_retry(error, retries, deadline_at, method, path):
                raise error

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        request: httpx.Request,
        path: str,
        deadline_at: float | None,
        attempt: int,
    ) -> httpx.Response:
        """Send once (signed afresh), cut off at ``deadline_at`` whatever the transport does.

        httpx timeouts bound each read or write, not an attempt, and custom transports
        may ignore them; so the deadline cancels the attempt itself (as
        ``asyncio.timeout`` does, without creating a task).
        """
        task = asyncio.current_task()
        if deadline_at is None or task is None:
            return await self._send(http, request)
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        cancelling = _cancelling(task)
        handle = asyncio.get_running_loop().call_at(deadline_at, expire)
        try:
            return await self._send(http, request)
        except asyncio.CancelledError:
            if expired and _uncancel(task) <= cancelling:
                raise _deadline_error(request.method, path, attempt, sent=True) from None
            raise
        finally:
            handle.cancel()

    async def _sleep_before_retry(
        self,
        error: ItnioError,
        retry: int,
        deadline_at: float | None,
        method: str,
        path: str,
    ) -> bool:
        """Sleep the policy's delay before retry ``retry``; False if it says stop or won't fit."""
        policy = self._policy
        delay = policy.delay(error, retry)
        if delay is None:
            return False
        if deadline_at is not None and asyncio.get_running_loop().time() + delay >= deadline_at:
            return False
        logger.info(
            "%s %s: %s, retry %d/%d in %.2fs",
            method,
            path,
            type(error).__name__,
            retry,
            policy.max_retries,
            delay,
        )
        await asyncio.sleep(delay)
        return True

    def _server_time(self, at: float) -> float:
        """The server's clock (epoch seconds) at loop time ``at``.

        From the latest ``Date`` header; before one has been seen, the signing clock
        (local time plus any learned offset) is the best estimate there is.
        """
        seen = self._shared.server_date
        when = None if seen is None else parse_http_date(seen[0])
        if seen is None or when is None:
            return self._shared.clock.now() - (asyncio.get_running_loop().time() - at)
        return when + (at - seen[1])

    def _learn_clock_offset(self, response: httpx.Response) -> bool:
        """Set the clock offset from a response's ``Date`` header; False if it has none."""
        server = parse_http_date(response.headers.get("Date"))
        if server is None:
            return False
        self._shared.clock.offset = server - self._shared.clock.local()
        return True

    def _retry_after(self, response: httpx.Response) -> float | None:
        """Seconds from ``Retry-After``; a date is read against the response's own ``Date``."""
        value = response.headers.get("Retry-After")
        if value is None:
            return None
        now = parse_http_date(response.headers.get("Date"))
        return parse_retry_after(value, self._shared.clock.now() if now is None else now)

    def _read_envelope(self, response: httpx.Response, method: str, path: str) -> Any:
        """Check the HTTP status and the envelope; return ``data`` or raise."""
        body = response.content
        if not 200 <= response.status_code < 300:
            status, reason = _peek_envelope(body)
            raise HTTPStatusError(
                response.status_code,
                method=method,
                path=path,
                status=status,
                reason=reason,
                retry_after=self._retry_after(response),
                body=_body_excerpt(body),
            )

        def malformed(problem: str) -> DecodeError:
            return DecodeError(
                f"{method} {path}{problem}", body=_body_excerpt(body), method=method, path=path
            )

        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise malformed(" answered with a body that is not JSON") from None
        if not isinstance(payload, dict) or "status" not in payload:
            raise malformed(" answered with JSON that is not an API envelope")
        status = payload["status"]
        if isinstance(status, bool) or not isinstance(status, (str, int)):
            raise malformed(": envelope status is not a string")
        status_text = str(status).strip()
        if status_text == "0":
            return payload.get("data")
        try:
            code = int(status_text)
        except ValueError:
            raise malformed(": envelope status is not a number") from None
        reason = payload.get("reason")
        raise api_error(code, reason if isinstance(reason, str) else "", method=method, path=path)

    def _decode(self, data: Any, cast: type[Any], many: bool, method: str, path: str) -> Any:
        if many:
            if data is None:
                return []
            if isinstance(data, dict):
                data = [data]
            if not isinstance(data, list):
                raise DecodeError(
                    f"{method} {path}: data is not a list",
                    body=_data_excerpt(data),
                    method=method,
                    path=path,
                )
            target: Any = list[cast]  # type: ignore[valid-type]
        else:
            if not isinstance(data, dict):
                raise DecodeError(
                    f"{method} {path}: data is not an object",
                    body=_data_excerpt(data),
                    method=method,
                    path=path,
                )
            target = cast
        try:
            return structure(data, target)
        except Exception as exc:
            raise DecodeError(
                f"{method} {path}: data does not match {cast.__name__} ({type(exc).__name__})",
                body=_data_excerpt(data),
                method=method,
                path=path,
            ) from exc


def _body_excerpt(body: bytes) -> str:
    """A short excerpt of a response body with phone numbers and codes masked.

    Beyond the known JSON members (``redact``), any run of 7+ digits is masked: free
    text such as a ``reason`` or an HTML error page may quote a number too.
    """
    return excerpt(mask_digits(redact(body.decode("utf-8", "replace"))))


def _data_excerpt(data: Any) -> str:
    """A short, masked excerpt of decoded ``data`` for a DecodeError."""
    try:
        text = json.dumps(data, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(data).__name__}>"
    return excerpt(mask_digits(redact(text)))


def _deadline_error(method: str, path: str, attempts: int, *, sent: bool) -> RequestTimeoutError:
    return RequestTimeoutError(
        f"deadline exceeded for {method} {path} after {attempts} attempt(s)",
        method=method,
        path=path,
        sent=sent,
    )


def _cancelling(task: asyncio.Task[Any]) -> int:
    return task.cancelling()


def _uncancel(task: asyncio.Task[Any]) -> int:
    return task.uncancel()


def _peek_envelope(body: bytes) -> tuple[int | None, str | None]:
    """The envelope status and reason of a non-2xx body, if it has them."""
    try:
        payload = json.loads(body)
        status = int(str(payload["status"]).strip())
        reason = payload.get("reason")
    except (ValueError, TypeError, KeyError, RecursionError):
        return None, None
    return status, reason if isinstance(reason, str) else None


def _wrap_transport_error(exc: httpx.HTTPError, method: str, path: str) -> ItnioError:
    """Turn an httpx failure into a TransportError, knowing whether anything was sent."""
    never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    what = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        wrapped: ItnioError = RequestTimeoutError(
            f"{what} on {method} {path}", method=method, path=path, sent=not never_sent
        )
    elif isinstance(exc, httpx.DecodingError):
        wrapped = DecodeError(
            f"{method} {path}: the response body could not be decoded ({what})",
            method=method,
            path=path,
        )
    else:
        detail = mask_digits(str(exc).splitlines()[0][:120]) if str(exc) else ""
        wrapped = TransportError(
            f"{what} on {method} {path}" + (f": {detail}" if detail else ""),
            method=method,
            path=path,
            sent=not never_sent,
        )
    wrapped.__cause__ = exc
    return wrapped
