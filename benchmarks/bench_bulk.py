"""Bulk record lookups over loopback: lookups/s at several concurrencies, client against client.

Clients (``--clients``):

* ``sdk``          ``client.records.iter_by_order_ids(ids, concurrency=c)`` on the
  SDK's default engine: what users run for bulk lookups
* ``sdk-uvloop``   the same, the application's event loop being uvloop
* ``httpx``        bare ``httpx.AsyncClient``: signed ``post`` + ``.json()``, c workers
* ``aiohttp``      bare ``aiohttp.ClientSession``: signed ``post`` + ``.json()``, c workers
  (any Python client may take ``-uvloop``: ``aiohttp-uvloop``)
* ``php``          the vendor's PHP sample (``vendor_sample.php``, ``curl_init`` per
  call) looped sequentially in one ``php`` process: c1 only
* ``php-multi``    ``vendor_multi.php``: ``curl_multi`` with c reused handles, the
  reference of a C client: c50 only

Method. ``_server.py`` runs in its own process pinned to CPU 1; every case runs in a
fresh process pinned to CPU 0. A case is an untimed warm-up on the same client
(max(200, 2c) lookups, at most 3 s), then ``--n`` lookups or ``--max-seconds``,
whichever ends first: lookups/s is the number completed divided by the time taken
(work still in flight when the time is up is cancelled and not counted). Rounds are
interleaved: each round runs every case once, the concurrency levels and, within
each, the clients in an order rotated by one per round, so slow drift of the
machine hits every client alike. Ratios are computed within each round and
summarised as median (min–max) over the rounds. Latency runs from handing an id to
the client (the id generator advancing) to its result.

    python benchmarks/bench_bulk.py                                  # 3 rounds × 10,000
    python benchmarks/bench_bulk.py --rounds 1 --n 1000 --max-seconds 3   # a smoke run
    python benchmarks/bench_bulk.py --clients sdk aiohttp --levels 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from _common import (
    API_KEY,
    API_SECRET,
    APP_ID,
    CLIENT_CPU,
    HERE,
    RECORD_PATH,
    lookup_body,
    median,
    percentile,
    pin,
    rotated,
    server_process,
    signed_headers,
    summary,
    write_json,
)

CLIENTS = ("sdk", "sdk-uvloop", "httpx", "aiohttp", "php", "php-multi")
LEVELS = (1, 10, 50, 200, 1000)
#: Clients that run at one concurrency only.
FIXED_LEVEL = {"php": 1, "php-multi": 50}
#: Per-attempt timeout of the bare clients: generous, so that a queue inside their
#: pool at c1000 is measured as slowness, not as errors (the SDK's bulk lookups wait
#: for a connection without a pool timeout, bounded by the 30 s deadline).
BARE_TIMEOUT = 30.0

#: (name, numerator (client, c), denominator (client, c), target, stretch)
RATIOS: tuple[tuple[str, tuple[str, int], tuple[str, int], float | None, float | None], ...] = (
    ("SDK c50 ÷ PHP sample", ("sdk", 50), ("php", 1), 2.0, 3.0),
    ("SDK c50 ÷ bare aiohttp c50", ("sdk", 50), ("aiohttp", 50), 0.9, 1.0),
    ("SDK c1 ÷ PHP sample", ("sdk", 1), ("php", 1), 0.8, None),
    ("SDK c1000 ÷ SDK c10", ("sdk", 1000), ("sdk", 10), 0.9, None),
    ("SDK c50 ÷ bare httpx c50", ("sdk", 50), ("httpx", 50), None, None),
    ("SDK c50 ÷ PHP curl_multi c50", ("sdk", 50), ("php-multi", 50), None, None),
    ("SDK on uvloop c50 ÷ PHP sample", ("sdk-uvloop", 50), ("php", 1), None, None),
    ("SDK on uvloop c50 ÷ bare aiohttp c50", ("sdk-uvloop", 50), ("aiohttp", 50), None, None),
    ("SDK on uvloop c1000 ÷ its c10", ("sdk-uvloop", 1000), ("sdk-uvloop", 10), None, None),
)


class Meter:
    """Hands out ids ``prefix0, prefix1, ...`` lazily and times the lookups until done.

    Done when ``n`` lookups completed or ``seconds`` passed since :meth:`start`,
    whichever comes first; ``finished`` is then set and later results are ignored.
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
        self.first_error = ""
        self.t0 = self.cpu0 = 0.0
        self.elapsed = self.cpu = 0.0
        self.finished = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.cpu0 = time.process_time()

    def ids(self) -> Iterator[str]:
        clock = time.perf_counter
        for i in range(self.n):
            oid = f"{self.prefix}{i}"
            self.started[oid] = clock()
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
    """``concurrency`` workers pulling ids from one lazy source (the bare clients' bulk loop)."""
    source = meter.ids()

    async def worker() -> None:
        for oid in source:
            try:
                ok = await call(oid)
            except Exception as exc:
                meter.done(oid, False, exc)
            else:
                meter.done(oid, ok)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _case_sdk(url: str, concurrency: int, warm: Meter, meter: Meter) -> None:
    from itnio_async import AsyncItnio

    async with AsyncItnio(API_KEY, API_SECRET, base_url=url) as client:

        async def work(m: Meter) -> None:
            async for lookup in client.records.iter_by_order_ids(
                m.ids(), app_id=APP_ID, concurrency=concurrency
            ):
                m.done(lookup.order_id, lookup.ok, lookup.error)

        await _measure(work, warm)
        await _measure(work, meter)


async def _case_httpx(url: str, concurrency: int, warm: Meter, meter: Meter) -> None:
    import httpx

    endpoint = url + RECORD_PATH
    async with httpx.AsyncClient(timeout=BARE_TIMEOUT) as http:

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
    async with aiohttp.ClientSession(timeout=timeout) as session:

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


_CASES = {"sdk": _case_sdk, "httpx": _case_httpx, "aiohttp": _case_aiohttp}


def run_python_case(
    client: str, url: str, concurrency: int, n: int, seconds: float
) -> dict[str, Any]:
    """One case in this process (already pinned): warm-up, then the measured lookups."""
    base, _, loop_kind = client.partition("-")
    if loop_kind == "uvloop":
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
    }


def run_php(script: str, url: str, concurrency: int, n: int) -> dict[str, Any]:
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
    }


def run_case(client: str, url: str, concurrency: int, n: int, seconds: float) -> dict[str, Any]:
    """One case in a fresh process; returns its result."""
    if client == "php":
        result = run_php("vendor_sample.php", url, concurrency, n)
    elif client == "php-multi":
        result = run_php("vendor_multi.php", url, concurrency, n)
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
        )
        if out.returncode != 0:
            # A client that crashes is a result too (shown as "failed", with why).
            print(out.stderr[-4000:], file=sys.stderr)
            return {"client": client, "c": concurrency, "failed": _crash_line(out.stderr)}
        result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(client=client, c=concurrency)
    return result


def _crash_line(stderr: str) -> str:
    """Where a crashed case failed: the innermost frame and the exception line."""
    lines = [line.strip() for line in stderr.strip().splitlines()]
    where = next((ln for ln in reversed(lines) if ln.startswith("File ")), "")
    return f"{lines[-1] if lines else '?'} ({where})"


def cases(clients: list[str], levels: list[int]) -> list[tuple[int, list[str]]]:
    """Per concurrency level, the clients that run at it."""
    out = []
    for c in levels:
        here = [k for k in clients if FIXED_LEVEL.get(k, c) == c]
        if here:
            out.append((c, here))
    return out


def ratio_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The target ratios, each computed within one round, summarised over the rounds."""
    by = {(r["round"], r["client"], r["c"]): r["rps"] for r in results if "failed" not in r}
    rounds = sorted({r["round"] for r in results})
    rows = []
    for name, num, den, target, stretch in RATIOS:
        values = [
            by[(k, *num)] / by[(k, *den)] for k in rounds if (k, *num) in by and (k, *den) in by
        ]
        if values:
            rows.append(
                {
                    "name": name,
                    "values": values,
                    "median": median(values),
                    "target": target,
                    "stretch": stretch,
                }
            )
    return rows


def markdown(results: list[dict[str, Any]]) -> str:
    """Tables: lookups/s, latency and errors, ratios."""
    clients = list(dict.fromkeys(r["client"] for r in results))
    levels = sorted({r["c"] for r in results})
    rounds = len({r["round"] for r in results})

    def rows_of(client: str, c: int) -> list[dict[str, Any]]:
        return [r for r in results if r["client"] == client and r["c"] == c and "failed" not in r]

    def cell(client: str, c: int) -> str:
        failed = [r for r in results if r["client"] == client and r["c"] == c and "failed" in r]
        text = summary([r["rps"] for r in rows_of(client, c)])
        if failed:
            text = (
                f"**failed** {len(failed)}×"
                if text == "–"
                else f"{text}, **failed** {len(failed)}×"
            )
        return text

    lines = [
        f"Lookups/s, median (min–max) of {rounds} interleaved round(s):",
        "",
        "| client | " + " | ".join(f"c{c}" for c in levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for client in clients:
        cells = [cell(client, c) for c in levels]
        lines.append(f"| {client} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| client | c | p50 ms | p99 ms | client CPU µs/lookup | completed per round | errors "
        "| every id answered with its own record |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for client in clients:
        for c in levels:
            rows = rows_of(client, c)
            if not rows:
                continue
            lines.append(
                f"| {client} | {c} | {summary([r['p50_ms'] for r in rows], '{:.2f}')} "
                f"| {summary([r['p99_ms'] for r in rows], '{:.2f}')} "
                f"| {summary([r['cpu_us'] for r in rows if r['cpu_us'] is not None])} "
                f"| {summary([r['completed'] for r in rows])} "
                f"| {sum(r['errors'] for r in rows)} | {all(r['all_ids'] for r in rows)} |"
            )
    crashed: dict[tuple[str, str], list[int]] = {}
    for r in results:
        if "failed" in r:
            crashed.setdefault((r["client"], r["failed"]), []).append(r["c"])
    for (client, why), where in crashed.items():
        levels_text = ", ".join(f"c{c}" for c in sorted(set(where)))
        lines.append(f"\n**{client} crashed** ({levels_text}): `{why}`")
    errors = [r for r in results if r.get("errors")]
    for r in errors[:5]:
        lines.append(f"\n{r['client']} c{r['c']}: first error `{r['first_error']}`")
    lines += ["", "| ratio, same round | median (min–max) | target |", "|---|---|---|"]
    for row in ratio_rows(results):
        target = "" if row["target"] is None else f"≥ {row['target']}"
        if row["stretch"] is not None:
            target += f" (stretch ≥ {row['stretch']})"
        lines.append(f"| {row['name']} | {summary(row['values'], '{:.2f}')} | {target} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", nargs="+", default=list(CLIENTS))
    parser.add_argument("--levels", nargs="+", type=int, default=list(LEVELS))
    parser.add_argument("--n", type=int, default=10_000, help="lookups per case")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time cap per case")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here (for run_all.py)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        pin(CLIENT_CPU)
        client, url, c, n, seconds = args.child
        print(json.dumps(run_python_case(client, url, int(c), int(n), float(seconds))))
        return

    plan = cases(args.clients, args.levels)
    results: list[dict[str, Any]] = []
    with server_process() as server:
        for k in range(args.rounds):
            for c, clients in rotated(plan, k):
                for client in rotated(clients, k):
                    r = run_case(client, server.url, c, args.n, args.max_seconds)
                    r["round"] = k
                    results.append(r)
                    if "failed" in r:
                        print(
                            f"round {k} c{c:<4} {client:<12} FAILED {r['failed']}", file=sys.stderr
                        )
                        continue
                    print(
                        f"round {k} c{c:<4} {client:<12} {r['rps']:8,.0f}/s  "
                        f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                        f"done {r['completed']:,}  errors {r['errors']}  ids ok {r['all_ids']}",
                        file=sys.stderr,
                        flush=True,
                    )
    text = markdown(results)
    print(text)
    metrics = {row["name"]: row["median"] for row in ratio_rows(results)}
    write_json(
        args.json,
        {
            "markdown": text,
            "metrics": metrics,
            "ratios": ratio_rows(results),
            "results": results,
            "settings": {"n": args.n, "max_seconds": args.max_seconds, "rounds": args.rounds},
        },
    )


if __name__ == "__main__":
    main()
