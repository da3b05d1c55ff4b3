"""Bad configuration is refused when the client is made, not when a call fails
(issue 12, items 7 and 8), through ``AsyncItnio(...)`` itself.

Credentials must be non-empty printable ASCII without whitespace (a secret read from
a file keeps its trailing newline); the error names which one is wrong and how,
never its value. ``base_url`` may carry no user name or password (never shown), no
query and no fragment; plain ``http://`` is for loopback hosts unless the user opts
in with ``allow_insecure_http=True``; surrounding spaces are stripped. An
``ssl_context`` must verify; ``max_response_size`` must be a positive int.
"""

from __future__ import annotations

import contextlib
import ssl
import traceback
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    TransportError,
    ValidationError,
)

from .conftest import API_KEY, API_SECRET, FIXED_TIME, envelope

FLOW = {"flowId": 1, "name": "name", "flow": []}
GOOD_SECRET = "Sx9-secret-QpL7w2"


class Recorder:
    """A MockTransport handler that answers every request with a flow and keeps the URLs."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return httpx.Response(200, json=envelope(FLOW))


@contextlib.asynccontextmanager
async def recorded_client(
    base_url: str, **options: Any
) -> AsyncIterator[tuple[AsyncItnio, Recorder]]:
    """A client of ``base_url`` whose calls a :class:`Recorder` answers, and the recorder."""
    recorder = Recorder()
    async with AsyncItnio(
        API_KEY, API_SECRET, base_url=base_url, transport=httpx.MockTransport(recorder), **options
    ) as client:
        yield client, recorder


# -- credentials --------------------------------------------------------------------------


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


CONSTRUCTION_ERRORS: dict[str, dict[str, Any]] = {
    "malformed secret": {"api_secret": GOOD_SECRET + "\n"},
    "bad max_response_size": {"max_response_size": 0},
    "bad base_url": {"base_url": "https://api.example.com/otp?x=1"},
    "bad timeout": {"timeout": -1},
}


def _construction_error(options: dict[str, Any]) -> ItnioError:
    """The error ``AsyncItnio`` raises for ``options`` (with a well-formed secret)."""
    try:
        AsyncItnio(**{"api_key": API_KEY, "api_secret": GOOD_SECRET, **options})
    except ItnioError as exc:
        return exc
    raise AssertionError("the options were accepted")


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:
        return f"<repr failed: {type(exc).__name__}>"


@pytest.mark.parametrize("options", CONSTRUCTION_ERRORS.values(), ids=list(CONSTRUCTION_ERRORS))
def test_a_construction_error_keeps_no_secret_in_traceback_locals(options: dict[str, Any]) -> None:
    """No frame of a configuration error's traceback holds the secret (as given or as it
    would be used) in a local whose repr shows it."""
    error = _construction_error(options)
    shown = []
    tb = error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals["__name__"].startswith("itnio_async"):  # not this test's frame
            shown += [f"{k}={_safe_repr(v)}" for k, v in frame.f_locals.items()]
        tb = tb.tb_next
    assert GOOD_SECRET not in "\n".join(shown)


@pytest.mark.parametrize("options", CONSTRUCTION_ERRORS.values(), ids=list(CONSTRUCTION_ERRORS))
def test_a_construction_error_can_be_formatted_with_captured_locals(
    options: dict[str, Any],
) -> None:
    """An error reporter that captures locals can format a configuration error."""
    error = _construction_error(options)
    formatted = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    assert type(error).__name__ in formatted


# -- base_url -----------------------------------------------------------------------------


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
    async with recorded_client(url) as (client, recorder):
        await client.flows.get(1)
    assert recorder.urls == [url + "/flow/details/1"]


async def test_an_opted_in_remote_http_base_url_is_used_as_given() -> None:
    """With allow_insecure_http=True the calls go to the plain-http host named."""
    url = "http://sandbox.internal:8080/otp"
    async with recorded_client(url, allow_insecure_http=True) as (client, recorder):
        await client.flows.get(1)
    assert recorder.urls == ["http://sandbox.internal:8080/otp/flow/details/1"]


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
    assert recorder.urls == ["http://sandbox:8080/otp/flow/details/1"]


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
    async with recorded_client(url) as (client, recorder):
        assert client.base_url == "https://api.example.com/otp"
        assert "  " not in repr(client)
        await client.flows.get(1)
    assert recorder.urls == ["https://api.example.com/otp/flow/details/1"]


def test_the_repr_of_a_client_shows_its_base_url_but_no_secret() -> None:
    """repr(client) names the base URL and the start of the key, not the secret."""
    client = AsyncItnio(API_KEY, GOOD_SECRET, base_url="https://api.example.com/otp")
    shown = repr(client)
    assert "https://api.example.com/otp" in shown
    assert GOOD_SECRET not in shown
    assert API_KEY not in shown


# -- TLS and the response size cap ------------------------------------------------------------


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


@pytest.mark.parametrize("value", [0, -1, True, False, 1.5, "1024", None, 2.0])
def test_an_invalid_max_response_size_is_refused(value: Any) -> None:
    """max_response_size must be a positive int of bytes."""
    with pytest.raises(ItnioError, match="max_response_size"):
        AsyncItnio(API_KEY, API_SECRET, max_response_size=value)


async def test_max_response_size_is_enforced() -> None:
    """An answer larger than max_response_size is a TransportError, one within it decodes."""
    body = httpx.Response(200, json=envelope(FLOW)).content
    for cap, fits in ((len(body), True), (len(body) - 1, False)):
        async with AsyncItnio(
            API_KEY,
            API_SECRET,
            transport=httpx.MockTransport(lambda _: httpx.Response(200, content=body)),
            max_response_size=cap,
            max_retries=0,
        ) as client:
            assert client.max_response_size == cap
            if fits:
                assert (await client.flows.get(1)).flow_id == 1
            else:
                with pytest.raises(TransportError, match="larger than"):
                    await client.flows.get(1)


# -- the cap on a streamed answer (a user's http_client, a proxy, a mocked httpx) -------------


def _streamed(chunks: list[bytes], status: int = 200, headers: dict[str, str] | None = None) -> Any:
    """A MockTransport handler whose answer is streamed in ``chunks`` (not read up front)."""

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body(), headers=headers or {})

    return handler


async def _flow_through_users_client(handler: Any, cap: int) -> Any:
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http,
        AsyncItnio(
            API_KEY,
            API_SECRET,
            base_url="https://api.example.com/otp",
            http_client=http,
            max_response_size=cap,
            max_retries=0,
        ) as client,
    ):
        return await client.flows.get(1)


async def test_a_streamed_answer_is_counted_over_all_its_chunks() -> None:
    """Through a user's client the body arrives in chunks: they are joined as they are, and
    the cap applies to their sum (exactly the cap passes, one byte more fails)."""
    body = httpx.Response(200, json=envelope(FLOW)).content
    chunks = [body[:10], body[10:20], body[20:]]
    flow = await _flow_through_users_client(_streamed(chunks), len(body))
    assert flow.flow_id == 1
    with pytest.raises(TransportError) as info:
        await _flow_through_users_client(_streamed(chunks), len(body) - 1)
    assert str(info.value) == (
        "ResponseTooLarge on GET https://api.example.com/otp/flow/details/1: "
        f"response larger than {len(body) - 1} bytes"
    )
    assert info.value.sent is True


async def test_a_streamed_gzip_answer_is_unpacked_within_the_cap() -> None:
    """A gzip answer streamed through a user's client is unpacked, and the cap applies to
    what it unpacks to."""
    import gzip

    flow = {**FLOW, "name": "n" * 500}  # compresses well: packed far below the cap
    body = httpx.Response(200, json=envelope(flow)).content
    packed = gzip.compress(body)
    assert len(packed) < len(body) // 4
    headers = {"Content-Encoding": "gzip"}
    decoded = await _flow_through_users_client(_streamed([packed], headers=headers), len(body))
    assert decoded.name == "n" * 500
    with pytest.raises(TransportError, match="once decompressed"):
        await _flow_through_users_client(_streamed([packed], headers=headers), len(body) - 1)


async def test_a_streamed_error_answer_keeps_its_headers_and_request() -> None:
    """A streamed 503 keeps its headers (Retry-After) and names the host it came from."""
    handler = _streamed([b"busy"], status=503, headers={"Retry-After": "3", "X-Trace": "t"})
    with pytest.raises(HTTPStatusError) as info:
        await _flow_through_users_client(handler, 1000)
    error = info.value
    assert str(error) == "HTTP 503 from GET https://api.example.com/otp/flow/details/1"
    assert error.retry_after == 3.0
    assert error.headers is not None
    assert error.headers["x-trace"] == "t"
    assert error.body == "busy"


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


async def test_a_streamed_answer_keeps_its_extensions_and_a_bad_body_its_request() -> None:
    """Through a user's client, the raw answer keeps the transport's extensions, and a body
    that cannot be unpacked is a DecodeError whose cause names the request."""
    body = httpx.Response(200, json=envelope(FLOW)).content

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), extensions={"reason_phrase": b"Fine"})

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(), headers={"Content-Encoding": "gzip"})

    for answer, check in ((handler, "extensions"), (broken, "request")):
        async with (
            httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http,
            AsyncItnio(
                API_KEY,
                API_SECRET,
                base_url="https://api.example.com/otp",
                http_client=http,
                max_retries=0,
            ) as client,
        ):
            if check == "extensions":
                raw = await client.flows.with_raw_response.get(1)
                assert raw.http_response.extensions["reason_phrase"] == b"Fine"
            else:
                with pytest.raises(DecodeError) as info:
                    await client.flows.get(1)
                cause = info.value.__cause__
                assert isinstance(cause, httpx.DecodingError)
                assert str(cause.request.url) == "https://api.example.com/otp/flow/details/1"
