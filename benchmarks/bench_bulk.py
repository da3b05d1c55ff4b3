"""Bulk record lookups over loopback: lookups/s at several levels, client against client.

Clients (``--clients``):

* ``sdk``           ``client.records.iter_by_order_ids(ids, concurrency=c)`` on the SDK's
  default engine: what users run for bulk lookups (the SDK of this checkout)
* ``sdk-hook``      the same with one no-op request hook (``event_hooks={"request": [noop]}``)
* ``sdk-baseline``  ``sdk`` run on another copy of the SDK (``--baseline-sdk PATH``, e.g. a
  worktree of 706e716), imported through ``PYTHONPATH=PATH``; skipped without a path
* ``aiohttp``       bare ``aiohttp.ClientSession``: signed ``post`` + ``.json()``
* ``httpx``         bare ``httpx.AsyncClient``: signed ``post`` + ``.json()``; c1 and c50 only
* ``raw``           the limit of Python here: asyncio ``Protocol`` connections kept alive,
  the md5-signed request bytes built by hand, httptools parsing the answer, ``json.loads``
  and a check of ``orderId``; nothing else
* ``php``           the vendor's PHP sample (``vendor_sample.php``, ``curl_init`` per
  call) looped sequentially in one ``php`` process: c1 only
* ``php-multi``     ``vendor_multi.php``: ``curl_multi`` with c reused handles, the
  reference of a C client: c50 only

Any Python client may take ``-uvloop`` (its event loop is uvloop: ``sdk-uvloop``), and
any client ``:malloc-default`` (started without the allocator settings below, as a
fresh process is by default: ``aiohttp:malloc-default``).

Level c (``--levels``) means **min(c, 100) lookups in flight** (an id taken from the
input and its result not yet handed back), on at most 100 connections, for every
client. 100 is the SDK's pool: its bulk helper never runs more lookups at once than
its pool has connections (``concurrency=1000`` runs 100), so the bare clients and
``raw`` run min(c, 100) workers on a pool of 100, and nothing queues inside any client's
pool. ``sdk*`` are called with ``concurrency=c`` itself: c1000 checks that asking for
more than the pool costs nothing. Each case records the peak in flight it reached.

Method. ``_server.py`` runs in its own process pinned to CPU 1; every case runs in a
fresh process pinned to CPU 0, started with ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` set (``_common.ALLOCATOR_ENV``), so every client has the same
allocator state whatever it imported. A case is an untimed warm-up on the same client
(max(200, 2c) lookups, at most 3 s), then ``--n`` lookups or ``--max-seconds``,
whichever ends first: lookups/s is the number completed divided by the time taken
(work still in flight when the time is up is cancelled and not counted); client CPU
per lookup is the process's CPU time over the same span. Rounds are interleaved: each
round runs every case once, the levels and, within each, the clients in an order
rotated by one per round, so slow drift of the machine hits every client alike.
Ratios are computed within each round and summarised as median (min–max) over the
rounds. Latency runs from handing an id to the client (the id generator advancing)
to its result.

    python benchmarks/bench_bulk.py --baseline-sdk /work/wt/bench-baseline   # 5 rounds
    python benchmarks/bench_bulk.py --rounds 2 --n 1000 --max-seconds 3     # a smoke run
    python benchmarks/bench_bulk.py --clients sdk aiohttp raw --levels 50
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import (
    ALLOCATOR_ENV,
    API_KEY,
    API_SECRET,
    APP_ID,
    CLIENT_CPU,
    HERE,
    POOL_SIZE,
    RECORD_PATH,
    ROOT,
    allocator_text,
    git_describe,
    load_average,
    lookup_body,
    median,
    percentile,
    pin,
    process_env,
    rotated,
    server_process,
    signed_headers,
    summary,
    write_json,
)

CLIENTS = (
    "sdk",
    "sdk-hook",
    "sdk-baseline",
    "aiohttp",
    "raw",
    "php",
    "php-multi",
    "httpx",
    "sdk-uvloop",
)
BASES = ("sdk", "sdk-hook", "sdk-baseline", "aiohttp", "httpx", "raw", "php", "php-multi")
LEVELS = (1, 10, 50, 1000)
#: Clients that run at one level only.
FIXED_LEVEL = {"php": 1, "php-multi": 50}
#: Clients that run at these levels only (when asked for): bare httpx manages a few
#: lookups a second at c1000 here (httpcore rescans its queue against every
#: connection), so each case would only burn its time cap; its cliff shows by c50.
SOME_LEVELS = {"httpx": (1, 50)}
PHP_SCRIPTS = {"php": "vendor_sample.php", "php-multi": "vendor_multi.php"}
#: Per-attempt timeout of the bare clients: generous, so that slowness is measured as
#: slowness, not as errors (the SDK's calls have their own 30 s deadline).
BARE_TIMEOUT = 30.0
#: The suffix of a client started with glibc's default allocator settings.
MALLOC_DEFAULT = ":malloc-default"
BASELINE_ENV = "ITNIO_BASELINE_SDK"

#: Ratios reported at every level, same round: (label, numerator, denominator). A
#: denominator that runs at one level only is compared at that level alone, except
#: the PHP sample (c1), which every level is compared with: it is what a user of the
#: vendor's sample gets, whatever the SDK's concurrency.
EVERY_LEVEL_AGAINST = frozenset({"php"})
LEVEL_RATIOS: tuple[tuple[str, str, str], ...] = (
    ("SDK ÷ bare aiohttp", "sdk", "aiohttp"),
    ("SDK ÷ raw asyncio + httptools (the limit)", "sdk", "raw"),
    ("SDK ÷ PHP sample (sequential, c1)", "sdk", "php"),
    ("SDK ÷ baseline SDK", "sdk", "sdk-baseline"),
    ("SDK + one no-op hook ÷ baseline SDK", "sdk-hook", "sdk-baseline"),
    ("SDK + one no-op hook ÷ SDK", "sdk-hook", "sdk"),
    ("baseline SDK ÷ bare aiohttp", "sdk-baseline", "aiohttp"),
    ("baseline SDK ÷ raw", "sdk-baseline", "raw"),
    ("bare aiohttp ÷ raw", "aiohttp", "raw"),
    ("SDK ÷ bare httpx", "sdk", "httpx"),
    ("SDK ÷ PHP curl_multi", "sdk", "php-multi"),
    ("SDK on uvloop ÷ SDK", "sdk-uvloop", "sdk"),
)
#: Ratios across levels, same round: (numerator, its level, denominator, its level).
CROSS_RATIOS: tuple[tuple[str, int, str, int], ...] = (
    ("sdk", 1000, "sdk", 10),
    ("sdk-baseline", 1000, "sdk-baseline", 10),
    ("sdk-uvloop", 1000, "sdk-uvloop", 10),
)


def in_flight(concurrency: int) -> int:
    """Lookups in flight at level ``concurrency``, for every client (see the docstring)."""
    return min(concurrency, POOL_SIZE)


def parse_client(name: str) -> tuple[str, bool, bool]:
    """``(base client, on uvloop, allocator settings applied)`` of a ``--clients`` name."""
    allocator = not name.endswith(MALLOC_DEFAULT)
    rest = name.removesuffix(MALLOC_DEFAULT)
    uvloop = rest.endswith("-uvloop")
    base = rest.removesuffix("-uvloop")
    if base not in BASES or (uvloop and base in PHP_SCRIPTS):
        raise ValueError(f"unknown client {name!r}")
    return base, uvloop, allocator


def ratio_key(a: str, ca: int, b: str, cb: int) -> str:
    """The name of a same-round ratio: ``"sdk c50 ÷ aiohttp c50"``."""
    return f"{a} c{ca} ÷ {b} c{cb}"


class Meter:
    """Hands out ids ``prefix0, prefix1, ...`` lazily and times the lookups until done.

    Done when ``n`` lookups completed or ``seconds`` passed since :meth:`start`,
    whichever comes first; ``finished`` is then set and later results are ignored.
    ``peak`` is the most lookups in flight at once (ids handed out, results not yet in);
    once done, :meth:`ids` hands out no more.
    """

    def __init__(self, n: int, seconds: float, prefix: str = "") -> None:
        self.n = n
        self.seconds = seconds
        self.prefix = prefix
        self.started: dict[str, float] = {}
        self.latencies: list[float] = []
        self.received: set[str] = set()
        self.completed = 0
        self.errors = 0
        self.peak = 0
        self.first_error = ""
        self.t0 = self.cpu0 = 0.0
        self.elapsed = self.cpu = 0.0
        self.finished = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.cpu0 = time.process_time()

    def ids(self) -> Iterator[str]:
        clock = time.perf_counter
        started = self.started
        finished = self.finished
        for i in range(self.n):
            if finished.done():  # the time is up: start nothing more
                return
            oid = f"{self.prefix}{i}"
            started[oid] = clock()
            if len(started) > self.peak:
                self.peak = len(started)
            yield oid

    def done(self, order_id: str, ok: bool, error: object = None) -> None:
        if self.finished.done():
            return
        now = time.perf_counter()
        self.latencies.append(now - self.started.pop(order_id))
        self.completed += 1
        if ok:
            self.received.add(order_id)
        else:
            self.errors += 1
            self.first_error = self.first_error or repr(error)[:200]
        if self.completed >= self.n or now - self.t0 >= self.seconds:
            self.finish()

    def finish(self) -> None:
        """Stop counting: ``n`` lookups completed, or the time is up."""
        if not self.finished.done():
            self.elapsed = time.perf_counter() - self.t0
            self.cpu = time.process_time() - self.cpu0
            self.finished.set_result(None)


async def _measure(work: Callable[[Meter], Awaitable[None]], meter: Meter) -> None:
    """Run ``work`` until ``meter`` is done; cancel what is still in flight."""
    meter.start()
    timer = asyncio.get_running_loop().call_later(meter.seconds, meter.finish)
    task = asyncio.ensure_future(work(meter))
    await asyncio.wait([task, meter.finished], return_when="FIRST_COMPLETED")
    timer.cancel()
    if not meter.finished.done():
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        raise RuntimeError(f"ended early: {meter.completed} of {meter.n} lookups done")
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _workers(meter: Meter, concurrency: int, call: Callable[[str], Awaitable[bool]]) -> None:
    """min(c, 100) workers pulling ids from one lazy source (every non-SDK client's loop)."""
    source = meter.ids()

    async def worker() -> None:
        for oid in source:
            try:
                ok = await call(oid)
            except Exception as exc:
                meter.done(oid, False, exc)
            else:
                meter.done(oid, ok)

    await asyncio.gather(*(worker() for _ in range(in_flight(concurrency))))


def _noop_hook(_: object) -> None:
    return None


async def _case_sdk(
    url: str, concurrency: int, warm: Meter, meter: Meter, *, hook: bool = False
) -> None:
    from itnio_async import AsyncItnio

    options: dict[str, Any] = {}
    if hook:
        options["event_hooks"] = {"request": [_noop_hook]}
    async with AsyncItnio(API_KEY, API_SECRET, base_url=url, **options) as client:

        async def work(m: Meter) -> None:
            async for lookup in client.records.iter_by_order_ids(
                m.ids(), app_id=APP_ID, concurrency=concurrency
            ):
                m.done(lookup.order_id, lookup.ok, lookup.error)

        await _measure(work, warm)
        await _measure(work, meter)


async def _case_sdk_hook(url: str, concurrency: int, warm: Meter, meter: Meter) -> None:
    await _case_sdk(url, concurrency, warm, meter, hook=True)


async def _case_httpx(url: str, concurrency: int, warm: Meter, meter: Meter) -> None:
    import httpx

    endpoint = url + RECORD_PATH
    # httpx keeps only 20 idle connections by default: the SDK's pool keeps all 100.
    limits = httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
    async with httpx.AsyncClient(timeout=BARE_TIMEOUT, limits=limits) as http:

        async def call(oid: str) -> bool:
            response = await http.post(endpoint, content=lookup_body(oid), headers=signed_headers())
            response.raise_for_status()
            return bool(response.json()["data"]["orderId"] == oid)

        async def work(m: Meter) -> None:
            await _workers(m, concurrency, call)

        await _measure(work, warm)
        await _measure(work, meter)


async def _case_aiohttp(url: str, concurrency: int, warm: Meter, meter: Meter) -> None:
    import aiohttp

    endpoint = url + RECORD_PATH
    timeout = aiohttp.ClientTimeout(total=BARE_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=POOL_SIZE)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:

        async def call(oid: str) -> bool:
            async with session.post(
                endpoint, data=lookup_body(oid), headers=signed_headers()
            ) as response:
                response.raise_for_status()
                return bool((await response.json())["data"]["orderId"] == oid)

        async def work(m: Meter) -> None:
            await _workers(m, concurrency, call)

        await _measure(work, warm)
        await _measure(work, meter)


class _RawConnection(asyncio.Protocol):
    """One keep-alive connection: a request written, its answer parsed by httptools."""

    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body = []
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc or ConnectionError("the server closed the connection"))


async def _case_raw(url: str, concurrency: int, warm: Meter, meter: Meter) -> None:
    """The limit of Python here: no HTTP library, only what a lookup cannot do without."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = (
        f"POST {parts.path}{RECORD_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json;charset=UTF-8\r\nApi-Key: {API_KEY}\r\n"
    ).encode()
    key_secret = (API_KEY + API_SECRET).encode()
    body_start = b'{"appId":"' + APP_ID.encode() + b'","orderId":'
    md5, dumps, loads, now = hashlib.md5, json.dumps, json.loads, time.time
    idle: deque[_RawConnection] = deque()
    opened: list[_RawConnection] = []

    async def call(oid: str) -> bool:
        conn = idle.pop() if idle else None
        if conn is None or conn.transport is None:
            _, conn = await loop.create_connection(_RawConnection, host, port)
            opened.append(conn)
        ts = str(int(now())).encode()
        sign = md5(key_secret + ts, usedforsecurity=False).hexdigest().encode()
        body = body_start + dumps(oid).encode() + b"}"
        waiter = conn.waiter = loop.create_future()
        conn.transport.write(  # type: ignore[union-attr]
            b"%sSign: %s\r\nTimestamp: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (head, sign, ts, len(body), body)
        )
        status, answer = await waiter
        idle.append(conn)
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        return bool(loads(answer)["data"]["orderId"] == oid)

    async def work(m: Meter) -> None:
        await _workers(m, concurrency, call)

    try:
        await _measure(work, warm)
        await _measure(work, meter)
    finally:
        for conn in opened:
            if conn.transport is not None:
                conn.transport.close()


_CASES = {
    "sdk": _case_sdk,
    "sdk-hook": _case_sdk_hook,
    "sdk-baseline": _case_sdk,
    "httpx": _case_httpx,
    "aiohttp": _case_aiohttp,
    "raw": _case_raw,
}


def run_python_case(
    client: str, url: str, concurrency: int, n: int, seconds: float
) -> dict[str, Any]:
    """One case in this process (already pinned): warm-up, then the measured lookups."""
    base, on_uvloop, _ = parse_client(client)
    if on_uvloop:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    else:
        loop_factory = asyncio.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:

        async def main() -> Meter:
            warm = Meter(max(200, 2 * concurrency), 3.0, prefix="w")
            meter = Meter(n, seconds)
            await _CASES[base](url, concurrency, warm, meter)
            return meter

        meter = runner.run(main())
    lat = sorted(meter.latencies)
    sdk = sys.modules.get("itnio_async")
    return {
        "rps": meter.completed / meter.elapsed if meter.elapsed else 0.0,
        "completed": meter.completed,
        "elapsed": meter.elapsed,
        "p50_ms": percentile(lat, 0.5) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "cpu_us": meter.cpu / meter.completed * 1e6 if meter.completed else None,
        "errors": meter.errors,
        "first_error": meter.first_error,
        "all_ids": len(meter.received) == meter.completed - meter.errors,
        "peak_in_flight": meter.peak,
        "sdk_path": str(Path(sdk.__file__).resolve().parent) if sdk and sdk.__file__ else None,
        "allocator": {key: os.environ.get(key) for key in ALLOCATOR_ENV},
    }


def run_php(script: str, url: str, concurrency: int, n: int, env: dict[str, str]) -> dict[str, Any]:
    """A PHP client, ``n`` calls in one ``php`` process pinned to the client CPU."""
    args = ["php", str(HERE / script), url + RECORD_PATH, str(n)]
    if script == "vendor_multi.php":
        args.append(str(concurrency))
    out = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: pin(CLIENT_CPU),  # the parent runs no threads
        timeout=900,
        env=env,
    )
    r: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "rps": n / r["elapsed"],
        "completed": n,
        "elapsed": r["elapsed"],
        "p50_ms": r["p50_ms"],
        "p99_ms": r["p99_ms"],
        "cpu_us": r.get("cpu_us_per_call"),
        "errors": r["errors"],
        "first_error": "",
        "all_ids": bool(r["all_ids"]),
        "peak_in_flight": concurrency if script == "vendor_multi.php" else 1,
    }


def run_case(
    client: str, url: str, concurrency: int, n: int, seconds: float, baseline: Path | None
) -> dict[str, Any]:
    """One case in a fresh process; returns its result."""
    base, _, allocator = parse_client(client)
    pythonpath = str(baseline) if base == "sdk-baseline" and baseline else None
    env = process_env(allocator=allocator, pythonpath=pythonpath)
    if base in PHP_SCRIPTS:
        result = run_php(PHP_SCRIPTS[base], url, concurrency, n, env)
    else:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                client,
                url,
                str(concurrency),
                str(n),
                str(seconds),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 300,
            env=env,
            cwd=HERE,
        )
        if out.returncode != 0:
            # A client that crashes is a result too (shown as "failed", with why).
            print(out.stderr[-4000:], file=sys.stderr)
            return {"client": client, "c": concurrency, "failed": _crash_line(out.stderr)}
        result = json.loads(out.stdout.strip().splitlines()[-1])
        wrong = _wrong_sdk(base, result.get("sdk_path"), baseline)
        if wrong:
            return {"client": client, "c": concurrency, "failed": wrong}
    result.update(client=client, c=concurrency, in_flight=in_flight(concurrency))
    return result


def _wrong_sdk(base: str, path: str | None, baseline: Path | None) -> str:
    """Why a case ran on the wrong copy of the SDK (empty when it ran on the right one)."""
    if not base.startswith("sdk") or path is None:
        return ""
    under_baseline = baseline is not None and Path(path).is_relative_to(baseline)
    if base == "sdk-baseline" and not under_baseline:
        return f"imported the SDK from {path}, not from the baseline {baseline}"
    if base != "sdk-baseline" and under_baseline:
        return f"imported the baseline SDK ({path}) instead of this checkout's"
    return ""


def _crash_line(stderr: str) -> str:
    """Where a crashed case failed: the innermost frame and the exception line."""
    lines = [line.strip() for line in stderr.strip().splitlines()]
    where = next((ln for ln in reversed(lines) if ln.startswith("File ")), "")
    return f"{lines[-1] if lines else '?'} ({where})"


def _runs_at(base: str, c: int) -> bool:
    return FIXED_LEVEL.get(base, c) == c and c in SOME_LEVELS.get(base, (c,))


def cases(clients: list[str], levels: list[int]) -> list[tuple[int, list[str]]]:
    """Per level, the clients that run at it."""
    out = []
    for c in levels:
        here = [k for k in clients if _runs_at(parse_client(k)[0], c)]
        if here:
            out.append((c, here))
    return out


def _same_round(results: list[dict[str, Any]], a: str, ca: int, b: str, cb: int) -> list[float]:
    by = {(r["round"], r["client"], r["c"]): r["rps"] for r in results if "failed" not in r}
    rounds = sorted({r["round"] for r in results})
    return [
        by[(k, a, ca)] / by[(k, b, cb)]
        for k in rounds
        if (k, a, ca) in by and (k, b, cb) in by and by[(k, b, cb)]
    ]


def ratio_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every ratio, each computed within one round, summarised over the rounds."""
    clients = {r["client"] for r in results}
    levels = sorted({r["c"] for r in results})
    pairs: list[tuple[str, str, int, str, int]] = []
    for label, a, b in LEVEL_RATIOS:
        for c in levels:
            cb = FIXED_LEVEL.get(b, c)
            if cb == c or b in EVERY_LEVEL_AGAINST:
                pairs.append((label, a, c, b, cb))
    for a, ca, b, cb in CROSS_RATIOS:
        pairs.append((f"{a} c{ca} ÷ c{cb}", a, ca, b, cb))
    for client in sorted(clients):
        if client.endswith(MALLOC_DEFAULT):
            mine = client.removesuffix(MALLOC_DEFAULT)
            for c in levels:
                pairs.append((f"{mine}, glibc defaults ÷ with the settings", client, c, mine, c))
    rows = []
    for label, a, ca, b, cb in pairs:
        values = _same_round(results, a, ca, b, cb)
        if values:
            rows.append(
                {
                    "key": ratio_key(a, ca, b, cb),
                    "label": label,
                    "c": ca,
                    "values": values,
                    "median": median(values),
                }
            )
    return rows


def markdown(results: list[dict[str, Any]], settings: dict[str, Any]) -> tuple[str, str]:
    """Tables: lookups/s, client CPU, ratios per level, latency and in flight; notes.

    Returns the whole text and its summary (the first three tables, for the README).
    """
    clients = list(dict.fromkeys(r["client"] for r in results))
    levels = sorted({r["c"] for r in results})
    rounds = len({r["round"] for r in results})

    def rows_of(client: str, c: int) -> list[dict[str, Any]]:
        return [r for r in results if r["client"] == client and r["c"] == c and "failed" not in r]

    def cell(client: str, c: int, key: str, fmt: str = "{:,.0f}") -> str:
        failed = [r for r in results if r["client"] == client and r["c"] == c and "failed" in r]
        text = summary([r[key] for r in rows_of(client, c) if r.get(key) is not None], fmt)
        if failed:
            text = (
                f"**failed** {len(failed)}×"
                if text == "–"
                else f"{text}, **failed** {len(failed)}×"
            )
        return text

    head = "| client | " + " | ".join(f"c{c}" for c in levels) + " |"
    rule = "|---|" + "---|" * len(levels)
    flight = "| *in flight* | " + " | ".join(str(in_flight(c)) for c in levels) + " |"
    lines = [
        f"Lookups/s, median (min–max) of {rounds} interleaved round(s); at level c every "
        f"client has min(c, {POOL_SIZE}) lookups in flight:",
        "",
        head,
        rule,
        flight,
    ]
    lines += [f"| {k} | " + " | ".join(cell(k, c, "rps") for c in levels) + " |" for k in clients]
    lines += ["", "Client CPU per lookup (µs), median (min–max):", "", head, rule]
    lines += [
        f"| {k} | " + " | ".join(cell(k, c, "cpu_us") for c in levels) + " |" for k in clients
    ]
    rows = ratio_rows(results)
    per_level: dict[str, dict[int, str]] = {}
    for row in rows:
        if row["label"] in {label for label, _, _ in LEVEL_RATIOS} or "glibc" in row["label"]:
            per_level.setdefault(row["label"], {})[row["c"]] = summary(row["values"], "{:.2f}")
    lines += [
        "",
        "Ratios of lookups/s, each within one round, median (min–max) over the rounds:",
        "",
        "| ratio, same round | " + " | ".join(f"c{c}" for c in levels) + " |",
        rule,
    ]
    for label, cells in per_level.items():
        lines.append(f"| {label} | " + " | ".join(cells.get(c, "–") for c in levels) + " |")
    summary_end = len(lines)
    cross = [r for r in rows if r["label"] not in per_level]
    if cross:
        lines += ["", "| across levels, same round | median (min–max) |", "|---|---|"]
        lines += [f"| {r['label']} | {summary(r['values'], '{:.2f}')} |" for r in cross]
    lines += [
        "",
        "| client | c | in flight, peak | p50 ms | p99 ms | completed per round | errors "
        "| every id answered with its own record |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for client in clients:
        for c in levels:
            got = rows_of(client, c)
            if not got:
                continue
            lines.append(
                f"| {client} | {c} | {summary([r['peak_in_flight'] for r in got])} "
                f"| {summary([r['p50_ms'] for r in got], '{:.2f}')} "
                f"| {summary([r['p99_ms'] for r in got], '{:.2f}')} "
                f"| {summary([r['completed'] for r in got])} "
                f"| {sum(r['errors'] for r in got)} | {all(r['all_ids'] for r in got)} |"
            )
    crashed: dict[tuple[str, str], list[int]] = {}
    for r in results:
        if "failed" in r:
            crashed.setdefault((r["client"], r["failed"]), []).append(r["c"])
    for (client, why), where in crashed.items():
        levels_text = ", ".join(f"c{c}" for c in sorted(set(where)))
        lines.append(f"\n**{client} failed** ({levels_text}): `{why}`")
    for r in [r for r in results if r.get("errors")][:5]:
        lines.append(f"\n{r['client']} c{r['c']}: first error `{r['first_error']}`")
    lines += ["", *settings_lines(settings)]
    return "\n".join(lines), "\n".join(lines[:summary_end])


def settings_lines(settings: dict[str, Any]) -> list[str]:
    """The conditions of the run, as bullet points."""
    lines = [
        f"* Every client process started with {settings['allocator']} "
        f"(clients named `…{MALLOC_DEFAULT}`: glibc's defaults).",
        f"* SDK under test: {settings['sdk']}; baseline SDK: {settings['baseline']}.",
        f"* {settings['n']:,} lookups or {settings['max_seconds']:g} s per case, "
        f"{settings['rounds']} round(s); server `_server.py` on CPU 1, clients on CPU 0.",
    ]
    loads = settings.get("load_per_round", [])
    if loads:
        lines.append(
            "* Load average (1, 5, 15 min) at the start of each round: "
            + "; ".join(loads)
            + f"; at the end: {settings.get('load_end', '-')}."
        )
    for note in settings.get("notes", []):
        lines.append(f"* {note}")
    return lines


def _baseline(path: str | None) -> Path | None:
    """The baseline SDK's directory, checked; ``None`` when not given."""
    if not path:
        return None
    root = Path(path).resolve()
    if not (root / "itnio_async" / "__init__.py").is_file():
        raise SystemExit(f"--baseline-sdk {path}: no itnio_async/__init__.py there")
    if root == ROOT.resolve():
        raise SystemExit(f"--baseline-sdk {path} is this checkout: give another copy")
    return root


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", nargs="+", default=list(CLIENTS))
    parser.add_argument("--levels", nargs="+", type=int, default=list(LEVELS))
    parser.add_argument("--n", type=int, default=10_000, help="lookups per case")
    parser.add_argument("--max-seconds", type=float, default=10.0, help="time cap per case")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--baseline-sdk",
        default=os.environ.get(BASELINE_ENV),
        metavar="PATH",
        help=f"a checkout of the SDK to run as sdk-baseline (default: ${BASELINE_ENV})",
    )
    parser.add_argument("--json", type=Path, help="write the results here (for run_all.py)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        pin(CLIENT_CPU)
        client, url, c, n, seconds = args.child
        print(json.dumps(run_python_case(client, url, int(c), int(n), float(seconds))))
        return

    for name in args.clients:
        try:
            parse_client(name)
        except ValueError as exc:
            parser.error(str(exc))
    baseline = _baseline(args.baseline_sdk)
    notes = []
    clients = list(args.clients)
    skipped = [k for k in clients if parse_client(k)[0] == "sdk-baseline"] if not baseline else []
    if skipped:
        clients = [k for k in clients if k not in skipped]
        notes.append(
            f"{', '.join(skipped)} skipped: no baseline SDK given (`--baseline-sdk PATH` or "
            f"${BASELINE_ENV}); the ratios against it are not measured."
        )
        print(f"note: {notes[-1]}", file=sys.stderr)
    settings: dict[str, Any] = {
        "n": args.n,
        "max_seconds": args.max_seconds,
        "rounds": args.rounds,
        "clients": clients,
        "levels": args.levels,
        "allocator": allocator_text(),
        "sdk": f"{ROOT} ({git_describe(ROOT)})",
        "baseline": f"{baseline} ({git_describe(baseline)})" if baseline else "not given",
        "notes": notes,
        "load_per_round": [],
    }
    plan = cases(clients, args.levels)
    results: list[dict[str, Any]] = []
    with server_process() as server:
        for k in range(args.rounds):
            settings["load_per_round"].append(load_average())
            for c, here in rotated(plan, k):
                for client in rotated(here, k):
                    r = run_case(client, server.url, c, args.n, args.max_seconds, baseline)
                    r["round"] = k
                    results.append(r)
                    if "failed" in r:
                        print(
                            f"round {k} c{c:<4} {client:<14} FAILED {r['failed']}", file=sys.stderr
                        )
                        continue
                    cpu = "-" if r["cpu_us"] is None else f"{r['cpu_us']:.0f}"
                    print(
                        f"round {k} c{c:<4} {client:<14} {r['rps']:8,.0f}/s  "
                        f"cpu {cpu:>5} µs  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                        f"in flight {r['peak_in_flight']:<4} done {r['completed']:,}  "
                        f"errors {r['errors']}  ids ok {r['all_ids']}",
                        file=sys.stderr,
                        flush=True,
                    )
    settings["load_end"] = load_average()
    text, short = markdown(results, settings)
    print(text)
    rows = ratio_rows(results)
    write_json(
        args.json,
        {
            "markdown": text,
            "summary": short,
            "metrics": {row["key"]: row["median"] for row in rows},
            "ratios": rows,
            "results": results,
            "settings": settings,
        },
    )


if __name__ == "__main__":
    main()
