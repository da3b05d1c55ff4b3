"""AsyncItnio: configuration, timeouts on the wire, pool lifecycle, derived clients, secrecy.

Bad configuration is refused when the client is made, not when a call fails:
credentials must be non-empty printable ASCII without whitespace (a secret read from
a file keeps its trailing newline), and the error names which one is wrong and how,
never its value; ``base_url`` may carry no user name or password (never shown), no
query and no fragment; plain ``http://`` is for loopback hosts unless the user opts
in (``allow_insecure_http=True`` or ``ITNIO_ALLOW_INSECURE_HTTP``); surrounding
spaces are stripped; an ``ssl_context`` must verify. The pure checks behind these
are tested in ``test_validation.py``.
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
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
#: A well-formed secret other than the vendor's example one.
GOOD_SECRET = "Sx9-secret-QpL7w2"
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


BAD_VALUES: dict[str, tuple[str, str]] = {
    "trailing-lf": ("Zq7-Hk2mPw\n", "trailing newline"),
    "trailing-crlf": ("Zq7-Hk2mPw\r\n", "trailing newline"),
    "trailing-cr": ("Zq7-Hk2mPw\r", "trailing newline"),
    "trailing-space": ("Zq7-Hk2mPw ", "trailing whitespace"),
    "leading-space": (" Zq7-Hk2mPw", "leading whitespace"),
    "inner-lf": ("Zq7\nHk2mPw", "whitespace at position 3"),
    "inner-crlf": ("Zq7\r\nHk2mPw", "whitespace at position 3"),
    "inner-space": ("Zq7 Hk2mPw", "whitespace at position 3"),
    "inner-tab": ("Zq7\tHk2mPw", "whitespace at position 3"),
    "non-ascii-letter": ("Zq7-Hk2mPé", "non-ASCII character at position 9"),
    "zero-width-space": ("Zq7-Hk2mPw\u200b", "non-ASCII character at position 10"),
    "nul": ("Zq7\x00Hk2mPw", "control character at position 3"),
    "del": ("Zq7\x7fHk2mPw", "control character at position 3"),
    "blank": (" ", "blank"),
}


@pytest.mark.parametrize("which", ["api_key", "api_secret"])
@pytest.mark.parametrize(("value", "problem"), BAD_VALUES.values(), ids=list(BAD_VALUES))
def test_malformed_credentials_are_refused_at_construction(
    which: str, value: str, problem: str
) -> None:
    """A key or secret that is not printable ASCII without whitespace raises ItnioError when
    the client is made, naming which one and what is wrong, never the value."""
    credentials: dict[str, Any] = {"api_key": API_KEY, "api_secret": GOOD_SECRET, which: value}
    with pytest.raises(ItnioError) as info:
        AsyncItnio(**credentials, transport=httpx.MockTransport(Recorder()))
    error = info.value
    assert not isinstance(error, ValidationError)  # configuration, not a call's argument
    message = str(error)
    assert message.startswith(f"{which} ")
    assert problem in message
    other = "api_secret" if which == "api_key" else "api_key"
    assert other not in message
    for shown in (value, value.strip(), repr(value), "Zq7", "Hk2mPw", GOOD_SECRET):
        if shown.strip():  # a blank value cannot be looked for
            assert shown not in message, f"{shown!r} is shown"
            assert shown not in repr(error), f"{shown!r} is shown"


@pytest.mark.parametrize("variable", ["ITNIO_API_KEY", "ITNIO_API_SECRET"])
def test_credentials_from_a_secret_file_with_its_newline_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """A credential taken from the environment with the trailing newline of the file it was
    read from is refused at construction, naming the argument it stands for."""
    monkeypatch.setenv("ITNIO_API_KEY", API_KEY)
    monkeypatch.setenv("ITNIO_API_SECRET", GOOD_SECRET)
    monkeypatch.setenv(variable, (API_KEY if variable == "ITNIO_API_KEY" else GOOD_SECRET) + "\n")
    with pytest.raises(ItnioError, match="has a trailing newline") as info:
        AsyncItnio()
    name = "api_key" if variable == "ITNIO_API_KEY" else "api_secret"
    assert str(info.value).startswith(f"{name} has a trailing newline")
    assert GOOD_SECRET not in str(info.value)


async def test_good_credentials_are_sent_unchanged() -> None:
    """Well-formed credentials pass untouched: the key goes out as given."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Api-Key"])
        return httpx.Response(200, json=envelope(FLOW))

    async with AsyncItnio(
        "k-Az09~!", "s#$%&'*+", transport=httpx.MockTransport(handler), clock=lambda: FIXED_TIME
    ) as client:
        await client.flows.get(1)
    assert seen == ["k-Az09~!"]


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
        {"timeout": -1.0},
        {"timeout": "10"},
        {"timeout": True},
        {"max_retries": 1.5},
        {"max_retries": "2"},
    ],
    ids=repr,
)
def test_invalid_options_raise_itnio_error(options: dict[str, Any]) -> None:
    """Invalid base_url, timeout or max_retries raise ItnioError at construction (the
    message of each is checked by test_invalid_options_are_refused_saying_what_is_wrong,
    which also covers timeout=0, max_retries=-1 and max_retries=True)."""
    with pytest.raises(ItnioError):
        AsyncItnio(API_KEY, API_SECRET, **options)


def test_invalid_env_base_url_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid ITNIO_BASE_URL is reported like an invalid argument."""
    monkeypatch.setenv("ITNIO_BASE_URL", "ftp://x/otp")
    with pytest.raises(ItnioError, match="base_url"):
        AsyncItnio(API_KEY, API_SECRET)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_retries": -1}, "max_retries must be an int >= 0, got -1"),
        ({"max_retries": True}, "max_retries must be an int >= 0, got True"),
        (
            {"event_hooks": {"req": []}},
            "event_hooks takes 'request', 'response' and 'call' lists, got ['req']",
        ),
        (
            {"event_hooks": {"request": [print, 1]}},
            "event_hooks['request'] must be a list of callables",
        ),
        (
            {"event_hooks": {"response": "print"}},
            "event_hooks['response'] must be a list of callables",
        ),
        (
            {"deadline": -1},
            "deadline must be a positive number of seconds or None, got -1",
        ),
        (
            {"timeout": 0},
            "timeout must be a positive number of seconds, an httpx.Timeout or None, got 0",
        ),
    ],
)
def test_invalid_options_are_refused_saying_what_is_wrong(
    options: dict[str, Any], message: str
) -> None:
    """Each invalid option is refused at construction (and by with_options) with a message
    naming it and the value given."""
    with pytest.raises(ItnioError) as info:
        AsyncItnio(API_KEY, API_SECRET, **options)
    assert str(info.value) == message
    client = AsyncItnio(API_KEY, API_SECRET)
    with pytest.raises(ItnioError) as again:
        client.with_options(**options)
    assert str(again.value) == message


def test_http_client_must_be_async_client() -> None:
    """A sync httpx.Client is refused as http_client."""
    with httpx.Client() as sync_client, pytest.raises(ItnioError):
        AsyncItnio(API_KEY, API_SECRET, http_client=sync_client)  # type: ignore[arg-type]


# -- base_url: refused at construction, plain http:// only to loopback ------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2-pw@api.itniotech.com/otp",
        "https://:hunter2-pw@api.itniotech.com/otp",
        "https://hunter2-pw@api.itniotech.com/otp",
        "http://admin:hunter2-pw@127.0.0.1:8080/otp",
    ],
)
def test_a_base_url_with_a_password_is_refused_without_showing_it(url: str) -> None:
    """User info in base_url is refused at construction and the message masks it."""
    with pytest.raises(ItnioError, match="user name or password") as info:
        AsyncItnio(API_KEY, API_SECRET, base_url=url)
    assert "hunter2-pw" not in str(info.value)
    assert "hunter2-pw" not in repr(info.value)


def test_a_password_in_the_environment_base_url_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ITNIO_BASE_URL gets the same check as the argument."""
    monkeypatch.setenv("ITNIO_BASE_URL", "https://user:hunter2-pw@api.itniotech.com/otp")
    with pytest.raises(ItnioError, match="user name or password") as info:
        AsyncItnio(API_KEY, API_SECRET)
    assert "hunter2-pw" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("https://api.itniotech.com/otp?x=1", "query"),
        ("https://api.itniotech.com/otp?", "query"),
        ("https://api.itniotech.com/otp#f", "fragment"),
        ("https://api.itniotech.com/otp/#", "fragment"),
    ],
)
def test_a_base_url_with_a_query_or_fragment_is_refused(url: str, part: str) -> None:
    """A query or fragment would misroute every call: refused at construction."""
    with pytest.raises(ItnioError, match=part):
        AsyncItnio(API_KEY, API_SECRET, base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.itniotech.com/otp",
        "http://10.0.0.5:8080/otp",
        "http://sandbox:8080/otp",
        "http://127.0.0.1.nip.io/otp",
        "http://[::2]/otp",
    ],
)
def test_plain_http_to_a_remote_host_is_refused_unless_allowed(url: str) -> None:
    """Plain http:// to a host that is not loopback is refused; allow_insecure_http=True
    lets it through, and calls then go there."""
    with pytest.raises(ItnioError, match="allow_insecure_http=True"):
        AsyncItnio(API_KEY, API_SECRET, base_url=url)
    client = AsyncItnio(API_KEY, API_SECRET, base_url=url, allow_insecure_http=True)
    assert client.base_url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/otp",
        "http://localhost/otp",
        "http://[::1]:9/otp",
        "http://127.9.9.9/otp",
    ],
)
async def test_plain_http_to_loopback_needs_no_opt_in(url: str) -> None:
    """A sandbox on this machine is reached over plain http:// without the opt-in."""
    recorder = Recorder()
    async with new(recorder, base_url=url) as client:
        await client.flows.get(1)
    assert [str(r.url) for r in recorder.requests] == [url + "/flow/details/1"]


async def test_an_opted_in_remote_http_base_url_is_used_as_given() -> None:
    """With allow_insecure_http=True the calls go to the plain-http host named."""
    url = "http://sandbox.internal:8080/otp"
    recorder = Recorder()
    async with new(recorder, base_url=url, allow_insecure_http=True) as client:
        await client.flows.get(1)
    assert [str(r.url) for r in recorder.requests] == [
        "http://sandbox.internal:8080/otp/flow/details/1"
    ]


@pytest.mark.parametrize("value", ["1", "true", "yes", "TRUE", " Yes "])
async def test_the_environment_alone_reaches_a_sandbox_container_by_service_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """An app configured only by ITNIO_* variables (ITNIO_ALLOW_INSECURE_HTTP=1/true/yes)
    reaches http://sandbox:8080/otp, a sandbox container named by its service."""
    monkeypatch.setenv("ITNIO_BASE_URL", "http://sandbox:8080/otp")
    monkeypatch.setenv("ITNIO_API_KEY", API_KEY)
    monkeypatch.setenv("ITNIO_API_SECRET", API_SECRET)
    monkeypatch.setenv("ITNIO_ALLOW_INSECURE_HTTP", value)
    recorder = Recorder()
    async with AsyncItnio(transport=httpx.MockTransport(recorder)) as client:
        assert client.base_url == "http://sandbox:8080/otp"
        await client.flows.get(1)
    assert [str(r.url) for r in recorder.requests] == ["http://sandbox:8080/otp/flow/details/1"]


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_insecure_http_variable_is_off(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """Unset or empty, ITNIO_ALLOW_INSECURE_HTTP leaves plain http:// to a remote host refused."""
    monkeypatch.setenv("ITNIO_ALLOW_INSECURE_HTTP", value)
    with pytest.raises(ItnioError, match="ITNIO_ALLOW_INSECURE_HTTP=1"):
        AsyncItnio(API_KEY, API_SECRET, base_url="http://sandbox:8080/otp")


@pytest.mark.parametrize("value", ["0", "false", "no", "on", "2", "y"])
def test_any_other_insecure_http_value_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A value that is not 1/true/yes is an ItnioError naming the variable and its values,
    even for an https:// base URL (a typo must not pass unnoticed)."""
    monkeypatch.setenv("ITNIO_ALLOW_INSECURE_HTTP", value)
    with pytest.raises(ItnioError) as info:
        AsyncItnio(API_KEY, API_SECRET)
    assert str(info.value) == (
        "ITNIO_ALLOW_INSECURE_HTTP must be 1, true or yes to allow plain http:// to a host "
        f"that is not loopback (or unset or empty not to), got {value!r}"
    )


def test_the_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """allow_insecure_http=False refuses even with ITNIO_ALLOW_INSECURE_HTTP=1, and an
    explicit True needs no (and ignores a wrong) variable."""
    monkeypatch.setenv("ITNIO_ALLOW_INSECURE_HTTP", "1")
    with pytest.raises(ItnioError, match="plain http://"):
        AsyncItnio(
            API_KEY, API_SECRET, base_url="http://sandbox:8080/otp", allow_insecure_http=False
        )
    monkeypatch.setenv("ITNIO_ALLOW_INSECURE_HTTP", "maybe")
    client = AsyncItnio(
        API_KEY, API_SECRET, base_url="http://sandbox:8080/otp", allow_insecure_http=True
    )
    assert client.base_url == "http://sandbox:8080/otp"


@pytest.mark.parametrize(
    "url",
    [
        "  https://api.example.com/otp  ",
        "\thttps://api.example.com/otp/\n",
        " https://API.Example.COM/otp/ ",
    ],
)
async def test_spaces_around_base_url_are_stripped(url: str) -> None:
    """Surrounding whitespace (and a trailing slash) are dropped; calls reach the right URL."""
    recorder = Recorder()
    async with new(recorder, base_url=url) as client:
        assert client.base_url == "https://api.example.com/otp"
        assert "  " not in repr(client)
        await client.flows.get(1)
    assert [str(r.url) for r in recorder.requests] == ["https://api.example.com/otp/flow/details/1"]


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
    """repr/str of the client show its base URL and the start of the key, never the whole key,
    the secret or a Sign."""
    client = new()
    for text in (repr(client), str(client), repr(client.with_options(timeout=1.0))):
        assert API_SECRET not in text
        assert FIXED_SIGN not in text
        assert API_KEY not in text  # only its start
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


# -- with_options: one meaning per option, built through __init__ -----------------------------


def test_an_explicit_max_retries_survives_a_new_retry_policy() -> None:
    """max_retries given to the client wins over a retry_policy given to with_options."""
    client = new(max_retries=5)
    derived = client.with_options(retry_policy=RetryPolicy(base_delay=1.0))
    assert derived.max_retries == 5
    assert derived.retry_policy.base_delay == 1.0
    assert new(retry_policy=RetryPolicy(max_retries=4)).with_options(timeout=1.0).max_retries == 4


def test_with_options_none_means_what_it_means_in_the_constructor() -> None:
    """None: no timeout, no deadline, the default retry policy, no hooks, no headers."""
    client = new(
        timeout=3.0,
        deadline=9.0,
        retry_policy=RetryPolicy(base_delay=2.0),
        event_hooks={"request": [print]},
        default_headers={"X-Team": "otp"},
    )
    derived = client.with_options(
        timeout=None, deadline=None, retry_policy=None, event_hooks=None, default_headers=None
    )
    assert derived.timeout == httpx.Timeout(None)
    assert derived.deadline is None
    assert derived.retry_policy == RetryPolicy()
    assert derived._options.hooks is None
    assert derived.default_headers == {}
    kept = client.with_options()
    assert (kept.timeout, kept.deadline, kept.retry_policy) == (
        client.timeout,
        client.deadline,
        client.retry_policy,
    )
    assert kept._options.hooks == client._options.hooks
    assert kept.default_headers == {"X-Team": "otp"}


def test_with_options_is_built_by_the_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy goes through AsyncItnio.__init__ (one place checks every option)."""
    seen: list[dict[str, Any]] = []
    original = AsyncItnio.__init__

    def spy(self: AsyncItnio, *args: Any, **kwargs: Any) -> None:
        seen.append(kwargs)
        original(self, *args, **kwargs)

    client = new()
    monkeypatch.setattr(AsyncItnio, "__init__", spy)
    derived = client.with_options(deadline=5.0)
    assert seen[0]["deadline"] == 5.0
    assert seen[0]["_copy_of"] is client
    assert derived._shared is client._shared


# -- default_headers ----------------------------------------------------------------------------


async def test_default_headers_go_with_every_request_and_copies_may_change_them() -> None:
    """default_headers are sent on every attempt (User-Agent replaced, not doubled); a copy
    may set others without touching the original's."""
    recorder = Recorder()
    async with new(recorder, default_headers={"X-Team": "otp", "User-Agent": "shop/1"}) as client:
        await client.flows.get(1)
        await client.with_options(default_headers={"X-Team": "billing"}).flows.get(1)
        await client.flows.get(1)
    first, second, third = (r.headers for r in recorder.requests)
    assert first.get_list("User-Agent") == ["shop/1"]
    assert first["X-Team"] == "otp"
    assert second["X-Team"] == "billing"
    assert second["User-Agent"].startswith("itnio-async/")
    assert third["X-Team"] == "otp"
    assert first["Sign"] == FIXED_SIGN


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Sign": "x"}, "'Sign' is set by the SDK itself"),
        ({"api-key": "x"}, "'api-key' is set by the SDK itself"),
        ({"Host": "x"}, "'Host' is set by the SDK itself"),
        ({"Bad Name": "x"}, "'Bad Name' is not a valid header name"),
        ({"X-A": "one\r\nSign: forged"}, "default_headers['X-A'] must be printable ASCII"),
        ({"X-A": "é"}, "default_headers['X-A'] must be printable ASCII"),
        ({"X-A": 1}, "default_headers['X-A'] must be printable ASCII"),
    ],
)
def test_default_headers_are_checked(headers: dict[str, Any], message: str) -> None:
    """A header the SDK sets, a bad name or a value that is not printable ASCII is refused."""
    with pytest.raises(ItnioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        new(default_headers=headers)


# -- client.request: the escape hatch --------------------------------------------------------


async def test_request_sends_a_signed_call_and_returns_data_as_json() -> None:
    """client.request sends exactly the method, path, signed headers and JSON body asked
    for, checks the envelope and returns data as plain JSON."""
    recorder = Recorder(lambda r: httpx.Response(200, json=envelope({"a": [1, "b"]})))
    async with new(recorder) as client:
        data = await client.request("post", "/custom/thing", json={"x": 1, "name": "名"})
        assert await client.request("GET", "/custom/thing") == {"a": [1, "b"]}
    assert data == {"a": [1, "b"]}
    posted, got = recorder.requests
    assert (posted.method, posted.url.path) == ("POST", "/otp/custom/thing")
    assert posted.content == '{"x":1,"name":"名"}'.encode()
    assert posted.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert posted.headers["Sign"] == FIXED_SIGN
    assert (got.method, got.content) == ("GET", b"")
    assert "content-length" not in got.headers


async def test_request_raises_the_envelopes_error() -> None:
    """A status other than "0" raises its APIError, as every call does."""
    from itnio_async import InvalidParameterError

    recorder = Recorder(lambda r: httpx.Response(200, json={"status": "-22", "reason": "no"}))
    async with new(recorder) as client:
        with pytest.raises(InvalidParameterError) as info:
            await client.request("PUT", "/app/update/x", json={})
    assert (info.value.method, info.value.path) == ("PUT", "/app/update/x")


@pytest.mark.parametrize(
    ("method", "idempotent", "attempts"),
    [
        ("GET", None, 3),
        ("PUT", None, 3),
        ("DELETE", None, 3),
        ("POST", None, 1),
        ("PATCH", None, 1),
        ("POST", True, 3),
        ("GET", False, 1),
    ],
)
async def test_request_retries_by_idempotency(
    method: str, idempotent: bool | None, attempts: int, no_retry_sleep: RetryPolicy
) -> None:
    """A 503: retried like a read when the call is idempotent (by default GET, PUT,
    DELETE), raised at once like a send otherwise (POST, PATCH), unless told."""
    recorder = Recorder(lambda r: httpx.Response(503))
    async with new(recorder, retry_policy=no_retry_sleep) as client:
        with pytest.raises(HTTPStatusError):
            await client.request(method, "/x", idempotent=idempotent)
    assert len(recorder.requests) == attempts


@pytest.mark.parametrize(
    ("method", "path", "json", "argument"),
    [
        ("TRACE", "/x", None, "method"),
        (1, "/x", None, "method"),
        ("GET", "x", None, "path"),
        ("GET", "/a b", None, "path"),
        ("GET", "/a?b=1", None, "path"),
        ("GET", "/a#b", None, "path"),
        ("GET", "/a/../b", None, "path"),
        ("GET", "/é", None, "path"),
        ("GET", "/" + "a" * 2048, None, "path"),
        ("POST", "/x", {"a": {1, 2}}, "json"),
        ("POST", "/x", {"a": "\ud800"}, "json"),
    ],
)
async def test_request_refuses_bad_input_before_sending(
    method: Any, path: str, json: Any, argument: str
) -> None:
    """A method, path or body that cannot be sent is a ValidationError; nothing leaves."""
    recorder = Recorder()
    async with new(recorder) as client:
        with pytest.raises(ValidationError) as info:
            await client.request(method, path, json=json)
    assert info.value.argument == argument
    assert info.value.sent is False
    assert recorder.requests == []


async def test_request_hides_a_code_and_a_number_it_sends() -> None:
    """The body's code and number never appear in the error of a call that echoes them."""
    code, number = "482913", "8613512345678"

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "-22", "reason": request.content.decode()})

    async with new(Recorder(echo)) as client:
        with pytest.raises(ItnioError) as info:
            await client.request("POST", "/x", json={"code": code, "to": number})
    assert code not in str(info.value)
    assert number not in str(info.value)


# -- lifecycle: pickling, weakened TLS, unclosed clients, ended loops ----------------------------


def test_a_client_refuses_to_be_pickled_or_copied() -> None:
    """pickle and copy raise ItnioError (the secret never reaches the bytes)."""
    import copy
    import pickle

    client = new()
    for attempt in (lambda: pickle.dumps(client), lambda: copy.copy(client)):
        with pytest.raises(ItnioError, match="cannot be pickled"):
            attempt()


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _no_hostname_check() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    return context


def _optional_verification() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


@pytest.mark.parametrize(
    "make",
    [
        _unverified,
        _no_hostname_check,
        _optional_verification,
        ssl._create_unverified_context,
        lambda: ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER),
    ],
    ids=["cert-none", "no-hostname-check", "cert-optional", "unverified-context", "server-side"],
)
def test_an_ssl_context_that_does_not_verify_is_refused(make: Any) -> None:
    """An ssl_context that skips certificate or host name checks is refused at construction."""
    with pytest.raises(ItnioError, match="verify certificates and host names"):
        AsyncItnio(API_KEY, API_SECRET, ssl_context=make())


@pytest.mark.parametrize("value", ["/etc/ssl/cert.pem", True, object()])
def test_an_ssl_context_of_another_type_is_refused(value: Any) -> None:
    """Only an ssl.SSLContext is accepted as ssl_context."""
    with pytest.raises(ItnioError, match=r"ssl\.SSLContext"):
        AsyncItnio(API_KEY, API_SECRET, ssl_context=value)


def test_a_verifying_ssl_context_is_accepted() -> None:
    """A default (verifying) context, e.g. one trusting a private CA, is accepted."""
    AsyncItnio(API_KEY, API_SECRET, ssl_context=ssl.create_default_context())
    AsyncItnio(API_KEY, API_SECRET, ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))


@pytest.mark.parametrize("mounted", [False, True])
async def test_a_users_client_that_does_not_verify_tls_is_refused(mounted: bool) -> None:
    """http_client=httpx.AsyncClient(verify=False) (or such a mounted transport) is refused
    like a weakened ssl_context; a verifying one is accepted."""
    weak = httpx.AsyncHTTPTransport(verify=False)
    if mounted:
        http = httpx.AsyncClient(mounts={"https://": weak})
    else:
        http = httpx.AsyncClient(verify=False)  # noqa: S501 - what is refused
    async with http, httpx.AsyncClient() as verifying:
        with pytest.raises(ItnioError, match="does not verify TLS"):
            AsyncItnio(API_KEY, API_SECRET, http_client=http)
        AsyncItnio(API_KEY, API_SECRET, http_client=verifying)
    await weak.aclose()


def test_a_client_used_across_asyncio_runs_leaves_no_socket_of_an_ended_loop() -> None:
    """Each asyncio.run opens connections for the client's calls; they are closed when that
    loop ends (no socket of an ended loop stays open, no ResourceWarning), and the next
    run's calls open new ones."""
    import asyncio
    import threading
    import warnings

    from itnio_async.testing import FakeItnio

    fake = FakeItnio()
    fake.seed()
    ready = threading.Event()
    stop = threading.Event()
    where: list[str] = []

    def serve() -> None:
        async def run() -> None:
            async with fake.serve() as base_url:
                where.append(base_url)
                ready.set()
                await asyncio.get_running_loop().run_in_executor(None, stop.wait)

        asyncio.run(run())

    server = threading.Thread(target=serve)
    server.start()
    try:
        ready.wait(30)
        client = AsyncItnio(fake.api_key, fake.api_secret, base_url=where[0], clock=fake.now)
        left_behind: list[set[str]] = []

        async def calls() -> set[str]:
            await asyncio.gather(*(client.templates.list() for _ in range(5)))
            network = client._shared.network
            assert network is not None
            assert network.own is not None
            return {_inode(conn) for conn in network.own._open}

        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            for _ in range(3):
                left_behind.append(asyncio.run(calls()))
                assert len(left_behind[-1]) == 5
                assert not left_behind[-1] & _socket_inodes()  # closed as its loop ended
            asyncio.run(client.aclose())
    finally:
        stop.set()
        server.join(30)


def _inode(conn: Any) -> str:
    import os

    sock = conn.transport.get_extra_info("socket")
    return os.readlink(f"/proc/self/fd/{sock.fileno()}")


def _socket_inodes() -> set[str]:
    import os

    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


async def test_an_unclosed_client_warns_and_its_connections_close_when_collected() -> None:
    """Clients dropped without aclose(): each warns ResourceWarning when collected, and
    its engine's sockets are closed."""
    import gc
    import warnings

    from itnio_async.testing import FakeItnio

    fake = FakeItnio()
    fake.seed()
    pools = []
    gc.collect()  # what earlier tests left behind warns now, not below
    async with fake.serve() as base_url:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            for _ in range(10):
                client = AsyncItnio(
                    fake.api_key, fake.api_secret, base_url=base_url, clock=fake.now
                )
                await client.templates.list()
                network = client._shared.network
                assert network is not None
                assert network.own is not None
                pools.append(network.own)
                del client, network
            gc.collect()
            for _ in range(3):  # the aborted transports close on the next loop steps
                await asyncio.sleep(0)
        messages = [str(w.message) for w in caught if w.category is ResourceWarning]
        assert sum("was never closed" in m for m in messages) == 10
        assert [pool.stats().connections for pool in pools] == [0] * 10
