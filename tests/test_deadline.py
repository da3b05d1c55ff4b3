"""The overall deadline: one bound on all attempts and sleeps of a call, whatever the transport."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    HTTPStatusError,
    ItnioError,
    Record,
    RequestTimeoutError,
    RetryPolicy,
)

from ._loopback import LoopbackServer
from .conftest import API_KEY, API_SECRET, BASE_URL, FIXED_TIME, envelope, mock_client

FLOW = {"flowId": 1, "name": "name", "flow": []}
VID = "22206051443051000003"


async def never_answer() -> NoReturn:
    """Wait for an event nobody sets: only a cancellation (the deadline's) ends this."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


class Slow:
    """An async MockTransport handler that sleeps before answering, or never answers when
    ``delay`` is None (MockTransport ignores httpx timeouts, so only the SDK's own deadline
    can cut it short)."""

    def __init__(self, delay: float | None, paths: tuple[str, ...] = ()) -> None:
        self.delay = delay
        self.paths = paths
        self.requests: list[httpx.Request] = []
        self.timeouts: list[dict[str, float | None]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.timeouts.append(dict(request.extensions["timeout"]))
        if not self.paths or request.url.path.endswith(self.paths):
            if self.delay is None:
                await never_answer()
            await asyncio.sleep(self.delay)
        if request.url.path.endswith("/verification/verify"):
            return httpx.Response(200, json=envelope({"verificationId": VID, "matched": 0}))
        return httpx.Response(200, json=envelope(FLOW))


def record_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record every ``asyncio.sleep`` asked for (the SDK's backoff is its only one); each
    recorded sleep only yields once, so a wrongly slept backoff shows up at once."""
    slept: list[float] = []
    real = asyncio.sleep

    async def sleep(delay: float, result: Any = None) -> Any:
        slept.append(delay)
        return await real(0, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    return slept


class Fixed(RetryPolicy):
    """A retry policy whose backoff is always ``FIXED_DELAY`` seconds (no jitter)."""

    def delay(self, error: Any, retry: int, rand: Any = None) -> float | None:
        return FIXED_DELAY


FIXED_DELAY = 60.0


async def test_deadline_cuts_a_hanging_attempt() -> None:
    """A server that never answers: only the deadline can end the call, and it fails with a
    RequestTimeoutError that names the deadline."""
    slow = Slow(None)
    async with mock_client(slow, deadline=0.3, max_retries=5) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.flows.get(1)
    assert "deadline" in str(info.value)
    assert (info.value.method, info.value.path) == ("GET", "/flow/details/1")
    assert len(slow.requests) == 1  # no retry is started once the deadline is gone


async def test_retries_cannot_multiply_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five retries of 0.2 s attempts under a 0.3 s deadline: the second attempt gets only
    the time left, and no third one starts. The loop clock stands still but for the 0.2 s
    each attempt moves it on, so no real time counts."""
    loop = asyncio.get_running_loop()
    now = [loop.time()]
    monkeypatch.setattr(loop, "time", lambda: now[0])
    timeouts: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(dict(request.extensions["timeout"]))
        now[0] += 0.2  # the attempt took 0.2 s
        return httpx.Response(503)

    async with mock_client(handler, deadline=0.3, max_retries=5) as client:
        with pytest.raises((RequestTimeoutError, HTTPStatusError)):
            await client.flows.get(1)
    [first, second] = timeouts  # a third attempt would not fit this unpacking
    assert first == pytest.approx(dict.fromkeys(first, 0.3)), first
    assert second == pytest.approx(dict.fromkeys(second, 0.1)), second


async def test_backoff_that_would_overrun_the_deadline_is_not_slept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the next backoff cannot fit in the deadline, the last error is raised at once."""
    slept = record_sleeps(monkeypatch)
    script = [httpx.Response(503)] * 3
    seen = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        seen += 1
        return script.pop(0)

    async with mock_client(handler, deadline=0.5, retry_policy=Fixed()) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)  # a 60 s backoff (no jitter) under a 0.5 s deadline
    assert info.value.status_code == 503
    assert slept == []
    assert seen == 1


async def test_retry_after_longer_than_the_deadline_raises_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Retry-After (within the cap) that outlasts the deadline is not waited for."""
    slept = record_sleeps(monkeypatch)
    seen = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        seen += 1
        return httpx.Response(429, headers={"Retry-After": "20"})

    async with mock_client(handler, deadline=1.0) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.flows.get(1)
    assert info.value.retry_after == 20.0
    assert slept == []
    assert seen == 1


async def test_per_attempt_timeouts_are_capped_by_the_time_left() -> None:
    """Every httpx timeout of an attempt is at most what remains of the deadline."""
    slow = Slow(0.0)
    async with mock_client(slow, deadline=0.4, timeout=10.0) as client:
        await client.flows.get(1)
        await client.with_options(deadline=None).flows.get(1)
    capped, uncapped = slow.timeouts
    assert set(capped) == {"connect", "read", "write", "pool"}
    assert all(v is not None and 0 < v <= 0.4 for v in capped.values())
    assert uncapped == {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}


async def test_no_timeout_still_bounded_by_the_deadline() -> None:
    """timeout=None (no httpx timeouts) still gets finite per-attempt timeouts from the deadline."""
    slow = Slow(0.0)
    async with mock_client(slow, deadline=0.4, timeout=None) as client:
        await client.flows.get(1)
    assert all(v is not None and v <= 0.4 for v in slow.timeouts[0].values())


async def test_later_attempts_get_less_time() -> None:
    """The read timeout of a retry is smaller than that of the first attempt."""
    outcomes: list[Any] = [httpx.Response(503)]
    seen: list[dict[str, float | None]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        await asyncio.sleep(0.05)
        return outcomes.pop(0) if outcomes else httpx.Response(200, json=envelope(FLOW))

    async with mock_client(handler, deadline=1.0) as client:
        await client.flows.get(1)
    first, second = seen
    assert second["read"] is not None
    assert first["read"] is not None
    assert second["read"] < first["read"] <= 1.0


async def test_with_options_deadline_and_none() -> None:
    """deadline=None in with_options lifts the bound; the original keeps its own."""
    slow = Slow(0.3)
    async with mock_client(slow, deadline=0.1) as client:
        assert client.deadline == 0.1
        unbounded = client.with_options(deadline=None)
        assert unbounded.deadline is None
        flow = await unbounded.flows.get(1)
        assert flow.flow_id == 1
        with pytest.raises(RequestTimeoutError):
            await client.flows.get(1)
        assert client.with_options(deadline=5).deadline == 5.0


@pytest.mark.parametrize("value", [0, True, "5", float("nan")])
def test_invalid_deadline_is_rejected(value: Any) -> None:
    """A deadline must be a positive number of seconds or None (-1, with its message, is in
    test_client.py's test_invalid_options_are_refused_saying_what_is_wrong)."""
    with pytest.raises(ItnioError, match="deadline"):
        AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL, deadline=value)


async def test_default_deadline_is_thirty_seconds() -> None:
    """Without deadline=... a call is bounded by 30 s."""
    assert AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL).deadline == 30.0


async def test_verify_resolution_shares_the_deadline() -> None:
    """A lost verify whose record lookup hangs ends at the deadline with verify's own error
    (that the lookup gets no fresh budget: test_a_record_lookup_inside_verify_gets_no_fresh_budget).
    """
    verify_calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal verify_calls
        if request.url.path.endswith("/verification/verify"):
            verify_calls += 1
            raise httpx.ReadTimeout("answer lost")
        await never_answer()

    async with mock_client(handler, deadline=0.3) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.verifications.verify(VID, "4821")
    assert info.value.path == "/verification/verify"
    assert isinstance(info.value.__cause__, RequestTimeoutError)  # the failed lookup
    assert verify_calls == 1


async def test_a_cut_attempt_does_not_leave_the_task_cancelled() -> None:
    """After a deadline cut, the caller's task is not left in a cancelling state."""
    async with mock_client(Slow(30.0), deadline=0.05) as client:
        with pytest.raises(RequestTimeoutError):
            await client.flows.get(1)
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0
        await asyncio.sleep(0)  # would raise CancelledError if a cancel were still pending


# -- the outer deadline of a nested request, and what a cut says was sent --------------------


class Recording:
    """A MockTransport handler that keeps each attempt's timeouts and answers a record."""

    def __init__(self) -> None:
        self.timeouts: list[dict[str, float | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.timeouts.append(dict(request.extensions["timeout"]))
        record = {"verificationId": VID, "verifications": {"matched": -1}}
        return httpx.Response(200, json=envelope(record))


@pytest.mark.parametrize(("deadline", "bound"), [(5.0, 5.0), (100.0, 100.0)])
async def test_each_attempt_timeout_is_capped_by_the_deadline(
    deadline: float, bound: float
) -> None:
    """With no per-attempt timeout, an attempt's timeouts are the time left before the
    call's deadline (a user's transport gives up on its own before the deadline)."""
    from itnio_async._resources.records import record_call

    handler = Recording()
    async with mock_client(handler, deadline=deadline, timeout=None) as client:
        record = await client._request(record_call(VID))
    assert type(record) is Record  # not a RawResponse: raw is off unless asked for
    [timeouts] = handler.timeouts
    assert all(v is not None and 0 < v <= bound for v in timeouts.values()), timeouts


async def test_a_record_lookup_inside_verify_gets_no_fresh_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """verify's lost answer took 20 of its 30 s (the loop clock jumps): the record lookup that
    resolves it has at most the 10 s left, not a fresh 30 s."""
    loop = asyncio.get_running_loop()
    real = loop.time
    shift = [0.0]
    monkeypatch.setattr(loop, "time", lambda: real() + shift[0])
    lookups: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            shift[0] += 20.0  # the attempt took 20 s
            raise httpx.ReadTimeout("answer lost")
        lookups.append(dict(request.extensions["timeout"]))
        record = {"verificationId": VID, "verifications": {"matched": -1}}
        return httpx.Response(200, json=envelope(record))

    async with mock_client(handler, deadline=30.0, timeout=None, max_retries=0) as client:
        with pytest.raises(RequestTimeoutError):
            await client.verifications.verify(VID, "4821")
    [timeouts] = lookups
    assert all(v is not None and v <= 10.0 for v in timeouts.values()), timeouts


async def test_a_deadline_cut_of_a_written_request_says_it_was_sent() -> None:
    """An attempt cut by the deadline after the request may have left reports sent=True
    (a caller must not re-send an SMS that went out)."""
    async with mock_client(Slow(30.0), deadline=0.2) as client:
        with pytest.raises(RequestTimeoutError, match="deadline") as info:
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to="8613512345678")
    assert info.value.sent is True
    assert str(info.value) == (
        "deadline exceeded for POST https://api.itniotech.com/otp/verification/send"
        " after 1 attempt(s)"
    )


async def test_a_deadline_cut_names_the_attempt_it_cut() -> None:
    """A retry cut by the deadline says how many attempts the call made."""
    attempts = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return httpx.Response(503)
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    async with mock_client(handler, deadline=0.3) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.flows.get(1)
    assert (
        str(info.value) == "deadline exceeded for GET https://api.itniotech.com/otp/flow/details/1"
        " after 2 attempt(s)"
    )
    assert info.value.sent is True
    assert attempts == 2


@pytest.mark.parametrize("overshoot", [0.0, 1.0])
async def test_a_lookup_is_not_sent_once_the_deadline_is_reached(
    monkeypatch: pytest.MonkeyPatch, overshoot: float
) -> None:
    """verify's lost answer used the whole deadline (the loop clock reads the deadline, or
    later): the record lookup that would resolve it is not sent; the lost answer's error
    is raised, sent=True."""
    loop = asyncio.get_running_loop()
    real = loop.time
    shift = [0.0]
    monkeypatch.setattr(loop, "time", lambda: real() + shift[0])
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        shift[0] += 30.0 + overshoot
        raise httpx.ReadTimeout("answer lost")

    async with mock_client(handler, deadline=30.0, timeout=None) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.verifications.verify(VID, "4821")
    assert info.value.sent is True
    assert paths == ["/otp/verification/verify"]


class _Hold(LoopbackServer):
    """A one-connection-at-a-time server on 127.0.0.1 that holds every request it reads."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0
        self.arrived = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.seen += 1
        self.arrived.set()
        await reader.read()  # the body, then nothing until the client hangs up


async def test_a_deadline_cut_on_the_own_engine_is_exact_about_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the SDK's own engine, a send cut by the deadline after it was written says
    sent=True; one cut while still waiting for a pool connection says sent=False."""
    from itnio_async import _base_client

    monkeypatch.setattr(_base_client, "DEFAULT_MAX_CONNECTIONS", 1)
    send: dict[str, Any] = {"app_id": "mRELxtHc", "template_id": 455, "to": "8613512345678"}
    async with (
        _Hold() as hold,
        AsyncItnio(
            API_KEY, API_SECRET, base_url=hold.base_url, clock=lambda: FIXED_TIME, deadline=30.0
        ) as client,
    ):
        first = asyncio.ensure_future(client.with_options(deadline=0.3).verifications.send(**send))
        await hold.arrived.wait()  # written, and holding the only connection
        with pytest.raises(RequestTimeoutError, match="deadline") as queued:
            await client.with_options(deadline=0.1).verifications.send(**send)
        with pytest.raises(RequestTimeoutError, match="deadline") as written:
            await first
    assert queued.value.sent is False
    assert written.value.sent is True
    assert hold.seen == 1


@pytest.mark.parametrize(
    ("first", "sent"), [("http-503", True), ("read-error", True), ("connect-error", False)]
)
async def test_the_deadline_error_before_a_retry_keeps_what_was_sent(
    first: str, sent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the deadline passes during the backoff sleep, the RequestTimeoutError raised
    before the next attempt says sent=True if an earlier attempt may have been sent, and
    sent=False if none was."""
    from .test_retries import FixedDelay, GatedSleep

    sleep = GatedSleep(monkeypatch, 3.25)
    loop = asyncio.get_running_loop()
    real = loop.time
    shift = [0.0]
    monkeypatch.setattr(loop, "time", lambda: real() + shift[0])
    attempts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if first == "connect-error":
            raise httpx.ConnectError("refused")
        if first == "read-error":
            raise httpx.ReadError("reset")
        return httpx.Response(503)

    async with mock_client(handler, deadline=30.0, retry_policy=FixedDelay()) as client:
        call = (
            client.verifications.send(app_id="mRELxtHc", template_id=455, to="8613512345678")
            if first == "connect-error"
            else client.flows.get(1)
        )
        task = asyncio.ensure_future(call)
        await sleep.started.wait()
        shift[0] += 60.0  # the deadline passes while the call sleeps
        sleep.release()
        with pytest.raises(RequestTimeoutError, match="deadline") as info:
            await task
    assert info.value.sent is sent
    assert attempts == 1
    assert "after 1 attempt(s)" in str(info.value)
