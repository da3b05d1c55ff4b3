"""Profile bare ``httpx.AsyncClient`` at a given concurrency: where httpcore's time goes.

    python benchmarks/profile_pool.py --concurrency 50 [--n 5000] [--top 25] [--transport sharded]

Prints the functions with the most own time (cProfile) and the number of calls of
httpcore's ``_assign_requests_to_connections`` and of the socket readability checks
(``is_socket_readable``) per request.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time

import httpx
from _common import CLIENT_CPU, pin, server_process
from bench_bulk import _body, _sign_headers


def make_transport(name: str) -> httpx.AsyncBaseTransport | None:
    """``default`` (httpx's own pool), or a prototype of ``variants.py``."""
    import variants

    if name == "sharded":
        return variants.ShardedTransport(100)
    if name == "single":
        return variants.SingleConnectionPools(100)
    if name == "capped":
        return variants.CappedTransport(100)
    return None


async def run(url: str, n: int, concurrency: int, transport: str = "default") -> float:
    endpoint = url + "/verification/orderId/record"
    async with httpx.AsyncClient(transport=make_transport(transport)) as http:
        source = iter(range(n))

        async def worker() -> None:
            for i in source:
                r = await http.post(endpoint, content=_body(str(i)), headers=_sign_headers())
                r.json()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--transport", default="default", choices=["default", "sharded", "single", "capped"]
    )
    args = parser.parse_args()
    pin(CLIENT_CPU)
    with server_process() as url:
        plain = asyncio.run(run(url, args.n, args.concurrency, args.transport))
        profiler = cProfile.Profile()
        profiler.enable()
        elapsed = asyncio.run(run(url, args.n, args.concurrency, args.transport))
        profiler.disable()
    print(
        f"{args.transport} c{args.concurrency}: {args.n / plain:,.0f} req/s, "
        f"{args.n / elapsed:,.0f} req/s under cProfile"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(args.top)
    for name in ("_assign_requests_to_connections", "is_socket_readable", "has_expired"):
        calls = sum(v[1] for k, v in stats.stats.items() if k[2] == name)  # type: ignore[attr-defined]
        print(f"{name}: {calls / args.n:.1f} calls per request")


if __name__ == "__main__":
    main()
