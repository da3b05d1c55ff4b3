"""Retries on the wire: reads retry on anything transient, sends never risk a duplicate SMS.

Every test counts the requests the transport saw, so "retried" and "not retried" are
facts about the wire, not about the SDK's intentions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    Channel,
    DecodeError,
    FlowStep,
    FlowTrigger,
    HTTPStatusError,
    InvalidParameterError,
    ItnioError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    TransportError,
    make_sign,
)

from .conftest import API_KEY, API_SECRET, BASE_URL, FIXED_TIME, envelope, mock_client

VID = "22206051443051000003"
PHONE = "91856321412"
FLOW = {"flowId": 1, "name": "name", "flow": []}
RECORD = {"verificationId": VID, "verifications": {"matched": -1}}
RECORD_BY_ORDER = {"orderId": "1234566", "verifications": {"matched": -1}}
SEND = {"verificationId": VID, "to": PHONE, "channel": "sms"}
APP = {"appId": "mRELxtHc", "name": "test_app"}
TEMPLATE = {"templateId": 455, "appId": "mRELxtHc", "name": "name"}

Outcome = httpx.Response | Exception


class Script:
    """A MockTransport handler that plays scripted outcomes, then a default success."""

    def __init__(self, outcomes: Iterable[Outcome], success: dict[str, Any]) -> None:
        self.outcomes = list(outcomes)
        self.success = success
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        # The SDK re-signs one Request object per attempt: keep a snapshot of each.
        self.requests.append(
            httpx.Request(
                request.method, request.url, headers=request.headers.copy(), content=request.read()
            )
        )
        if self.outcomes:
            outcome = self.outcomes.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return httpx.Response(200, json=self.success)

    @property
    def count(self) -> int:
        """Requests the transport saw."""
        return len(self.requests)


class GatedSleep:
    """Stands in for ``asyncio.sleep``: a sleep of a watched length waits for
    :meth:`release` instead of the clock (and is recorded); any other sleep is real.

    The SDK's backoff is its only ``asyncio.sleep``; a ``Retry-After`` makes its length
    exact, so a test can hold a call between two attempts without timing anything.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *watched: float) -> None:
        self.watched = set(watched)
        self.slept: list[float] = []
        self.started = asyncio.Event()
        self._go = asyncio.Event()
        real = asyncio.sleep

        async def sleep(delay: float, result: Any = None) -> Any:
            if delay in self.watched:
                self.slept.append(delay)
                self.started.set()
                await self._go.wait()
                return result
            return await real(delay, result)

        monkeypatch.setattr(asyncio, "sleep", sleep)

    def release(self) -> None:
        """Let every watched sleep, now and later, end."""
        self._go.set()


def status(code: str, reason: str = "failed") -> httpx.Response:
    """An HTTP 200 carrying an error envelope."""
    return httpx.Response(200, json=envelope(status=code, reason=reason))


# Transport failures, split by whether the request can have left this process.
NEVER_SENT: list[type[httpx.TransportError]] = [
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
]
MAYBE_SENT: list[type[httpx.TransportError]] = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
]
RETRY_HTTP = [408, 429, 500, 502, 503, 504]

Call = Callable[[AsyncItnio], Awaitable[Any]]

# Reads and updates: every GET, every PUT and the record-lookup POST.
SAFE_CALLS: dict[str, tuple[Call, str, str, dict[str, Any]]] = {
    "flows.get": (lambda c: c.flows.get(1), "GET", "/otp/flow/details/1", envelope(FLOW)),
    "templates.list": (lambda c: c.templates.list(), "GET", "/otp/template/list", envelope([])),
    "records.get": (
        lambda c: c.records.get(VID),
        "GET",
        f"/otp/verification/record/{VID}",
        envelope(RECORD),
    ),
    "records.get_by_order_id": (
        lambda c: c.records.get_by_order_id("1234566", app_id="ad454212"),
        "POST",
        "/otp/verification/orderId/record",
        envelope(RECORD_BY_ORDER),
    ),
    "flows.update": (
        lambda c: c.flows.update(
            1,
            name="flow name",
            steps=[FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)],
        ),
        "PUT",
        "/otp/flow/update/1",
        envelope(FLOW),
    ),
    "apps.update": (
        lambda c: c.apps.update("mRELxtHc", name="test_app"),
        "PUT",
        "/otp/app/update/mRELxtHc",
        envelope(APP),
    ),
}

# Calls that cost money, reach a person or create something.
UNSAFE_CALLS: dict[str, tuple[Call, str, dict[str, Any]]] = {
    "verifications.send": (
        lambda c: c.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE),
        "/otp/verification/send",
        envelope(SEND),
    ),
    "verifications.send_code": (
        lambda c: c.verifications.send_code(app_id="mRELxtHc", code="4821", to=PHONE),
        "/otp/verification/sendRule",
        envelope(SEND),
    ),
    "verifications.resend": (
        lambda c: c.verifications.resend(VID, channel="call"),
        "/otp/verification/resend",
        envelope(SEND),
    ),
    "apps.create": (
        lambda c: c.apps.create(name="test_app"),
        "/otp/app/add",
        envelope(APP),
    ),
    "templates.create": (
        lambda c: c.templates.create(app_id="mRELxtHc", name="name", text="##code## is yours"),
        "/otp/template/add",
        envelope(TEMPLATE),
    ),
    "flows.create": (
        lambda c: c.flows.create(
            name="flow name",
            steps=[FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)],
        ),
        "/otp/flow/add",
        envelope(FLOW),
    ),
    "backfill.report": (
        lambda c: c.backfill.report(
            app_id="mRELxtHc", verification_id=VID, time=datetime(2023, 4, 11, tzinfo=UTC)
        ),
        "/otp/postback/backfill",
        envelope(),
    ),
    "backfill.report_rate": (
        lambda c: c.backfill.report_rate(
            app_id="mRELxtHc", mcc=460, backfill_now="10", callback_time="2023-01-29T09:59:58+08:00"
        ),
        "/otp/backfillRate",
        envelope(),
    ),
}
SEND_CALLS = ["verifications.send", "verifications.send_code", "verifications.resend"]


# -- reads and updates ------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAFE_CALLS)
@pytest.mark.parametrize("failure", NEVER_SENT + MAYBE_SENT, ids=lambda f: f.__name__)
async def test_safe_calls_retry_every_transport_failure(
    name: str, failure: type[httpx.TransportError]
) -> None:
    """A GET, PUT or record lookup is sent again after any transport failure and succeeds."""
    call, method, path, success = SAFE_CALLS[name]
    script = Script([failure("boom")], success)
    async with mock_client(script) as client:
        await call(client)
    assert script.count == 2
    assert [(r.method, r.url.path) for r in script.requests] == [(method, path)] * 2
    assert script.requests[0].content == script.requests[1].content


@pytest.mark.parametrize("name", SAFE_CALLS)
@pytest.mark.parametrize("code", RETRY_HTTP)
async def test_safe_calls_retry_transient_http_statuses(name: str, code: int) -> None:
    """408/429/500/502/503/504 on a read or update is retried."""
    call, _, _, success = SAFE_CALLS[name]
    script = Script([httpx.Response(code)], success)
    async with mock_client(script) as client:
        await call(client)
    assert script.count == 2


@pytest.mark.parametrize("name", SAFE_CALLS)
async def test_safe_calls_retry_envelope_minus_18(name: str) -> None:
    """Envelope status -18 (ITNIO's internal error) on a read or update is retried."""
    call, _, _, success = SAFE_CALLS[name]
    script = Script([status("-18"), status("-18")], success)
    async with mock_client(script) as client:
        await call(client)
    assert script.count == 3


@pytest.mark.parametrize("code", [400, 401, 403, 404, 501])
async def test_safe_calls_do_not_retry_other_http_statuses(code: int) -> None:
    """A non-transient HTTP status is raised after one request."""
    script = Script([httpx.Response(code)], envelope(FLOW))
    async with mock_client(script) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)
    assert info.value.status_code == code
    assert script.count == 1


async def test_safe_calls_do_not_retry_other_api_errors() -> None:
    """-22 (bad parameter) is an answer, not a transient failure: one request."""
    script = Script([status("-22")], envelope(FLOW))
    async with mock_client(script) as client:
        with pytest.raises(InvalidParameterError):
            await client.flows.get(1)
    assert script.count == 1


async def test_decode_errors_are_not_retried() -> None:
    """A 2xx body that is not JSON raises DecodeError after one request."""
    script = Script([httpx.Response(200, content=b"<html>oops</html>")], envelope(FLOW))
    async with mock_client(script) as client:
        with pytest.raises(DecodeError):
            await client.flows.get(1)
    assert script.count == 1


async def test_retries_stop_at_max_retries_and_raise_the_last_error() -> None:
    """Three failures with max_retries=2: three requests, then the last error."""
    script = Script(
        [httpx.ReadTimeout("1"), httpx.Response(503), status("-18", "busy")], envelope(FLOW)
    )
    async with mock_client(script) as client:
        with pytest.raises(ServerError) as info:
            await client.flows.get(1)
    assert info.value.reason == "busy"
    assert script.count == 3


async def test_max_retries_zero_and_with_options() -> None:
    """max_retries=0 sends once; with_options(max_retries=1) on the same pool sends twice."""
    script = Script([httpx.Response(503)] * 10, envelope(FLOW))
    async with mock_client(script, max_retries=0) as client:
        with pytest.raises(HTTPStatusError):
            await client.flows.get(1)
        assert script.count == 1
        with pytest.raises(HTTPStatusError):
            await client.with_options(max_retries=1).flows.get(1)
        assert script.count == 3
        with pytest.raises(HTTPStatusError):
            await client.flows.get(1)
        assert script.count == 4


async def test_transport_errors_are_wrapped_with_their_cause() -> None:
    """A final transport failure is a TransportError with the httpx error as its cause."""
    script = Script([httpx.RemoteProtocolError("dropped")] * 3, envelope(FLOW))
    async with mock_client(script) as client:
        with pytest.raises(TransportError) as info:
            await client.flows.get(1)
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert info.value.sent is True
    assert (info.value.method, info.value.path) == ("GET", "/flow/details/1")


async def test_timeouts_are_request_timeout_errors() -> None:
    """A final read timeout is a RequestTimeoutError (also a built-in TimeoutError)."""
    script = Script([httpx.ReadTimeout("slow")] * 3, envelope(FLOW))
    async with mock_client(script) as client:
        with pytest.raises(TimeoutError) as info:
            await client.flows.get(1)
    assert isinstance(info.value, RequestTimeoutError)
    assert script.count == 3


# -- sends, creates, backfill -----------------------------------------------------------------


@pytest.mark.parametrize("name", UNSAFE_CALLS)
@pytest.mark.parametrize("failure", NEVER_SENT, ids=lambda f: f.__name__)
async def test_unsafe_calls_retry_when_the_request_never_left(
    name: str, failure: type[httpx.TransportError]
) -> None:
    """Connect error, connect timeout and pool timeout prove nothing was sent: retried."""
    call, path, success = UNSAFE_CALLS[name]
    script = Script([failure("no connection"), failure("no connection")], success)
    async with mock_client(script) as client:
        await call(client)
    assert script.count == 3
    assert {(r.method, r.url.path) for r in script.requests} == {("POST", path)}
    assert len({r.content for r in script.requests}) == 1


@pytest.mark.parametrize("name", UNSAFE_CALLS)
@pytest.mark.parametrize("failure", MAYBE_SENT, ids=lambda f: f.__name__)
async def test_unsafe_calls_never_retry_after_the_request_may_have_left(
    name: str, failure: type[httpx.TransportError]
) -> None:
    """A read/write timeout or a dropped connection may mean a sent SMS: exactly one request."""
    call, _, success = UNSAFE_CALLS[name]
    script = Script([failure("lost")], success)
    async with mock_client(script) as client:
        with pytest.raises(TransportError) as info:
            await call(client)
    assert info.value.sent is True
    assert script.count == 1


@pytest.mark.parametrize("name", UNSAFE_CALLS)
@pytest.mark.parametrize("code", RETRY_HTTP)
async def test_unsafe_calls_never_retry_http_errors(name: str, code: int) -> None:
    """A 5xx (or 408/429) on a send or create is raised after exactly one request."""
    call, _, success = UNSAFE_CALLS[name]
    script = Script([httpx.Response(code)], success)
    async with mock_client(script) as client:
        with pytest.raises(HTTPStatusError):
            await call(client)
    assert script.count == 1


@pytest.mark.parametrize("name", UNSAFE_CALLS)
async def test_unsafe_calls_never_retry_minus_18(name: str) -> None:
    """-18 on a send or create may have been processed: one request, ServerError raised."""
    call, _, success = UNSAFE_CALLS[name]
    script = Script([status("-18")], success)
    async with mock_client(script) as client:
        with pytest.raises(ServerError):
            await call(client)
    assert script.count == 1


@pytest.mark.parametrize("name", SEND_CALLS)
async def test_send_retries_are_bounded_by_max_retries(name: str) -> None:
    """Even never-sent failures stop after 1 + max_retries attempts."""
    call, _, success = UNSAFE_CALLS[name]
    script = Script([httpx.ConnectError("refused")] * 5, success)
    async with mock_client(script, max_retries=1) as client:
        with pytest.raises(TransportError) as info:
            await call(client)
    assert info.value.sent is False
    assert script.count == 2


@pytest.mark.parametrize("name", SEND_CALLS)
async def test_send_read_timeout_then_nothing_more_on_the_wire(name: str) -> None:
    """After a read timeout the SDK sends nothing else (no retry, no probe)."""
    call, _, success = UNSAFE_CALLS[name]
    script = Script([httpx.ReadTimeout("lost")], success)
    async with mock_client(script, max_retries=5) as client:
        with pytest.raises(RequestTimeoutError):
            await call(client)
        assert script.count == 1
        await call(client)  # the client still works afterwards
    assert script.count == 2


# -- signing and Retry-After ------------------------------------------------------------------


async def test_every_attempt_is_signed_afresh() -> None:
    """Each attempt carries its own Timestamp and the Sign of that Timestamp."""
    ticks = itertools.count(FIXED_TIME, 7)
    script = Script([httpx.Response(503), httpx.ConnectError("x")], envelope(FLOW))
    async with mock_client(script, clock=lambda: next(ticks)) as client:
        await client.flows.get(1)
    stamps = [r.headers["Timestamp"] for r in script.requests]
    signs = [r.headers["Sign"] for r in script.requests]
    assert len(set(stamps)) == 3
    assert len(set(signs)) == 3
    assert [int(s) for s in stamps] == sorted(int(s) for s in stamps)
    for stamp, sign in zip(stamps, signs, strict=True):
        assert sign == make_sign(API_KEY, API_SECRET, stamp)
    assert {r.headers["Api-Key"] for r in script.requests} == {API_KEY}


async def test_send_retry_is_signed_afresh_with_the_same_body() -> None:
    """A never-sent send is re-signed, and its JSON body is byte-identical."""
    ticks = itertools.count(FIXED_TIME, 1)
    script = Script([httpx.ConnectTimeout("x")], envelope(SEND))
    async with mock_client(script, clock=lambda: next(ticks)) as client:
        result = await client.verifications.send(
            app_id="mRELxtHc", template_id=455, to=PHONE, order_id="o-1"
        )
    assert result.verification_id == VID
    first, second = script.requests
    assert first.headers["Sign"] != second.headers["Sign"]
    assert first.content == second.content
    assert json.loads(second.content) == {
        "appId": "mRELxtHc",
        "templateId": 455,
        "to": PHONE,
        "orderId": "o-1",
    }


async def test_retry_after_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    """A 429 with Retry-After: 0.05 waits that long (logged) before the retry."""
    caplog.set_level(logging.INFO, logger="itnio_async")
    script = Script([httpx.Response(429, headers={"Retry-After": "0.05"})], envelope(FLOW))
    async with mock_client(script) as client:
        await client.flows.get(1)
    assert script.count == 2
    assert any("retry 1/2 in 0.05s" in r.getMessage() for r in caplog.records)


async def test_retry_after_above_the_cap_raises_at_once() -> None:
    """Retry-After beyond max_retry_after: no sleep, no retry, retry_after on the error."""
    script = Script([httpx.Response(503, headers={"Retry-After": "120"})], envelope(FLOW))
    async with mock_client(script) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)
    assert info.value.retry_after == 120.0
    assert info.value.status_code == 503
    assert script.count == 1


async def test_retry_after_cap_is_configurable() -> None:
    """RetryPolicy(max_retry_after=0.01) refuses a 1 s Retry-After."""
    script = Script([httpx.Response(429, headers={"Retry-After": "1"})], envelope(FLOW))
    policy = RetryPolicy(base_delay=0.0, max_retry_after=0.01)
    async with mock_client(script, retry_policy=policy) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)
    assert info.value.retry_after == 1.0
    assert script.count == 1


async def test_backoff_sleeps_between_attempts(caplog: pytest.LogCaptureFixture) -> None:
    """With a real (tiny) backoff the retry is logged with a delay within the jitter bound."""
    caplog.set_level(logging.INFO, logger="itnio_async")
    script = Script([httpx.Response(502), httpx.Response(502)], envelope(FLOW))
    policy = RetryPolicy(base_delay=0.004, max_delay=0.006)
    async with mock_client(script, retry_policy=policy) as client:
        await client.flows.get(1)
    delays: list[float] = []
    for record in caplog.records:
        if "retry" in record.msg:
            assert isinstance(record.args, tuple)  # %-style arguments, the delay last
            delay = record.args[-1]
            assert isinstance(delay, float)
            delays.append(delay)
    assert len(delays) == 2
    assert 0.0 <= delays[0] <= 0.004
    assert 0.0 <= delays[1] <= 0.006


class FixedDelay(RetryPolicy):
    """A retry policy whose backoff is a known number of seconds, recording each retry asked."""

    def delay(self, error: Any, retry: int, rand: Any = None) -> float | None:
        ASKED.append(retry)
        return 3.25


ASKED: list[int] = []


@pytest.mark.parametrize("name", ["flows.get", "send"])
async def test_a_retry_waits_the_policys_delay(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before each retry the call awaits a sleep of exactly the policy's delay, and the next
    attempt is sent only once that sleep has ended (a never-awaited sleep would send it at
    once)."""
    ASKED.clear()
    sleep = GatedSleep(monkeypatch, 3.25)
    if name == "send":
        outcomes: list[Outcome] = [httpx.ConnectError("refused"), httpx.ConnectError("refused")]
        success, call = envelope(SEND), UNSAFE_CALLS["verifications.send"][0]
    else:
        outcomes = [httpx.Response(503), httpx.Response(502)]
        success, call = envelope(FLOW), SAFE_CALLS["flows.get"][0]
    script = Script(outcomes, success)
    async with mock_client(script, retry_policy=FixedDelay(max_retries=2)) as client:
        task = asyncio.ensure_future(call(client))
        started = asyncio.ensure_future(sleep.started.wait())
        await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        assert not task.done(), "the retry was sent without waiting"
        assert script.count == 1
        assert sleep.slept == [3.25]
        sleep.release()
        await task
    assert script.count == 3
    assert sleep.slept == [3.25, 3.25]
    assert ASKED == [1, 2]


async def test_retry_after_is_slept_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Retry-After above the jittered backoff is the exact sleep before the retry."""
    sleep = GatedSleep(monkeypatch, 7.0)
    sleep.release()
    script = Script([httpx.Response(429, headers={"Retry-After": "7"})], envelope(FLOW))
    policy = RetryPolicy(base_delay=0.0, max_delay=0.0, max_retry_after=7.0)
    async with mock_client(script, retry_policy=policy) as client:
        await client.flows.get(1)
    assert sleep.slept == [7.0]
    assert script.count == 2


async def test_no_sleep_without_a_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A call that is not retried (max_retries reached, or not retryable) never sleeps."""
    sleep = GatedSleep(monkeypatch, 3.25)
    script = Script([httpx.Response(503)] * 3, envelope(FLOW))
    async with mock_client(script, retry_policy=FixedDelay(max_retries=0)) as client:
        with pytest.raises(HTTPStatusError):
            await client.flows.get(1)
        script.outcomes.insert(0, status("-22"))
        with pytest.raises(InvalidParameterError):
            await client.with_options(max_retries=2).flows.get(1)
    assert sleep.slept == []


# -- event hooks, a closed client, bulk queueing and a raw resolved verify ---------------------


@pytest.mark.parametrize("where", ["request", "response"])
@pytest.mark.parametrize("raised", [LookupError("mine"), ItnioError("hook says no")])
async def test_an_event_hooks_own_exception_ends_the_call_unchanged(
    where: str, raised: Exception
) -> None:
    """An exception a hook raises (even an ItnioError) is what the call raises, unwrapped and
    not retried."""

    def hook(_: Any) -> None:
        raise raised

    script = Script([], envelope(FLOW))
    async with mock_client(script, event_hooks={where: [hook]}) as client:
        with pytest.raises(type(raised)) as info:
            await client.flows.get(1)
    assert info.value is raised
    assert script.count == (0 if where == "request" else 1)


async def test_an_engine_failure_once_the_client_is_closed_is_a_transport_error() -> None:
    """A failure of the engine that is not httpx's, after the client was closed under the
    call, is a TransportError naming it and the call, chained to a scrubbed copy of it."""
    clients: list[AsyncItnio] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        await clients[0].aclose()
        raise RuntimeError("boom")

    async with AsyncItnio(
        API_KEY, API_SECRET, base_url=BASE_URL, transport=httpx.MockTransport(handler)
    ) as client:
        clients.append(client)
        with pytest.raises(TransportError) as info:
            await client.flows.get(1)
    assert (
        str(info.value) == "RuntimeError on GET https://api.itniotech.com/otp/flow/details/1: boom"
    )
    assert (info.value.method, info.value.path) == ("GET", "/flow/details/1")
    assert type(info.value.__cause__) is RuntimeError
    assert str(info.value.__cause__) == "boom"


async def test_a_hooks_own_exception_once_the_client_is_closed_is_its_own() -> None:
    """A request hook that closes the client and raises ends the call with its own exception,
    as any hook's exception does; nothing is sent."""
    boom = RuntimeError("boom")
    clients: list[AsyncItnio] = []

    async def hook(_: Any) -> None:
        await clients[0].aclose()
        raise boom

    script = Script([], envelope(FLOW))
    async with mock_client(script, event_hooks={"request": [hook]}) as client:
        clients.append(client)
        with pytest.raises(RuntimeError) as info:
            await client.flows.get(1)
    assert info.value is boom
    assert script.count == 0


async def test_bulk_lookups_wait_for_a_connection_without_a_pool_timeout() -> None:
    """Bulk lookups queue for a connection by design (no pool timeout, only the deadline);
    a single lookup keeps the client's pool timeout."""
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        order_id = json.loads(request.content)["orderId"]
        return httpx.Response(200, json=envelope({**RECORD_BY_ORDER, "orderId": order_id}))

    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        clock=lambda: FIXED_TIME,
        deadline=None,
        timeout=httpx.Timeout(10.0, pool=7.0),
    ) as client:
        [lookup] = await client.records.get_many_by_order_ids(["1234566"])
        assert lookup.ok
        await client.records.get_by_order_id("1234566")
    bulk, single = seen
    assert bulk == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": None}
    assert single == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 7.0}


async def test_a_raw_verify_resolved_from_the_record_is_raw() -> None:
    """with_raw_response.verify whose answer was lost and resolved from the record returns a
    RawResponse: the record lookup's HTTP answer beside the MATCHED result."""
    from datetime import timedelta, timezone

    china = timezone(timedelta(hours=8))
    verified = datetime.fromtimestamp(FIXED_TIME + 60, china).isoformat()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verify"):
            raise httpx.ReadTimeout("lost")
        record = {"verificationId": VID, "verifications": {"matched": 0, "verifiedDate": verified}}
        return httpx.Response(200, json=envelope(record), headers={"X-Answer": "record"})

    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        clock=lambda: FIXED_TIME,
    ) as client:
        raw = await client.verifications.with_raw_response.verify(VID, "4821")
    assert raw.parse().ok is True
    assert raw.headers["x-answer"] == "record"
    assert raw.retries_taken == 0
