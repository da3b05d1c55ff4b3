"""Where a bulk lookup's client CPU goes: cProfile's top functions and a share per package.

Two modes:

* ``--mode own`` (default): ``records.iter_by_order_ids`` in-process on the prebuilt
  transport of ``bench_call_cpu.py`` — only the SDK's own work, for the ≤ 100 µs
  budget;
* ``--mode loopback``: the same against ``_server.py`` over loopback (the server on
  the other CPU), so the engine (``_transport.py``, httptools, asyncio) shows up too.

    python benchmarks/profile_bulk.py [--mode own|loopback] [--concurrency 50] [--n 20000]
    python benchmarks/profile_bulk.py --mode loopback --sort cumtime --top 40
    python benchmarks/profile_bulk.py --pyinstrument   # a call tree (pip install pyinstrument)

The figure printed first is measured without the profiler; cProfile's own overhead
inflates the per-function times, so the tables scale each share of the profiled time
to that unprofiled figure (≈ µs per lookup): read them as shares. cProfile counts each
resumption of a coroutine as a call, so a coroutine that waits once shows 2 calls per
lookup; ``--sort cumtime`` ranks by time with callees instead. The script restarts
itself with the allocator settings every benchmark process has (``ALLOCATOR_ENV``),
so the profile is of the process ``bench_bulk.py`` measures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import io
import pstats
import time
from collections.abc import Iterator

from _common import (
    API_KEY,
    API_SECRET,
    APP_ID,
    CLIENT_CPU,
    allocator_text,
    pin,
    reexec_with_allocator_env,
    server_process,
)
from bench_call_cpu import BASE, PREBUILT_IDS, PrebuiltTransport

#: Packages a frame is grouped by (first match of its file path).
LAYERS = (
    "itnio_async/_engine",
    "itnio_async/_routes",
    "itnio_async/_wire",
    "itnio_async/_retry",
    "itnio_async/_bulk",
    "itnio_async/_base_client",
    "itnio_async/_envelope",
    "itnio_async/_converter",
    "itnio_async",
    "httptools",
    "httpx",
    "cattrs",
    "attr",
    "json",
    "asyncio",
    "hashlib",
)
#: Lookups before the measured ones, in the same run (the profile includes them).
WARM_UP = 500


async def run(url: str | None, n: int, concurrency: int) -> float:
    """µs of CPU per lookup of ``n`` lookups (after a warm-up)."""
    from itnio_async import AsyncItnio

    if url is None:
        client = AsyncItnio(
            API_KEY, API_SECRET, base_url=BASE, transport=PrebuiltTransport(PREBUILT_IDS)
        )
    else:
        client = AsyncItnio(API_KEY, API_SECRET, base_url=url)
    async with client:

        def ids(count: int) -> Iterator[str]:
            return (str(i % PREBUILT_IDS) for i in range(count))

        async for _ in client.records.iter_by_order_ids(
            ids(WARM_UP), app_id=APP_ID, concurrency=concurrency
        ):
            pass
        start = time.process_time()
        async for lookup in client.records.iter_by_order_ids(
            ids(n), app_id=APP_ID, concurrency=concurrency
        ):
            if not lookup.ok:
                raise AssertionError(lookup.error)
        return (time.process_time() - start) / n * 1e6


def layer(path: str) -> str:
    """The package (or SDK module) a source file belongs to."""
    for name in LAYERS:
        if f"/{name}/" in path or f"/{name}.py" in path or path.endswith(f"/{name}"):
            return name
    if path.startswith("<") or path == "~":
        return "builtins (C)"
    return path.rsplit("/", 1)[-1]


def by_layer(stats: pstats.Stats) -> dict[str, float]:
    """Own time (tottime) per layer, in seconds."""
    totals: collections.Counter[str] = collections.Counter()
    for (path, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        totals[layer(path)] += tottime
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", default="own", choices=["own", "loopback"])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--sort", default="tottime", choices=["tottime", "cumtime"], help="rank functions by"
    )
    parser.add_argument("--pyinstrument", action="store_true", help="print a call tree")
    args = parser.parse_args()
    reexec_with_allocator_env()
    pin(CLIENT_CPU)
    with contextlib.ExitStack() as stack:
        url = None if args.mode == "own" else stack.enter_context(server_process()).url
        plain = asyncio.run(run(url, args.n, args.concurrency))
        print(
            f"{args.mode}, c{args.concurrency}: "
            f"{plain:.1f} µs of client CPU per lookup (unprofiled; {allocator_text()})\n"
        )
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0001, async_mode="disabled")
            profiler.start()
            asyncio.run(run(url, args.n, args.concurrency))
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))
            return
        profile = cProfile.Profile()
        profile.enable()
        asyncio.run(run(url, args.n, args.concurrency))
        profile.disable()
    stats = pstats.Stats(profile)
    totals = by_layer(stats)
    whole = sum(totals.values())
    print("| layer (own time) | share | ≈ µs/lookup unprofiled |")
    print("|---|---|---|")
    for name, secs in sorted(totals.items(), key=lambda kv: -kv[1])[:16]:
        print(f"| {name} | {secs / whole:.0%} | {plain * secs / whole:.1f} |")
    rank = 2 if args.sort == "tottime" else 3
    print(f"\n| top {args.top} by {args.sort} | calls per lookup | own µs | with callees µs |")
    print("|---|---|---|---|")
    entries = stats.stats.items()  # type: ignore[attr-defined]
    for (path, line, name), (_, calls, tottime, cumtime, _) in sorted(
        entries, key=lambda kv: -kv[1][rank]
    )[: args.top]:
        where = name if path == "~" else f"{'/'.join(path.split('/')[-2:])}:{line} {name}"
        print(
            f"| `{where}` | {calls / (args.n + WARM_UP):.2f} | {plain * tottime / whole:.1f} "
            f"| {plain * cumtime / whole:.1f} |"
        )
    out = io.StringIO()
    pstats.Stats(profile, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    print("\n" + out.getvalue().split("\n\n", 1)[-1].rstrip())


if __name__ == "__main__":
    main()
