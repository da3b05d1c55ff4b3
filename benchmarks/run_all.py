"""Run every benchmark, write ``benchmarks/results.md``, and refresh the README's numbers.

    python benchmarks/run_all.py --baseline-sdk /work/wt/bench-baseline   # ~17 min, 2 quiet cores
    python benchmarks/run_all.py --quick    # a smoke run, ~6 minutes: numbers are provisional

Each part is its own script (see README.md), run as a subprocess with ``--json`` and
the allocator settings of ``_common.ALLOCATOR_ENV``; this collects their tables,
checks each target of issue 20 against the medians of the same-round ratios, and
writes them with the date, the machine, the SDK checkouts measured, and how busy the
machine was (load average and a CPU-speed probe, before and after). The README's
block between ``<!-- results:begin -->`` and ``<!-- results:end -->`` is replaced by
the targets and the bulk tables (``--no-readme`` leaves it alone). A ``--quick`` run
writes ``benchmarks/results-quick.md`` (not tracked) and leaves the README alone.

``--baseline-sdk PATH`` (or ``$ITNIO_BASELINE_SDK``): another checkout of the SDK,
measured in the same rounds as ``sdk-baseline`` (e.g. ``git worktree add
/work/wt/bench-baseline 706e716``); without it the targets against it are "not
measured".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    CLIENT_CPU,
    HERE,
    ROOT,
    allocator_text,
    cpu_probe,
    git_describe,
    load_average,
    machine,
    pin,
    process_env,
    summary,
)

FULL = {
    "bench_server.py": ["--seconds", "3", "--rounds", "3"],
    "bench_call_cpu.py": ["--calls", "10000", "--repeat", "5"],
    "bench_bulk.py": ["--rounds", "5", "--n", "10000", "--max-seconds", "10"],
    "bench_memory.py": ["--sizes", "10000", "100000", "--rounds", "3"],
    "bench_idle_close.py": ["--probes", "400"],
}
QUICK = {
    "bench_server.py": ["--seconds", "1", "--rounds", "1"],
    "bench_call_cpu.py": ["--calls", "2000", "--repeat", "3"],
    "bench_bulk.py": ["--rounds", "2", "--n", "1000", "--max-seconds", "3"],
    "bench_memory.py": ["--sizes", "2000", "20000", "--rounds", "1"],
    "bench_idle_close.py": ["--probes", "150"],
}
TITLES = {
    "bench_server.py": "Server ceiling (`bench_server.py`)",
    "bench_call_cpu.py": "Per-call client CPU, in-process (`bench_call_cpu.py`)",
    "bench_bulk.py": "Bulk lookups over loopback (`bench_bulk.py`)",
    "bench_memory.py": "Peak RSS of lazy bulk lookups (`bench_memory.py`)",
    "bench_idle_close.py": "Idle-close race (`bench_idle_close.py`)",
}
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

#: Issue 20's targets over loopback: (target, ratio in bench_bulk.py's output, at least).
#: Each ratio is computed within one round; its median over the rounds is checked.
BULK_TARGETS = (
    ("SDK c50 ÷ bare aiohttp c50", "sdk c50 ÷ aiohttp c50", 1.25),
    ("SDK c50 ÷ raw asyncio + httptools c50 (the limit of Python)", "sdk c50 ÷ raw c50", 0.4),
    ("SDK c1 ÷ the vendor's PHP sample (sequential)", "sdk c1 ÷ php c1", 0.9),
    ("SDK c1000 ÷ SDK c10", "sdk c1000 ÷ sdk c10", 0.9),
    (
        "SDK with one no-op request hook c50 ÷ baseline SDK (706e716, no hook) c50",
        "sdk-hook c50 ÷ sdk-baseline c50",
        0.9,
    ),
)
#: Issue 20's targets in-process (``bench_call_cpu.py``): (target, its ratio, at most).
CPU_TARGETS = (
    (
        "in-process: SDK via transport= ÷ bare httpx post + .json()",
        "SDK via transport= ÷ bare httpx post+json",
        0.5,
    ),
    (
        "in-process: SDK via a user http_client= ÷ bare httpx post + .json()",
        "SDK via http_client= ÷ bare httpx post+json",
        1.15,
    ),
)


def run(script: str, args: list[str], out: Path) -> dict[str, Any]:
    """Run one benchmark script; return what it wrote with ``--json``."""
    cmd = [sys.executable, str(HERE / script), *args, "--json", str(out)]
    print("$", " ".join(["python", f"benchmarks/{script}", *args]), flush=True)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=HERE, text=True, stdout=subprocess.PIPE, env=process_env())
    print(proc.stdout, flush=True)
    if proc.returncode != 0:
        return {"markdown": f"**{script} failed** (exit {proc.returncode}); see its output."}
    result: dict[str, Any] = json.loads(out.read_text())
    result["minutes"] = (time.monotonic() - started) / 60
    return result


def _verdict(value: float | None, target: float, *, at_most: bool = False) -> str:
    if value is None or value != value:  # nan
        return "not measured"
    met = value <= target if at_most else value >= target
    return "**met**" if met else "**missed**"


def targets(parts: dict[str, dict[str, Any]]) -> str:
    """Issue 20's targets, each against this run's medians; then the checks kept from before."""
    bulk_part = parts.get("bench_bulk.py", {})
    bulk = {row["key"]: row for row in bulk_part.get("ratios", [])}
    notes = " ".join(bulk_part.get("settings", {}).get("notes", []))
    cpu = parts.get("bench_call_cpu.py", {}).get("metrics", {})
    mem = parts.get("bench_memory.py", {})
    idle = parts.get("bench_idle_close.py", {}).get("runs", [])
    rows = []
    for name, key, goal in BULK_TARGETS:
        row = bulk.get(key)
        if row is None:
            why = "not measured" + (
                " (no `--baseline-sdk`)" if "sdk-baseline" in key and "skipped" in notes else ""
            )
            rows.append((f"{name} ≥ {goal}", "–", why))
            continue
        rows.append(
            (
                f"{name} ≥ {goal}",
                summary(row["values"], "{:.2f}") + f"× over {len(row['values'])} rounds",
                _verdict(row["median"], goal),
            )
        )
    for name, key, goal in CPU_TARGETS:
        value = cpu.get(key)
        shown = "–" if value is None else f"{value:.2f}×"
        if value is not None and f"{key} min" in cpu:
            shown = f"{value:.2f} ({cpu[f'{key} min']:.2f}–{cpu[f'{key} max']:.2f})×"
        rows.append((f"{name} ≤ {goal}", shown, _verdict(value, goal, at_most=True)))
    lines = ["| target (issue 20) | this run, median (min–max) | |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    rows = []
    empty = cpu.get("SDK with empty hook lists ÷ without")
    rows.append(
        (
            "issue 15: hooks cost nothing when none are set (empty hook lists ÷ none ≤ 1.05; "
            "the same code path, so only noise differs)",
            "–" if empty is None else f"{empty:.2f}×",
            _verdict(empty, 1.05, at_most=True),
        )
    )
    growth = mem.get("metrics", {}).get("peak growth MB")
    sizes = mem.get("sizes", [10_000, 100_000])
    rows.append(
        (
            f"peak RSS, {sizes[1]:,} lazy lookups within 10 MB of {sizes[0]:,}",
            "–" if growth is None else f"{growth:+.1f} MB",
            _verdict(growth, 10.0, at_most=True),
        )
    )
    for r in idle:
        # Every probe counts here, the calibration passes' too: all were sent at the edge.
        c, k = r["counts"], r["calibration"]

        def both(key: str, c: dict[str, int] = c, k: dict[str, int] = k) -> int:
            return c.get(key, 0) + k.get(key, 0)

        probes = r["probes"] + k.get("probes", 0)
        lost = both("maybe sent, never received")
        rows.append(
            (
                f"idle-close race ({r['mode']}): 0 duplicated, 0 'never sent' that arrived; "
                "the 'maybe sent but never received' share reported",
                f"{both('duplicated')} duplicated, {both('never sent, but received')} arrived; "
                f"'maybe sent' never received: {lost} of {probes} probes ({lost / probes:.1%})",
                "**met**"
                if both("duplicated") + both("never sent, but received") == 0
                else "**missed**",
            )
        )
    uv = [
        r
        for r in parts.get("bench_bulk.py", {}).get("results", [])
        if r["client"].endswith("-uvloop") and r["client"].startswith("sdk")
    ]
    if uv:
        failed = [r for r in uv if "failed" in r]
        rows.append(
            (
                "the SDK runs on uvloop (the CLI uses it where installed)",
                f"{len(uv) - len(failed)} of {len(uv)} cases ran"
                + (f"; failed: `{failed[0]['failed']}`" if failed else ""),
                "**missed**" if failed else "**met**",
            )
        )
    lines += [
        "",
        "| checks kept from earlier issues | this run | |",
        "|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def header(
    quick: bool,
    info: dict[str, str],
    before: list[float],
    after: list[float],
    load_after: str,
    baseline: str | None,
) -> str:
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    label = (
        "**Provisional: a `--quick` smoke run (2 rounds, small N) on a shared, busy machine. "
        "Not the measurement; rerun `python benchmarks/run_all.py` on a quiet machine.**\n\n"
        if quick
        else ""
    )
    base = f"{baseline} ({git_describe(Path(baseline))})" if baseline else "not given"
    return (
        f"{label}Run {when} on {info['cpu']}, {info['system']}, {info['python']}; "
        f"{info['versions']}. SDK under test: {ROOT} ({git_describe(ROOT)}); baseline "
        f"SDK: {base}. Every process started with {allocator_text()}.\n\n"
        f"How busy the machine was: load average (1, 5, 15 min) {info['load']} at the start, "
        f"{load_after} at the end; CPU probe (ms for a fixed loop, 5 runs, lower is faster) "
        f"before {summary(before, '{:.0f}')}, after {summary(after, '{:.0f}')}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run; provisional numbers")
    parser.add_argument("--only", nargs="+", choices=list(FULL), help="run only these")
    parser.add_argument(
        "--out", type=Path, help="default: results.md (--quick: results-quick.md, not tracked)"
    )
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    parser.add_argument("--raw", type=Path, help="keep each script's JSON in this directory")
    parser.add_argument(
        "--baseline-sdk",
        default=os.environ.get("ITNIO_BASELINE_SDK"),
        metavar="PATH",
        help="a checkout of the SDK measured as sdk-baseline (default: $ITNIO_BASELINE_SDK)",
    )
    args = parser.parse_args()
    plan = {k: list(v) for k, v in (QUICK if args.quick else FULL).items()}
    if args.baseline_sdk:
        plan["bench_bulk.py"] += ["--baseline-sdk", args.baseline_sdk]
    out = args.out or HERE / ("results-quick.md" if args.quick else "results.md")
    info = machine()
    pinned = pin(CLIENT_CPU)
    before = cpu_probe()
    parts: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        raw = args.raw or Path(tmp)
        raw.mkdir(parents=True, exist_ok=True)
        for script, script_args in plan.items():
            if args.only and script not in args.only:
                continue
            parts[script] = run(script, script_args, raw / (Path(script).stem + ".json"))
    load_after = load_average()
    after = cpu_probe()
    head = header(args.quick, info, before, after, load_after, args.baseline_sdk)
    if not pinned:
        head += " (Not pinned: fewer than 2 CPUs, or no `sched_setaffinity`.)"
    goals = targets(parts)
    body = [f"# Benchmark results\n\n{head}\n\n## Targets\n\n{goals}\n"]
    for script, part in parts.items():
        commands = " ".join(["python", f"benchmarks/{script}", *plan[script]])
        minutes = f" ({part['minutes']:.1f} min)" if "minutes" in part else ""
        body.append(f"## {TITLES[script]}\n\n`{commands}`{minutes}\n\n{part['markdown']}\n")
    out.write_text("\n".join(body))
    print(f"written to {out}")
    readme = HERE / "README.md"
    if not (args.quick or args.no_readme) and "bench_bulk.py" in parts and readme.exists():
        text = readme.read_text()
        if BEGIN in text and END in text:
            bulk = parts["bench_bulk.py"].get("summary", parts["bench_bulk.py"]["markdown"])
            block = f"{BEGIN}\n{head}\n\n{goals}\n\n{bulk}\n{END}"
            start, stop = text.index(BEGIN), text.index(END) + len(END)
            readme.write_text(text[:start] + block + text[stop:])
            print(f"refreshed the numbers in {readme}")


if __name__ == "__main__":
    main()
