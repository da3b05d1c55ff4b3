"""A bounded fault soak over real sockets: bulk lookups and parallel sends under faults.

The SDK talks to ``FakeItnio.serve()`` (uvicorn on 127.0.0.1, in the test's event
loop) while faults are injected through the run. Both tests are bounded in count
(2 000 lookups, 200 sends) and in time (an ``asyncio.wait_for`` guard), so a
regression fails them instead of hanging the suite.

Fault placement under concurrency: a fault strikes the next matching request,
whichever id it carries, so the tests arm one fault at a time and read from
``fake.requests`` (every request body is logged) which request each one struck;
the expected outcome of every id is then derived from that log.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from itnio_async import (
    AsyncItnio,
    DecodeError,
    HTTPStatusError,
    NotFoundError,
    RecordLookup,
    RequestTimeoutError,
    RetryPolicy,
    SendResult,
    ServerError,
)
from itnio_async.testing import FakeItnio, Fault, RequestLog

RECORD_PATH = "/verification/orderId/record"
SEND_PATH = "/verification/send"
#: Seconds either test may take before it fails instead of hanging (each takes seconds;
#: the margin is for a loaded machine).
GUARD = 100.0
#: How often the fault controllers look at the fake's request log.
POLL = 0.001
#: Faults retried by a SAFE call (absorbed) versus permanent for that lookup.
TRANSIENT = frozenset({"http", "drop", "api"})
#: A slow answer (a "timeout" fault answered late) and the window of global latency:
#: both well below the lookups' read timeout.
SLOW = 0.05
LATENCY = 0.02
#: Retries per call (the SDK's default): a lookup survives at most this many strikes.
MAX_RETRIES = 2


def _retry_policy() -> RetryPolicy:
    """The default number of retries, with backoff sleeps of a few milliseconds."""
    return RetryPolicy(max_retries=MAX_RETRIES, base_delay=0.001, max_delay=0.004)


@asynccontextmanager
async def _sandbox(fake: FakeItnio, timeouts: httpx.Timeout) -> AsyncIterator[AsyncItnio]:
    """Serve ``fake`` over TCP and yield a client of it; close the client, then the server."""
    async with (
        fake.serve() as base_url,
        AsyncItnio(
            fake.api_key,
            fake.api_secret,
            base_url=base_url,
            clock=fake.now,
            retry_policy=_retry_policy(),
            timeout=timeouts,
        ) as client,
    ):
        yield client


def _setup_app(fake: FakeItnio) -> tuple[str, int]:
    """Create an app without send limits and a template, without HTTP (as ``_seed.py``)."""
    service = fake._service
    app = service.invoke("POST", "/app/add", {"name": "soak-shop", "codeExpiry": 10})
    template = service.invoke(
        "POST",
        "/template/add",
        {"appId": app["appId"], "name": "soak-login", "text": "Code ##code##", "codeLength": 6},
    )
    assert app["periodTotalSendLimit"]["enabled"] is False
    assert app["periodPhoneSendLimit"]["enabled"] is False
    return app["appId"], template["templateId"]


async def _until(condition: Callable[[], bool], work: asyncio.Future[Any]) -> bool:
    """Wait until ``condition()`` holds (True) or ``work`` is done without it (False)."""
    while not condition():
        if work.done():
            return condition()
        await asyncio.sleep(POLL)
    return True


def _logged(fake: FakeItnio, count: int) -> Callable[[], bool]:
    """A condition: the fake has logged at least ``count`` requests."""
    return lambda: len(fake.requests) >= count


def _spent(fault: Fault) -> Callable[[], bool]:
    """A condition: ``fault`` struck as many requests as it was armed for."""
    return lambda: fault.remaining == 0


def _arm_lookup_fault(fake: FakeItnio, kind: str, times: int) -> Fault:
    if kind == "slow":
        # Answered (for real) after SLOW seconds: slow, not failed.
        return fake.fail_next("timeout", path=RECORD_PATH, after=True, delay=SLOW, times=times)
    if kind == "http":
        return fake.fail_next("http", status=503, path=RECORD_PATH, times=times)
    if kind == "api":
        return fake.fail_next("api", status=-18, path=RECORD_PATH, times=times)
    if kind == "drop":
        return fake.fail_next("drop", path=RECORD_PATH, times=times)
    assert kind == "malformed"
    return fake.fail_next("malformed", path=RECORD_PATH, times=times)


class _Strikes:
    """Reads ``fake.requests`` incrementally: transient strikes and finished lookups per id."""

    def __init__(self, fake: FakeItnio, order_ids: list[str]) -> None:
        self._requests = fake.requests
        self._next = 0
        self._lookups = Counter(order_ids)
        #: Transient faults that struck a request for the id.
        self.transient: Counter[str] = Counter()
        #: Lookups of the id that ended: a fault-free answer, or a permanent fault.
        self.finished: Counter[str] = Counter()
        #: Every request a fault struck, oldest first.
        self.struck: list[RequestLog] = []

    def read(self) -> None:
        """Account for the requests logged since the last call."""
        requests = self._requests
        for entry in requests[self._next :]:
            order_id = entry.body["orderId"]
            if entry.fault is not None:
                self.struck.append(entry)
            if entry.fault in TRANSIENT:
                self.transient[order_id] += 1
            else:
                self.finished[order_id] += 1
        self._next = len(requests)

    def most_on_a_live_lookup(self) -> int:
        """An upper bound of the transient strikes any unfinished lookup has taken.

        Which lookup of a repeated id a strike hit is not in the log, so every
        unfinished lookup of an id is charged with all the strikes on that id.
        """
        self.read()
        return max(
            (
                n
                for order_id, n in self.transient.items()
                if self.finished[order_id] < self._lookups[order_id]
            ),
            default=0,
        )

    def affords(self, times: int, max_retries: int) -> Callable[[], bool]:
        """A condition: ``times`` more strikes leave every lookup within ``max_retries``."""
        return lambda: self.most_on_a_live_lookup() + times <= max_retries


async def _inject_lookup_faults(
    fake: FakeItnio,
    plan: list[tuple[str, int]],
    spacing: int,
    strikes: _Strikes,
    max_retries: int,
    lookups: asyncio.Future[Any],
) -> list[str]:
    """Arm the ``(kind, times)`` faults of ``plan`` one at a time, every ``spacing`` requests.

    A transient fault striking ``times`` requests is armed only when no unfinished
    lookup can have taken more than ``max_retries - times`` transient strikes, so no
    lookup ever takes more than ``max_retries``: every transient fault is absorbed,
    whichever requests it strikes. Permanent faults end the lookup they strike.

    Returns:
        The kinds of the faults armed, in order (all of them unless the lookups
        ended first).
    """
    armed: list[str] = []
    for number, (kind, times) in enumerate(plan, start=1):
        if not await _until(_logged(fake, number * spacing), lookups):
            break
        if kind in TRANSIENT and not await _until(strikes.affords(times, max_retries), lookups):
            break
        fault = _arm_lookup_fault(fake, kind, times)
        armed.append(kind)
        if not await _until(_spent(fault), lookups):
            break
    return armed


async def _latency_window(
    fake: FakeItnio, start: int, length: int, lookups: asyncio.Future[Any]
) -> int:
    """From request ``start`` on, slow the next ``length`` lookups down by LATENCY.

    Returns how many requests were answered while the latency was on.
    """
    if not await _until(_logged(fake, start), lookups):
        return 0
    fake.set_latency(LATENCY, path=RECORD_PATH)
    opened = len(fake.requests)
    try:
        await _until(_logged(fake, opened + length), lookups)
    finally:
        fake.set_latency(0.0, path=RECORD_PATH)
    return len(fake.requests) - opened


def _with_duplicates(rng: random.Random, known: list[str], unknown: list[str]) -> list[str]:
    """The ids shuffled, plus 70 known ids twice (10 of them three times) and 20 unknown twice.

    A repeat follows its first occurrence within 20 positions, so the lookups of one
    id overlap in time: the fault controller waits for all of them to finish after
    an id took its last affordable strike, and that wait stays short.
    """
    ids = known + unknown
    rng.shuffle(ids)
    repeats = rng.sample(known, 70)
    extra = repeats + repeats[:10] + rng.sample(unknown, 20)
    keyed = [(float(position), order_id) for position, order_id in enumerate(ids)]
    first = {order_id: position for position, order_id in enumerate(ids)}
    keyed += [(first[order_id] + rng.randint(1, 20) + rng.random(), order_id) for order_id in extra]
    return [order_id for _, order_id in sorted(keyed)]


def _outcome(lookup: RecordLookup) -> str:
    """``"ok"`` or the name of the error class, after checking the result's shape."""
    if lookup.ok:
        assert lookup.error is None
        assert lookup.record is not None
        assert lookup.record.order_id == lookup.order_id
        assert lookup.record.verifications is not None
        assert lookup.record.verifications.order_id == lookup.order_id
        assert len(lookup.record.sms) == 1
        return "ok"
    assert lookup.record is None
    error = lookup.error
    assert isinstance(error, (DecodeError, NotFoundError)), repr(error)
    assert error.path == RECORD_PATH
    if isinstance(error, NotFoundError):
        assert error.status == -24
    return type(error).__name__


async def test_bulk_lookups_absorb_transient_faults_and_surface_permanent_ones() -> None:
    """2 000 lookups at concurrency 50 over TCP: transient faults absorbed, permanent ones typed."""
    rng = random.Random(20240611)  # a reproducible test plan
    fake = FakeItnio(random_seed=11)
    app_id, template_id = _setup_app(fake)
    known = [f"soak-{i:05d}" for i in range(1850)]
    for i, order_id in enumerate(known):
        fake._service.invoke(
            "POST",
            SEND_PATH,
            {
                "appId": app_id,
                "templateId": template_id,
                "to": f"86135{i:08d}",
                "orderId": order_id,
            },
        )
    unknown = [f"missing-{i:03d}" for i in range(50)]
    order_ids = _with_duplicates(rng, known, unknown)
    assert len(order_ids) == 2000
    assert Counter(Counter(order_ids).values()) == {1: 1810, 2: 80, 3: 10}
    # (kind, times): "slow" answers late but well within the read timeout.
    plan = (
        [("http", 1)] * 15
        + [("http", 2)] * 5
        + [("drop", 1)] * 25
        + [("api", 1)] * 15
        + [("api", 2)] * 5
        + [("malformed", 1)] * 5
        + [("malformed", 2)] * 5
        + [("slow", 3)] * 5
    )
    rng.shuffle(plan)
    injected = Counter[str]()
    for kind, times in plan:
        injected["timeout" if kind == "slow" else kind] += times
    assert injected == {"http": 25, "drop": 25, "api": 25, "malformed": 15, "timeout": 15}
    strikes = _Strikes(fake, order_ids)

    async def scenario() -> tuple[list[RecordLookup], list[str], int]:
        async with _sandbox(fake, httpx.Timeout(5.0)) as client:
            lookups = asyncio.ensure_future(
                client.records.get_many_by_order_ids(order_ids, app_id=app_id, concurrency=50)
            )
            try:
                armed, slowed = await asyncio.gather(
                    _inject_lookup_faults(fake, plan, 15, strikes, client.max_retries, lookups),
                    _latency_window(fake, 700, 200, lookups),
                )
                results = await lookups
            finally:
                lookups.cancel()
        return results, armed, slowed

    results, armed, slowed = await asyncio.wait_for(scenario(), GUARD)
    strikes.read()

    # Every fault was armed and struck as often as planned; some lookups were slowed.
    assert armed == [kind for kind, _ in plan]
    assert fake.pending_faults == []
    assert slowed >= 200
    # One result per input id, in input order.
    assert [lookup.order_id for lookup in results] == order_ids
    # The fake saw every lookup once plus one retry per transient strike, no more.
    requests = fake.requests_to(RECORD_PATH)
    assert len(requests) == len(fake.requests)
    assert all(r.body == {"appId": app_id, "orderId": r.body["orderId"]} for r in requests)
    assert Counter(r.fault for r in requests if r.fault is not None) == injected
    transient = sum(injected[kind] for kind in TRANSIENT)
    assert len(requests) == len(order_ids) + transient
    # Each lookup ended with exactly one answer that was not a transient fault.
    assert strikes.finished == Counter(order_ids)
    assert sum(strikes.transient.values()) == transient
    # No id took more transient strikes than one lookup has retries (the controller's
    # promise, checked here against the log).
    assert max(strikes.transient.values()) <= MAX_RETRIES
    # Transient faults were absorbed; a malformed body is a DecodeError (never retried);
    # an unknown id is a NotFoundError. Per id, the outcomes follow from the log.
    malformed = Counter(r.body["orderId"] for r in strikes.struck if r.fault == "malformed")
    missing = set(unknown)
    expected: dict[str, Counter[str]] = {}
    for order_id, times in Counter(order_ids).items():
        rest = "NotFoundError" if order_id in missing else "ok"
        expected[order_id] = +Counter(
            {"DecodeError": malformed[order_id], rest: times - malformed[order_id]}
        )
    actual: dict[str, Counter[str]] = {order_id: Counter() for order_id in expected}
    for lookup in results:
        actual[lookup.order_id][_outcome(lookup)] += 1
    assert actual == expected
    totals = Counter(_outcome(lookup) for lookup in results)
    unknown_lookups = sum(order_id in missing for order_id in order_ids)
    assert unknown_lookups == 70
    malformed_unknown = sum(n for order_id, n in malformed.items() if order_id in missing)
    assert totals["DecodeError"] == 15
    assert totals["NotFoundError"] == unknown_lookups - malformed_unknown
    assert totals["ok"] == len(order_ids) - 15 - unknown_lookups + malformed_unknown


#: The send test's read timeout: timeout faults hold the answer longer than this.
SEND_READ_TIMEOUT = 0.5
#: Seconds between the starts of two sends (200 sends start over 0.6 s).
SEND_STAGGER = 0.003


def _arm_send_fault(fake: FakeItnio, kind: str) -> Fault:
    if kind == "timeout":
        # The code is sent, then the answer is held until the client gives up.
        return fake.fail_next("timeout", path=SEND_PATH, after=True, delay=5.0)
    if kind == "http":
        return fake.fail_next("http", status=503, path=SEND_PATH)
    return fake.fail_next("api", status=-18, path=SEND_PATH)


async def _inject_send_faults(
    fake: FakeItnio, plan: list[str], spacing: int, sends: asyncio.Future[Any]
) -> int:
    """Arm the faults of ``plan`` one at a time, every ``spacing`` sends; return how many hit."""
    hit = 0
    for number, kind in enumerate(plan, start=1):
        if not await _until(_logged(fake, number * spacing), sends):
            break
        fault = _arm_send_fault(fake, kind)
        if not await _until(_spent(fault), sends):
            break
        hit += 1
    return hit


async def test_parallel_sends_under_faults_are_never_duplicated() -> None:
    """200 parallel sends with timeouts after effect, 503s and -18s: no send is ever repeated."""
    rng = random.Random(7)  # a reproducible test plan
    fake = FakeItnio(random_seed=5)
    app_id, template_id = _setup_app(fake)
    numbers = [f"86139{i:08d}" for i in range(200)]
    plan = ["timeout"] * 12 + ["http"] * 4 + ["api"] * 4
    rng.shuffle(plan)
    timeout = httpx.Timeout(5.0, read=SEND_READ_TIMEOUT)

    async def scenario() -> tuple[list[SendResult | BaseException], int]:
        async with _sandbox(fake, timeout) as client:
            gate = asyncio.Semaphore(50)

            async def send(index: int, to: str) -> SendResult:
                # Starts are staggered so the fault controller can place every fault
                # however fast the client is; up to 50 sends are still in flight at once.
                await asyncio.sleep(index * SEND_STAGGER)
                async with gate:
                    return await client.verifications.send(
                        app_id=app_id, template_id=template_id, to=to
                    )

            sends = asyncio.ensure_future(
                asyncio.gather(
                    *(send(i, to) for i, to in enumerate(numbers)), return_exceptions=True
                )
            )
            try:
                hit = await _inject_send_faults(fake, plan, 8, sends)
                outcomes = await sends
            finally:
                sends.cancel()
        return outcomes, hit

    outcomes, hit = await asyncio.wait_for(scenario(), GUARD)

    assert hit == len(plan)
    assert fake.pending_faults == []
    # Exactly one request per number: sends are never retried after they may have left.
    requests = fake.requests_to(SEND_PATH)
    assert len(requests) == len(fake.requests) == 200
    by_number = {entry.body["to"]: entry for entry in requests}
    assert sorted(by_number) == numbers
    assert Counter(entry.fault for entry in requests) == {
        None: 180,
        "timeout": 12,
        "http": 4,
        "api": 4,
    }
    for to, outcome in zip(numbers, outcomes, strict=True):
        entry = by_number[to]
        delivered = fake.sent_to(to)
        assert len(delivered) <= 1
        if entry.fault is None:
            assert isinstance(outcome, SendResult), repr(outcome)
            assert entry.performed
            assert [d.verification_id for d in delivered] == [outcome.verification_id]
        elif entry.fault == "timeout":
            # The send took effect; only its answer was lost.
            assert isinstance(outcome, RequestTimeoutError), repr(outcome)
            assert outcome.sent is True
            assert isinstance(outcome.__cause__, httpx.ReadTimeout)
            assert entry.performed
            assert len(delivered) == 1
        elif entry.fault == "http":
            assert isinstance(outcome, HTTPStatusError), repr(outcome)
            assert outcome.status_code == 503
            assert not entry.performed
            assert delivered == []
        else:
            assert entry.fault == "api"
            assert isinstance(outcome, ServerError), repr(outcome)
            assert outcome.status == -18
            assert not entry.performed
            assert delivered == []
    assert len(fake.deliveries) == 200 - 8
    assert max(Counter(d.to for d in fake.deliveries).values()) == 1
