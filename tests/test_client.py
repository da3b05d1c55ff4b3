"""AsyncItnio: configuration, timeouts on the wire, pool lifecycle, derived clients, secrecy."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    HTTPStatusError,
    ItnioError,
    RetryPolicy,
    ValidationError,
    make_sign,
)
from itnio_async._routes import Network

from .conftest import API_KEY, API_SECRET, BASE_URL, FIXED_SIGN, FIXED_TIME, envelope

FLOW = {"flowId": 1, "name": "name", "flow": []}
ENV_VARS = ("ITNIO_API_KEY", "ITNIO_API_SECRET", "ITNIO_BASE_URL")


class Recorder:
    """A MockTransport handler that records requests (and their timeouts) and answers a Flow."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.timeouts: list[dict[str, float | None]] = []
        self._respond = respond

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.timeouts.append(dict(request.extensions["timeout"]))
        if self._respond is not None:
            return self._respond(request)
        return httpx.Response(200, json=envelope(FLOW))


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ITNIO_* variable from the developer's shell leaks into these tests."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def new(handler: Any = None, **options: Any) -> AsyncItnio:
    """A client with the vendor credentials, a frozen clock and a mock transport."""
    options.setdefault("clock", lambda: FIXED_TIME)
    options.setdefault("base_url", BASE_URL)
    if "http_client" not in options:
        options.setdefault("transport", httpx.MockTransport(handler or Recorder()))
    return AsyncItnio(API_KEY, API_SECRET, **options)


def sdk_pool(client: AsyncItnio) -> Network:
    """The client's way to the network (made by its first call)."""
    network = client._shared.network
    assert network is not None
    return network


# -- credentials and configuration ----------------------------------------------------------


async def test_credentials_from_arguments() -> None:
    """Explicit api_key/api_secret sign the request."""
    recorder = Recorder()
    async with new(recorder) as client:
        await client.flows.get(1)
    assert client.api_key == API_KEY
    assert recorder.requests[0].headers["Sign"] == FIXED_SIGN


async def test_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ITNIO_API_KEY / ITNIO_API_SECRET are used when no arguments are given."""
    monkeypatch.setenv("ITNIO_API_KEY", API_KEY)
    monkeypatch.setenv("ITNIO_API_SECRET", API_SECRET)
    recorder = Recorder()
    client = AsyncItnio(
        base_url=BASE_URL, transport=httpx.MockTransport(recorder), clock=lambda: FIXED_TIME
    )
    async with client:
        await client.flows.get(1)
    assert client.api_key == API_KEY
    assert recorder.requests[0].headers["Api-Key"] == API_KEY
    assert recorder.requests[0].headers["Sign"] == FIXED_SIGN


async def test_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Explicit credentials take precedence over the environment variables."""
    monkeypatch.setenv("ITNIO_API_KEY", "env-key")
    monkeypatch.setenv("ITNIO_API_SECRET", "env-secret")
    recorder = Recorder()
    async with new(recorder) as client:
        await client.flows.get(1)
    assert recorder.requests[0].headers["Api-Key"] == API_KEY
    assert recorder.requests[0].headers["Sign"] == FIXED_SIGN


@pytest.mark.parametrize(
    ("env", "args", "missing"),
    [
        ({}, {}, "ITNIO_API_KEY"),
        ({"ITNIO_API_SECRET": API_SECRET}, {}, "ITNIO_API_KEY"),
        ({"ITNIO_API_KEY": API_KEY}, {}, "ITNIO_API_SECRET"),
        ({}, {"api_key": API_KEY}, "ITNIO_API_SECRET"),
        ({}, {"api_secret": API_SECRET}, "ITNIO_API_KEY"),
        ({"ITNIO_API_KEY": ""}, {"api_secret": API_SECRET}, "ITNIO_API_KEY"),
        ({}, {"api_key": API_KEY, "api_secret": ""}, "ITNIO_API_SECRET"),
    ],
)
def test_missing_credentials_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: dict[str, Any], missing: str
) -> None:
    """A missing key or secret raises ItnioError naming the variable to set."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ItnioError, match=missing) as info:
        AsyncItnio(**args)
    assert API_SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://api.itniotech.com/otp", "https://api.itniotech.com/otp/flow/details/1"),
        ("https://api.itniotech.com/otp/", "https://api.itniotech.com/otp/flow/details/1"),
        ("https://api.itniotech.com/otp//", "https://api.itniotech.com/otp/flow/details/1"),
        ("http://127.0.0.1:8080/otp", "http://127.0.0.1:8080/otp/flow/details/1"),
        (httpx.URL("https://proxy.example/v1/otp/"), "https://proxy.example/v1/otp/flow/details/1"),
    ],
)
async def test_base_url_argument(base_url: Any, expected: str) -> None:
    """Paths are appended to base_url, a trailing slash or not."""
    recorder = Recorder()
    async with new(recorder, base_url=base_url) as client:
        await client.flows.get(1)
    assert str(recorder.requests[0].url) == expected
    assert client.base_url == expected.removesuffix("/flow/details/1")


async def test_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """ITNIO_BASE_URL is used when base_url is not given."""
    monkeypatch.setenv("ITNIO_BASE_URL", "http://127.0.0.1:9/otp/")
    recorder = Recorder()
    client = AsyncItnio(
        API_KEY, API_SECRET, transport=httpx.MockTransport(recorder), clock=lambda: FIXED_TIME
    )
    async with client:
        await client.flows.get(1)
    assert str(recorder.requests[0].url) == "http://127.0.0.1:9/otp/flow/details/1"


async def test_default_base_url() -> None:
    """Without argument or variable, the documented production base URL is used."""
    recorder = Recorder()
    client = AsyncItnio(
        API_KEY, API_SECRET, transport=httpx.MockTransport(recorder), clock=lambda: FIXED_TIME
    )
    async with client:
        await client.flows.get(1)
    assert str(recorder.requests[0].url) == "https://api.itniotech.com/otp/flow/details/1"


async def test_base_url_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit base_url beats ITNIO_BASE_URL."""
    monkeypatch.setenv("ITNIO_BASE_URL", "http://127.0.0.1:9/otp")
    recorder = Recorder()
    async with new(recorder, base_url="https://other.example/otp") as client:
        await client.flows.get(1)
    assert recorder.requests[0].url.host == "other.example"


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": "ftp://api.itniotech.com/otp"},
        {"base_url": "api.itniotech.com/otp"},
        {"base_url": "https://"},
        {"base_url": "not a url"},
        {"timeout": 0},
        {"timeout": -1.0},
        {"timeout": "10"},
        {"timeout": True},
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": "2"},
        {"max_retries": True},
    ],
    ids=repr,
)
def test_invalid_options_raise_itnio_error(options: dict[str, Any]) -> None:
    """Invalid base_url, timeout or max_retries raise ItnioError at construction."""
    with pytest.raises(ItnioError):
        AsyncItnio(API_KEY, API_SECRET, **options)


def test_invalid_env_base_url_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid ITNIO_BASE_URL is reported like an invalid argument."""
    monkeypatch.setenv("ITNIO_BASE_URL", "ftp://x/otp")
    with pytest.raises(ItnioError, match="base_url"):
        AsyncItnio(API_KEY, API_SECRET)


def test_http_client_must_be_async_client() -> None:
    """A sync httpx.Client is refused as http_client."""
    with httpx.Client() as sync_client, pytest.raises(ItnioError):
        AsyncItnio(API_KEY, API_SECRET, http_client=sync_client)  # type: ignore[arg-type]


# -- timeouts reach the transport ------------------------------------------------------------


async def test_default_timeout_reaches_transport() -> None:
    """The default is 10 s read/write/pool and 5 s connect, on the actual request."""
    recorder = Recorder()
    async with new(recorder) as client:
        await client.flows.get(1)
    assert recorder.timeouts == [{"connect": 5.0, "read": 10.0, "write": 10.0, "pool": 10.0}]


async def test_float_timeout_reaches_transport() -> None:
    """A float timeout applies to every phase of the request."""
    recorder = Recorder()
    async with new(recorder, timeout=2.5) as client:
        await client.flows.get(1)
    assert recorder.timeouts == [{"connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}]


async def test_httpx_timeout_reaches_transport() -> None:
    """An httpx.Timeout is used phase by phase."""
    recorder = Recorder()
    timeout = httpx.Timeout(7.0, connect=1.0, read=3.0, pool=0.5)
    async with new(recorder, timeout=timeout) as client:
        await client.flows.get(1)
    assert recorder.timeouts == [{"connect": 1.0, "read": 3.0, "write": 7.0, "pool": 0.5}]
    assert client.timeout == timeout


async def test_timeout_reaches_user_http_client() -> None:
    """The SDK's timeout also applies to requests sent through a user's http_client."""
    recorder = Recorder()
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(recorder), timeout=60) as http,
        new(http_client=http, timeout=4.0) as client,
    ):
        await client.flows.get(1)
    assert recorder.timeouts == [{"connect": 4.0, "read": 4.0, "write": 4.0, "pool": 4.0}]


# -- pool lifecycle -------------------------------------------------------------------------


def test_construction_creates_no_pool() -> None:
    """Constructing a client outside any event loop creates no httpx.AsyncClient."""
    client = new()
    assert client._shared.network is None
    assert not client.is_closed


async def test_pool_created_lazily_on_first_call() -> None:
    """The pool appears on the first call and is reused by the next ones."""
    client = new()
    assert client._shared.network is None
    try:
        await client.flows.get(1)
        pool = sdk_pool(client)
        assert isinstance(pool, Network)
        await client.flows.get(1)
        assert sdk_pool(client) is pool
    finally:
        await client.aclose()


async def test_async_with_closes_sdk_pool() -> None:
    """Leaving ``async with`` closes the pool the SDK created."""
    async with new() as client:
        await client.flows.get(1)
        pool = sdk_pool(client)
        assert pool is not None
        assert not pool.closed
    assert pool.closed
    assert client.is_closed


async def test_aclose_twice_is_safe() -> None:
    """aclose() closes the pool and a second aclose() is a no-op."""
    client = new()
    await client.flows.get(1)
    pool = sdk_pool(client)
    assert pool is not None
    await client.aclose()
    assert pool.closed
    await client.aclose()
    assert client.is_closed


async def test_aclose_without_any_call() -> None:
    """Closing a client that never made a call works and creates nothing."""
    client = new()
    await client.aclose()
    assert client._shared.network is None
    assert client.is_closed


async def test_user_http_client_is_used_and_never_closed() -> None:
    """A user's http_client carries the calls and stays open after aclose()/async with."""
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        client = new(http_client=http)
        async with client:
            await client.flows.get(1)
        await client.aclose()
        assert len(recorder.requests) == 1
        assert client._shared.network is None
        assert not http.is_closed
        # Still usable by its owner.
        response = await http.get("https://example.invalid/")
        assert response.status_code == 200
    assert http.is_closed


CALLS: list[tuple[str, Callable[[AsyncItnio], Awaitable[Any]]]] = [
    ("flows.get", lambda c: c.flows.get(1)),
    ("flows.list", lambda c: c.flows.list()),
    ("templates.get", lambda c: c.templates.get(455)),
    ("apps.get", lambda c: c.apps.get("mRELxtHc")),
    ("records.get", lambda c: c.records.get("22206051443051000003")),
    ("verifications.verify", lambda c: c.verifications.verify("22206051443051000003", "5863")),
]


@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[n for n, _ in CALLS])
async def test_closed_client_refuses_calls(call: Callable[[AsyncItnio], Awaitable[Any]]) -> None:
    """After aclose(), every call raises ItnioError and nothing is sent."""
    recorder = Recorder()
    client = new(recorder)
    await client.aclose()
    with pytest.raises(ItnioError, match="closed") as info:
        await call(client)
    assert not isinstance(info.value, ValidationError)
    assert recorder.requests == []


async def test_closed_client_refuses_with_options() -> None:
    """A closed client cannot be derived from."""
    client = new()
    await client.aclose()
    with pytest.raises(ItnioError, match="closed"):
        client.with_options(timeout=1.0)


# -- with_options -----------------------------------------------------------------------------


async def test_with_options_shares_pool_credentials_and_clock() -> None:
    """A derived client uses the same pool, signs with the same key/secret and clock."""
    now = [float(FIXED_TIME)]
    recorder = Recorder()
    client = new(recorder, clock=lambda: now[0])
    derived = client.with_options(timeout=3.0)
    try:
        await client.flows.get(1)
        now[0] += 5
        await derived.flows.get(1)
        assert derived._shared.network is client._shared.network
        assert client._shared.network is not None
    finally:
        await client.aclose()
    first, second = recorder.requests
    assert first.headers["Sign"] == FIXED_SIGN
    assert second.headers["Api-Key"] == API_KEY
    assert second.headers["Timestamp"] == str(FIXED_TIME + 5)
    assert second.headers["Sign"] == make_sign(API_KEY, API_SECRET, str(FIXED_TIME + 5))


async def test_with_options_timeout_takes_effect() -> None:
    """The derived client's timeout reaches its requests; the original's is unchanged."""
    recorder = Recorder()
    async with new(recorder) as client:
        derived = client.with_options(timeout=httpx.Timeout(1.5, connect=0.5))
        await derived.flows.get(1)
        await client.flows.get(1)
    assert recorder.timeouts == [
        {"connect": 0.5, "read": 1.5, "write": 1.5, "pool": 1.5},
        {"connect": 5.0, "read": 10.0, "write": 10.0, "pool": 10.0},
    ]
    assert derived.timeout == httpx.Timeout(1.5, connect=0.5)


async def test_with_options_max_retries_takes_effect(no_retry_sleep: Any) -> None:
    """max_retries on a derived client changes how many attempts a failing call makes."""
    recorder = Recorder(lambda _: httpx.Response(503))
    async with new(recorder, retry_policy=no_retry_sleep, max_retries=0) as client:
        with pytest.raises(ItnioError):
            await client.flows.get(1)
        assert len(recorder.requests) == 1
        derived = client.with_options(max_retries=2)
        assert derived.max_retries == 2
        assert client.max_retries == 0
        with pytest.raises(ItnioError):
            await derived.flows.get(1)
        assert len(recorder.requests) == 4


def test_with_options_validates() -> None:
    """Invalid options on with_options raise ItnioError like the constructor."""
    client = new()
    with pytest.raises(ItnioError):
        client.with_options(max_retries=-1)
    with pytest.raises(ItnioError):
        client.with_options(timeout=0)


async def test_with_options_shares_learned_clock_offset() -> None:
    """A clock offset learned by a derived client (-16 + Date) is used by the original."""
    server_now = datetime.fromtimestamp(FIXED_TIME + 100, tz=UTC)
    answers = iter(
        [
            httpx.Response(
                200,
                json=envelope(status="-16", reason="Timestamp expires"),
                headers={"Date": format_datetime(server_now, usegmt=True)},
            ),
            httpx.Response(200, json=envelope(FLOW)),
            httpx.Response(200, json=envelope(FLOW)),
        ]
    )
    stamps: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        stamps.append(request.headers["Timestamp"])
        return next(answers)

    async with new(Recorder(respond)) as client:
        derived = client.with_options(max_retries=0)
        await derived.flows.get(1)
        await client.flows.get(1)
        assert client.clock_offset == pytest.approx(100.0)
    assert stamps == [str(FIXED_TIME), str(FIXED_TIME + 100), str(FIXED_TIME + 100)]


async def test_closing_derived_leaves_original_usable() -> None:
    """aclose() on a derived client closes only it; the shared pool stays open."""
    recorder = Recorder()
    async with new(recorder) as client:
        derived = client.with_options(max_retries=1)
        await derived.flows.get(1)
        await derived.aclose()
        assert derived.is_closed
        with pytest.raises(ItnioError, match="closed"):
            await derived.flows.get(1)
        pool = sdk_pool(client)
        assert pool is not None
        assert not pool.closed
        await client.flows.get(1)
        assert not client.is_closed
    assert len(recorder.requests) == 2


async def test_closing_original_closes_derived() -> None:
    """aclose() on the original closes the pool; the derived client then refuses calls."""
    recorder = Recorder()
    client = new(recorder)
    derived = client.with_options(timeout=1.0)
    await derived.flows.get(1)
    pool = sdk_pool(client)
    await client.aclose()
    assert pool is not None
    assert pool.closed
    assert derived.is_closed
    with pytest.raises(ItnioError, match="closed"):
        await derived.flows.get(1)
    assert len(recorder.requests) == 1


# -- secrecy ----------------------------------------------------------------------------------


def test_client_repr_hides_secret() -> None:
    """repr/str of the client show neither the secret nor a Sign."""
    client = new()
    for text in (repr(client), str(client), repr(client.with_options(timeout=1.0))):
        assert API_SECRET not in text
        assert FIXED_SIGN not in text
    assert BASE_URL in repr(client)


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


FAILURES: list[tuple[str, Callable[[httpx.Request], httpx.Response]]] = [
    ("auth -1", lambda _: httpx.Response(200, json=envelope(status="-1", reason="Auth error"))),
    ("timestamp -16", lambda _: httpx.Response(200, json=envelope(status="-16", reason="exp"))),
    ("param -22", lambda _: httpx.Response(200, json=envelope(status="-22", reason="bad"))),
    ("http 500", lambda _: httpx.Response(500, json=envelope(status="-18", reason="x"))),
    ("http 401 html", lambda _: httpx.Response(401, content=b"<html>denied</html>")),
    ("decode", lambda _: httpx.Response(200, content=b"<html>oops</html>")),
    ("bad data", lambda _: httpx.Response(200, json=envelope({"flowId": "x"}))),
    ("connect", _raise(httpx.ConnectError("refused"))),
    ("read timeout", _raise(httpx.ReadTimeout("slow"))),
    ("protocol", _raise(httpx.RemoteProtocolError("peer closed"))),
]


@pytest.mark.parametrize("handler", [f for _, f in FAILURES], ids=[n for n, _ in FAILURES])
async def test_errors_never_show_secret_or_sign(
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    """No error raised by a call contains the secret or the Sign in str() or repr()."""
    async with new(handler, max_retries=0) as client:
        with pytest.raises(ItnioError) as info:
            await client.flows.get(1)
    error: BaseException | None = info.value
    while error is not None:  # the whole chain, including wrapped httpx/cattrs errors
        for text in (
            str(error),
            repr(error),
            repr(vars(error)) if hasattr(error, "__dict__") else "",
        ):
            assert API_SECRET not in text
            assert FIXED_SIGN not in text
        error = error.__cause__


async def test_validation_errors_never_show_secret() -> None:
    """A ValidationError raised before sending carries no credentials."""
    async with new(max_retries=0) as client:
        with pytest.raises(ValidationError) as info:
            await client.apps.get("x")
    assert API_SECRET not in repr(info.value)
    assert FIXED_SIGN not in str(info.value)


async def test_redirects_are_never_followed_even_by_a_users_client() -> None:
    """A 3xx is an HTTPStatusError; Api-Key and Sign never travel to the Location's host."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "evil.example":
            return httpx.Response(200, json=envelope(FLOW))
        return httpx.Response(302, headers={"Location": "https://evil.example/otp/flow/details/1"})

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as http:
        client = new(http_client=http, max_retries=0)
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)
    assert info.value.status_code == 302
    assert [r.url.host for r in seen] == ["api.itniotech.com"]


async def test_default_max_retries_is_two_and_defers_to_a_retry_policy() -> None:
    """max_retries defaults to 2; left at it, a RetryPolicy's count applies; given, it wins."""
    assert inspect.signature(AsyncItnio).parameters["max_retries"].default == 2
    assert new().max_retries == 2
    assert new(retry_policy=RetryPolicy(max_retries=5)).max_retries == 5
    assert new(retry_policy=RetryPolicy(max_retries=5), max_retries=2).max_retries == 2
    assert new(retry_policy=RetryPolicy(max_retries=5), max_retries=0).max_retries == 0


async def test_a_users_client_default_headers_are_sent_alongside_ours() -> None:
    """A user's http_client adds its default headers (a proxy's, tracing); ours still win."""
    recorder = Recorder()
    async with (
        httpx.AsyncClient(
            transport=httpx.MockTransport(recorder),
            headers={"X-Trace": "abc", "Content-Type": "text/plain", "Sign": "forged"},
        ) as http,
        new(http_client=http) as client,
    ):
        await client.flows.get(1)
    sent = recorder.requests[0].headers
    assert sent["X-Trace"] == "abc"
    assert sent["Content-Type"] == "application/json;charset=UTF-8"
    assert sent["Sign"] == FIXED_SIGN
