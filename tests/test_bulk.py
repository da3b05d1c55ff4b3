"""Bulk record lookups: ``records.iter_by_order_ids`` and ``records.get_many_by_order_ids``."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import pickle
import types
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs
import httpx
import pytest

from itnio_async import (
    APIError,
    AsyncItnio,
    AuthenticationError,
    BulkAbortedError,
    HTTPStatusError,
    InsufficientBalanceError,
    IPNotAllowedError,
    ItnioError,
    LookupFailed,
    NotFoundError,
    Record,
    RecordFound,
    RecordLookup,
    TransportError,
    ValidationError,
    _bulk,
)
from itnio_async._bulk import (
    MAX_TRANSPORT_FAILURES,
    RateLimiter,
    RunStoppedError,
    StopRule,
    run_bulk,
)

from ._loopback import Request
from .conftest import API_KEY, FIXED_SIGN, envelope
from .test_sdk_over_sockets import RECORD, RecordingServer, Reply, record_reply

PATH = "/otp/verification/orderId/record"
Handler = Callable[[httpx.Request], Any]


def record_response(order_id: str) -> httpx.Response:
    """The documented record answer for ``order_id``."""
    data = json.loads(json.dumps(RECORD))
    data["orderId"] = order_id
    data["verifications"]["orderId"] = order_id
    return httpx.Response(200, json=envelope(data))


def order_id_of(request: httpx.Request) -> str:
    """The ``orderId`` of a lookup request's JSON body."""
    return str(json.loads(request.content)["orderId"])


def echo(request: httpx.Request) -> httpx.Response:
    """Answer every lookup with a record for the requested order id."""
    return record_response(order_id_of(request))


class CountingIds:
    """A lazy source of ids that records how far it has been advanced."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0

    def __iter__(self) -> Iterator[str]:
        for i in range(self.n):
            self.pulled += 1
            yield f"id{i}"


def other_tasks() -> set[asyncio.Task[Any]]:
    """Every task of the loop except the running test."""
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}


def coroutine_name(task: asyncio.Task[Any]) -> str:
    """The qualified name of the coroutine ``task`` runs."""
    coro = task.get_coro()
    assert isinstance(coro, types.CoroutineType | types.GeneratorType)
    return coro.__qualname__


async def settle(rounds: int = 50) -> None:
    """Let the loop run until no other task is left (or ``rounds`` passes)."""
    for _ in range(rounds):
        if not other_tasks():
            return
        await asyncio.sleep(0)


@pytest.fixture
async def bulk_client(make_client: Callable[..., AsyncItnio]) -> AsyncIterator[AsyncItnio]:
    """A client whose transport echoes a record for every lookup."""
    async with make_client(echo, max_retries=0) as client:
        yield client


async def test_get_many_in_input_order_and_on_the_wire(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """get_many returns input order although later ids finish first; each POST is exact."""
    requests: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        oid = order_id_of(request)
        await asyncio.sleep(0.001 * (5 - int(oid[1:])))  # o0 slowest, o4 fastest
        return record_response(oid)

    ids = [f"o{i}" for i in range(5)]
    async with make_client(handler) as client:
        results = await client.records.get_many_by_order_ids(ids, app_id="ad454212", concurrency=5)
    assert [r.order_id for r in results] == ids
    assert [r.record.order_id for r in results if r.record] == ids
    assert all(r.ok and r.error is None for r in results)
    assert len(requests) == 5
    for request in requests:
        assert request.method == "POST"
        assert request.url.path == PATH
        assert request.headers["Sign"] == FIXED_SIGN
        assert request.headers["Api-Key"] == API_KEY
        assert request.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert sorted(r.content for r in requests) == sorted(
        f'{{"appId":"ad454212","orderId":"{i}"}}'.encode() for i in ids
    )


async def test_iter_yields_as_results_complete(make_client: Callable[..., AsyncItnio]) -> None:
    """iter_by_order_ids yields a fast result while an earlier id is still in flight."""
    release_slow = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if order_id_of(request) == "slow":
            await release_slow.wait()
        return echo(request)

    seen = []
    async with make_client(handler) as client:
        async for lookup in client.records.iter_by_order_ids(["slow", "fast"], concurrency=2):
            seen.append(lookup.order_id)
            release_slow.set()
    assert seen == ["fast", "slow"]


async def test_in_flight_never_exceeds_concurrency(make_client: Callable[..., AsyncItnio]) -> None:
    """At most ``concurrency`` requests are in flight, and the bound is actually used."""
    concurrency = 5
    current = peak = 0
    bound_reached = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal current, peak
        current += 1
        peak = max(peak, current)
        if current >= concurrency:
            bound_reached.set()
        await bound_reached.wait()
        await asyncio.sleep(0)
        current -= 1
        return echo(request)

    async with make_client(handler) as client:
        results = await client.records.get_many_by_order_ids(
            [f"id{i}" for i in range(40)], concurrency=concurrency
        )
    assert peak == concurrency
    assert len(results) == 40
    assert all(r.ok for r in results)


async def test_input_is_read_lazily(make_client: Callable[..., AsyncItnio]) -> None:
    """While requests are blocked, the input is not read beyond ``concurrency`` ids."""
    gate = asyncio.Event()
    started = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal started
        started += 1
        await gate.wait()
        return echo(request)

    ids = CountingIds(1000)
    async with make_client(handler) as client:
        results = client.records.get_many_by_order_ids(ids, concurrency=4)
        task = asyncio.ensure_future(results)
        for _ in range(20):
            await asyncio.sleep(0)
        assert started == 4
        assert ids.pulled == 4
        gate.set()
        assert len(await task) == 1000
    assert ids.pulled == 1000


async def test_million_id_generator_is_not_materialised(bulk_client: AsyncItnio) -> None:
    """Breaking out after a few results leaves a million-id generator barely advanced."""
    ids = CountingIds(1_000_000)
    got = 0

    async def consume() -> None:
        nonlocal got
        async with contextlib.aclosing(
            bulk_client.records.iter_by_order_ids(ids, concurrency=8)
        ) as lookups:
            async for _ in lookups:
                got += 1
                if got == 5:
                    break

    await asyncio.wait_for(consume(), 5)
    assert got == 5
    assert ids.pulled <= got + 8 + 1


async def test_slow_consumer_stops_the_lookups(make_client: Callable[..., AsyncItnio]) -> None:
    """Results that are not being consumed hold their slots: no new ids are read."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return echo(request)

    ids = CountingIds(100)
    async with make_client(handler) as client:
        lookups = client.records.iter_by_order_ids(ids, concurrency=3)
        first = await anext(lookups)
        for _ in range(20):
            await asyncio.sleep(0)
        assert first.ok
        assert ids.pulled <= 3 + 1
        assert calls <= 3 + 1
        await asyncio.wait_for(lookups.aclose(), 5)


async def test_duplicates_each_get_their_own_result(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """Every input id yields one result, duplicates included, each with its own request."""
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(order_id_of(request))
        return echo(request)

    async with make_client(handler) as client:
        results = await client.records.get_many_by_order_ids(["a", "a", "b", "a"])
    assert [r.order_id for r in results] == ["a", "a", "b", "a"]
    assert all(r.ok for r in results)
    assert sorted(requests) == ["a", "a", "a", "b"]


async def test_per_item_errors_never_stop_the_others(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """Validation, API, HTTP and transport errors each come back on their own id."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        oid = order_id_of(request)
        sent.append(oid)
        if oid == "missing":
            return httpx.Response(200, json=envelope(status="-24", reason="not found"))
        if oid == "http-503":
            return httpx.Response(503, json=envelope(status="-18", reason="busy"))
        if oid == "refused":
            raise httpx.ConnectError("refused", request=request)
        if oid == "reset":
            raise httpx.ReadError("reset", request=request)
        return echo(request)

    ids: list[Any] = ["ok1", "", "x" * 65, 7, "missing", "http-503", "refused", "reset", "ok2"]
    async with make_client(handler, max_retries=0) as client:
        results = await client.records.get_many_by_order_ids(ids, concurrency=3)
    by_id = {r.order_id: r for r in results}
    assert [r.order_id for r in results] == ["ok1", "", "x" * 65, "7", *ids[4:]]
    assert by_id["ok1"].ok
    assert by_id["ok2"].ok
    for bad in ("", "x" * 65, "7"):
        assert isinstance(by_id[bad].error, ValidationError)
        assert by_id[bad].record is None
    assert isinstance(by_id["missing"].error, NotFoundError)
    http_error = by_id["http-503"].error
    assert isinstance(http_error, HTTPStatusError)
    assert http_error.status_code == 503
    refused = by_id["refused"].error
    assert isinstance(refused, TransportError)
    assert refused.sent is False
    reset = by_id["reset"].error
    assert isinstance(reset, TransportError)
    assert reset.sent is True
    assert sorted(sent) == sorted(["ok1", "missing", "http-503", "refused", "reset", "ok2"])


async def test_lookups_are_retried_per_item(make_client: Callable[..., AsyncItnio]) -> None:
    """Each lookup has the client's retries: a transient failure heals on its own id."""
    attempts: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        oid = order_id_of(request)
        attempts[oid] = attempts.get(oid, 0) + 1
        if oid == "flaky" and attempts[oid] == 1:
            return httpx.Response(503)
        return echo(request)

    async with make_client(handler, max_retries=2) as client:
        results = await client.records.get_many_by_order_ids(["flaky", "steady"])
    assert all(r.ok for r in results)
    assert attempts == {"flaky": 2, "steady": 1}


async def test_break_without_aclosing_cleans_up(make_client: Callable[..., AsyncItnio]) -> None:
    """A plain ``break`` cancels the in-flight requests, leaves no task, keeps the client usable."""
    blocked = cancelled = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal blocked, cancelled
        oid = order_id_of(request)
        if oid not in ("id0", "after"):
            blocked += 1
            try:
                await asyncio.Event().wait()  # blocks until cancelled
            except asyncio.CancelledError:
                cancelled += 1
                raise
        return echo(request)

    async with make_client(handler) as client:
        async for lookup in client.records.iter_by_order_ids(CountingIds(100), concurrency=6):
            assert lookup.order_id == "id0"
            break
        await settle()
        assert other_tasks() == set()
        assert blocked >= 5
        assert cancelled == blocked
        record = await client.records.get_by_order_id("after")
        assert record.order_id == "after"


async def test_break_with_aclosing_cleans_up_at_once(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """With ``contextlib.aclosing`` nothing is left running as soon as the block exits."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if order_id_of(request) != "id0":
            await asyncio.Event().wait()
        return echo(request)

    async def consume(client: AsyncItnio) -> None:
        async with contextlib.aclosing(
            client.records.iter_by_order_ids(CountingIds(100), concurrency=6)
        ) as lookups:
            async for _ in lookups:
                break

    async with make_client(handler) as client:
        await asyncio.wait_for(consume(client), 5)
        assert other_tasks() == set()


async def test_exception_in_consumer_cleans_up(make_client: Callable[..., AsyncItnio]) -> None:
    """An exception raised inside the loop body propagates and cancels the workers."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if order_id_of(request) != "id0":
            await asyncio.Event().wait()
        return echo(request)

    async def consume(client: AsyncItnio) -> None:
        async with contextlib.aclosing(
            client.records.iter_by_order_ids(CountingIds(50), concurrency=4)
        ) as lookups:
            async for _ in lookups:
                raise RuntimeError("consumer failed")

    async with make_client(handler) as client:
        with pytest.raises(RuntimeError, match="consumer failed"):
            await asyncio.wait_for(consume(client), 5)
        assert other_tasks() == set()


async def test_cancel_cleans_up(make_client: Callable[..., AsyncItnio]) -> None:
    """Cancelling the consuming task cancels every in-flight request and leaves no task."""
    in_flight = 0
    all_started = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight
        in_flight += 1
        if in_flight == 4:
            all_started.set()
        try:
            await asyncio.Event().wait()
        finally:
            in_flight -= 1
        return echo(request)  # pragma: no cover - never released

    async with make_client(handler) as client:
        task = asyncio.ensure_future(
            client.records.get_many_by_order_ids(CountingIds(100), concurrency=4)
        )
        await all_started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        assert in_flight == 0
        assert other_tasks() == set()


async def test_failing_input_iterable_raises_and_cleans_up(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """An exception from the input itself ends the run with that exception, leak-free."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if order_id_of(request) == "a":
            await asyncio.Event().wait()
        return echo(request)

    def ids() -> Iterator[str]:
        yield "a"
        yield "b"
        raise LookupError("input broke")

    async with make_client(handler) as client:
        with pytest.raises(LookupError, match="input broke"):
            await asyncio.wait_for(client.records.get_many_by_order_ids(ids(), concurrency=4), 5)
        assert other_tasks() == set()


async def test_async_iterable_input(make_client: Callable[..., AsyncItnio]) -> None:
    """An async generator of ids is read lazily and every id gets its result."""
    pulled = 0
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return echo(request)

    async def ids() -> AsyncIterator[str]:
        nonlocal pulled
        for i in range(30):
            await asyncio.sleep(0)
            pulled += 1
            yield f"a{i}"

    async with make_client(handler) as client:
        task = asyncio.ensure_future(client.records.get_many_by_order_ids(ids(), concurrency=3))
        for _ in range(30):
            await asyncio.sleep(0)
        assert pulled == 3
        gate.set()
        results = await task
    assert [r.order_id for r in results] == [f"a{i}" for i in range(30)]
    assert all(r.ok for r in results)


async def test_empty_input(bulk_client: AsyncItnio) -> None:
    """No ids: no results, no requests, no task left."""
    assert await bulk_client.records.get_many_by_order_ids([]) == []
    assert [x async for x in bulk_client.records.iter_by_order_ids(iter(()))] == []
    assert other_tasks() == set()


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 1001}, "concurrency"),
        ({"concurrency": True}, "concurrency"),
        ({"max_per_second": 0}, "max_per_second"),
        ({"max_per_second": -1.0}, "max_per_second"),
        ({"max_per_second": float("nan")}, "max_per_second"),
        ({"max_per_second": float("inf")}, "max_per_second"),
        ({"app_id": "abc"}, "app_id"),
    ],
)
async def test_invalid_options_raise_before_sending(
    make_client: Callable[..., AsyncItnio], options: dict[str, Any], argument: str
) -> None:
    """Bad options raise ValidationError before any request is sent."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return echo(request)

    async with make_client(handler) as client:
        with pytest.raises(ValidationError) as info:
            await client.records.get_many_by_order_ids(["a"], **options)
    assert info.value.argument == argument
    assert sent == []


async def test_a_single_string_is_rejected(bulk_client: AsyncItnio) -> None:
    """A plain string is not taken as an iterable of one-character ids."""
    with pytest.raises(ValidationError, match="order_ids"):
        await bulk_client.records.get_many_by_order_ids("1234566")


async def test_closed_client_raises(make_client: Callable[..., AsyncItnio]) -> None:
    """A bulk lookup on a closed client raises ItnioError."""
    client = make_client(echo)
    await client.aclose()
    with pytest.raises(ItnioError, match="closed"):
        await client.records.get_many_by_order_ids(["a"])


async def test_max_per_second_spaces_starts(
    make_client: Callable[..., AsyncItnio], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With max_per_second each request starts only once its slot, 1/250 s after the one
    before, has come. The run's limiter gets a clock that stands still at 0 and a sleep
    that notes when its task wakes (yielding once), so the slots are read, not timed."""
    woke: dict[asyncio.Task[Any] | None, float] = {}
    real = asyncio.sleep

    async def sleep(delay: float) -> None:
        await real(0)
        woke[asyncio.current_task()] = delay  # the clock reads 0: woken at `delay`

    def limiter(per_second: float) -> RateLimiter:
        return RateLimiter(per_second, clock=lambda: 0.0, sleep=sleep)

    monkeypatch.setattr(_bulk, "RateLimiter", limiter)
    starts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        starts.append(woke.get(asyncio.current_task(), 0.0))  # the worker's own task
        return echo(request)

    async with make_client(handler) as client:
        results = await client.records.get_many_by_order_ids(
            [f"r{i}" for i in range(5)], concurrency=5, max_per_second=250
        )
    assert all(r.ok for r in results)
    assert sorted(starts) == pytest.approx([i / 250 for i in range(5)])


async def test_rate_limiter_defaults_to_the_loop_clock_and_asyncio_sleep() -> None:
    """Without injections (as a bulk run makes it) the limiter reads the running loop's
    clock and waits with asyncio.sleep: what the tests above replace is what runs for real."""
    limiter = RateLimiter(250)
    assert limiter._clock == asyncio.get_running_loop().time
    assert limiter._sleep is asyncio.sleep


async def test_rate_limiter_with_a_fake_clock() -> None:
    """No window of one second holds more than ``per_second`` starts, and no burst after idle."""
    now = 0.0
    starts: list[float] = []

    async def fake_sleep(delay: float) -> None:
        starts.append(now + delay)

    limiter = RateLimiter(10, clock=lambda: now, sleep=fake_sleep)

    async def start() -> None:
        before = len(starts)
        await limiter.wait()
        if len(starts) == before:  # started at once
            starts.append(now)

    await asyncio.gather(*(start() for _ in range(25)))
    assert starts == pytest.approx([i / 10 for i in range(25)])
    for t in starts:
        assert sum(t <= s < t + 1 - 1e-9 for s in starts) <= 10
    now = 100.0  # long idle: the next start is not followed by a catch-up burst
    await start()
    await start()
    assert starts[-2:] == pytest.approx([100.0, 100.1])


async def test_concurrency_above_pool_size_never_pool_times_out() -> None:
    """Over real sockets, even concurrency above the pool size gives no pool timeout."""
    async with (
        RecordingServer() as server,
        AsyncItnio(
            "key",
            "secret",
            base_url=server.base_url,
            timeout=httpx.Timeout(5.0, pool=0.000_001),
            max_retries=0,
        ) as client,
    ):
        ids = [f"p{i}" for i in range(300)]
        lookups = await client.records.get_many_by_order_ids(ids, concurrency=150)
    assert [r.order_id for r in lookups] == ids
    assert [r.error for r in lookups if not r.ok] == []
    assert all(isinstance(r, RecordLookup) for r in lookups)


async def test_concurrency_is_capped_at_the_sdk_pool_size() -> None:
    """With the SDK's own pool, concurrency 250 runs 100 lookups at a time, all answered."""

    def slow(seen: Request) -> Reply:
        return attrs.evolve(record_reply(str(json.loads(seen.body)["orderId"])), delay=0.03)

    async with (
        RecordingServer(slow) as server,
        AsyncItnio("key", "secret", base_url=server.base_url) as client,
    ):
        ids = [f"c{i}" for i in range(250)]
        task = asyncio.ensure_future(client.records.get_many_by_order_ids(ids, concurrency=250))
        most = 0
        while not task.done():
            workers = [t for t in other_tasks() if "worker" in coroutine_name(t)]
            most = max(most, len(workers))
            await asyncio.sleep(0.001)
        results = await task
    assert most == 100
    assert server.peak <= 100
    assert [r.order_id for r in results] == ids
    assert all(r.ok for r in results)


# -- runs that stop early ---------------------------------------------------------------


def denied(request: httpx.Request) -> httpx.Response:
    """The envelope the API answers a wrong key or Sign with."""
    return httpx.Response(200, json=envelope(status="-1", reason="Authentication error"))


async def test_run_bulk_stop_yields_completed_results_then_raises() -> None:
    """A stop yields what completed before it, cancels the lookups in flight, reads no more ids."""
    gates = {name: asyncio.Event() for name in ("stopper", "late")}
    returned: dict[str, asyncio.Event] = {name: asyncio.Event() for name in ("b", "stopper")}
    cancelled: list[str] = []
    stop_error = AuthenticationError(-1, "Authentication error")

    async def lookup_one(order_id: str) -> str:
        if order_id in gates:
            try:
                await gates[order_id].wait()
            except asyncio.CancelledError:
                cancelled.append(order_id)
                raise
        if order_id in returned:
            returned[order_id].set()
        return order_id

    ids = CountingIds(0)

    def source() -> Iterator[str]:
        for order_id in ("a", "b", "stopper", "late", "e", "never"):
            ids.pulled += 1
            yield order_id

    results = run_bulk(
        source(),
        lookup_one,
        concurrency=4,
        max_per_second=None,
        stop=lambda result: stop_error if result == "stopper" else None,
    )
    assert await anext(results) == (0, "a")
    await returned["b"].wait()  # "b" completed while the consumer was away
    gates["stopper"].set()
    await returned["stopper"].wait()
    drained: list[tuple[int, str]] = []

    async def drain() -> None:
        async for item in results:
            drained.append(item)

    with pytest.raises(RunStoppedError) as info:
        await drain()
    # "e" took the slot "a" freed; then all four slots were busy until the stop.
    assert drained == [(1, "b"), (4, "e")]
    assert info.value.error is stop_error
    assert cancelled == ["late"]
    assert ids.pulled == 5
    await settle()
    assert other_tasks() == set()


async def test_auth_error_ends_the_iterator_after_the_completed_results(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """An AuthenticationError is raised itself, after the results that completed first."""
    sent: list[str] = []
    gate = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        order_id = order_id_of(request)
        sent.append(order_id)
        if order_id == "denied":
            await gate.wait()
            return denied(request)
        if order_id.startswith("slow"):
            await asyncio.Event().wait()
        return echo(request)

    seen: list[str] = []
    ids = ["ok-1", "ok-2", "denied", *(f"slow-{i}" for i in range(500))]

    async def consume(client: AsyncItnio) -> None:
        async for lookup in client.records.iter_by_order_ids(ids, concurrency=4):
            seen.append(lookup.order_id)
            if len(seen) == 2:
                gate.set()

    async with make_client(handler) as client:
        with pytest.raises(AuthenticationError) as info:
            await consume(client)
        await settle()
        assert other_tasks() == set()
    assert sorted(seen) == ["ok-1", "ok-2"]
    assert info.value.status == -1
    assert len(sent) <= 4 + 2  # concurrency, plus the ids the two consumed results freed


async def test_get_many_raises_bulk_aborted_with_the_completed_lookups(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """get_many raises BulkAbortedError carrying the error and the completed lookups in order."""
    # "later-1" is taken only once "found" and "missing" were consumed and freed
    # their slots; then "broke" answers -10 and the run stops.
    consumed_two = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        order_id = order_id_of(request)
        if order_id == "broke":
            await consumed_two.wait()
            return httpx.Response(200, json=envelope(status="-10", reason="balance"))
        if order_id == "missing":
            return httpx.Response(200, json=envelope(status="-24", reason="not found"))
        if order_id == "later-1":
            consumed_two.set()
        if order_id != "found":
            await asyncio.Event().wait()
        return echo(request)

    ids = ["found", "broke", "hang", "missing", *(f"later-{i}" for i in range(100))]
    async with make_client(handler, max_retries=0) as client:
        with pytest.raises(BulkAbortedError) as info:
            await client.records.get_many_by_order_ids(ids, concurrency=4)
    error = info.value
    assert isinstance(error.error, InsufficientBalanceError)
    assert error.__cause__ is error.error
    assert [lookup.order_id for lookup in error.completed] == ["found", "missing"]
    assert isinstance(error.completed[0], RecordFound)
    assert isinstance(error.completed[1].error, NotFoundError)
    assert str(error).startswith("bulk lookup stopped by InsufficientBalanceError (API status -10")
    assert str(error).endswith("after 2 completed lookups")
    assert isinstance(error, ItnioError)


@pytest.mark.parametrize(
    ("answer", "raised"),
    [
        (httpx.Response(200, json=envelope(status="-1", reason="auth")), AuthenticationError),
        (httpx.Response(200, json=envelope(status="-2", reason="ip")), IPNotAllowedError),
        (httpx.Response(200, json=envelope(status="-10", reason="$")), InsufficientBalanceError),
        (httpx.Response(403, json=envelope(status="-2", reason="ip")), HTTPStatusError),
    ],
    ids=["-1", "-2", "-10", "HTTP 403 with -2"],
)
async def test_each_account_error_stops_the_run(
    make_client: Callable[..., AsyncItnio], answer: httpx.Response, raised: type[ItnioError]
) -> None:
    """-1, -2 and -10 (also inside a non-2xx answer) stop the run at the first lookup."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(order_id_of(request))
        return answer

    async with make_client(handler, max_retries=0) as client:
        with pytest.raises(BulkAbortedError) as info:
            await client.records.get_many_by_order_ids(CountingIds(1000), concurrency=1)
    assert type(info.value.error) is raised
    assert info.value.completed == []
    assert sent == ["id0"]


async def test_consecutive_transport_failures_end_the_run(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """After MAX_TRANSPORT_FAILURES transport failures in a row the run stops with the last one."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(order_id_of(request))
        raise httpx.ConnectError("refused", request=request)

    seen: list[RecordLookup] = []

    async def consume(client: AsyncItnio) -> None:
        async for lookup in client.records.iter_by_order_ids(CountingIds(1000), concurrency=1):
            seen.append(lookup)

    async with make_client(handler, max_retries=0) as client:
        with pytest.raises(TransportError) as info:
            await consume(client)
    assert MAX_TRANSPORT_FAILURES == 10
    assert len(sent) == MAX_TRANSPORT_FAILURES
    assert [lookup.order_id for lookup in seen] == [f"id{i}" for i in range(9)]
    assert all(isinstance(lookup.error, TransportError) for lookup in seen)
    assert info.value not in [lookup.error for lookup in seen]


async def test_an_answer_between_transport_failures_keeps_the_run_going(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """Any answer from the server (a record or an API error) resets the failure count."""

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(order_id_of(request)[2:])
        if number % 10 == 9:
            return httpx.Response(200, json=envelope(status="-24", reason="not found"))
        if number % 10 == 4:
            return echo(request)
        raise httpx.ReadError("reset", request=request)

    async with make_client(handler, max_retries=0) as client:
        results = await client.records.get_many_by_order_ids(CountingIds(100), concurrency=1)
    assert len(results) == 100
    assert sum(isinstance(r.error, TransportError) for r in results) == 80


def test_stop_rule_counts_transport_failures_in_a_row() -> None:
    """Only transport failures count; server answers reset; validation errors do neither."""
    record = RecordFound(order_id="r", record=Record())
    transport = LookupFailed(order_id="t", error=TransportError("down"))
    invalid = LookupFailed(order_id="v", error=ValidationError("order_id", "1-64", "''"))
    answered = LookupFailed(order_id="a", error=APIError(-24, "not found"))
    rule = StopRule(max_transport_failures=3)
    assert [rule(x) for x in (transport, invalid, transport, record)] == [None] * 4
    assert [rule(x) for x in (transport, transport, answered, transport, invalid)] == [None] * 5
    assert rule(transport) is None
    assert rule(transport) is transport.error
    assert StopRule()(LookupFailed(order_id="x", error=APIError(-22, "bad"))) is None


def test_bulk_aborted_error_survives_copy_and_pickle() -> None:
    """BulkAbortedError keeps its message, error, completed lookups and cause when pickled."""
    error = BulkAbortedError(
        AuthenticationError(-1, "Authentication error", method="POST", path=PATH),
        [RecordFound(order_id="a", record=Record(order_id="a"))],
    )
    for clone in (copy.copy(error), pickle.loads(pickle.dumps(error))):  # noqa: S301
        assert type(clone) is BulkAbortedError
        assert str(clone) == str(error)
        assert type(clone.error) is AuthenticationError
        assert str(clone.error) == str(error.error)
        assert clone.completed == error.completed
        assert clone.__cause__ is clone.error


def test_record_lookup_is_a_union_discriminated_by_ok() -> None:
    """RecordFound and LookupFailed are the two RecordLookups; ok and the other field are fixed."""
    found = RecordFound(order_id="a", record=Record(order_id="a"))
    failed = LookupFailed(order_id="b", error=NotFoundError(-24, "not found"))
    assert isinstance(found, RecordLookup)
    assert isinstance(failed, RecordLookup)
    assert (found.ok, found.error) == (True, None)
    assert (failed.ok, failed.record) == (False, None)
    with pytest.raises(TypeError):
        RecordFound(order_id="a", record=Record(), ok=False)  # type: ignore[call-arg]
    assert pickle.loads(pickle.dumps(found)) == found  # noqa: S301
