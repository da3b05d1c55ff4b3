"""The idle-close race: sends issued just as the server closes an idle keep-alive connection.

A server (in its own process, the other CPU) answers record lookups and closes a
connection once it has been idle ``--idle`` seconds, as nginx, uvicorn and most load
balancers do. Two modes:

* ``silent``      closes after 0.2 s and says nothing about it (the SDK keeps idle
  connections 4 s by default, so it reuses connections the server is closing);
* ``keep-alive``  closes after 2 s and says so (``Keep-Alive: timeout=2``), which the
  SDK honours by reusing a connection only for a second less than that.

Each probe is its own ``AsyncItnio(max_retries=0)`` — the engine's verdict, not what
the retry policy makes of it: one lookup to open a connection, a pause of the
edge ± ``--window`` (offsets spread evenly; the edge is found by a first pass), then a
second lookup. ``--batch`` probes run at a time. The server records every request it
received and the connection it came on; afterwards each probe is classed:

* answered, on the connection of the first lookup (reused) or on a new one;
* ``TransportError(sent=True)`` ("maybe sent") and the server never received it —
  **the share to keep low**: a non-idempotent call (send an SMS) cannot be retried
  safely after it;
* "maybe sent" and the server did receive it (the answer was lost: rightly "maybe");
* ``sent=False`` ("never sent") although the server received it — **must be 0**;
* the server received one request twice — **duplicated, must be 0**.

    python benchmarks/bench_idle_close.py [--probes 400] [--modes silent keep-alive]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import signal
import sys
from pathlib import Path
from typing import Any, ClassVar

from _common import API_KEY, API_SECRET, APP_ID, CLIENT_CPU, pin, server_process, write_json
from _server import new_loop, order_id_of, render, split_requests

MODES = {
    # name: (server idle timeout in seconds, header announcing it)
    "silent": (0.2, b""),
    "keep-alive": (2.0, b"Keep-Alive: timeout=2\r\n"),
}


# -- the server --------------------------------------------------------------------------


class _IdleClosing(asyncio.Protocol):
    """Answers lookups; closes the connection after ``idle`` seconds without a request."""

    idle = 0.2
    header = b""
    connections = 0
    #: order id → numbers of the connections it arrived on (one entry per request)
    received: ClassVar[dict[str, list[int]]] = collections.defaultdict(list)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cls = type(self)
        cls.connections += 1
        self.number = cls.connections
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""
        self.timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(self.idle, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        bodies, self.buffer = split_requests(self.buffer + data)
        out = []
        for body in bodies:
            order_id = order_id_of(body)
            self.received[order_id].append(self.number)
            out.append(render(order_id, self.header))
        if out:
            self.transport.write(b"".join(out))
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


async def _serve(idle: float, header: bytes) -> None:
    _IdleClosing.idle = idle
    _IdleClosing.header = header
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_IdleClosing, "127.0.0.1", 0, backlog=4096)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()
    stats = {"connections": _IdleClosing.connections, "received": _IdleClosing.received}
    print(json.dumps(stats), flush=True)


# -- the client --------------------------------------------------------------------------


async def _probe(url: str, index: int, pause: float, delay: float) -> dict[str, Any]:
    from itnio_async import AsyncItnio, ItnioError, TransportError

    loop = asyncio.get_running_loop()
    await asyncio.sleep(delay)
    async with AsyncItnio(API_KEY, API_SECRET, base_url=url, max_retries=0) as client:
        await client.records.get_by_order_id(f"warm-{index}", app_id=APP_ID)
        idle_from = loop.time()
        await asyncio.sleep(pause)
        idle = loop.time() - idle_from
        try:
            await client.records.get_by_order_id(f"probe-{index}", app_id=APP_ID)
        except TransportError as exc:
            outcome = "maybe sent" if exc.sent else "never sent"
            detail = f"{type(exc.__cause__).__name__}: {str(exc)[:100]}"
        except ItnioError as exc:
            outcome, detail = type(exc).__name__, str(exc)[:100]
        else:
            outcome, detail = "answered", ""
    return {"index": index, "idle": idle, "outcome": outcome, "detail": detail}


async def _probes(url: str, pauses: list[float], batch: int) -> list[dict[str, Any]]:
    """Run the probes ``batch`` at a time, their starts 5 ms apart within a batch, so that
    no probe's answer waits behind another's decoding (which would shift its pause)."""
    results: list[dict[str, Any]] = []
    for start in range(0, len(pauses), batch):
        chunk = pauses[start : start + batch]
        results += await asyncio.gather(
            *(_probe(url, start + i, pause, 0.005 * i) for i, pause in enumerate(chunk))
        )
    return results


def classify(probes: list[dict[str, Any]], received: dict[str, list[int]]) -> dict[str, int]:
    """Count each probe's class (see the module docstring)."""
    counts: collections.Counter[str] = collections.Counter()
    for p in probes:
        warm = received.get(f"warm-{p['index']}", [])
        got = received.get(f"probe-{p['index']}", [])
        if len(got) > 1 or len(warm) > 1:
            counts["duplicated"] += 1
        if p["outcome"] == "answered":
            counts["answered, reused" if got[:1] == warm[:1] else "answered, new connection"] += 1
        elif p["outcome"] == "maybe sent":
            counts["maybe sent, received" if got else "maybe sent, never received"] += 1
        elif p["outcome"] == "never sent":
            counts["never sent, but received" if got else "never sent"] += 1
        else:
            counts[f"other: {p['outcome']}"] += 1
    return dict(counts)


ROWS = (
    "answered, reused",
    "answered, new connection",
    "maybe sent, never received",
    "maybe sent, received",
    "never sent",
    "never sent, but received",
    "duplicated",
)


def _spread(center: float, window: float, probes: int) -> list[float]:
    """``probes`` pauses evenly over ``center ± window``, neighbours in different batches."""
    pauses = [center - window + 2 * window * i / max(1, probes - 1) for i in range(probes)]
    return pauses[::2] + pauses[1::2]


def _edge(
    results: list[dict[str, Any]], pauses: list[float], received: dict[str, list[int]]
) -> float | None:
    """The pause at which the client stops finding its connection open (``None``: unseen)."""
    reused, fresh = [], []
    for p in results:
        warm = received.get(f"warm-{p['index']}", [])
        got = received.get(f"probe-{p['index']}", [])
        if p["outcome"] == "answered":
            (reused if got[:1] == warm[:1] else fresh).append(pauses[p["index"]])
    if not reused or not fresh:
        return None
    # The threshold that misclassifies fewest probes (robust to a few late or early ones).
    candidates = sorted(reused + fresh)
    return min(
        candidates,
        key=lambda t: sum(p > t for p in reused) + sum(p < t for p in fresh),
    )


def _pass(
    mode: str, pauses: list[float], batch: int
) -> tuple[list[dict[str, Any]], dict[str, list[int]], int]:
    """Probes at ``pauses`` against a fresh server: their results, what it received (order
    id → connection numbers), and how many connections it accepted."""
    with server_process(__file__, "--serve", mode) as server:
        results = asyncio.run(_probes(server.url, pauses, batch))
        server.proc.send_signal(signal.SIGTERM)
        out, _ = server.proc.communicate(timeout=30)
    stats = json.loads(out.strip().splitlines()[-1])
    return results, stats["received"], stats["connections"]


def run_mode(mode: str, probes: int, window: float, batch: int) -> dict[str, Any]:
    """One mode: its own server, a calibration pass, ``probes`` probes, the classes counted.

    Where the edge lies in the client's pause is shifted from the server's idle timeout
    by the time between the server's write and the client's reading of the answer,
    and by the event loop's timer resolution. Two passes find it (60 probes over
    ± 30 ms, then a third of ``probes`` at the measured spread), each taking the
    pause that best splits the probes that found their connection open from those
    that did not; the measured pass is centred there.
    """
    idle, _ = MODES[mode]
    center = idle
    calibration: collections.Counter[str] = collections.Counter()
    details: set[str] = set()
    # Find the edge: coarse, then at the measured pass's own spread and batch size.
    for spread, count in ((0.03, 60), (window, max(40, probes // 3))):
        pauses = _spread(center, spread, count)
        results, received, _ = _pass(mode, pauses, batch)
        calibration.update(classify(results, received))
        calibration["probes"] += count
        details |= {p["detail"] for p in results if p["outcome"] != "answered"}
        edge = _edge(results, pauses, received)
        if edge is None:
            break
        center = edge
    pauses = _spread(center, window, probes)
    results, received, connections = _pass(mode, pauses, batch)
    counts = classify(results, received)
    details |= {p["detail"] for p in results if p["outcome"] != "answered"}
    return {
        "mode": mode,
        "idle": idle,
        "center": center,
        "window": window,
        "probes": probes,
        "connections": connections,
        "calibration": dict(calibration),
        "counts": counts,
        "failure_details": sorted(details)[:5],
    }


def markdown(runs: list[dict[str, Any]]) -> str:
    head = "| class of the second lookup | " + " | ".join(
        f"{r['mode']} (closes after {r['idle']:g} s)" for r in runs
    )
    lines = [head + " |", "|---|" + "---|" * len(runs)]
    for row in ROWS:
        cells = []
        for r in runs:
            n = r["counts"].get(row, 0)
            cells.append(f"{n} ({n / r['probes']:.1%})")
        bold = row in ("maybe sent, never received", "never sent, but received", "duplicated")
        if row == "maybe sent, never received":
            # None seen in n probes: the share is below 3/n with 95 % confidence.
            cells = [
                c + (f", < {3 / r['probes']:.1%} at 95 %" if c.startswith("0 ") else "")
                for c, r in zip(cells, runs, strict=True)
            ]
        lines.append(f"| {'**' + row + '**' if bold else row} | " + " | ".join(cells) + " |")
    others = sorted({k for r in runs for k in r["counts"] if k not in ROWS})
    for row in others:
        cells = [str(r["counts"].get(row, 0)) for r in runs]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    lines.append(
        "| probes: pause after the first answer | "
        + " | ".join(
            f"{r['probes']}: {r['center'] * 1000:.1f} ± {r['window'] * 1000:g} ms" for r in runs
        )
        + " |"
    )
    lines.append(
        "| connections the server accepted | "
        + " | ".join(str(r["connections"]) for r in runs)
        + " |"
    )
    lines.append(
        "| calibration probes: maybe sent never received / never sent but received / "
        "duplicated | "
        + " | ".join(
            f"{c['probes']}: {c.get('maybe sent, never received', 0)} / "
            f"{c.get('never sent, but received', 0)} / {c.get('duplicated', 0)}"
            for c in (r["calibration"] for r in runs)
        )
        + " |"
    )
    for r in runs:
        fresh = r["counts"].get("answered, new connection", 0) / r["probes"]
        if r["mode"] == "silent" and not 0.1 <= fresh <= 0.9:
            lines.append(
                f"\n{r['mode']}: only {fresh:.0%} of the probes found their connection closed: "
                "the measured pass missed the edge (a busy machine moves it); run it again."
            )
        for detail in r["failure_details"]:
            lines.append(f"\n{r['mode']}, a failed probe: `{detail}`")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--probes", type=int, default=400, help="probes per mode")
    parser.add_argument("--window", type=float, default=0.01, help="± seconds around the edge")
    parser.add_argument("--batch", type=int, default=20, help="probes at a time")
    parser.add_argument("--json", type=Path, help="write the results here (for run_all.py)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        if args.cpu is not None:
            pin(args.cpu)
        idle, header = MODES[args.serve]
        with asyncio.Runner(loop_factory=lambda: new_loop("auto")) as runner:
            runner.run(_serve(idle, header))
        return
    pin(CLIENT_CPU)
    runs = [run_mode(mode, args.probes, args.window, args.batch) for mode in args.modes]
    text = markdown(runs)
    print(text)
    metrics = {}
    for r in runs:
        c = r["counts"]
        metrics[f"{r['mode']} maybe sent never received"] = c.get("maybe sent, never received", 0)
        metrics[f"{r['mode']} maybe sent never received share"] = (
            c.get("maybe sent, never received", 0) / r["probes"]
        )
        metrics[f"{r['mode']} duplicated"] = c.get("duplicated", 0)
        metrics[f"{r['mode']} never sent but received"] = c.get("never sent, but received", 0)
    write_json(args.json, {"markdown": text, "metrics": metrics, "runs": runs})
    sys.stdout.flush()


if __name__ == "__main__":
    main()
