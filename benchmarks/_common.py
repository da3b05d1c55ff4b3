"""Shared pieces of the benchmarks: the record answer, pinning, the server process, statistics.

Nothing here imports ``itnio_async``: the benchmarks use the package only through its
public API, inside the scripts that measure it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The documented answer of ``POST /verification/orderId/record`` (seed 003), 1,497 bytes.
RECORD_FIXTURE = ROOT / "tests" / "fixtures" / "record_by_order_id.json"
#: The ``orderId`` the documented answer carries (twice); replaced by the one asked for.
FIXTURE_ORDER_ID = b'"1234566"'
RECORD_PATH = "/verification/orderId/record"

API_KEY = "bDqJFiq9"
API_SECRET = "7bz1lzh9"
APP_ID = "ad454212"
#: CPU the server process is pinned to; the client pins itself to the other one.
SERVER_CPU = 1
CLIENT_CPU = 0
#: Connections the SDK's own pool holds (``DEFAULT_MAX_CONNECTIONS``). Its bulk helper
#: never runs more lookups at once than that, so no client here has more in flight.
POOL_SIZE = 100

#: The glibc malloc settings every process the benchmarks start runs with. asyncio
#: reads 256 KiB per ``recv``: in a fresh process that is above glibc's (dynamic) mmap
#: threshold, so each read costs ``mmap`` + ``mremap`` + ``munmap``, unless something
#: freed a large block earlier and raised the threshold (``import attrs`` does, in the
#: SDK's process). Fixing the mmap threshold alone is not enough: a fixed threshold
#: keeps the trim threshold at 128 KiB, and each read then costs two ``brk`` instead.
#: These are the values glibc's own dynamic adjustment would reach (trim = 2 × mmap).
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "1048576", "MALLOC_TRIM_THRESHOLD_": "2097152"}


def record_body(order_id: str) -> bytes:
    """The documented record answer, with ``order_id`` wherever the example has its own."""
    template = RECORD_FIXTURE.read_bytes()
    assert template.count(FIXTURE_ORDER_ID) == 2
    return template.replace(FIXTURE_ORDER_ID, json.dumps(order_id).encode())


def lookup_body(order_id: str) -> bytes:
    """The request body the SDK sends for a lookup (compact JSON, same key order)."""
    return json.dumps({"appId": APP_ID, "orderId": order_id}, separators=(",", ":")).encode()


def signed_headers() -> dict[str, str]:
    """The headers of a signed call, as the vendor's sample builds them (md5 per call)."""
    ts = str(int(time.time()))
    sign = hashlib.md5((API_KEY + API_SECRET + ts).encode(), usedforsecurity=False).hexdigest()
    return {
        "Content-Type": "application/json;charset=UTF-8",
        "Sign": sign,
        "Timestamp": ts,
        "Api-Key": API_KEY,
    }


def process_env(*, allocator: bool = True, pythonpath: str | None = None) -> dict[str, str]:
    """The environment of a process the benchmarks start.

    ``allocator``: with :data:`ALLOCATOR_ENV` (False: glibc's defaults, the variables
    removed); ``pythonpath``: put first on ``PYTHONPATH`` (the baseline SDK's copy).
    """
    env = dict(os.environ)
    for key in ALLOCATOR_ENV:
        env.pop(key, None)
    if allocator:
        env.update(ALLOCATOR_ENV)
    if pythonpath:
        rest = env.get("PYTHONPATH")
        env["PYTHONPATH"] = pythonpath + (os.pathsep + rest if rest else "")
    return env


def allocator_text(allocator: bool = True) -> str:
    """How the allocator was set, for the results."""
    if not allocator:
        return "glibc's defaults (no MALLOC_* variables)"
    return " ".join(f"{k}={v}" for k, v in ALLOCATOR_ENV.items())


def reexec_with_allocator_env() -> None:
    """Restart this script with :data:`ALLOCATOR_ENV` unless it already runs with it.

    For the scripts that measure in their own process (``profile_bulk.py``): glibc
    reads the variables once, at start-up.
    """
    if all(os.environ.get(k) == v for k, v in ALLOCATOR_ENV.items()):
        return
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], process_env())


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (how busy the machine is)."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return "{:.2f} {:.2f} {:.2f}".format(*load)


def git_describe(path: Path) -> str:
    """The commit checked out at ``path`` (``+ changes`` when its package differs), or ``-``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--", "itnio_async"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "-"
    if not head:
        return "-"
    return head + (" + changes" if dirty else "")


def pin(cpu: int) -> bool:
    """Pin this process to ``cpu`` if the machine has two CPUs or more; True when pinned."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    try:
        if (os.cpu_count() or 1) < 2 or cpu not in os.sched_getaffinity(0):
            return False
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return True


@contextlib.contextmanager
def server_process(script: str = "_server.py", *args: str, cpu: int = SERVER_CPU) -> Iterator[Any]:
    """Run a server script in its own process (pinned to ``cpu``); yield a handle.

    The script prints ``READY <port>`` once it listens. The handle has ``url`` (the
    API base URL, ``http://127.0.0.1:<port>/otp``), ``port`` and ``proc``.
    """
    proc = subprocess.Popen(
        [sys.executable, str(HERE / script), "--cpu", str(cpu), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE,
        env=process_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError(f"{script} did not start")
        yield _Server(proc, int(line[1]))
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)


class _Server:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc = proc
        self.port = port
        self.url = f"http://127.0.0.1:{port}/otp"


def median(values: Sequence[float]) -> float:
    """The median, ``nan`` for no values."""
    return statistics.median(values) if values else float("nan")


def summary(values: Sequence[float], fmt: str = "{:,.0f}") -> str:
    """``median (min–max)`` of a list of measurements (``nan`` ones left out)."""
    values = [v for v in values if v == v]
    if not values:
        return "–"
    med = fmt.format(statistics.median(values))
    if len(values) == 1:
        return med
    return f"{med} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0–1) of already sorted values (nearest rank)."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def rotated(items: Sequence[Any], by: int) -> list[Any]:
    """``items`` rotated left by ``by`` (round ``r`` of an interleaved run starts elsewhere)."""
    if not items:
        return []
    k = by % len(items)
    return [*items[k:], *items[:k]]


def cpu_probe(rounds: int = 5) -> list[float]:
    """Milliseconds of CPU for a fixed pure-Python loop, ``rounds`` times (machine noise)."""
    out = []
    for _ in range(rounds):
        start = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i % 7
        out.append((time.process_time() - start) * 1000)
    return out


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for name in ("itnio-async", "httpx", "httptools", "aiohttp", "uvloop", "cattrs", "attrs"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            versions[name] = "-"
    php = "-"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        php = (
            subprocess.run(
                ["php", "-r", "echo PHP_VERSION, ' curl ', curl_version()['version'];"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or "-"
        )
    return {
        "cpu": f"{os.cpu_count()} × {model}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "system": f"{platform.system()} {platform.release()}",
        "versions": ", ".join(f"{k} {v}" for k, v in versions.items()) + f", PHP {php}",
        "load": load_average(),
    }


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    """Write a script's results (``--json``) for ``run_all.py`` to collect."""
    if path is not None:
        path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
