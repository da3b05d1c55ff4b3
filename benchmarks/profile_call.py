"""Where the time of one SDK call goes (in-process, ``httpx.MockTransport``).

    python benchmarks/profile_call.py [--calls 20000] [--tree]

Runs ``records.get_by_order_id`` ``--calls`` times under pyinstrument
(``pip install pyinstrument``) and prints the share of samples per layer (the
innermost frame's package: httpx, httpcore, itnio_async, cattrs, json, asyncio,
...) and, with ``--tree``, pyinstrument's call tree.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time
from typing import Any

import httpx
from _common import API_KEY, API_SECRET, CLIENT_CPU, pin
from bench_call_cpu import BASE, _handler


async def run(calls: int) -> float:
    from itnio_async import AsyncItnio

    transport = httpx.MockTransport(_handler)
    async with AsyncItnio(API_KEY, API_SECRET, base_url=BASE, transport=transport) as client:
        records = client.records
        for i in range(200):
            await records.get_by_order_id(str(i), app_id="ad454212")
        start = time.process_time()
        for i in range(calls):
            await records.get_by_order_id(str(i), app_id="ad454212")
        return (time.process_time() - start) / calls * 1e6


def layer(frame_file: str) -> str:
    """The package a source file belongs to, for grouping samples."""
    for name in (
        "itnio_async",
        "httpx_aiohttp",
        "httpx",
        "httpcore",
        "cattrs",
        "attr",
        "anyio",
        "h11",
        "aiohttp",
        "asyncio",
        "json",
        "email",
        "contextvars",
        "hashlib",
        "decimal",
    ):
        if f"/{name}/" in frame_file or frame_file.endswith(f"/{name}.py"):
            return name
    return frame_file.rsplit("/", 1)[-1] or "<builtin>"


def own_time_by_layer(session: Any) -> dict[str, float]:
    """Seconds of samples whose innermost *Python* frame lies in each layer."""
    totals: collections.Counter[str] = collections.Counter()

    def walk(frame: Any) -> None:
        if frame.is_synthetic:  # "[self]" time, already counted on its parent
            return
        own = frame.total_self_time
        if own > 0:
            totals[layer(frame.file_path or "")] += own
        for child in frame.children:
            walk(child)

    walk(session.root_frame())
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--tree", action="store_true")
    args = parser.parse_args()
    pin(CLIENT_CPU)
    from pyinstrument import Profiler

    plain = asyncio.run(run(args.calls))
    profiler = Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    asyncio.run(run(args.calls))
    session = profiler.stop()
    print(f"SDK call: {plain:.1f} µs of CPU (unprofiled)\n")
    totals = own_time_by_layer(session)
    whole = sum(totals.values())
    print("| layer (innermost frame) | share | ≈ µs/call |")
    print("|---|---|---|")
    for name, secs in sorted(totals.items(), key=lambda kv: -kv[1])[:14]:
        print(f"| {name} | {secs / whole:.0%} | {plain * secs / whole:.1f} |")
    if args.tree:
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
