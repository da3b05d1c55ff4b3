"""The exception tree, the status→class table, and how the client turns answers into errors."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from itnio_async import (
    AlreadyExistsError,
    APIError,
    AsyncItnio,
    AuthenticationError,
    DecodeError,
    Flow,
    HTTPStatusError,
    InsufficientBalanceError,
    InvalidParameterError,
    IPNotAllowedError,
    ItnioError,
    NotFoundError,
    OutcomeUnknownError,
    PhoneSendLimitError,
    PricingError,
    RequestTimeoutError,
    RetryPolicy,
    SendLimitError,
    SensitiveContentError,
    ServerError,
    TimestampExpiredError,
    TotalSendLimitError,
    TransportError,
    ValidationError,
)
from itnio_async._call import Call
from itnio_async._envelope import STATUS_ERRORS, _data_error, api_error, parse
from itnio_async._exceptions import HTTPServerError, excerpt
from itnio_async._redact import Secrets
from itnio_async._retry import CallKind
from itnio_async._wire import Answer

from .conftest import envelope

FLOW = {"flowId": 1, "name": "name", "flow": []}

#: Every documented status (section 5 of the API reference) and its class.
DOCUMENTED: list[tuple[int, type[APIError]]] = [
    (-1, AuthenticationError),
    (-2, IPNotAllowedError),
    (-10, InsufficientBalanceError),
    (-16, TimestampExpiredError),
    (-18, ServerError),
    (-20, AlreadyExistsError),
    (-21, InvalidParameterError),
    (-22, InvalidParameterError),
    (-23, APIError),
    (-24, NotFoundError),
    (-25, APIError),
    (-26, PricingError),
    (-27, TotalSendLimitError),
    (-28, PhoneSendLimitError),
    (-29, SensitiveContentError),
    (-14, APIError),
    (-99, APIError),
    (7, APIError),
]


def answer(body: Any, status_code: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    """A handler answering every request with ``body`` (bytes as-is, anything else as JSON)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes):
            return httpx.Response(status_code, content=body)
        return httpx.Response(status_code, json=body)

    return handler


def raising(exc_type: type[httpx.HTTPError]) -> Callable[[httpx.Request], httpx.Response]:
    """A handler whose transport fails with ``exc_type``."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated failure", request=request)  # type: ignore[call-arg]

    return handler


async def call(make_client: Callable[..., AsyncItnio], handler: Any) -> Any:
    """One flows.get(1) through a fresh client without retries."""
    async with make_client(handler, max_retries=0) as client:
        return await client.flows.get(1)


# -- status → class ---------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "cls"), DOCUMENTED, ids=[str(s) for s, _ in DOCUMENTED])
async def test_status_maps_to_class(
    make_client: Callable[..., AsyncItnio], status: int, cls: type[APIError]
) -> None:
    """Each envelope status raises its documented class (unknown → plain APIError)."""
    body = envelope(status=str(status), reason=f"reason {status}")
    with pytest.raises(APIError) as info:
        await call(make_client, answer(body))
    error = info.value
    assert type(error) is cls
    assert error.status == status
    assert type(error.status) is int
    assert error.reason == f"reason {status}"
    assert str(status) in str(error)
    assert error.method == "GET"
    assert error.path == "/flow/details/1"


def test_status_table_matches_documented_classes() -> None:
    """STATUS_ERRORS holds exactly the documented mapped codes and api_error uses it."""
    mapped = {s: c for s, c in DOCUMENTED if c is not APIError}
    assert mapped == STATUS_ERRORS
    for status, cls in DOCUMENTED:
        assert type(api_error(status, "r")) is cls


@pytest.mark.parametrize("status", ["-22", -22])
async def test_status_as_string_or_int(
    make_client: Callable[..., AsyncItnio], status: object
) -> None:
    """The envelope status is accepted as the documented string or as an int."""
    with pytest.raises(InvalidParameterError) as info:
        await call(make_client, answer({"status": status, "reason": "Parameter exception"}))
    assert info.value.status == -22
    assert info.value.reason == "Parameter exception"


@pytest.mark.parametrize("status", ["0", 0])
async def test_zero_status_is_success(
    make_client: Callable[..., AsyncItnio], status: object
) -> None:
    """Status "0" and 0 are both success and the data decodes."""
    flow = await call(make_client, answer({"status": status, "reason": "success", "data": FLOW}))
    assert flow.flow_id == 1


async def test_missing_or_odd_reason_is_empty(make_client: Callable[..., AsyncItnio]) -> None:
    """An error envelope without a string reason still raises, with reason ''."""
    with pytest.raises(AuthenticationError) as info:
        await call(make_client, answer({"status": "-1", "reason": None}))
    assert info.value.reason == ""
    assert info.value.status == -1


# -- the tree ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "parents"),
    [
        (ValidationError, (ItnioError, ValueError)),
        (TransportError, (ItnioError,)),
        (RequestTimeoutError, (TransportError, ItnioError, TimeoutError)),
        (HTTPStatusError, (ItnioError,)),
        (DecodeError, (ItnioError,)),
        (APIError, (ItnioError,)),
        (AuthenticationError, (APIError,)),
        (IPNotAllowedError, (APIError,)),
        (InsufficientBalanceError, (APIError,)),
        (TimestampExpiredError, (APIError,)),
        (ServerError, (APIError,)),
        (AlreadyExistsError, (APIError,)),
        (InvalidParameterError, (APIError,)),
        (NotFoundError, (APIError,)),
        (PricingError, (APIError,)),
        (SendLimitError, (APIError,)),
        (TotalSendLimitError, (SendLimitError, APIError)),
        (PhoneSendLimitError, (SendLimitError, APIError)),
        (SensitiveContentError, (APIError,)),
    ],
)
def test_class_hierarchy(cls: type, parents: tuple[type, ...]) -> None:
    """Every class sits where the public tree puts it, under ItnioError."""
    assert issubclass(cls, ItnioError)
    for parent in parents:
        assert issubclass(cls, parent)


def test_sibling_branches_do_not_overlap() -> None:
    """API, HTTP, decode and transport errors are distinct branches."""
    assert not issubclass(HTTPStatusError, APIError)
    assert not issubclass(DecodeError, APIError)
    assert not issubclass(TransportError, APIError)
    assert not issubclass(APIError, TransportError)
    assert not issubclass(TransportError, TimeoutError)
    assert not issubclass(PhoneSendLimitError, TotalSendLimitError)


@pytest.mark.parametrize(
    "error",
    [
        APIError(-22, "bad", method="GET", path="/flow/details/1"),
        TotalSendLimitError(-27, "Period total send limit"),
        ValidationError("to", "10-14 digits", "*******1412"),
        TransportError("ConnectError on GET /x", method="GET", path="/x", sent=False),
        RequestTimeoutError("ReadTimeout on GET /x", method="GET", path="/x"),
        HTTPStatusError(503, method="GET", path="/x", status=-18, reason="r", body="b"),
        DecodeError("not JSON", body="<html>", method="GET", path="/x"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_copy_and_pickle(error: ItnioError) -> None:
    """copy and pickle keep an error's class, message and attributes."""
    for clone in (copy.copy(error), pickle.loads(pickle.dumps(error))):  # noqa: S301
        assert type(clone) is type(error)
        assert str(clone) == str(error)
        assert vars(clone) == vars(error)


# -- non-2xx -------------------------------------------------------------------------------


@pytest.mark.parametrize("status_code", [400, 404, 500, 503])
async def test_non_2xx_without_envelope(
    make_client: Callable[..., AsyncItnio], status_code: int
) -> None:
    """A non-2xx answer raises HTTPStatusError with the status code and no envelope fields."""
    with pytest.raises(HTTPStatusError) as info:
        await call(make_client, answer(b"<html>Bad Gateway</html>", status_code))
    error = info.value
    assert error.status_code == status_code
    assert error.status is None
    assert error.reason is None
    assert "Bad Gateway" in error.body
    assert str(status_code) in str(error)


@pytest.mark.parametrize("status_code", [400, 404, 500, 503])
async def test_non_2xx_keeps_envelope(
    make_client: Callable[..., AsyncItnio], status_code: int
) -> None:
    """A non-2xx answer carrying an envelope is still HTTPStatusError, keeping status/reason;
    a 5xx is also a ServerError (and so an APIError), a 4xx is neither."""
    body = envelope(status="-18", reason="Port program unusual")
    with pytest.raises(HTTPStatusError) as info:
        await call(make_client, answer(body, status_code))
    error = info.value
    assert isinstance(error, ServerError) is (status_code >= 500)
    assert isinstance(error, APIError) is (status_code >= 500)
    assert error.sent is True
    assert error.status_code == status_code
    assert error.status == -18
    assert error.reason == "Port program unusual"


async def test_non_2xx_success_envelope_is_still_an_error(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """Even a success envelope does not turn a 500 into a result."""
    with pytest.raises(HTTPStatusError) as info:
        await call(make_client, answer(envelope(FLOW), 500))
    assert info.value.status == 0


# -- 2xx garbage -------------------------------------------------------------------------------

GARBAGE: list[tuple[str, bytes, str]] = [
    ("html", b"<!DOCTYPE html><html><body>Gateway maintenance</body></html>", "Gateway"),
    ("empty", b"", ""),
    ("not-json", b"not json", "not json"),
    ("json-list", b'[{"status": "0"}]', '[{"status": "0"}]'),
    ("json-string", b'"success"', '"success"'),
    ("no-status", b'{"reason": "success", "data": {}}', "reason"),
    ("status-true", b'{"status": true, "reason": "success"}', "true"),
    ("status-abc", b'{"status": "abc", "reason": "success"}', "abc"),
    ("status-null", b'{"status": null}', "null"),
    ("status-float", b'{"status": 0.5}', "0.5"),
    ("data-string", b'{"status": "0", "reason": "success", "data": "flow"}', "flow"),
    ("data-list", b'{"status": "0", "reason": "success", "data": [1]}', "[1]"),
    ("data-null", b'{"status": "0", "reason": "success", "data": null}', "null"),
    ("data-missing-id", b'{"status": "0", "data": {"name": "n"}}', "name"),
    ("data-bad-field", b'{"status": "0", "data": {"flowId": "one"}}', "one"),
    ("data-bad-step", b'{"status": "0", "data": {"flowId": 1, "flow": ["x"]}}', "flow"),
    ("binary", bytes(range(256)) * 4, ""),
    ("truncated", b'{"status": "0", "data": {"flowId": 1', "flowId"),
]


@pytest.mark.parametrize(
    ("body", "fragment"), [g[1:] for g in GARBAGE], ids=[g[0] for g in GARBAGE]
)
async def test_2xx_garbage_is_decode_error(
    make_client: Callable[..., AsyncItnio], body: bytes, fragment: str
) -> None:
    """A 2xx body that is not the documented JSON raises DecodeError with a short excerpt."""
    with pytest.raises(DecodeError) as info:
        await call(make_client, answer(body))
    error = info.value
    assert isinstance(error.body, str)
    assert fragment in error.body
    assert len(error.body) <= 200
    assert len(str(error)) <= 400


async def test_decode_error_names_the_converter_failure_without_chaining_it(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """A data/model mismatch names the model and the converter's error type; the converter's
    exception (which holds the data) is not chained."""
    with pytest.raises(DecodeError) as info:
        await call(make_client, answer({"status": "0", "data": {"flowId": "one"}}))
    assert "Flow" in str(info.value)
    assert "ValueError" in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


async def test_large_garbage_excerpt_is_short(make_client: Callable[..., AsyncItnio]) -> None:
    """A megabyte of HTML is cut to a short excerpt in the error."""
    page = b"<html>" + b"x" * 1_000_000 + b"</html>"
    with pytest.raises(DecodeError) as info:
        await call(make_client, answer(page))
    assert info.value.body.startswith("<html>x")
    assert len(info.value.body) <= 200


async def test_list_endpoint_garbage_is_decode_error(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """A list endpoint whose data is neither a list nor an object raises DecodeError."""
    async with make_client(answer({"status": "0", "data": "flows"}), max_retries=0) as client:
        with pytest.raises(DecodeError) as info:
            await client.flows.list()
    assert "flows" in info.value.body


async def test_decode_error_is_not_retried(make_client: Callable[..., AsyncItnio]) -> None:
    """A DecodeError on a retryable GET is raised at once, after one request."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=b"<html></html>")

    async with make_client(handler, max_retries=2) as client:
        with pytest.raises(DecodeError):
            await client.flows.get(1)
    assert len(calls) == 1


# -- transport failures -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc_type", "cls", "sent"),
    [
        (httpx.ConnectError, TransportError, False),
        (httpx.ConnectTimeout, RequestTimeoutError, False),
        (httpx.PoolTimeout, RequestTimeoutError, False),
        (httpx.ReadTimeout, RequestTimeoutError, True),
        (httpx.WriteTimeout, RequestTimeoutError, True),
        (httpx.ReadError, TransportError, True),
        (httpx.RemoteProtocolError, TransportError, True),
    ],
)
async def test_httpx_failures_are_wrapped(
    make_client: Callable[..., AsyncItnio],
    exc_type: type[httpx.HTTPError],
    cls: type[TransportError],
    sent: bool,
) -> None:
    """httpx failures become TransportError/RequestTimeoutError chained to the httpx error."""
    with pytest.raises(TransportError) as info:
        await call(make_client, raising(exc_type))
    error = info.value
    assert type(error) is cls
    assert isinstance(error.__cause__, exc_type)
    assert error.sent is sent
    assert error.method == "GET"
    assert error.path == "/flow/details/1"
    assert exc_type.__name__ in str(error)
    if cls is RequestTimeoutError:
        assert isinstance(error, TimeoutError)
    else:
        assert not isinstance(error, TimeoutError)


async def test_connect_error_is_retried_then_wrapped(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """With retries, a persistent connect error is tried 1 + max_retries times, then raised."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    async with make_client(handler, max_retries=2) as client:
        with pytest.raises(TransportError) as info:
            await client.flows.get(1)
    assert len(calls) == 3
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_api_error_message_shape() -> None:
    """An APIError's message names the status, the reason and the call."""
    error = api_error(-22, "Parameter exception", method="POST", path="/flow/add")
    assert str(error) == "API status -22: Parameter exception (POST /flow/add)"
    assert json.dumps({"status": error.status}) == '{"status": -22}'


# -- exact shapes: every message and attribute an error carries -------------------------------

HOST = "api.itniotech.com"
WHERE = f"GET https://{HOST}/otp/flow/details/1"


async def _flow_error(make_client: Callable[..., AsyncItnio], handler: Any) -> Any:
    """The error flows.get(1) raises through ``handler`` (no retries)."""
    with pytest.raises(ItnioError) as info:
        await call(make_client, handler)
    return info.value


async def test_an_http_status_error_carries_the_whole_answer(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """A 503 with an envelope: the exact message, and every attribute of the answer."""
    content = b'{"status":"-18","reason":"busy"}'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=content, headers={"Retry-After": "3", "X-Trace": "t-1"})

    error = await _flow_error(make_client, handler)
    assert type(error) is HTTPServerError
    assert str(error) == f"HTTP 503 from {WHERE} (status -18: busy)"
    assert (error.status_code, error.status, error.reason) == (503, -18, "busy")
    assert (error.method, error.path) == ("GET", "/flow/details/1")
    assert error.retry_after == 3.0
    assert error.body == content.decode()
    assert isinstance(error.headers, httpx.Headers)
    assert error.headers["x-trace"] == "t-1"


@pytest.mark.parametrize(
    ("status_code", "content", "message"),
    [
        (404, b"Not Found", f"HTTP 404 from {WHERE}"),
        (405, b"", f"HTTP 405 from {WHERE}"),
        (500, b'{"status":"-18"}', f"HTTP 500 from {WHERE} (status -18: )"),
        (502, b'{"status":"-18","reason":123}', f"HTTP 502 from {WHERE} (status -18: )"),
        (300, b'{"status":"0"}', f"HTTP 300 from {WHERE} (status 0: )"),
        (199, b"", f"HTTP 199 from {WHERE}"),
    ],
)
async def test_http_status_error_messages(
    make_client: Callable[..., AsyncItnio], status_code: int, content: bytes, message: str
) -> None:
    """Each non-2xx answer's message: a hint on 404 only; the envelope's status with its
    reason (empty when missing or not a string); 1xx and 3xx are not success either."""
    error = await _flow_error(make_client, answer(content, status_code))
    assert type(error) is (HTTPServerError if status_code >= 500 else HTTPStatusError)
    assert str(error) == message
    if b'"reason":123' in content:
        assert error.reason is None


async def test_a_299_answer_is_a_success(make_client: Callable[..., AsyncItnio]) -> None:
    """Every 2xx, up to 299, is read as an answer."""
    flow = await call(make_client, answer(envelope(FLOW), 299))
    assert flow.flow_id == 1


async def test_an_api_error_carries_the_http_answer(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """An error envelope: exact message, its HTTP status and headers, the call."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"status": "-22", "reason": "bad"}, headers={"X-Trace": "t-2"}
        )

    error = await _flow_error(make_client, handler)
    assert type(error) is InvalidParameterError
    assert str(error) == "API status -22: bad (GET /flow/details/1)"
    assert (error.status, error.reason, error.status_code) == (-22, "bad", 200)
    assert (error.method, error.path) == ("GET", "/flow/details/1")
    assert error.headers is not None
    assert error.headers["x-trace"] == "t-2"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"<p>down</p>",
            "GET /flow/details/1 answered with a body that is not JSON: '<p>down</p>'",
        ),
        (b"[1]", "GET /flow/details/1 answered with JSON that is not an API envelope: '[1]'"),
        (
            b'{"status":"x"}',
            'GET /flow/details/1: envelope status is not an integer: \'{"status":"x"}\'',
        ),
        (b'{"status":"0","data":[1]}', "GET /flow/details/1: data is not an object: '[1]'"),
        (
            b'{"status":"0","data":{"flowId":"one","name":"\xe5\x90\x8d"}}',
            "GET /flow/details/1: data does not match Flow (ValueError): "
            '\'{"flowId": "one", "name": "名"}\'',
        ),
    ],
    ids=["not-json", "not-an-envelope", "status-not-integer", "data-not-object", "mismatch"],
)
async def test_decode_error_messages(
    make_client: Callable[..., AsyncItnio], content: bytes, message: str
) -> None:
    """Each way a 2xx body is not the documented JSON has its exact message, quoting an
    excerpt (non-ASCII text as is), and the call it answered."""
    error = await _flow_error(make_client, answer(content))
    assert type(error) is DecodeError
    assert str(error) == message
    assert (error.method, error.path) == ("GET", "/flow/details/1")


async def test_a_list_endpoint_says_its_data_is_not_a_list(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """A list endpoint whose data is a string: exact message and the call."""
    async with make_client(answer({"status": "0", "data": "x"}), max_retries=0) as client:
        with pytest.raises(DecodeError) as info:
            await client.templates.list()
    assert str(info.value) == "GET /template/list: data is not a list: '\"x\"'"
    assert (info.value.method, info.value.path) == ("GET", "/template/list")


@pytest.mark.parametrize(
    ("failure", "cls", "message"),
    [
        (
            httpx.ConnectError("refused for 8613512345678\nsecond line"),
            TransportError,
            f"ConnectError on {WHERE}: refused for *********5678",
        ),
        (httpx.ReadError("x" * 200), TransportError, f"ReadError on {WHERE}: " + "x" * 160),
        (httpx.ReadError(""), TransportError, f"ReadError on {WHERE}"),
        (httpx.ReadTimeout("slow"), RequestTimeoutError, f"ReadTimeout on {WHERE}"),
        (
            httpx.DecodingError("bad gzip"),
            DecodeError,
            f"{WHERE}: the response body could not be decoded (DecodingError)",
        ),
    ],
    ids=["connect", "long", "empty", "timeout", "decoding"],
)
async def test_transport_error_messages(
    make_client: Callable[..., AsyncItnio], failure: Exception, cls: type[ItnioError], message: str
) -> None:
    """An engine failure's message names it and the call; its detail is the first line of
    the engine's message, cut to 160 characters, numbers masked; a body that cannot be
    decoded is a DecodeError (never retried)."""
    seen = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        seen += 1
        raise failure

    error = await _flow_error(make_client, handler)
    assert type(error) is cls
    assert str(error) == message
    assert (error.method, error.path) == ("GET", "/flow/details/1")
    assert seen == 1


def test_errors_made_without_a_call_have_empty_defaults() -> None:
    """Each error class built with its required parts only: empty call, no answer, and the
    message built from what it has."""
    transport = TransportError("m")
    assert (transport.method, transport.path, transport.sent, str(transport)) == ("", "", True, "m")
    status = HTTPStatusError(500)
    assert str(status) == "HTTP 500 from "
    assert (status.method, status.path, status.body) == ("", "", "")
    assert (status.status, status.reason, status.retry_after, status.headers) == (
        None,
        None,
        None,
        None,
    )
    api = APIError(-5)
    assert str(api) == "API status -5: "
    assert (api.reason, api.method, api.path, api.status_code, api.headers) == (
        "",
        "",
        "",
        None,
        None,
    )
    assert str(api_error(-5)) == "API status -5: "
    assert (api_error(-5).method, api_error(-5).path) == ("", "")
    decode = DecodeError("m")
    assert (str(decode), decode.body, decode.method, decode.path) == ("m", "", "", "")
    assert str(DecodeError("m", body="b")) == "m: 'b'"
    unknown = OutcomeUnknownError("m")
    assert (str(unknown), unknown.method, unknown.path) == ("m", "", "")
    validation = ValidationError("to", "10-14 digits", "'***1234'")
    assert str(validation) == "to must be 10-14 digits; got '***1234'"
    assert (validation.argument, validation.rule, validation.shown) == (
        "to",
        "10-14 digits",
        "'***1234'",
    )


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b"caf\xc3\xa9 \xff", "café \ufffd"),
        ("  a \n\t b  ", "a b"),
        ("x" * 200, "x" * 200),
        ("x" * 201, "x" * 199 + "…"),
    ],
    ids=["bytes", "whitespace", "at-the-limit", "over-the-limit"],
)
def test_excerpt(body: bytes | str, shown: str) -> None:
    """An excerpt decodes bytes (bad bytes replaced), collapses whitespace, and cuts past
    200 characters to 199 and an ellipsis."""
    assert excerpt(body) == shown


def test_parse_names_the_url_it_is_given() -> None:
    """parse() names the call's URL as given (scheme, host, port and path)."""
    call = _call("GET", "/x", cast=Flow)
    with pytest.raises(HTTPStatusError) as info:
        parse(Answer(503, [], b""), call, url="http://127.0.0.1:8001/x", now=lambda: 0.0)
    assert str(info.value) == "HTTP 503 from GET http://127.0.0.1:8001/x"


def test_parse_reads_one_object_unless_asked_for_a_list() -> None:
    """parse() decodes data into one model by default, into a list only with many=True."""
    body = json.dumps(envelope(FLOW)).encode()
    one = parse(Answer(200, [], body), _call("GET", "/x", cast=Flow), url="", now=lambda: 0.0)
    assert isinstance(one, Flow)
    many_call = _call("GET", "/x", cast=Flow, many=True)
    many = parse(Answer(200, [], body), many_call, url="", now=lambda: 0.0)
    assert many == [one]


def _call(method: str, path: str, **fields: Any) -> Call[Any]:
    return Call(method, path, path, CallKind.SAFE, **fields)


def test_data_that_cannot_be_written_as_json_is_named_by_its_type() -> None:
    """A decode failure whose data is not JSON-serialisable shows the type, not the data."""
    error = _data_error("m", {1, 2}, "GET", "/x", Secrets())
    assert (error.body, error.method, error.path) == ("<set>", "GET", "/x")


async def test_a_retry_after_date_without_a_date_header_is_read_against_the_clock(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """With no Date header, a Retry-After date is measured from the signing clock."""
    from email.utils import formatdate

    from .conftest import FIXED_TIME

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            503, headers={"Retry-After": formatdate(FIXED_TIME + 45, usegmt=True)}
        )

    error = await _flow_error(make_client, handler)
    assert error.retry_after == 45.0


# -- errors that say what to do -------------------------------------------------------------------


@pytest.mark.parametrize("from_env", [False, True])
async def test_an_authentication_error_says_which_key_and_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch, from_env: bool
) -> None:
    """-1 names the key as the repr shows it (its first four characters), where the key and
    the secret were read from, and what to check; never the secret or a whole key."""
    key, secret = "keyABCDEFGH1234", "secretXYZ98765"

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "-1", "reason": "Authentication error"})

    if from_env:
        monkeypatch.setenv("ITNIO_API_KEY", key)
        monkeypatch.setenv("ITNIO_API_SECRET", secret)
        client = AsyncItnio(transport=httpx.MockTransport(refuse), max_retries=0)
        where = (
            "key from the ITNIO_API_KEY environment variable, "
            "secret from the ITNIO_API_SECRET environment variable"
        )
    else:
        client = AsyncItnio(key, secret, transport=httpx.MockTransport(refuse), max_retries=0)
        where = "key from the api_key argument, secret from the api_secret argument"
    async with client:
        with pytest.raises(AuthenticationError) as info:
            await client.flows.get(1)
    message = str(info.value)
    assert message.startswith("API status -1: Authentication error (GET /flow/details/1). ")
    assert f"The API rejected api_key 'keyA…' ({where})" in message
    assert "check that the key and secret are this account's" in message
    assert key not in message
    assert secret not in message


async def test_a_retry_after_beyond_the_policys_limit_says_the_wait_asked_for(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """A 503 asking for 120 s when the policy waits at most 30: raised at once, the message
    saying what was asked and why it was not waited out."""
    attempts: list[httpx.Request] = []

    def busy(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        return httpx.Response(503, headers={"Retry-After": "120"})

    async with make_client(busy, max_retries=2, retry_policy=RetryPolicy()) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)
    assert len(attempts) == 1
    assert info.value.retry_after == 120.0
    assert str(info.value) == (
        f"HTTP 503 from {WHERE}; the server asked to wait 120 s (Retry-After), more than "
        "RetryPolicy.max_retry_after (30 s): not retried"
    )
