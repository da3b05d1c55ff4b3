"""Shared pieces of the benchmarks: the record response, the server process, statistics."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
API_KEY = "bDqJFiq9"
API_SECRET = "7bz1lzh9"
#: CPU the server process is pinned to; the client pins itself to the other one.
SERVER_CPU = 1
CLIENT_CPU = 0

#: ``data`` of the seed-003 example response of ``POST /verification/orderId/record``.
RECORD_DATA: dict[str, object] = {
    "orderId": "1234566",
    "flowId": 1,
    "verifications": {
        "matched": 0,
        "verifiedDate": "2022-07-12T13:39:47+08:00",
        "oriReceiver": "91856321412",
        "channel": "call",
        "orderId": "1234566",
    },
    "sms": [
        {
            "submitTm": "2022-07-12T13:39:45+08:00",
            "sendTm": "2022-07-12T13:39:45+08:00",
            "doneTm": "2022-07-12T13:39:49+08:00",
            "mcc": 460,
            "mnc": 10,
            "sender": "",
            "chargeCnt": 1,
            "pay": "0.000002",
            "status": 0,
            "reason": "successR",
        }
    ],
    "call": [
        {
            "terminationCode": 100005,
            "terminationReason": "Temporarily Unavailable",
            "submitTime": "2022-07-12T13:59:55+08:00",
            "callTime": "2022-07-12T13:59:56+08:00",
            "ringingTime": "2022-07-12T13:59:56+08:00",
            "answerTime": "2022-07-12T13:59:56+08:00",
            "hangupTime": "2022-07-12T13:59:56+08:00",
            "callDuration": 0,
            "chargedDuration": 0,
            "displayNum": None,
            "billPeriodstring": "20+20",
            "code": "661",
            "rate": "0.138",
            "cost": "0",
        }
    ],
}


def pin(cpu: int) -> bool:
    """Pin this process to ``cpu`` if the machine has it; True when pinned."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    try:
        if cpu not in os.sched_getaffinity(0) or (os.cpu_count() or 1) < 2:
            return False
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return True


@contextlib.contextmanager
def server_process(cpu: int = SERVER_CPU, delay_ms: float = 0.0) -> Iterator[str]:
    """Run ``_server.py`` in its own process (pinned to ``cpu``); yield its base URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "_server.py"),
            *("--port", "0", "--cpu", str(cpu), "--delay-ms", str(delay_ms)),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError("benchmark server did not start")
        yield f"http://127.0.0.1:{line[1]}/otp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def summary(values: Sequence[float], fmt: str = "{:,.0f}") -> str:
    """``median (min–max)`` of a list of measurements."""
    if not values:
        return "-"
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
