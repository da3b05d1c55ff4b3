"""A bounded fault soak over real sockets: bulk lookups and parallel sends under faults.

The SDK talks to ``FakeItnio``'s ASGI app under uvicorn on 127.0.0.1 (in the test's
event loop). Both tests are bounded in count (2 000 lookups, 200 sends) and in time
(an ``asyncio.wait_for`` guard), so a regression fails them instead of hanging.

Fault placement is deterministic: never by the clock, never by a race with the
client. A small ASGI middleware in front of the fake (:class:`FaultPlan`) numbers the
requests for each id (order id or phone number) as they arrive and, when the plan
names that request, arms the fake's own fault (``fail_next``) just before handing the
request over. Nothing awaits between arming and the fake choosing the fault, so the
planned request — and only it — is struck, however the client's concurrency
interleaves. The expected outcome of every id then follows from the plan alone, and
the fake's request log cross-checks it.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
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
from itnio_async.testing import FakeItnio
from itnio_async.testing._asgi import read_body
from itnio_async.testing._server import serve_asgi

RECORD_PATH = "/verification/orderId/record"
SEND_PATH = "/verification/send"
#: Seconds either test may take before it fails instead of hanging (each takes seconds;
#: the margin is for a loaded machine).
GUARD = 100.0
#: Faults a SAFE call retries (absorbed) versus permanent for that lookup.
TRANSIENT = frozenset({"http", "drop", "api"})
#: A slow answer (a "timeout" fault answered late) and the latency of a window of
#: requests: both far below the lookups' read timeout.
SLOW = 0.05
LATENCY = 0.02
#: Retries per call (the SDK's default): a lookup survives at most this many strikes.
MAX_RETRIES = 2

Message = MutableMapping[str, Any]


def _retry_policy() -> RetryPolicy:
    """The default number of retries, with backoff sleeps of a few milliseconds."""
    return RetryPolicy(max_retries=MAX_RETRIES, base_delay=0.001, max_delay=0.004)


class FaultPlan:
    """ASGI middleware in front of ``fake.asgi_app`` that arms planned faults by request.

    ``plan[(key, n)]`` names the fault for the ``n``-th request (1-based) that carries
    ``key`` in the JSON body member ``field``. Requests ``latency_from`` to
    ``latency_from + latency_count - 1`` (by arrival, 0-based) are first held
    ``LATENCY`` seconds.
    """

    def __init__(
        self,
        fake: FakeItnio,
        path: str,
        field: str,
        plan: dict[tuple[str, int], str],
        *,
        latency_from: int = 0,
        latency_count: int = 0,
    ) -> None:
        self.fake = fake
        self.path = path
        self.field = field
        self.plan = plan
        self.latency_from = latency_from
        self.latency_count = latency_count
        self.arrived = 0
        self.slowed = 0
        self.per_key: Counter[str] = Counter()
        self.armed: Counter[str] = Counter()

    async def __call__(
        self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Any
    ) -> None:
        if scope["type"] != "http":
            await self.fake.asgi_app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return
        index = self.arrived
        self.arrived += 1
        if self.latency_from <= index < self.latency_from + self.latency_count:
            self.slowed += 1
            await asyncio.sleep(LATENCY)
        key = str(json.loads(body)[self.field])
        self.per_key[key] += 1
        kind = self.plan.get((key, self.per_key[key]))
        if kind is not None:
            self._arm(kind)
            self.armed[kind] += 1
        replayed = False

        async def replay() -> Message:
            # The body first (without yielding), then the client's own messages
            # (a disconnect ends a held "timeout" answer).
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        # No await between arming and the fake choosing the fault: it strikes this request.
        await self.fake.asgi_app(scope, replay, send)

    def _arm(self, kind: str) -> None:
        fake, path = self.fake, self.path
        if kind == "slow":
            # Answered (for real) after SLOW seconds: slow, not failed.
            fake.fail_next("timeout", path=path, after=True, delay=SLOW)
        elif kind == "timeout":
            # The request takes effect, then the answer is held until the client gives up.
            fake.fail_next("timeout", path=path, after=True, delay=60.0)
        elif kind == "http":
            fake.fail_next("http", status=503, path=path)
        elif kind == "api":
            fake.fail_next("api", status=-18, path=path)
        elif kind == "drop":
            fake.fail_next("drop", path=path)
        else:
            assert kind == "malformed", kind
            fake.fail_next("malformed", path=path)


@asynccontextmanager
async def _sandbox(
    fake: FakeItnio, app: FaultPlan, timeouts: httpx.Timeout
) -> AsyncIterator[AsyncItnio]:
    """Serve ``app`` over TCP and yield a client of it; close the client, then the server."""
    async with (
        serve_asgi(app) as url,
        AsyncItnio(
            fake.api_key,
            fake.api_secret,
            base_url=url + "/otp",
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


def _with_duplicates(rng: random.Random, known: list[str], unknown: list[str]) -> list[str]:
    """The ids shuffled, plus 70 known ids twice (10 of them three times) and 20 unknown twice.

    A repeat follows its first occurrence within 20 positions, so the lookups of one id
    overlap in time.
    """
    ids = known + unknown
    rng.shuffle(ids)
    repeats = rng.sample(known, 70)
    extra = repeats + repeats[:10] + rng.sample(unknown, 20)
    keyed = [(float(position), order_id) for position, order_id in enumerate(ids)]
    first = {order_id: position for position, order_id in enumerate(ids)}
    keyed += [(first[order_id] + rng.randint(1, 20) + rng.random(), order_id) for order_id in extra]
    return [order_id for _, order_id in sorted(keyed)]


#: Fault schedules per id: the kinds struck on its 1st, 2nd, ... request. At most
#: MAX_RETRIES transient strikes per id (so every one is absorbed, whichever lookup of a
#: repeated id it hits), and only requests that are sure to happen (an id with ``m``
#: lookups makes ``m`` plus one request per transient strike).
SCHEDULES: list[tuple[tuple[str, ...], int]] = [
    (("http",), 12),
    (("http", "http"), 5),
    (("drop",), 20),
    (("drop", "api"), 5),
    (("api",), 10),
    (("api", "api"), 5),
    (("malformed",), 5),
    (("http", "malformed"), 5),
    (("slow", "slow", "slow"), 5),
]


def _plan_lookups(
    rng: random.Random, order_ids: list[str]
) -> tuple[dict[tuple[str, int], str], dict[str, tuple[str, ...]]]:
    """Give the schedules to distinct random ids; return the plan and each id's schedule."""
    counts = Counter(order_ids)
    # A three-strike schedule needs three requests: give "slow" ids with one lookup only
    # the requests they are sure to make (one per lookup plus one per transient strike).
    ids = sorted(counts)
    rng.shuffle(ids)
    plan: dict[tuple[str, int], str] = {}
    schedules: dict[str, tuple[str, ...]] = {}
    pool = iter(ids)
    for kinds, how_many in SCHEDULES:
        given = 0
        while given < how_many:
            order_id = next(pool)
            transient = sum(kind in TRANSIENT for kind in kinds)
            if len(kinds) > counts[order_id] + transient:
                continue  # not enough requests for this id: try the next one
            schedules[order_id] = kinds
            for n, kind in enumerate(kinds, start=1):
                plan[(order_id, n)] = kind
            given += 1
    return plan, schedules


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
    plan, schedules = _plan_lookups(rng, order_ids)
    injected = Counter("timeout" if kind == "slow" else kind for kind in plan.values())
    assert injected == {"http": 27, "drop": 25, "api": 25, "malformed": 10, "timeout": 15}
    app = FaultPlan(fake, RECORD_PATH, "orderId", plan, latency_from=700, latency_count=200)

    async def scenario() -> list[RecordLookup]:
        async with _sandbox(fake, app, httpx.Timeout(5.0)) as client:
            return await client.records.get_many_by_order_ids(
                order_ids, app_id=app_id, concurrency=50
            )

    results = await asyncio.wait_for(scenario(), GUARD)

    # Every planned fault was armed and struck its request; the window was slowed.
    assert app.armed == Counter(plan.values())
    assert fake.pending_faults == []
    assert app.slowed == 200
    # One result per input id, in input order.
    assert [lookup.order_id for lookup in results] == order_ids
    # The fake saw every lookup once plus one retry per transient strike, no more.
    requests = fake.requests_to(RECORD_PATH)
    assert len(requests) == len(fake.requests) == app.arrived
    assert all(r.body == {"appId": app_id, "orderId": r.body["orderId"]} for r in requests)
    assert Counter(r.fault for r in requests if r.fault is not None) == injected
    transient = sum(injected[kind] for kind in TRANSIENT)
    assert len(requests) == len(order_ids) + transient
    # Each fault struck the request the plan named.
    struck = Counter((r.body["orderId"], r.fault) for r in requests if r.fault is not None)
    planned = Counter(
        (order_id, "timeout" if kind == "slow" else kind) for (order_id, _), kind in plan.items()
    )
    assert struck == planned
    # Outcomes per id follow from the plan: a malformed body ends one lookup with a
    # DecodeError (never retried); transient faults are absorbed; unknown ids are -24.
    missing = set(unknown)
    expected: dict[str, Counter[str]] = {}
    for order_id, times in Counter(order_ids).items():
        rest = "NotFoundError" if order_id in missing else "ok"
        broken = schedules.get(order_id, ()).count("malformed")
        expected[order_id] = +Counter({"DecodeError": broken, rest: times - broken})
    actual: dict[str, Counter[str]] = {order_id: Counter() for order_id in expected}
    for lookup in results:
        actual[lookup.order_id][_outcome(lookup)] += 1
    assert actual == expected
    assert sum(_outcome(lookup) == "DecodeError" for lookup in results) == 10


#: The send test's read timeout: "timeout" faults hold the answer until the client
#: gives up after it; every other answer comes in milliseconds.
SEND_READ_TIMEOUT = 1.0


async def test_parallel_sends_under_faults_are_never_duplicated() -> None:
    """200 parallel sends with timeouts after effect, 503s and -18s: no send is ever repeated."""
    rng = random.Random(7)  # a reproducible test plan
    fake = FakeItnio(random_seed=5)
    app_id, template_id = _setup_app(fake)
    numbers = [f"86139{i:08d}" for i in range(200)]
    kinds = ["timeout"] * 12 + ["http"] * 4 + ["api"] * 4
    struck_numbers = rng.sample(numbers, len(kinds))
    faults = dict(zip(struck_numbers, kinds, strict=True))
    app = FaultPlan(fake, SEND_PATH, "to", {(to, 1): kind for to, kind in faults.items()})
    timeout = httpx.Timeout(5.0, read=SEND_READ_TIMEOUT)

    async def scenario() -> list[SendResult | BaseException]:
        async with _sandbox(fake, app, timeout) as client:
            gate = asyncio.Semaphore(50)  # up to 50 sends in flight at once

            async def send(to: str) -> SendResult:
                async with gate:
                    return await client.verifications.send(
                        app_id=app_id, template_id=template_id, to=to
                    )

            return await asyncio.gather(*(send(to) for to in numbers), return_exceptions=True)

    outcomes = await asyncio.wait_for(scenario(), GUARD)

    assert app.armed == Counter(kinds)
    assert fake.pending_faults == []
    # Exactly one request per number: sends are never retried after they may have left.
    requests = fake.requests_to(SEND_PATH)
    assert len(requests) == len(fake.requests) == 200
    by_number = {entry.body["to"]: entry for entry in requests}
    assert sorted(by_number) == numbers
    assert {to: e.fault for to, e in by_number.items() if e.fault is not None} == faults
    for to, outcome in zip(numbers, outcomes, strict=True):
        entry = by_number[to]
        delivered = fake.sent_to(to)
        kind = faults.get(to)
        assert entry.fault == kind
        assert len(delivered) <= 1
        if kind is None:
            assert isinstance(outcome, SendResult), repr(outcome)
            assert entry.performed
            assert [d.verification_id for d in delivered] == [outcome.verification_id]
        elif kind == "timeout":
            # The send took effect; only its answer was lost.
            assert isinstance(outcome, RequestTimeoutError), repr(outcome)
            assert outcome.sent is True
            assert isinstance(outcome.__cause__, httpx.ReadTimeout)
            assert entry.performed
            assert len(delivered) == 1
        elif kind == "http":
            assert isinstance(outcome, HTTPStatusError), repr(outcome)
            assert outcome.status_code == 503
            assert not entry.performed
            assert delivered == []
        else:
            assert kind == "api"
            assert isinstance(outcome, ServerError), repr(outcome)
            assert outcome.status == -18
            assert not entry.performed
            assert delivered == []
    assert len(fake.deliveries) == 200 - 8
    assert max(Counter(d.to for d in fake.deliveries).values()) == 1
