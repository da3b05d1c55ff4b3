"""Client instructions per lookup over loopback, counted by valgrind: a view the clock cannot blur.

On a shared machine, lookups/s and CPU seconds move by tens of percent between runs.
``valgrind --tool=callgrind`` counts the instructions a process executes (user space):
repeatable whatever else the machine does. Each client of ``bench_bulk.py`` runs its
usual case (warm-up, then n lookups at level c against ``_server.py``, which runs
outside valgrind) twice under callgrind, with n1 and n2 lookups; the difference over
n2 - n1 is its instructions per lookup (start-up and warm-up cancel out).

    python benchmarks/bench_instructions.py                       # sdk, aiohttp, raw at c50
    python benchmarks/bench_instructions.py --clients sdk sdk-baseline --baseline-sdk PATH

Instructions are not time (a syscall, a cache miss and a branch miss cost more than
an add), so this complements ``bench_bulk.py``; the kernel's share (the loopback
``send``) is not counted at all. Needs ``valgrind`` (Debian package ``valgrind``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from _common import ALLOCATOR_ENV, HERE, server_process

_COLLECTED = re.compile(r"Collected : (\d+)")


def _child(client: str, url: str, concurrency: int, n: int) -> None:
    from bench_bulk import run_python_case

    result = run_python_case(client, url, concurrency, n, seconds=3600.0)
    print(json.dumps({"completed": result["completed"], "errors": result["errors"]}))


def _instructions(client: str, url: str, concurrency: int, n: int, env: dict[str, str]) -> int:
    """Instructions of one run of ``client`` doing ``n`` lookups, under callgrind."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        client,
        url,
        str(concurrency),
        str(n),
    ]
    done = subprocess.run(command, cwd=HERE, env=env, capture_output=True, text=True, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{client}: valgrind run failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["completed"] != n or result["errors"]:
        raise RuntimeError(f"{client}: {result}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", nargs="+", default=["sdk", "aiohttp", "raw"])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--n", type=int, nargs=2, default=[1000, 3000], metavar=("N1", "N2"))
    parser.add_argument("--baseline-sdk", help="another SDK checkout for sdk-baseline")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        client, url, concurrency, n = args.child
        _child(client, url, int(concurrency), int(n))
        return
    env = {**os.environ, **ALLOCATOR_ENV}
    rows = {}
    with server_process() as server:
        url = server.url
        for client in args.clients:
            client_env = dict(env)
            if client == "sdk-baseline":
                if not args.baseline_sdk:
                    print("sdk-baseline: skipped (no --baseline-sdk)")
                    continue
                client_env["PYTHONPATH"] = args.baseline_sdk
            n1, n2 = args.n
            low = _instructions(client, url, args.concurrency, n1, client_env)
            high = _instructions(client, url, args.concurrency, n2, client_env)
            rows[client] = (high - low) / (n2 - n1)
            print(f"{client}: {rows[client]:,.0f} instructions per lookup", flush=True)
    if "sdk" in rows:
        for other in ("aiohttp", "raw", "sdk-baseline"):
            if other in rows:
                print(f"sdk ÷ {other}: {rows['sdk'] / rows[other]:.2f} (instructions)")
    if args.json:
        args.json.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
