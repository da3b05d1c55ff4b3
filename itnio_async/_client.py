"""``AsyncItnio``: configuration, credentials, and the namespaces of the OTP API.

The request path itself (engine, attempts, retries, deadline) is generic and lives in
``_base_client.py``; the envelope and the status→exception table in ``_envelope.py``.
What is ITNIO's and lives here: reading credentials and ``base_url`` (from arguments
or the environment), the signature headers, the clock offset learned from ``-16``,
and binding the six namespaces.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import httpx

from . import _envelope
from ._auth import Clock, ItnioAuth
from ._base_client import (
    DEFAULT_MAX_CONNECTIONS,
    NOT_GIVEN,
    BaseClient,
    Call,
    EventHook,
    NotGiven,
    _Shared,
    make_options,
)
from ._exceptions import ItnioError, TimestampExpiredError
from ._logging import logger, setup_logging_from_env
from ._redact import scrub_traceback
from ._resources.apps import Apps
from ._resources.backfill import Backfill
from ._resources.flows import Flows
from ._resources.records import Records
from ._resources.templates import Templates
from ._resources.verifications import Verifications
from ._retry import RetryPolicy, parse_http_date
from ._transport import DEFAULT_MAX_RESPONSE_SIZE
from ._validation import check_base_url, check_credentials, insecure_http_opt_in
from ._version import __version__

if TYPE_CHECKING:
    import ssl

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "MAX_CLOCK_OFFSET",
    "NOT_GIVEN",
    "AsyncItnio",
]

DEFAULT_BASE_URL: Final = "https://api.itniotech.com/otp"
#: 10 s per read/write/pool wait, 5 s to connect.
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
#: Seconds that bound every attempt and backoff sleep of one call together.
DEFAULT_DEADLINE: Final = 30.0
#: The largest clock offset learned from a ``-16`` answer's ``Date`` (one day): a
#: ``Date`` further off is a broken server or proxy, not a clock to follow.
MAX_CLOCK_OFFSET: Final = 86_400.0
CONTENT_TYPE: Final = "application/json;charset=UTF-8"
USER_AGENT: Final = f"itnio-async/{__version__}"


class _DefaultRetries(int):
    """The default ``max_retries`` (an ``int`` equal to 2), told apart from an explicit 2."""

    __slots__ = ()


#: ``AsyncItnio(max_retries=...)`` default: 2 extra attempts.
DEFAULT_MAX_RETRIES: Final[int] = _DefaultRetries(2)


class AsyncItnio(BaseClient):
    """Async client for the ITNIO OTP API.

    Create one per application and reuse it: it holds the connection pool. Use it
    as ``async with AsyncItnio() as client: ...`` or call :meth:`aclose`.

    Args:
        api_key: API key; defaults to ``ITNIO_API_KEY``.
        api_secret: API secret; defaults to ``ITNIO_API_SECRET``. Never shown in reprs,
            logs or exception messages.
        base_url: defaults to ``ITNIO_BASE_URL``, else ``https://api.itniotech.com/otp``.
            No user name, password, query or fragment; plain ``http://`` only to a
            loopback host unless ``allow_insecure_http=True``.
        timeout: seconds or an ``httpx.Timeout`` per attempt; default 10 s (5 s connect).
        max_retries: extra attempts per call (default 2); see the README for which
            calls are retried when. Left at the default, a ``retry_policy``'s own
            ``max_retries`` applies.
        deadline: seconds that bound all attempts and backoff sleeps of one call
            together (default 30 s); ``None`` for no overall bound.
        http_client: an ``httpx.AsyncClient`` you own; the SDK uses it and never closes it.
        transport: an ``httpx.AsyncBaseTransport`` for the pool the SDK creates (for
            example ``FakeItnio().transport``).
        proxy: a proxy URL (or ``httpx.Proxy``) for every call. ``HTTP_PROXY``,
            ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` are honoured without it.
        ssl_context: TLS settings for the SDK's own pool, for example to trust a
            private CA; it must verify certificates and host names.
        max_response_size: the largest response body accepted, in bytes (default
            1 MiB; also after decompression); a larger one is a ``TransportError``.
        allow_insecure_http: allow plain ``http://`` to a host that is not loopback
            (a sandbox in a container network); the key and a replayable ``Sign``
            then travel in clear text. Defaults to ``ITNIO_ALLOW_INSECURE_HTTP``
            (``1``, ``true`` or ``yes``; unset or empty: not allowed).
        event_hooks: ``{"request": [...], "response": [...], "call": [...]}``:
            callables (or async callables) called once per attempt with the signed
            ``httpx.Request`` and with the ``httpx.Response`` (body read), on every
            engine; ``"call"`` hooks once per call when it has ended, with its
            :class:`CallInfo` (also in ``request.extensions["itnio.call"]``). An
            exception a hook raises ends the call unchanged, as in httpx.
        retry_policy: backoff settings (:class:`RetryPolicy`); an explicit
            ``max_retries`` wins over its ``max_retries``.
        clock: a function returning epoch seconds, for signing (tests inject one).

    Raises:
        ItnioError: credentials are missing or malformed, or an option is invalid.
    """

    _default_headers = (
        ("Content-Type", CONTENT_TYPE),
        ("Accept", "application/json"),
        ("Accept-Encoding", "identity"),
        ("User-Agent", USER_AGENT),
    )

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
        proxy: str | httpx.Proxy | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        allow_insecure_http: bool | None = None,
        event_hooks: Mapping[str, Sequence[EventHook]] | None = None,
        retry_policy: RetryPolicy | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        try:
            _check_engine(http_client, transport, proxy, ssl_context, max_response_size)
            url = check_base_url(
                str(base_url or os.environ.get("ITNIO_BASE_URL") or DEFAULT_BASE_URL),
                allow_insecure_http=insecure_http_opt_in(allow_insecure_http),
            )
            # Left at its default, max_retries defers to a retry_policy's own count.
            options = make_options(
                timeout=timeout,
                max_retries=NOT_GIVEN if max_retries is DEFAULT_MAX_RETRIES else max_retries,
                deadline=deadline,
                retry_policy=retry_policy or RetryPolicy(),
                event_hooks=event_hooks,
            )
            # Last: once they are held here, nothing else can fail.
            key, secret = _credentials(api_key, api_secret)
        except BaseException as exc:
            # No frame of a configuration error may hold the credentials or a URL with
            # a password: this one drops them, the checks' frames are cleared.
            del api_key, api_secret, base_url
            scrub_traceback(exc)
            raise
        setup_logging_from_env()
        clock_obj = Clock(clock)
        shared = _Shared(
            auth=ItnioAuth(key, secret, clock_obj),
            clock=clock_obj,
            base_url=url,
            transport=transport,
            user_http=http_client,
            proxy=proxy,
            ssl_context=ssl_context,
            max_response_size=max_response_size,
        )
        self._setup(shared, options, derived=False)

    def _setup(self, shared: _Shared, options: Any, *, derived: bool) -> None:
        super()._setup(shared, options, derived=derived)
        port = self._port
        self.apps = Apps(port)
        self.templates = Templates(port)
        self.flows = Flows(port)
        self.verifications = Verifications(port)
        self.records = Records(port)
        self.backfill = Backfill(port)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        retry_policy: RetryPolicy | None = None,
        event_hooks: Mapping[str, Sequence[EventHook]] | NotGiven | None = NOT_GIVEN,
    ) -> AsyncItnio:
        """Return a client with other options that shares this one's pool, credentials and clock.

        Closing the original closes the pool; closing the copy leaves it open.
        """
        self._check_open()
        current = self._options
        options = make_options(
            timeout=current.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=max_retries,
            deadline=current.deadline if isinstance(deadline, NotGiven) else deadline,
            retry_policy=retry_policy or current.policy,
            event_hooks=(
                {
                    "request": current.request_hooks,
                    "response": current.response_hooks,
                    "call": current.call_hooks,
                }
                if isinstance(event_hooks, NotGiven)
                else event_hooks
            ),
        )
        clone = type(self).__new__(type(self))
        clone._setup(self._shared, options, derived=True)
        return clone

    async def __aenter__(self) -> AsyncItnio:
        await super().__aenter__()
        return self

    # -- what a client shows -------------------------------------------------------------

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
        return self._options.timeout

    @property
    def max_retries(self) -> int:
        """Extra attempts per call."""
        return self._options.policy.max_retries

    @property
    def deadline(self) -> float | None:
        """Seconds bounding all attempts of one call, or ``None``."""
        return self._options.deadline

    @property
    def retry_policy(self) -> RetryPolicy:
        """The backoff settings in force."""
        return self._options.policy

    @property
    def max_response_size(self) -> int:
        """The largest response body accepted, in bytes."""
        return self._shared.max_response_size

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock when signing (learned from ``-16`` answers)."""
        return self._shared.clock.offset

    def __repr__(self) -> str:
        if not hasattr(self, "_shared"):  # __init__ failed: a traceback may still show it
            return "<AsyncItnio (not configured)>"
        key = self._shared.auth.api_key
        shown = key[:4] + "…" if len(key) > 4 else "…"
        state = " closed" if self.is_closed else ""
        return f"<AsyncItnio base_url={self._shared.base_url!r} api_key={shown!r}{state}>"

    # -- ITNIO's part of the request path -------------------------------------------------

    def _parse(self, response: httpx.Response, call: Call[Any]) -> Any:
        return _envelope.parse(
            response,
            call.cast,
            many=call.many,
            method=call.method,
            path=call.path,
            secrets=call.secrets,
            now=self._shared.clock.now,
        )

    def _recover(self, error: ItnioError, response: httpx.Response) -> bool:
        """On ``-16``, learn the server's clock from ``Date`` and retry once at once."""
        if not isinstance(error, TimestampExpiredError):
            return False
        server = parse_http_date(response.headers.get("Date"))
        if server is None:
            return False
        clock = self._shared.clock
        offset = server - clock.local()
        if abs(offset) > MAX_CLOCK_OFFSET:
            logger.warning(
                "%s %s: timestamp rejected (-16), but the Date header is %+.0fs away; "
                "ignoring it (more than %.0fs)",
                error.method,
                error.path,
                offset,
                MAX_CLOCK_OFFSET,
            )
            return False
        clock.offset = offset
        logger.info(
            "%s %s: timestamp rejected (-16); clock offset now %+.0fs, re-signing",
            error.method,
            error.path,
            offset,
        )
        return True


def _credentials(api_key: str | None, api_secret: str | None) -> tuple[str, str]:
    """The key and secret, from the arguments or the environment, checked.

    Raises:
        ItnioError: one is missing (naming the variable to set) or malformed.
    """
    key = api_key if api_key is not None else os.environ.get("ITNIO_API_KEY")
    secret = api_secret if api_secret is not None else os.environ.get("ITNIO_API_SECRET")
    if not key:
        raise ItnioError(
            "no API key: pass api_key=... or set the ITNIO_API_KEY environment variable"
        )
    if not secret:
        raise ItnioError(
            "no API secret: pass api_secret=... or set the ITNIO_API_SECRET environment variable"
        )
    return check_credentials(key, secret)


def _check_engine(
    http_client: object, transport: object, proxy: object, ssl_context: object, max_size: object
) -> None:
    """The engine options: at most one way in, a verifying TLS context, a positive cap.

    Raises:
        ItnioError: saying which option is wrong.
    """
    engines = {"http_client": http_client, "transport": transport, "proxy": proxy}
    given = [name for name, value in engines.items() if value is not None]
    if len(given) > 1:
        raise ItnioError(f"pass at most one of http_client, transport and proxy, not {given}")
    if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
        raise ItnioError("http_client must be an httpx.AsyncClient")
    if ssl_context is not None:
        _check_ssl_context(ssl_context)
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise ItnioError(f"max_response_size must be a positive number of bytes, got {max_size!r}")


def _check_ssl_context(context: object) -> None:
    import ssl

    if not isinstance(context, ssl.SSLContext):
        raise ItnioError("ssl_context must be an ssl.SSLContext")
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise ItnioError(
            "ssl_context must verify certificates and host names "
            "(verify_mode=CERT_REQUIRED, check_hostname=True): TLS verification stays on"
        )
