"""``AsyncItnio``: configuration, credentials, and the namespaces of the OTP API.

The request path itself (attempts, the decision after each, the deadline) is
generic and lives in ``_base_client.py``; the envelope and the status→exception
table in ``_envelope.py``. What is ITNIO's and lives here: reading credentials and
``base_url`` (from arguments or the environment), the signer, the clock offset
learned from ``-16``, advice on an authentication error, the six namespaces and the
escape hatch :meth:`AsyncItnio.request`.
"""

from __future__ import annotations

import json as _json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import httpx

from . import _envelope
from . import _validation as v
from ._auth import SIGNED_HEADERS, Clock, ItnioAuth
from ._base_client import DEFAULT_MAX_CONNECTIONS, BaseClient, Shared
from ._call import NOT_GIVEN, Call, EventHook, NotGiven, public
from ._engine import DEFAULT_MAX_RESPONSE_SIZE, proxy_for
from ._exceptions import AuthenticationError, ItnioError, TimestampExpiredError, ValidationError
from ._logging import logger, setup_logging_from_env
from ._options import Options, make_options
from ._redact import Secrets, scrub_traceback
from ._resources.apps import Apps
from ._resources.backfill import Backfill
from ._resources.flows import Flows
from ._resources.records import Records
from ._resources.templates import Templates
from ._resources.verifications import Verifications
from ._retry import CallKind, RetryPolicy, parse_http_date
from ._validation import check_base_url, check_credentials, insecure_http_opt_in
from ._version import __version__

if TYPE_CHECKING:
    import ssl

    from ._wire import Answer

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
#: The headers every request starts with, after ``Host`` (``default_headers`` may
#: replace ``Accept`` and ``User-Agent``).
_BASE_HEADERS: Final = (
    ("Content-Type", CONTENT_TYPE),
    ("Accept", "application/json"),
    ("Accept-Encoding", "identity"),
    ("User-Agent", USER_AGENT),
)
#: Methods :meth:`AsyncItnio.request` sends, and whether each is retried like a read.
_METHODS: Final = {"GET": True, "PUT": True, "DELETE": True, "POST": False, "PATCH": False}
#: JSON members of a :meth:`AsyncItnio.request` body whose values are never shown.
_SECRET_MEMBERS: Final = {"code": False, "to": True, "number": True}


class _DefaultRetries(int):
    """The default ``max_retries`` (an ``int`` equal to 2), told apart from an explicit 2."""

    __slots__ = ()


#: ``AsyncItnio(max_retries=...)`` default: 2 extra attempts.
DEFAULT_MAX_RETRIES: Final[int] = _DefaultRetries(2)


class AsyncItnio(BaseClient):
    """Async client for the ITNIO OTP API.

    Create one per application and reuse it: it holds the connection pool. Use it
    as ``async with AsyncItnio() as client: ...`` or call :meth:`aclose`.

    The API is reached through six namespaces (each also has ``with_raw_response``,
    whose methods return a :class:`RawResponse`), and :meth:`request` calls any
    other path:

    * ``client.apps``: ``create``, ``update``, ``modify``, ``get``;
    * ``client.templates``: ``create``, ``update``, ``modify``, ``get``, ``list``;
    * ``client.flows``: ``create``, ``update``, ``get``, ``list``;
    * ``client.verifications``: ``send``, ``send_code``, ``resend``, ``verify``;
    * ``client.records``: ``get``, ``get_by_order_id``, ``iter_by_order_ids``,
      ``get_many_by_order_ids``;
    * ``client.backfill``: ``report``, ``report_rate``.

    Args:
        api_key: API key; defaults to ``ITNIO_API_KEY``.
        api_secret: API secret; defaults to ``ITNIO_API_SECRET``. Never shown in reprs,
            logs or exception messages.
        base_url: defaults to ``ITNIO_BASE_URL``, else ``https://api.itniotech.com/otp``.
            No user name, password, query or fragment; plain ``http://`` only to a
            loopback host unless ``allow_insecure_http=True``.
        timeout: seconds or an ``httpx.Timeout`` per attempt; default 10 s (5 s
            connect); ``None`` for no per-attempt timeout.
        max_retries: extra attempts per call (default 2); the retries guide says which
            calls are retried when. Left at the default, a ``retry_policy``'s own
            ``max_retries`` applies.
        deadline: seconds that bound all attempts and backoff sleeps of one call
            together (default 30 s); ``None`` for no overall bound.
        http_client: an ``httpx.AsyncClient`` you own; the SDK uses it and never closes it.
        transport: an ``httpx.AsyncBaseTransport`` to use instead of the SDK's own
            engine (for example ``FakeItnio().transport``); closed with the client.
        proxy: a proxy URL (``http://[user:password@]host:port``) for every call.
            ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` are honoured
            without it. Another proxy scheme (``socks5://``) raises ``ItnioError``.
        ssl_context: TLS settings for the SDK's own engine, for example to trust a
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
        retry_policy: backoff settings (:class:`RetryPolicy`; ``None``: the default
            one); an explicit ``max_retries`` wins over its ``max_retries``.
        default_headers: extra headers sent with every request (``User-Agent`` and
            ``Accept`` replace the SDK's; the headers the SDK signs or frames the
            request with cannot be set).
        clock: a function returning epoch seconds, for signing (default
            ``time.time``; tests inject one).

    Raises:
        ItnioError: credentials are missing or malformed, or an option is invalid.
    """

    apps: Apps
    templates: Templates
    flows: Flows
    verifications: Verifications
    records: Records
    backfill: Backfill
    _auth: ItnioAuth
    _sources: str

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
        default_headers: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        _copy_of: AsyncItnio | None = None,
    ) -> None:
        try:
            # Left at its default, max_retries defers to a retry_policy's own count.
            options = make_options(
                timeout=timeout,
                max_retries=None if max_retries is DEFAULT_MAX_RETRIES else max_retries,
                deadline=deadline,
                retry_policy=retry_policy,
                event_hooks=event_hooks,
                default_headers=default_headers,
                signed=SIGNED_HEADERS,
            )
            if _copy_of is not None:
                shared, auth, sources = _copy_of._shared, _copy_of._auth, _copy_of._sources
            else:
                sources = _credential_sources(api_key, api_secret)
                shared, auth = _configure(
                    api_key,
                    api_secret,
                    base_url=base_url,
                    http_client=http_client,
                    transport=transport,
                    proxy=proxy,
                    ssl_context=ssl_context,
                    max_response_size=max_response_size,
                    allow_insecure_http=allow_insecure_http,
                    clock=clock,
                )
        except BaseException as exc:
            # No frame of a configuration error may hold the credentials or a URL with
            # a password: this one drops them, the checks' frames are cleared.
            del api_key, api_secret, base_url
            scrub_traceback(exc)
            raise
        if _copy_of is None:
            setup_logging_from_env()
        self._auth, self._sources = auth, sources
        self._setup(shared, options, derived=_copy_of is not None)

    def _setup(self, shared: Shared, options: Options, *, derived: bool) -> None:
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
        retry_policy: RetryPolicy | NotGiven | None = NOT_GIVEN,
        event_hooks: Mapping[str, Sequence[EventHook]] | NotGiven | None = NOT_GIVEN,
        default_headers: Mapping[str, str] | NotGiven | None = NOT_GIVEN,
    ) -> AsyncItnio:
        """Return a client with other options that shares this one's pool, credentials and clock.

        An option left out keeps this client's value; an option given means exactly
        what it means in ``AsyncItnio(...)``, ``None`` included (``timeout=None``: no
        timeout, ``deadline=None``: no deadline, ``retry_policy=None``: the default
        policy, ``event_hooks=None`` / ``default_headers=None``: none). The copy is
        built by ``AsyncItnio.__init__``, so it checks its options the same way.
        Closing the original closes the pool; closing the copy leaves it open.

        Args:
            timeout: per-attempt timeouts (seconds, an ``httpx.Timeout`` or ``None``).
            max_retries: extra attempts per call.
            deadline: seconds bounding all attempts of one call, or ``None``.
            retry_policy: backoff settings, or ``None`` for the default policy.
            event_hooks: the hooks of the copy (replacing this client's), or ``None``.
            default_headers: the extra headers of the copy, or ``None``.

        Returns:
            A client sharing this one's pool, credentials and clock offset.

        Raises:
            ItnioError: this client is closed, or an option is invalid.
        """
        self._check_open()
        mine = self._options
        kept_retries = DEFAULT_MAX_RETRIES if mine.max_retries is None else mine.max_retries
        return type(self)(
            timeout=mine.timeout if isinstance(timeout, NotGiven) else timeout,
            max_retries=kept_retries if isinstance(max_retries, NotGiven) else max_retries,
            deadline=mine.deadline if isinstance(deadline, NotGiven) else deadline,
            retry_policy=mine.retry_policy if isinstance(retry_policy, NotGiven) else retry_policy,
            event_hooks=(
                (None if mine.hooks is None else mine.hooks.as_dict())
                if isinstance(event_hooks, NotGiven)
                else event_hooks
            ),
            default_headers=(
                dict(mine.default_headers)
                if isinstance(default_headers, NotGiven)
                else default_headers
            ),
            _copy_of=self,
        )

    async def __aenter__(self) -> AsyncItnio:
        await super().__aenter__()
        return self

    @public
    async def request(
        self, method: str, path: str, *, json: Any = None, idempotent: bool | None = None
    ) -> Any:
        """Call any API path, signed, with this client's retries, deadline, hooks and checks.

        For what the namespaces do not model. The path is appended to ``base_url``;
        the answer's envelope is checked as for every call (a ``status`` other than
        ``"0"`` raises its :class:`APIError`), and its ``data`` is returned as plain
        JSON (dicts, lists, strings, numbers; ``None`` when absent).

        Whether a failed attempt is sent again follows ``idempotent``: ``True``
        retries it as a read (on any transport failure, HTTP 408/429/5xx and
        ``-18``); ``False`` only when the request provably never left, as for a
        send — use it for anything that sends a code, costs money or creates
        something. Left as ``None`` it follows the method: ``GET``, ``PUT`` and
        ``DELETE`` are idempotent, ``POST`` and ``PATCH`` are not.

        Args:
            method: ``GET``, ``POST``, ``PUT``, ``DELETE`` or ``PATCH``.
            path: the API path (``"/verification/send"``): printable ASCII starting
                with ``/``, no query, fragment, spaces or ``.``/``..`` segments
                (percent-encode ids yourself).
            json: the JSON body (``None`` for no body). Values of its top-level
                ``code``, ``to`` and ``number`` members are treated as secrets.
            idempotent: see above.

        Returns:
            The envelope's ``data``, as plain JSON.

        Raises:
            ValidationError: a bad method, path or body (nothing is sent).
            APIError, HTTPStatusError, TransportError, DecodeError: as for every call.
        """
        upper = v.request_method("method", method, _METHODS)
        checked = v.request_path("path", path)
        secrets = Secrets()
        content = None if json is None else _encode_json(json, secrets)
        safe = _METHODS[upper] if idempotent is None else bool(idempotent)
        call: Call[Any] = Call(
            upper,
            checked,
            checked,
            CallKind.SAFE if safe else CallKind.UNSAFE,
            cast=_envelope.RAW_JSON,
            content=content,
            secrets=secrets,
        )
        return await self._port.request(call)

    # -- what a client shows -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The base URL every API path is appended to."""
        return self._shared.base_url

    @property
    def api_key(self) -> str:
        """The API key (the secret is not readable back)."""
        return self._auth.api_key

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
        """The backoff settings in force (``max_retries`` applied)."""
        return self._options.policy

    @property
    def default_headers(self) -> dict[str, str]:
        """The extra headers sent with every request."""
        return dict(self._options.default_headers)

    @property
    def max_response_size(self) -> int:
        """The largest response body accepted, in bytes."""
        return self._shared.max_response_size

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock when signing (learned from ``-16`` answers)."""
        return self._auth.clock.offset

    def __repr__(self) -> str:
        if not hasattr(self, "_shared"):  # __init__ failed: a traceback may still show it
            return "<AsyncItnio (not configured)>"
        state = " closed" if self.is_closed else ""
        key = _shown_key(self._auth.api_key)
        return f"<AsyncItnio base_url={self._shared.base_url!r} api_key={key!r}{state}>"

    # -- ITNIO's part of the request path -------------------------------------------------

    def _parse(self, answer: Answer, call: Call[Any]) -> Any:
        url = self._shared.base_url + call.path
        hint = self._not_found_hint(call) if answer.status == 404 else ""
        try:
            return _envelope.parse(answer, call, url=url, now=self._auth.clock.now, hint=hint)
        except AuthenticationError as error:
            error.args = (f"{error.args[0]}. {self._auth_advice()}",)
            raise

    def _not_found_hint(self, call: Call[Any]) -> str:
        """Advice for an HTTP 404, when a wrong ``base_url`` prefix is its likely cause:
        ``base_url`` does not end with ``/otp``, or the path has no id that could be wrong."""
        if self._shared.target.endswith(b"/otp") and "{" in call.route:
            return ""
        return "check that base_url ends with the API prefix (for example /otp)"

    def _auth_advice(self) -> str:
        """What an authentication error should tell a person: which key, from where."""
        return (
            f"The API rejected api_key {_shown_key(self._auth.api_key)!r} ({self._sources}): "
            "check that the key and secret are this account's, copied whole (no stray "
            "characters), and that they are meant for this base_url"
        )

    def _recover(self, error: ItnioError, answer: Answer) -> bool:
        """On ``-16``, learn the server's clock from ``Date`` and retry once at once."""
        if not isinstance(error, TimestampExpiredError):
            return False
        server = parse_http_date(answer.header(b"date"))
        if server is None:
            return False
        clock = self._auth.clock
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

    def _clock_now(self) -> float:
        return self._auth.clock.now()


def _shown_key(key: str) -> str:
    """The API key as reprs and messages show it: its first four characters."""
    return key[:4] + "…" if len(key) > 4 else "…"


def _encode_json(value: Any, secrets: Secrets) -> bytes:
    """``value`` as a JSON body; its top-level code and numbers join ``secrets``.

    Raises:
        ValidationError: it is not JSON-serialisable (or holds a lone surrogate).
    """
    if isinstance(value, Mapping):
        for name, is_phone in _SECRET_MEMBERS.items():
            secrets.add(value.get(name), phone=is_phone)
    try:
        return _json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, ValueError, RecursionError, UnicodeEncodeError):
        raise ValidationError(
            "json", "JSON-serialisable data (dicts, lists, str, numbers, bools, None)", "<not JSON>"
        ) from None


def _configure(
    api_key: str | None,
    api_secret: str | None,
    *,
    base_url: str | httpx.URL | None,
    http_client: httpx.AsyncClient | None,
    transport: httpx.AsyncBaseTransport | None,
    proxy: str | httpx.Proxy | None,
    ssl_context: ssl.SSLContext | None,
    max_response_size: int,
    allow_insecure_http: bool | None,
    clock: Callable[[], float] | None,
) -> tuple[Shared, ItnioAuth]:
    """The state a client family shares (and its signer), from ``AsyncItnio``'s
    arguments, checked.

    Raises:
        ItnioError: saying which argument is wrong (never showing a secret).
    """
    _check_engine(http_client, transport, proxy, ssl_context, max_response_size)
    url = check_base_url(
        str(base_url or os.environ.get("ITNIO_BASE_URL") or DEFAULT_BASE_URL),
        allow_insecure_http=insecure_http_opt_in(allow_insecure_http),
    )
    route_proxy = None
    if http_client is None and transport is None:
        try:
            route_proxy = proxy_for(url, proxy, os.environ)
        except ValueError as exc:
            raise ItnioError(f"proxy: {exc}") from None
    # Last: once they are held here, nothing else can fail.
    key, secret = _credentials(api_key, api_secret)
    parsed = httpx.URL(url)
    scheme = parsed.scheme
    auth = ItnioAuth(key, secret, Clock(clock))
    shared = Shared(
        signer=auth,
        base_url=url,
        origin=(scheme, parsed.host, parsed.port or (443 if scheme == "https" else 80)),
        target=parsed.raw_path.rstrip(b"/"),
        host=b"Host: %s\r\n" % parsed.netloc,
        headers=_BASE_HEADERS,
        transport=transport,
        user_http=http_client,
        proxy=route_proxy,
        ssl_context=ssl_context,
        max_response_size=max_response_size,
    )
    return shared, auth


def _credential_sources(api_key: str | None, api_secret: str | None) -> str:
    """Where the credentials were read from, in words."""
    key = (
        "the api_key argument" if api_key is not None else "the ITNIO_API_KEY environment variable"
    )
    secret = (
        "the api_secret argument"
        if api_secret is not None
        else "the ITNIO_API_SECRET environment variable"
    )
    return f"key from {key}, secret from {secret}"


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
    if http_client is not None and not _client_verifies(http_client):
        raise ItnioError(
            "http_client does not verify TLS certificates and host names (verify=False?): "
            "TLS verification stays on; give it an SSL context that verifies (for a "
            "private CA: verify=ssl.create_default_context(cafile=...))"
        )
    if ssl_context is not None:
        _check_ssl_context(ssl_context)
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise ItnioError(f"max_response_size must be a positive number of bytes, got {max_size!r}")


def _client_verifies(http_client: httpx.AsyncClient) -> bool:
    """Whether every httpx transport of ``http_client`` that carries TLS verifies it.

    httpx keeps a transport's SSL context in its connection pool; a transport that is
    not httpx's own (a mock, a custom one) is the user's business and passes.
    """
    transports = [getattr(http_client, "_transport", None)]
    transports += list(getattr(http_client, "_mounts", {}).values())
    for transport in transports:
        pool = (
            getattr(transport, "_pool", None)
            if isinstance(transport, httpx.AsyncHTTPTransport)
            else None
        )
        context = getattr(pool, "_ssl_context", None)
        if context is not None and not _verifying(context):
            return False
    return True


def _verifying(context: Any) -> bool:
    import ssl

    return bool(context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname)


def _check_ssl_context(context: object) -> None:
    import ssl

    if not isinstance(context, ssl.SSLContext):
        raise ItnioError("ssl_context must be an ssl.SSLContext")
    if not _verifying(context):
        raise ItnioError(
            "ssl_context must verify certificates and host names "
            "(verify_mode=CERT_REQUIRED, check_hostname=True): TLS verification stays on"
        )
