"""Bulk record lookups over loopback: requests/s, p50/p99, errors, ids received.

Clients (``--clients``):

* ``sdk-httpx``    ``client.records.iter_by_order_ids`` on the default transport
* ``sdk-aiohttp``  the same with ``AsyncItnio(http_backend="aiohttp")``
* ``httpx``        bare ``httpx.AsyncClient``: signed ``post`` + ``json()``, worker pool
* ``aiohttp``      bare ``aiohttp.ClientSession``: signed ``post`` + ``json.loads``, worker pool
* ``php``          the vendor's PHP sample (seed 003) in a loop, sequential (c1 only)

An SDK client may name prototypes of ``variants.py`` to apply first, joined by ``+``:
``sdk-httpx:sharded+direct+prebuilt``.

Every run is a fresh process pinned to one core, against ``_server.py`` pinned to the
other. Latency is the time from handing an id to the client (the input generator
being advanced) to receiving its result, so it includes every layer the user sees.

    python benchmarks/bench_bulk.py                       # the full matrix, 3 repeats
    python benchmarks/bench_bulk.py --clients sdk-httpx httpx --concurrency 50 --repeat 1
    python benchmarks/bench_bulk.py --server-delay-ms 20 --n 2000 ...   # with latency
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
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from _common import (
    API_KEY,
    API_SECRET,
    CLIENT_CPU,
    HERE,
    percentile,
    pin,
    server_process,
    summary,
)

APP_ID = "ad454212"
CLIENTS = ("sdk-httpx", "sdk-aiohttp", "httpx", "aiohttp", "php")
CONCURRENCY = (1, 10, 50, 200)


class _Ids:
    """Order ids ``0..n-1`` generated lazily, stamping when each one is handed out."""

    def __init__(self, n: int, prefix: str = "") -> None:
        self.n = n
        self.prefix = prefix
        self.started: dict[str, float] = {}
        self.latencies: list[float] = []
        self.received: set[str] = set()
        self.errors = 0

    def __iter__(self) -> Iterator[str]:
        clock = time.perf_counter
        for i in range(self.n):
            oid = f"{self.prefix}{i}"
            self.started[oid] = clock()
            yield oid

    def done(self, order_id: str, ok: bool) -> None:
        self.latencies.append(time.perf_counter() - self.started.pop(order_id))
        if ok:
            self.received.add(order_id)
        else:
            self.errors += 1


def _sign_headers() -> dict[str, str]:
    ts = str(int(time.time()))
    sign = hashlib.md5((API_KEY + API_SECRET + ts).encode(), usedforsecurity=False).hexdigest()
    return {
        "Content-Type": "application/json;charset=UTF-8",
        "Sign": sign,
        "Timestamp": ts,
        "Api-Key": API_KEY,
    }


def _body(order_id: str) -> bytes:
    return json.dumps({"appId": APP_ID, "orderId": order_id}, separators=(",", ":")).encode()


async def _pool(ids: _Ids, concurrency: int, call: Callable[[str], Awaitable[str]]) -> None:
    """A plain bounded worker pool, the same for both bare clients."""
    source = iter(ids)

    async def worker() -> None:
        for oid in source:
            try:
                got = await call(oid)
                ids.done(oid, got == oid)
            except Exception:
                ids.done(oid, False)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _run_sdk(url: str, ids: _Ids, concurrency: int, backend: str, warm: _Ids) -> float:
    from itnio_async import AsyncItnio

    async with AsyncItnio(API_KEY, API_SECRET, base_url=url, http_backend=backend) as client:

        async def drive(batch: _Ids) -> None:
            async for lookup in client.records.iter_by_order_ids(
                batch, app_id=APP_ID, concurrency=concurrency
            ):
                ok = lookup.record is not None and lookup.record.order_id == lookup.order_id
                batch.done(lookup.order_id, ok)

        await drive(warm)
        start = time.perf_counter()
        await drive(ids)
        return time.perf_counter() - start


async def _run_httpx(url: str, ids: _Ids, concurrency: int, warm: _Ids) -> float:
    import httpx

    endpoint = url + "/verification/orderId/record"
    async with httpx.AsyncClient() as http:

        async def call(oid: str) -> str:
            response = await http.post(endpoint, content=_body(oid), headers=_sign_headers())
            response.raise_for_status()
            return str(response.json()["data"]["orderId"])

        await _pool(warm, concurrency, call)
        start = time.perf_counter()
        await _pool(ids, concurrency, call)
        return time.perf_counter() - start


async def _run_aiohttp(url: str, ids: _Ids, concurrency: int, warm: _Ids) -> float:
    import aiohttp

    endpoint = url + "/verification/orderId/record"
    async with aiohttp.ClientSession() as session:

        async def call(oid: str) -> str:
            async with session.post(endpoint, data=_body(oid), headers=_sign_headers()) as r:
                r.raise_for_status()
                return str(json.loads(await r.read())["data"]["orderId"])

        await _pool(warm, concurrency, call)
        start = time.perf_counter()
        await _pool(ids, concurrency, call)
        return time.perf_counter() - start


def run_case(spec: str, url: str, n: int, concurrency: int) -> dict[str, Any]:
    """One measurement in this process: ``n`` lookups at ``concurrency``."""
    client, _, variant = spec.partition(":")
    if variant:
        import variants

        variants.apply(variant.replace("+", ","))
    ids = _Ids(n)
    warm = _Ids(max(200, 2 * concurrency), prefix="w")
    runners: dict[str, Callable[[], Awaitable[float]]] = {
        "sdk-httpx": lambda: _run_sdk(url, ids, concurrency, "httpx", warm),
        "sdk-aiohttp": lambda: _run_sdk(url, ids, concurrency, "aiohttp", warm),
        "httpx": lambda: _run_httpx(url, ids, concurrency, warm),
        "aiohttp": lambda: _run_aiohttp(url, ids, concurrency, warm),
    }
    cpu0 = time.process_time()
    elapsed = asyncio.run(runners[client]())
    cpu = time.process_time() - cpu0
    lat = sorted(ids.latencies)
    return {
        "client": spec,
        "concurrency": concurrency,
        "n": n,
        "elapsed": elapsed,
        "rps": n / elapsed,
        "cpu_us_per_call": cpu / (n + warm.n) * 1e6,
        "p50_ms": percentile(lat, 0.5) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "errors": ids.errors,
        "all_ids": len(ids.received) == n,
    }


def run_php(url: str, n: int) -> dict[str, Any]:
    """The vendor's PHP sample, looped ``n`` times in one ``php`` process."""
    out = subprocess.run(
        ["php", str(HERE / "vendor_sample.php"), url + "/verification/orderId/record", str(n)],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: pin(CLIENT_CPU),  # the parent runs no threads
        timeout=600,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(client="php", concurrency=1, n=n, rps=n / result["elapsed"])
    return result


def _child(client: str, url: str, n: int, concurrency: int) -> dict[str, Any]:
    if client == "php":
        return run_php(url, n)
    out = subprocess.run(
        [sys.executable, __file__, "--child", client, url, str(n), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", nargs="+", default=list(CLIENTS), help=", ".join(CLIENTS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=list(CONCURRENCY))
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="append raw results (JSON lines) here")
    parser.add_argument(
        "--server-delay-ms", type=float, default=0.0, help="simulated latency of every answer"
    )
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        pin(CLIENT_CPU)
        client, url, n, c = args.child
        print(json.dumps(run_case(client, url, int(n), int(c))))
        return

    results: list[dict[str, Any]] = []
    with server_process(delay_ms=args.server_delay_ms) as url:
        for rep in range(args.repeat):
            for c in args.concurrency:
                for client in args.clients:
                    if client == "php" and c != 1:
                        continue
                    r = _child(client, url, args.n, c)
                    r["rep"] = rep
                    results.append(r)
                    print(
                        f"rep {rep} c{c:<4} {client:<12} {r['rps']:8,.0f} req/s  "
                        f"p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                        f"errors {r['errors']}  all ids {r['all_ids']}",
                        flush=True,
                    )
                    if args.json:
                        with args.json.open("a") as fh:
                            fh.write(json.dumps(r) + "\n")
    print()
    print(table(results))
    print()
    print(ratios(results))


def ratios(results: list[dict[str, Any]]) -> str:
    """Target ratios, each computed within one repeat (same minutes, same noise), as
    median (min–max) over the repeats."""
    by: dict[tuple[int, str, int], float] = {
        (r["rep"], r["client"], r["concurrency"]): r["rps"] for r in results
    }
    reps = sorted({r["rep"] for r in results})
    clients = list(dict.fromkeys(r["client"] for r in results))
    levels = sorted({r["concurrency"] for r in results})

    def ratio(a: tuple[str, int], b: tuple[str, int]) -> list[float]:
        return [
            by[(rep, *a)] / by[(rep, *b)] for rep in reps if (rep, *a) in by and (rep, *b) in by
        ]

    rows: list[tuple[str, list[float]]] = []
    for client in clients:
        for c in levels:
            if c != 10:
                rows.append(
                    (f"{client} c{c} / c10 (no cliff: ≥ 1.0)", ratio((client, c), (client, 10)))
                )
    for client in clients:
        base = "httpx" if client.startswith("sdk-httpx") else "aiohttp"
        if client.startswith("sdk-"):
            for c in levels:
                rows.append((f"{client} / bare {base} at c{c}", ratio((client, c), (base, c))))
            rows.append((f"{client} c50 / php", ratio((client, 50), ("php", 1))))
    lines = ["| ratio (same repeat) | median (min–max) |", "|---|---|"]
    lines += [f"| {name} | {summary(vals, '{:.2f}')} |" for name, vals in rows if vals]
    return "\n".join(lines)


def table(results: list[dict[str, Any]]) -> str:
    """A Markdown table: requests/s as median (min–max) per client and concurrency."""
    clients = list(dict.fromkeys(r["client"] for r in results))
    levels = sorted({r["concurrency"] for r in results})
    lines = [
        "| client | " + " | ".join(f"c{c}" for c in levels) + " |",
        "|---|" + "---|" * len(levels),
    ]
    for client in clients:
        cells = []
        for c in levels:
            rows = [r for r in results if r["client"] == client and r["concurrency"] == c]
            cells.append(summary([r["rps"] for r in rows]) if rows else "")
        lines.append(f"| {client} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("| client | c | p50 ms | p99 ms | errors | all ids |")
    lines.append("|---|---|---|---|---|---|")
    for client in clients:
        for c in levels:
            rows = [r for r in results if r["client"] == client and r["concurrency"] == c]
            if not rows:
                continue
            lines.append(
                f"| {client} | {c} | {summary([r['p50_ms'] for r in rows], '{:.2f}')} "
                f"| {summary([r['p99_ms'] for r in rows], '{:.2f}')} "
                f"| {sum(r['errors'] for r in rows)} | {all(r['all_ids'] for r in rows)} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
