"""``client.<namespace>.with_raw_response.<method>``: the HTTP answer beside the model.

Every one of the 19 endpoint methods is called raw and plain on three engines — the
SDK's own (a real HTTP/1.1 socket on 127.0.0.1 in front of the stateful fake, with a
gateway header), a user's ``http_client`` over the same kind of socket, and
``FakeItnio.client()`` in-process — and the raw answer must carry the final
attempt's response (body read), its status and headers, the retry count, and
``parse()`` equal to what the plain method returns. Two identically seeded fakes
with a frozen clock make the plain and the raw run comparable value for value.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    Channel,
    FlowStep,
    FlowTrigger,
    NotFoundError,
    RawResponse,
    RetryPolicy,
)
from itnio_async._call import RawMethod
from itnio_async._engine import HTTP11Transport
from itnio_async.testing import FakeItnio
from itnio_async.testing._records import Dropped, Hung

from ._loopback import LoopbackServer, Request, response
from .conftest import FIXED_TIME

NO_SLEEP = RetryPolicy(base_delay=0.0, max_delay=0.0)
GATEWAY_HEADER = ("X-Gateway", "edge-7")
NUMBER = "8613800138000"
#: ``Date`` of every answer: the fakes' clock is frozen at the documented example time.
FROZEN_DATE = "Wed, 01 Sep 2021 04:00:00 GMT"

#: method name → (HTTP method, path below /otp); ids come from the seeded run.
EXPECTED: dict[str, tuple[str, str]] = {
    "apps.create": ("POST", "/app/add"),
    "apps.update": ("PUT", "/app/update/{app}"),
    "apps.get": ("GET", "/app/details/{app}"),
    "templates.create": ("POST", "/template/add"),
    "templates.update": ("PUT", "/template/update/{template}"),
    "templates.get": ("GET", "/template/details/{template}"),
    "templates.list": ("GET", "/template/list"),
    "flows.create": ("POST", "/flow/add"),
    "flows.update": ("PUT", "/flow/update/{flow}"),
    "flows.get": ("GET", "/flow/details/{flow}"),
    "flows.list": ("GET", "/flow/list"),
    "verifications.send": ("POST", "/verification/send"),
    "verifications.send_code": ("POST", "/verification/sendRule"),
    "verifications.resend": ("POST", "/verification/resend"),
    "verifications.verify": ("POST", "/verification/verify"),
    "records.get": ("GET", "/verification/record/{verification}"),
    "records.get_by_order_id": ("POST", "/verification/orderId/record"),
    "backfill.report": ("POST", "/postback/backfill"),
    "backfill.report_rate": ("POST", "/backfillRate"),
}
#: Reads and updates: retried on a 503.
RETRIED_ON_503 = frozenset(
    name
    for name, (method, path) in EXPECTED.items()
    if method in ("GET", "PUT") or path == "/verification/orderId/record"
)
ENGINES = ("own", "http_client", "fake")
#: Methods made of a read and a write (the raw form answers the write); their raw forms
#: are tested with their namespaces (tests/resources/test_apps.py, test_templates.py).
READ_THEN_WRITE = frozenset({"apps.modify", "templates.modify"})
#: Methods whose plain form returns ``None``: their raw form is checked on its own below.
RETURNS_NOTHING = frozenset({"backfill.report", "backfill.report_rate"})


# -- a gateway: the stateful fake behind a real socket ------------------------------------


class FakeGateway(LoopbackServer):
    """A keep-alive HTTP/1.1 server on 127.0.0.1 that answers from a :class:`FakeItnio`.

    It adds ``extra_headers`` to every answer (as a gateway would), counts the
    connections and requests it gets, and closes the connection for a ``"drop"``
    fault. ``raw_reply`` (when set) is called with each request's head and body and
    may return bytes to write as the whole answer instead of the fake's.
    """

    def __init__(
        self,
        fake: FakeItnio,
        extra_headers: tuple[tuple[str, str], ...] = (GATEWAY_HEADER,),
        raw_reply: Callable[[str, dict[str, str], bytes], bytes | None] | None = None,
    ) -> None:
        super().__init__()
        self.fake = fake
        self.extra_headers = extra_headers
        self.raw_reply = raw_reply
        self.requests = 0

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        self.requests += 1
        target, headers, body = request.target, request.headers, request.body
        raw = None if self.raw_reply is None else self.raw_reply(target, headers, body)
        if raw is not None:
            writer.write(raw)
            await writer.drain()
            return True
        outcome = await self.fake.exchange(request.method, target, headers, body)
        if isinstance(outcome, (Dropped, Hung)):
            return False
        lines = [f"{name}: {value}" for name, value in [*outcome.headers, *self.extra_headers]]
        writer.write(response(outcome.body, outcome.status_code, *lines, reason="X"))
        await writer.drain()
        return True


def frozen_fake() -> FakeItnio:
    """A fake whose ids, codes and clock are the same on every run."""
    return FakeItnio(random_seed=7, clock=lambda: float(FIXED_TIME))


@contextlib.asynccontextmanager
async def connect(
    engine: str, fake: FakeItnio, **options: Any
) -> AsyncIterator[tuple[AsyncItnio, FakeGateway | None]]:
    """A client of ``fake`` on ``engine`` (and the gateway, for the socket engines)."""
    if engine == "fake":
        async with fake.client(**options) as client:
            yield client, None
        return
    options.setdefault("retry_policy", NO_SLEEP)
    options.setdefault("clock", fake.now)
    async with FakeGateway(fake) as gateway:
        if engine == "own":
            async with AsyncItnio(
                fake.api_key, fake.api_secret, base_url=gateway.base_url, **options
            ) as client:
                yield client, gateway
                assert isinstance(client._network().own, HTTP11Transport)
        else:
            async with (
                httpx.AsyncClient(trust_env=False) as http,
                AsyncItnio(
                    fake.api_key,
                    fake.api_secret,
                    base_url=gateway.base_url,
                    http_client=http,
                    **options,
                ) as client,
            ):
                yield client, gateway


# -- the 19 methods, plain or raw -----------------------------------------------------------


async def run_all(
    client: AsyncItnio,
    fake: FakeItnio,
    *,
    raw: bool,
    arm: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Call every endpoint method once, in an order where each finds what it needs.

    ``raw`` calls ``with_raw_response``; ``arm(name)`` runs just before each call.
    Returns what each call returned, by ``namespace.method``.
    """
    out: dict[str, Any] = {}

    def ns(name: str) -> Any:
        namespace = getattr(client, name)
        return namespace.with_raw_response if raw else namespace

    async def do(name: str, call: Callable[[Any], Awaitable[Any]]) -> Any:
        arm(name)
        result = await call(ns(name.split(".")[0]))
        out[name] = result
        return result.parse() if raw and isinstance(result, RawResponse) else result

    steps = [FlowStep(waiting_time=60, status=FlowTrigger.SEND_FAILED, channel=Channel.CALL)]
    app = await do("apps.create", lambda n: n.create(name="shop-one", code_expiry=5))
    await do("apps.update", lambda n: n.update(app.app_id, name="shop-two", code_expiry=6))
    await do("apps.get", lambda n: n.get(app.app_id))
    template = await do(
        "templates.create",
        lambda n: n.create(app_id=app.app_id, name="login", text="Code ##code##"),
    )
    tid = template.template_id
    await do("templates.update", lambda n: n.update(tid, name="login2", text="Yours: ##code##"))
    await do("templates.get", lambda n: n.get(tid))
    await do("templates.list", lambda n: n.list())
    flow = await do("flows.create", lambda n: n.create(name="flow-one", steps=steps))
    await do("flows.update", lambda n: n.update(flow.flow_id, name="flow-two", steps=steps))
    await do("flows.get", lambda n: n.get(flow.flow_id))
    await do("flows.list", lambda n: n.list())
    sent = await do(
        "verifications.send",
        lambda n: n.send(app_id=app.app_id, template_id=tid, to=NUMBER, order_id="order-1"),
    )
    await do(
        "verifications.send_code",
        lambda n: n.send_code(
            app_id=app.app_id, code="246810", to="8613900139000", template_id=tid
        ),
    )
    again = await do("verifications.resend", lambda n: n.resend(sent.verification_id))
    code = fake.last_code(NUMBER)
    await do("verifications.verify", lambda n: n.verify(again.verification_id, code))
    await do("records.get", lambda n: n.get(again.verification_id))
    await do("records.get_by_order_id", lambda n: n.get_by_order_id("order-1", app_id=app.app_id))
    await do(
        "backfill.report",
        lambda n: n.report(
            app_id=app.app_id, verification_id=again.verification_id, time=FIXED_TIME * 1000
        ),
    )
    await do(
        "backfill.report_rate",
        lambda n: n.report_rate(
            app_id=app.app_id,
            mcc=460,
            backfill_now="12.5",
            callback_time="2021-09-01T12:00:00+08:00",
        ),
    )
    return out


def expected_path(name: str, plain: dict[str, Any]) -> str:
    """The URL path ``name`` must have requested, ids filled in from the plain run."""
    ids = {
        "app": plain["apps.create"].app_id,
        "template": plain["templates.create"].template_id,
        "flow": plain["flows.create"].flow_id,
        "verification": plain["verifications.resend"].verification_id,
    }
    return "/otp" + EXPECTED[name][1].format(**ids)


def test_the_scenario_covers_every_raw_method() -> None:
    """Every public method of every with_raw_response namespace is one of the 19 exercised
    or one of the read-then-write methods."""
    client = AsyncItnio("key-1234", "secret-1234")
    offered = {
        f"{ns}.{name}"
        for ns in ("apps", "templates", "flows", "verifications", "records", "backfill")
        for name, member in vars(type(getattr(client, ns).with_raw_response)).items()
        if not name.startswith("_") and isinstance(member, RawMethod)
    }
    assert offered == set(EXPECTED) | READ_THEN_WRITE
    assert len(EXPECTED) == 19


@pytest.mark.parametrize("engine", ENGINES)
async def test_every_method_raw_equals_plain(engine: str) -> None:
    """All 19 raw methods return the final 200 answer, read, with Date and gateway headers,
    no retries, and parse() equal to the plain method's result."""
    plain_fake, raw_fake = frozen_fake(), frozen_fake()
    async with connect(engine, plain_fake) as (client, _):
        plain = await run_all(client, plain_fake, raw=False)
    seen: list[httpx.Response] = []
    hooks = {"response": [seen.append]}
    async with connect(engine, raw_fake, event_hooks=hooks) as (client, gateway):
        raws = await run_all(client, raw_fake, raw=True)
    assert set(raws) == set(EXPECTED)
    for index, (name, raw) in enumerate(raws.items()):
        if name in RETURNS_NOTHING:
            continue
        assert isinstance(raw, RawResponse), name
        assert raw.parse() == plain[name], name
        assert raw.parse() is raw.parse(), name  # decoded once
        assert raw.retries_taken == 0, name
        assert raw.http_response is seen[index], name  # the answer the call got
        assert raw.status_code == raw.http_response.status_code == 200, name
        assert raw.headers is raw.http_response.headers, name
        assert raw.headers["date"] == FROZEN_DATE, name
        if gateway is not None:
            assert raw.headers["x-gateway"] == "edge-7", name
        request = raw.http_response.request
        assert (request.method, request.url.path) == (
            EXPECTED[name][0],
            expected_path(name, plain),
        ), name
        assert raw.http_response.is_closed, name
        assert json.loads(raw.http_response.content)["status"] == "0", name
        assert raw.http_response.json()["status"] == "0", name
    assert len(seen) == 19  # one answer per call: nothing was retried
    if gateway is not None:
        assert gateway.requests == 19


@pytest.mark.parametrize("engine", ENGINES)
async def test_retries_taken_after_two_503s(engine: str) -> None:
    """A read or update answered 503 twice, then 200, reports retries_taken == 2 and the
    final 200 answer; the other calls (never retried on a 503) report 0."""
    fake = frozen_fake()

    def arm(name: str) -> None:
        if name in RETRIED_ON_503:
            fake.fail_next(503, times=2)

    seen: list[httpx.Response] = []
    async with connect(engine, fake, event_hooks={"response": [seen.append]}) as (client, _):
        raws = await run_all(client, fake, raw=True, arm=arm)
    assert len(RETRIED_ON_503) == 10
    assert [s.status_code for s in seen].count(503) == 20
    for name, raw in raws.items():
        if name in RETURNS_NOTHING:
            continue
        expected = 2 if name in RETRIED_ON_503 else 0
        assert raw.retries_taken == expected, name
        assert raw.status_code == 200, name
        assert raw.http_response.json()["status"] == "0", name
    for name in RETRIED_ON_503:
        at = next(i for i, s in enumerate(seen) if s is raws[name].http_response)
        assert [s.status_code for s in seen[at - 2 : at + 1]] == [503, 503, 200], name


class FlakyTransport(httpx.AsyncBaseTransport):
    """Refuses the next ``fail`` connections (``ConnectError``), then hands over to ``inner``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.fail = 0
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.fail:
            self.fail -= 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


async def test_retries_taken_after_two_refused_connections() -> None:
    """Every method, sends included, retried after two refused connections reports
    retries_taken == 2 (transport=, the fake behind it)."""
    fake = frozen_fake()
    flaky = FlakyTransport(fake.transport)

    def arm(_: str) -> None:
        flaky.fail = 2

    async with fake.client(transport=flaky) as client:
        raws = await run_all(client, fake, raw=True, arm=arm)
    assert flaky.attempts == 3 * 19
    taken = {name: raw.retries_taken for name, raw in raws.items() if name not in RETURNS_NOTHING}
    assert taken == dict.fromkeys(set(EXPECTED) - RETURNS_NOTHING, 2)


@pytest.mark.parametrize("engine", ENGINES)
async def test_raw_backfill_calls_return_a_raw_response(engine: str) -> None:
    """backfill.report and report_rate, raw, return RawResponse[None]: the 200 answer, read."""
    fake = frozen_fake()
    async with connect(engine, fake) as (client, gateway):
        raws = await run_all(client, fake, raw=True)
    for name in sorted(RETURNS_NOTHING):
        raw = raws[name]
        assert isinstance(raw, RawResponse), name
        assert raw.parse() is None
        assert raw.retries_taken == 0
        assert raw.status_code == 200
        assert raw.headers["date"] == FROZEN_DATE
        assert raw.http_response.json()["status"] == "0"
        assert raw.http_response.request.url.path == "/otp" + EXPECTED[name][1]
        if gateway is not None:
            assert raw.headers["x-gateway"] == "edge-7"


@pytest.mark.parametrize("engine", ENGINES)
async def test_raw_call_that_fails_raises_like_the_plain_one(engine: str) -> None:
    """A raw call answered with an API error raises that error, as the plain method does."""
    async with connect(engine, frozen_fake()) as (client, _):
        with pytest.raises(NotFoundError) as info:
            await client.templates.with_raw_response.get(999_999)
    assert info.value.status_code == 200
    assert info.value.path == "/template/details/999999"


# -- typing: parse() is the method's model under mypy and pyright -----------------------

TYPED = """\
from __future__ import annotations

from typing import assert_type

import httpx

from itnio_async import (
    App, AsyncItnio, Flow, RawResponse, Record, SendResult, Template, VerifyResult,
)


async def check(client: AsyncItnio) -> None:
    template = await client.templates.with_raw_response.get(455)
    assert_type(template, RawResponse[Template])
    assert_type(template.parse(), Template)
    assert_type(template.http_response, httpx.Response)
    assert_type(template.status_code, int)
    assert_type(template.headers, httpx.Headers)
    assert_type(template.retries_taken, int)
    assert_type((await client.templates.with_raw_response.list()).parse(), list[Template])
    assert_type((await client.apps.with_raw_response.create(name="shop")).parse(), App)
    assert_type((await client.flows.with_raw_response.get(1)).parse(), Flow)
    sent = await client.verifications.with_raw_response.send(
        app_id="ad454212", template_id=1, to="8613800138000"
    )
    assert_type(sent.parse(), SendResult)
    verdict = await client.verifications.with_raw_response.verify("v" * 32, "1234")
    assert_type(verdict.parse(), VerifyResult)
    assert_type((await client.records.with_raw_response.get("v" * 32)).parse(), Record)
    record = await client.records.with_raw_response.get_by_order_id("o-1", app_id="ad454212")
    assert_type(record.parse(), Record)
    report = await client.backfill.with_raw_response.report(
        app_id="ad454212", verification_id="v" * 32, time=1
    )
    assert_type(report.parse(), None)
"""

#: Each line marked ``# error`` must be reported by the type checker.
MISUSED = """\
from __future__ import annotations

from itnio_async import AsyncItnio, Flow


async def misuse(client: AsyncItnio) -> None:
    raw = await client.templates.with_raw_response.get(455)
    print(raw.template_id)  # error: the model is behind parse()
    print(raw.parse().flow_id)  # error: a Template has no flow_id
    flow: Flow = raw.parse()  # error: a Template is not a Flow
    await client.templates.with_raw_response.get()  # error: template_id is required
    await client.templates.with_raw_response.get(455, name="x")  # error: no such argument
    await client.records.with_raw_response.get_many_by_order_ids(["o"])  # error: not raw
    print(flow)
"""


def _marked_lines(source: str) -> set[int]:
    return {n for n, line in enumerate(source.splitlines(), 1) if "# error" in line}


def _mypy(path: Path, tmp_path: Path) -> tuple[int, set[int], str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = {
        int(line.split(":")[1])
        for line in result.stdout.splitlines()
        if line.startswith(str(path)) and ": error:" in line
    }
    return result.returncode, lines, result.stdout + result.stderr


def _pyright(path: Path) -> tuple[int, set[int], str]:
    pytest.importorskip("pyright")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyright",
            "--outputjson",
            "--pythonpath",
            sys.executable,
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    lines = {
        d["range"]["start"]["line"] + 1
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    }
    return result.returncode, lines, result.stdout


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_parse_is_typed_as_the_methods_model(checker: str, tmp_path: Path) -> None:
    """Under mypy --strict and pyright, raw.parse() is the plain method's return type."""
    path = tmp_path / "typed.py"
    path.write_text(TYPED, encoding="utf-8")
    code, lines, output = _mypy(path, tmp_path) if checker == "mypy" else _pyright(path)
    assert (code, lines) == (0, set()), output


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_misusing_a_raw_response_is_a_type_error(checker: str, tmp_path: Path) -> None:
    """Treating a RawResponse as the model, or parse() as another model, is reported."""
    path = tmp_path / "misused.py"
    path.write_text(MISUSED, encoding="utf-8")
    code, lines, output = _mypy(path, tmp_path) if checker == "mypy" else _pyright(path)
    assert code != 0, output
    assert lines == _marked_lines(MISUSED), output
