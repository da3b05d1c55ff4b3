"""``AsyncItnio(event_hooks=...)``: httpx-style hooks, once per attempt, on every engine.

Each engine is exercised against the stateful fake: the SDK's own engine and a
user's ``http_client`` over a real socket (``FakeGateway``), ``transport=`` (the
fake's in-process transport), and a forward proxy in front of the socket. A read
whose first attempt loses its connection and whose second is answered 503 makes
three attempts and gets two answers: the hooks must see exactly that.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import pytest

from itnio_async import AsyncItnio, CallInfo, ItnioError, NotFoundError, RetryPolicy
from itnio_async._engine import HTTP11Transport
from itnio_async.testing import FakeItnio, SeedData

from .conftest import FIXED_TIME
from .test_proxy import ForwardProxy
from .test_raw_response import FakeGateway

NO_SLEEP = RetryPolicy(base_delay=0.0, max_delay=0.0)
ENGINES = ("own", "http_client", "transport", "proxy")
NUMBER = "8613800138000"


@attrs.define
class Log:
    """What the hooks of one test saw, in order."""

    events: list[tuple[str, Any]] = attrs.field(factory=list)
    bodies: list[bytes] = attrs.field(factory=list)

    def of(self, kind: str) -> list[Any]:
        """The objects a given kind of hook was called with."""
        return [obj for name, obj in self.events if name == kind]


@attrs.define
class World:
    """A client on one engine, the fake behind it, and what each side observed."""

    client: AsyncItnio
    fake: FakeItnio
    seed: SeedData
    user: Log  # the user's http_client's own hooks
    gateway: FakeGateway | None
    proxy: ForwardProxy | None


def recording_hooks(log: Log) -> dict[str, list[Any]]:
    """One sync and one async hook of each kind; response hooks read the body."""

    def on_request(request: httpx.Request) -> None:
        log.events.append(("request", request))

    async def on_request_async(request: httpx.Request) -> None:
        await asyncio.sleep(0)
        log.events.append(("request-async", request))

    def on_response(response: httpx.Response) -> None:
        log.events.append(("response", response))
        log.bodies.append(response.content)

    async def on_response_async(response: httpx.Response) -> None:
        log.bodies.append(await response.aread())
        log.events.append(("response-async", response))

    return {"request": [on_request, on_request_async], "response": [on_response, on_response_async]}


@contextlib.asynccontextmanager
async def world(engine: str, **options: Any) -> AsyncIterator[World]:
    """A seeded fake and a client of it on ``engine`` that signs with a ticking clock."""
    fake = FakeItnio(random_seed=5, clock=lambda: float(FIXED_TIME))
    seed = fake.seed()
    ticks = itertools.count(FIXED_TIME)
    options.setdefault("clock", lambda: float(next(ticks)))
    options.setdefault("retry_policy", NO_SLEEP)
    user = Log()
    async with contextlib.AsyncExitStack() as stack:
        gateway = proxy = None
        if engine == "transport":
            options["transport"] = fake.transport
            base_url = "http://itnio.fake/otp"
            options["allow_insecure_http"] = True
        else:
            gateway = await stack.enter_async_context(FakeGateway(fake))
            base_url = gateway.base_url
        if engine == "proxy":
            proxy = await stack.enter_async_context(ForwardProxy())
            options["proxy"] = proxy.url
        if engine == "http_client":

            async def user_request(request: httpx.Request) -> None:
                user.events.append(("request", request))

            async def user_response(response: httpx.Response) -> None:
                user.events.append(("response", response))

            options["http_client"] = await stack.enter_async_context(
                httpx.AsyncClient(
                    trust_env=False,
                    event_hooks={"request": [user_request], "response": [user_response]},
                )
            )
        client = await stack.enter_async_context(
            AsyncItnio(fake.api_key, fake.api_secret, base_url=base_url, **options)
        )
        yield World(client, fake, seed, user, gateway, proxy)
        if engine == "own":
            assert isinstance(client._engine().transport, HTTP11Transport)


def assert_signed(request: httpx.Request, fake: FakeItnio) -> None:
    """The request carries a valid signature for its own Timestamp."""
    timestamp = request.headers["Timestamp"]
    expected = hashlib.md5(  # noqa: S324 - the API's signature scheme
        (fake.api_key + fake.api_secret + timestamp).encode()
    ).hexdigest()
    assert request.headers["Sign"] == expected
    assert request.headers["Api-Key"] == fake.api_key


@pytest.mark.parametrize("engine", ENGINES)
async def test_hooks_run_once_per_attempt(engine: str) -> None:
    """A read that loses its connection, then gets a 503, then a 200: three request hook
    calls with signed requests and two response hook calls with readable answers."""
    log = Log()
    async with world(engine, event_hooks=recording_hooks(log)) as w:
        w.fake.fail_next("drop")
        w.fake.fail_next(503)
        template = await w.client.templates.get(w.seed.template_id)
    assert template.template_id == w.seed.template_id
    kinds = [name for name, _ in log.events]
    assert kinds == [
        *("request", "request-async"),  # attempt 1: the connection is lost
        *("request", "request-async", "response", "response-async"),  # attempt 2: 503
        *("request", "request-async", "response", "response-async"),  # attempt 3: 200
    ]
    requests = log.of("request")
    assert log.of("request-async") == requests  # the same objects, in the same order
    assert all(isinstance(r, httpx.Request) for r in requests)
    for request in requests:
        assert_signed(request, w.fake)
        assert request.url.path == f"/otp/template/details/{w.seed.template_id}"
    timestamps = [int(r.headers["Timestamp"]) for r in requests]
    assert timestamps == sorted(set(timestamps))  # every attempt signed afresh
    responses = log.of("response")
    assert log.of("response-async") == responses
    assert [r.status_code for r in responses] == [503, 200]
    assert [r.request for r in responses] == requests[1:]  # each answer with its request
    assert log.bodies[0] == log.bodies[1] == responses[0].content
    assert json.loads(log.bodies[2])["data"]["templateId"] == w.seed.template_id
    assert len(w.fake.requests) == 3
    if w.proxy is not None:
        assert len(w.proxy.forwarded) == 3


async def test_a_user_clients_own_hooks_still_run_once_per_attempt() -> None:
    """With a user http_client, its own hooks run too, exactly once per attempt, with the
    same request objects the SDK's hooks saw."""
    log = Log()
    async with world("http_client", event_hooks=recording_hooks(log)) as w:
        w.fake.fail_next("drop")
        w.fake.fail_next(503)
        await w.client.templates.get(w.seed.template_id)
    assert [name for name, _ in w.user.events] == [
        *("request",),
        *("request", "response"),
        *("request", "response"),
    ]
    assert w.user.of("request") == log.of("request")
    assert [r.status_code for r in w.user.of("response")] == [503, 200]


async def test_a_user_clients_hooks_run_without_sdk_hooks() -> None:
    """A user http_client's hooks run for every call even when the SDK has none set."""
    async with world("http_client") as w:
        await w.client.templates.list()
        await w.client.verifications.send(
            app_id=w.seed.app_id, template_id=w.seed.template_id, to=NUMBER
        )
    assert [(n, o.method if n == "request" else o.status_code) for n, o in w.user.events] == [
        ("request", "GET"),
        ("response", 200),
        ("request", "POST"),
        ("response", 200),
    ]


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_send_that_is_not_retried_calls_each_hook_once(engine: str) -> None:
    """A send answered 503 (never retried: it may have been delivered) runs each hook once,
    with the signed POST and its exact body."""
    log = Log()
    async with world(engine, event_hooks=recording_hooks(log)) as w:
        w.fake.fail_next(503)
        with pytest.raises(ItnioError):
            await w.client.verifications.send(
                app_id=w.seed.app_id, template_id=w.seed.template_id, to=NUMBER
            )
    (request,) = log.of("request")
    assert_signed(request, w.fake)
    assert request.method == "POST"
    assert json.loads(request.content)["to"] == NUMBER
    assert [r.status_code for r in log.of("response")] == [503]


# -- a hook's exception ends the call unchanged -------------------------------------------


class HookError(Exception):
    """Raised by a test's hook."""


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_request_hooks_exception_ends_the_call_unchanged(engine: str) -> None:
    """An exception from a request hook leaves the call as is: not wrapped, not retried, and
    nothing is sent."""
    failure = HookError("stop")
    calls: list[httpx.Request] = []

    def hook(request: httpx.Request) -> None:
        calls.append(request)
        raise failure

    async with world(engine, event_hooks={"request": [hook]}) as w:
        with pytest.raises(HookError) as info:
            await w.client.templates.get(w.seed.template_id)
    assert info.value is failure
    assert len(calls) == 1
    assert w.fake.requests == []


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_response_hooks_exception_ends_the_call_unchanged(engine: str) -> None:
    """An exception from a response hook on a 503 of a read (which would be retried) ends
    the call with that exception after one attempt."""
    failure = HookError("stop")

    async def hook(response: httpx.Response) -> None:
        raise failure

    async with world(engine, event_hooks={"response": [hook]}) as w:
        w.fake.fail_next(503)
        with pytest.raises(HookError) as info:
            await w.client.templates.get(w.seed.template_id)
    assert info.value is failure
    assert len(w.fake.requests) == 1


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_hooks_timeout_error_is_not_the_deadline(engine: str) -> None:
    """A TimeoutError raised by a hook ends the call as that TimeoutError, not as the SDK's
    RequestTimeoutError, and is not retried."""
    failure = TimeoutError("the hook's own")

    def hook(request: httpx.Request) -> None:
        raise failure

    async with world(engine, event_hooks={"request": [hook]}) as w:
        with pytest.raises(TimeoutError) as info:
            await w.client.templates.list()
    assert info.value is failure
    assert w.fake.requests == []


@pytest.mark.parametrize("engine", ENGINES)
async def test_raise_for_status_in_a_response_hook_ends_the_call_unchanged(engine: str) -> None:
    """httpx's documented hook idiom, response.raise_for_status(), ends the call with
    httpx.HTTPStatusError after one attempt, as it would in httpx."""
    raised: list[BaseException] = []

    def hook(response: httpx.Response) -> None:
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            raised.append(exc)
            raise

    async with world(engine, event_hooks={"response": [hook]}) as w:
        w.fake.fail_next(503)
        with pytest.raises(httpx.HTTPStatusError) as info:
            await w.client.templates.get(w.seed.template_id)
    assert info.value is raised[0]
    assert len(w.fake.requests) == 1


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_httpx_error_from_a_request_hook_is_not_a_connect_failure(engine: str) -> None:
    """A request hook raising httpx.ConnectError on a send is the hook's error: raised
    unchanged, and the send is not repeated as if it had never left."""
    calls: list[httpx.Request] = []

    def hook(request: httpx.Request) -> None:
        calls.append(request)
        raise httpx.ConnectError("refused by policy", request=request)

    async with world(engine, event_hooks={"request": [hook]}) as w:
        with pytest.raises(httpx.ConnectError):
            await w.client.verifications.send(
                app_id=w.seed.app_id, template_id=w.seed.template_id, to=NUMBER
            )
    assert len(calls) == 1


async def test_raise_for_status_in_a_user_clients_hook_ends_the_call_unchanged() -> None:
    """A user http_client whose own response hook calls raise_for_status: the call ends with
    that httpx.HTTPStatusError after one attempt, as the user's other requests do."""

    async def raise_for_status(response: httpx.Response) -> None:
        response.raise_for_status()

    fake = FakeItnio(random_seed=5)
    seed = fake.seed()
    async with (
        FakeGateway(fake) as gateway,
        httpx.AsyncClient(trust_env=False, event_hooks={"response": [raise_for_status]}) as http,
        AsyncItnio(
            fake.api_key,
            fake.api_secret,
            base_url=gateway.base_url,
            http_client=http,
            clock=fake.now,
            retry_policy=NO_SLEEP,
        ) as client,
    ):
        fake.fail_next(503)
        with pytest.raises(httpx.HTTPStatusError):
            await client.templates.get(seed.template_id)
    assert len(fake.requests) == 1


# -- with_options ------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["own", "http_client"])
async def test_with_options_replaces_hooks_on_the_copy_only(engine: str) -> None:
    """with_options(event_hooks=...) gives the copy its own hooks; the original keeps its
    own, and a copy made without the argument inherits them."""
    original: list[str] = []
    replaced: list[str] = []
    hooks = {"request": [lambda r: original.append(r.url.path)]}
    async with world(engine, event_hooks=hooks) as w:
        copy = w.client.with_options(event_hooks={"request": [lambda r: replaced.append("x")]})
        inherited = w.client.with_options(max_retries=0)
        cleared = w.client.with_options(event_hooks=None)
        await copy.templates.list()
        assert (original, replaced) == ([], ["x"])
        await w.client.templates.list()
        assert (original, replaced) == (["/otp/template/list"], ["x"])
        await inherited.flows.list()
        assert original == ["/otp/template/list", "/otp/flow/list"]
        await cleared.flows.list()
        assert len(original) == 2
        assert replaced == ["x"]


@pytest.mark.parametrize(
    "hooks",
    [
        {"requests": []},
        {"request": [None]},
        {"response": "not a list"},
    ],
    ids=["unknown-kind", "not-callable", "a-string"],
)
def test_invalid_hooks_are_refused_at_construction(hooks: Any) -> None:
    """A misspelt kind or a hook that is not callable is an ItnioError at construction."""
    with pytest.raises(ItnioError, match="event_hooks"):
        AsyncItnio("key-1234", "secret-1234", event_hooks=hooks)


async def test_call_hooks_run_once_per_call_with_its_call_info() -> None:
    """A "call" hook (sync or async) runs once when a call ends, with the CallInfo that rode
    on every attempt's request: attempts, why each retry happened, last answer, error."""
    fake = FakeItnio(random_seed=7)
    seed = fake.seed()
    seen: list[CallInfo] = []
    on_requests: list[object] = []

    async def on_call(info: CallInfo) -> None:
        seen.append(info)

    hooks = {
        "request": [lambda r: on_requests.append(r.extensions["itnio.call"])],
        "call": [on_call],
    }
    async with fake.client(event_hooks=hooks, retry_policy=NO_SLEEP) as client:
        fake.fail_next(503)
        fake.fail_next("drop")
        await client.templates.get(seed.template_id)
        with pytest.raises(NotFoundError):
            await client.apps.get("nope-1234")
    first, failed = seen
    assert (first.method, first.route) == ("GET", "/template/details/{templateId}")
    assert first.path == f"/template/details/{seed.template_id}"
    assert first.attempt == 3
    assert first.retry_reasons == ["http 503", "no answer (RemoteProtocolError)"]
    assert first.response is not None
    assert first.response.status_code == 200
    assert first.error is None
    assert on_requests == [first, first, first, failed]  # the same object on each attempt
    assert isinstance(failed.error, NotFoundError)
    assert failed.attempt == 1


async def test_no_call_info_without_hooks() -> None:
    """Without event hooks a request carries no CallInfo (nothing is built for hooks)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "0", "data": []})

    async with AsyncItnio("key1", "secret1", transport=httpx.MockTransport(handler)) as client:
        await client.flows.list()
    assert "itnio.call" not in seen[0].extensions
