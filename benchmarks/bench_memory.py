"""Peak RSS of lazy bulk lookups: 10,000 against 100,000 ids, each run in a fresh process.

Each child streams ``records.iter_by_order_ids`` over a generator of ids against
``_server.py`` (loopback, the other CPU) at concurrency 50, keeps only a count of
the results, and reports ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after one
warm-up lookup and at the end. Runs alternate between the sizes (``--rounds``
times each, order rotated per round). Lazy lookups must not grow with the number
of ids: the target is a peak for 100,000 within 10 MB of the peak for 10,000.

    python benchmarks/bench_memory.py [--sizes 10000 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import (
    API_KEY,
    API_SECRET,
    APP_ID,
    CLIENT_CPU,
    median,
    pin,
    rotated,
    server_process,
    summary,
    write_json,
)

TARGET_MB = 10.0


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000  # KiB on Linux → MB


async def _child(url: str, n: int, concurrency: int) -> dict[str, Any]:
    from itnio_async import AsyncItnio

    async with AsyncItnio(API_KEY, API_SECRET, base_url=url) as client:
        await client.records.get_by_order_id("warm-up", app_id=APP_ID)
        before = _maxrss_mb()
        ok = 0
        ids = (f"m{i}" for i in range(n))
        async for lookup in client.records.iter_by_order_ids(
            ids, app_id=APP_ID, concurrency=concurrency
        ):
            ok += lookup.ok
    return {"n": n, "ok": ok, "rss_warm_mb": before, "rss_peak_mb": _maxrss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs=2, type=int, default=[10_000, 100_000])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here (for run_all.py)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pin(CLIENT_CPU)
        url, n = args.child
        print(json.dumps(asyncio.run(_child(url, int(n), args.concurrency))))
        return
    small, large = sorted(args.sizes)
    peaks: dict[int, list[float]] = {small: [], large: []}
    warm: dict[int, list[float]] = {small: [], large: []}
    failures = []
    with server_process() as server:
        for k in range(args.rounds):
            for n in rotated([small, large], k):
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        *("--concurrency", str(args.concurrency)),
                        *("--child", server.url, str(n)),
                    ],
                    capture_output=True,
                    text=True,
                    timeout=1800,
                )
                if out.returncode != 0:
                    failures.append(f"{n:,}: {out.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if r["ok"] != n:
                    failures.append(f"{n:,}: only {r['ok']:,} lookups succeeded")
                peaks[n].append(r["rss_peak_mb"])
                warm[n].append(r["rss_warm_mb"])
                print(
                    f"round {k} {n:>8,} lookups (c{args.concurrency}): {r['ok']:,} ok, "
                    f"RSS after warm-up {r['rss_warm_mb']:.1f} MB, peak {r['rss_peak_mb']:.1f} MB",
                    file=sys.stderr,
                    flush=True,
                )
    growth = median(peaks[large]) - median(peaks[small])
    lines = [
        f"| lazy lookups (c{args.concurrency}) | RSS after warm-up, MB | peak RSS, MB |",
        "|---|---|---|",
    ]
    for n in (small, large):
        lines.append(f"| {n:,} | {summary(warm[n], '{:.1f}')} | {summary(peaks[n], '{:.1f}')} |")
    lines.append(
        f"| **{large:,} − {small:,}** | | **{growth:+.1f} MB** (target ≤ {TARGET_MB:.0f} MB) |"
    )
    lines += [f"\nFailed: {f}" for f in failures]
    text = "\n".join(lines)
    print(text)
    write_json(
        args.json,
        {
            "markdown": text,
            "metrics": {"peak growth MB": growth, "failures": len(failures)},
            "sizes": [small, large],
        },
    )


if __name__ == "__main__":
    main()
