"""Peak RSS of lazy bulk lookups: 10,000 vs 100,000 ids, each in a fresh process.

Each child streams ``records.iter_by_order_ids`` over a generator of ids against
``_server.py`` (loopback, other core), keeps only a count of the results, and
reports ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after one warm-up lookup and
at the end. Lazy lookups should not grow with the number of ids: the target is
100,000 within 10 MB of 10,000.

    python benchmarks/bench_memory.py [--sizes 10000 100000] [--backend httpx] [--repeat 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
from typing import Any

from _common import API_KEY, API_SECRET, CLIENT_CPU, pin, server_process, summary


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _child(url: str, n: int, backend: str, concurrency: int) -> dict[str, Any]:
    from itnio_async import AsyncItnio

    async with AsyncItnio(API_KEY, API_SECRET, base_url=url, http_backend=backend) as client:  # type: ignore[arg-type]
        await client.records.get_by_order_id("warm-up")
        before = _maxrss_mib()
        ok = 0
        ids = (f"m{i}" for i in range(n))
        async for lookup in client.records.iter_by_order_ids(ids, concurrency=concurrency):
            ok += lookup.ok
    return {"n": n, "ok": ok, "rss_before_mib": before, "rss_peak_mib": _maxrss_mib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--backend", default="httpx", choices=["httpx", "aiohttp"])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pin(CLIENT_CPU)
        url, n, backend = args.child
        print(json.dumps(asyncio.run(_child(url, int(n), backend, args.concurrency))))
        return
    peaks: dict[int, list[float]] = {n: [] for n in args.sizes}
    with server_process() as url:
        for _ in range(args.repeat):
            for n in args.sizes:
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        *("--concurrency", str(args.concurrency)),
                        *("--child", url, str(n), args.backend),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=900,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
                peaks[n].append(r["rss_peak_mib"])
                print(
                    f"{n:>8,} lookups ({args.backend}, c{args.concurrency}): "
                    f"{r['ok']:,} ok, RSS after warm-up {r['rss_before_mib']:.1f} MiB, "
                    f"peak {r['rss_peak_mib']:.1f} MiB",
                    flush=True,
                )
    print()
    print("| lookups | peak RSS MiB (median, min–max) |")
    print("|---|---|")
    for n, values in peaks.items():
        print(f"| {n:,} | {summary(values, '{:.1f}')} |")
    small, large = min(peaks), max(peaks)
    if small != large:
        diff = (
            sorted(peaks[large])[len(peaks[large]) // 2]
            - sorted(peaks[small])[len(peaks[small]) // 2]
        )
        print(f"| **{large:,} − {small:,}** | **{diff:+.1f} MiB** |")


if __name__ == "__main__":
    main()
