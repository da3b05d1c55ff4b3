"""Run every benchmark and write the Markdown results to ``benchmarks/results.md``.

    python benchmarks/run_all.py            # everything, ~15 minutes on 2 cores
    python benchmarks/run_all.py --quick    # one repeat, 3,000 lookups: ~4 minutes

Each part is its own script (see README.md); this only runs them in order, with a
CPU-speed probe before and after to show how noisy the machine was meanwhile.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from _common import CLIENT_CPU, HERE, pin, summary

BULK_CLIENTS = [
    "sdk-httpx",
    "sdk-aiohttp",
    "httpx",
    "aiohttp",
    "php",
    "sdk-httpx:proposed",
    "sdk-aiohttp:proposed",
]


def cpu_probe(rounds: int = 5) -> list[float]:
    """Milliseconds for a fixed pure-Python workload, ``rounds`` times (machine noise)."""
    pin(CLIENT_CPU)
    out = []
    for _ in range(rounds):
        start = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i % 7
        out.append((time.process_time() - start) * 1000)
    return out


def run(script: str, *args: str) -> str:
    """Run one benchmark script, echo and return its output."""
    cmd = [sys.executable, str(HERE / script), *args]
    print("$", " ".join(cmd[1:]), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=HERE).stdout
    print(out, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    args = parser.parse_args()
    repeat = "1" if args.quick else "3"
    n = "3000" if args.quick else "10000"
    calls = "5000" if args.quick else "20000"
    before = cpu_probe()
    sections = [
        ("Server ceiling", run("bench_server.py", "--repeat", repeat)),
        (
            "Per-call client CPU, as is",
            run("bench_call_cpu.py", "--repeat", repeat, "--calls", calls),
        ),
        (
            "Per-call client CPU, proposed _client.py",
            run("bench_call_cpu.py", "--repeat", repeat, "--calls", calls, "--variant", "proposed"),
        ),
        (
            "Bulk lookups",
            run("bench_bulk.py", "--repeat", repeat, "--n", n, "--clients", *BULK_CLIENTS),
        ),
        ("Peak RSS", run("bench_memory.py")),
    ]
    after = cpu_probe()
    probe = (
        f"CPU probe (ms for a fixed loop, 5 runs): before {summary(before, '{:.0f}')}, "
        f"after {summary(after, '{:.0f}')}"
    )
    print(probe)
    with args.out.open("w") as fh:
        fh.write(f"# Benchmark results ({time.strftime('%Y-%m-%d %H:%M')})\n\n{probe}\n")
        for title, text in sections:
            lines = text.strip().splitlines()
            first = next((i for i, line in enumerate(lines) if line.startswith("|")), 0)
            fh.write(f"\n## {title}\n\n" + "\n".join(lines[first:]) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
