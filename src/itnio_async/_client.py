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
from collections.abc import Callable, Iterator, Mapping
from email.utils import parsedate_to_datetime
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
from ._retry import CallKind, RetryPolicy, parse_retry_after
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
USER_AGENT: Final = f"itnio-async/{__version__}"


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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
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
    closed: bool = False


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
            calls are retried when.
        deadline: seconds that bound all attempts and backoff sleeps of one call
            together (default 30 s); ``None`` for no overall bound.
        http_client: an ``httpx.AsyncClient`` you own; the SDK uses it and never closes it.
        transport: an ``httpx.AsyncBaseTransport`` for the pool the SDK creates (for
            example ``FakeItnio().transport``).
        retry_policy: backoff settings (:class:`RetryPolicy`); ``max_retries`` wins over
            its ``max_retries``.
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
        max_retries: int | _NotGiven = NOT_GIVEN,
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
        parsed = httpx.URL(url)
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
        self._configure(timeout, max_retries, deadline, policy)

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
            isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or deadline <= 0
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
        """Close the client (safe to call twice). Closes the pool only if the SDK created it."""
        self._closed = True
        if self._derived:
            return
        shared = self._shared
        shared.closed = True
        http, shared.http = shared.http, None
        if http is not None:
            await http.aclose()

    def _check_open(self) -> None:
        if self._closed or self._shared.closed:
            raise ItnioError("this AsyncItnio client is closed; create a new one")

    def _http(self) -> httpx.AsyncClient:
        """The pool, created on first use inside the running event loop."""
        self._check_open()
        shared = self._shared
        if shared.user_http is not None:
            return shared.user_http
        if shared.http is None:
            limits = httpx.Limits(
                max_connections=DEFAULT_MAX_CONNECTIONS,
                max_keepalive_connections=DEFAULT_MAX_CONNECTIONS,
            )
            transport = shared.transport
            if shared.backend == "aiohttp":
                from ._aiohttp import make_aiohttp_transport

                transport = make_aiohttp_transport(DEFAULT_MAX_CONNECTIONS)
            shared.http = httpx.AsyncClient(
                timeout=self._timeout,
                limits=limits,
                transport=transport,
                follow_redirects=False,
            )
        return shared.http

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
        request = httpx.Request(
            method,
            self._shared.base_url + path,
            headers={
                "Content-Type": CONTENT_TYPE,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            content=content,
        )
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
        loop = asyncio.get_running_loop()
        policy = self._policy
        method = request.method
        retries = 0
        skew_retried = False
        debug = logger.isEnabledFor(logging.DEBUG)
        while True:
            attempt_timeout = timeout
            if deadline_at is not None:
                remaining = deadline_at - loop.time()
                if remaining <= 0:
                    raise RequestTimeoutError(
                        f"deadline of {self._deadline}s exceeded for {method} {path} "
                        f"after {retries} retries",
                        method=method,
                        path=path,
                        sent=retries > 0,
                    )
                attempt_timeout = {
                    k: remaining if v is None else min(v, remaining) for k, v in timeout.items()
                }
            request.extensions["timeout"] = attempt_timeout
            started = loop.time()
            response: httpx.Response | None = None
            try:
                response = await http.send(request, auth=self._shared.auth)
                return self._read_envelope(response, method, path)
            except TimestampExpiredError as exc:
                if skew_retried or response is None or not self._learn_clock_offset(response):
                    raise
                skew_retried = True
                logger.info(
                    "%s %s: timestamp rejected (-16); clock offset now %+.0fs, re-signing",
                    method,
                    path,
                    self._shared.clock.offset,
                )
                error: ItnioError = exc
                continue
            except ItnioError as exc:
                error = exc
            except httpx.HTTPError as exc:
                error = _wrap_transport_error(exc, method, path)
            finally:
                if debug:
                    logger.debug(
                        "%s %s attempt=%d status=%s elapsed=%.1fms",
                        method,
                        path,
                        retries + 1,
                        response.status_code if response is not None else "-",
                        (loop.time() - started) * 1000,
                    )
            if retries >= policy.max_retries or not policy.is_retryable(error, kind):
                raise error
            retries += 1
            delay = policy.delay(error, retries)
            if delay is None:
                raise error
            if deadline_at is not None and loop.time() + delay >= deadline_at:
                raise error
            logger.info(
                "%s %s: %s, retry %d/%d in %.2fs",
                method,
                path,
                type(error).__name__,
                retries,
                policy.max_retries,
                delay,
            )
            await asyncio.sleep(delay)

    def _learn_clock_offset(self, response: httpx.Response) -> bool:
        """Set the clock offset from a response's ``Date`` header; False if it has none."""
        date = response.headers.get("Date")
        if not date:
            return False
        try:
            server = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        self._shared.clock.offset = server - self._shared.clock.local()
        return True

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
                retry_after=parse_retry_after(
                    response.headers.get("Retry-After"), self._shared.clock.local()
                ),
                body=excerpt(body),
            )
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise DecodeError(
                f"{method} {path} answered with a body that is not JSON",
                body=excerpt(body),
                method=method,
                path=path,
            ) from None
        if not isinstance(payload, dict) or "status" not in payload:
            raise DecodeError(
                f"{method} {path} answered with JSON that is not an API envelope",
                body=excerpt(body),
                method=method,
                path=path,
            )
        status = payload["status"]
        if isinstance(status, bool) or not isinstance(status, (str, int)):
            raise DecodeError(
                f"{method} {path}: envelope status is not a string",
                body=excerpt(body),
                method=method,
                path=path,
            )
        status_text = str(status).strip()
        if status_text == "0":
            return payload.get("data")
        try:
            code = int(status_text)
        except ValueError:
            raise DecodeError(
                f"{method} {path}: envelope status is not a number",
                body=excerpt(body),
                method=method,
                path=path,
            ) from None
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
                    f"{method} {path}: data is not a list", body=excerpt(json.dumps(data)[:400])
                )
            target: Any = list[cast]  # type: ignore[valid-type]
        else:
            if not isinstance(data, dict):
                raise DecodeError(
                    f"{method} {path}: data is not an object",
                    body=excerpt(json.dumps(data)[:400]),
                    method=method,
                    path=path,
                )
            target = cast
        try:
            return structure(data, target)
        except Exception as exc:
            raise DecodeError(
                f"{method} {path}: data does not match {cast.__name__} ({type(exc).__name__})",
                body=excerpt(json.dumps(data)[:400]),
                method=method,
                path=path,
            ) from exc


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
        wrapped = DecodeError(f"{method} {path}: the response body could not be decoded ({what})")
    else:
        detail = str(exc).splitlines()[0][:120] if str(exc) else ""
        wrapped = TransportError(
            f"{what} on {method} {path}" + (f": {detail}" if detail else ""),
            method=method,
            path=path,
            sent=not never_sent,
        )
    wrapped.__cause__ = exc
    return wrapped
