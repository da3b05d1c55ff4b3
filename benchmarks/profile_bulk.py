"""Where a bulk lookup's client time goes over loopback, per layer (pyinstrument).

    python benchmarks/profile_bulk.py --backend aiohttp --concurrency 50 [--variant direct,prebuilt]

Runs ``records.iter_by_order_ids`` against ``_server.py`` (separate process, other
core) under pyinstrument and prints the share of samples per layer plus, with
``--tree``, the call tree.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _common import API_KEY, API_SECRET, CLIENT_CPU, pin, server_process
from profile_call import own_time_by_layer


async def run(url: str, n: int, concurrency: int, backend: str) -> float:
    from itnio_async import AsyncItnio

    async with AsyncItnio(API_KEY, API_SECRET, base_url=url, http_backend=backend) as client:  # type: ignore[arg-type]
        ids = (str(i) for i in range(300))
        async for _ in client.records.iter_by_order_ids(ids, concurrency=concurrency):
            pass
        start = time.process_time()
        ids = (str(i) for i in range(n))
        async for _ in client.records.iter_by_order_ids(ids, concurrency=concurrency):
            pass
        return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="httpx", choices=["httpx", "aiohttp"])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--variant", default="")
    parser.add_argument("--tree", action="store_true")
    args = parser.parse_args()
    pin(CLIENT_CPU)
    import variants
    from pyinstrument import Profiler

    variants.apply(args.variant)
    with server_process() as url:
        plain = asyncio.run(run(url, args.n, args.concurrency, args.backend))
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        asyncio.run(run(url, args.n, args.concurrency, args.backend))
        session = profiler.stop()
    label = f"{args.backend} c{args.concurrency} {args.variant or 'as is'}"
    print(f"{label}: {plain:.0f} µs of client CPU per lookup (unprofiled)\n")
    totals = own_time_by_layer(session)
    whole = sum(totals.values())
    print("| layer (innermost frame) | share | ≈ µs/lookup |")
    print("|---|---|---|")
    for name, secs in sorted(totals.items(), key=lambda kv: -kv[1])[:16]:
        print(f"| {name} | {secs / whole:.0%} | {plain * secs / whole:.0f} |")
    if args.tree:
        print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
