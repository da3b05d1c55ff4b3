"""The ceiling of ``_server.py``: record answers/s it serves at all (it must never be the limit).

A raw asyncio load generator (prebuilt request bytes, counting answer bytes, no
HTTP parsing, pinned to the other CPU) drives the server two ways:

* ``c50``       — 50 keep-alive connections, one request in flight on each (the
  load generator itself may be the limit here);
* ``pipelined`` — 16 connections × 64 pipelined requests, which takes the load
  generator's cost per request almost out of the picture.

    python benchmarks/bench_server.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from _common import (
    API_KEY,
    CLIENT_CPU,
    RECORD_PATH,
    lookup_body,
    median,
    pin,
    server_process,
    summary,
    write_json,
)
from _server import new_loop, render

_BODY = lookup_body("1234566")
_REQUEST = (
    b"POST /otp" + RECORD_PATH.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json;charset=UTF-8\r\nApi-Key: " + API_KEY.encode() + b"\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_BODY), _BODY)
)
_ANSWER = len(render("1234566"))


class _Load(asyncio.Protocol):
    def __init__(self, depth: int, counter: list[int], stop: asyncio.Event) -> None:
        self.depth = depth
        self.counter = counter
        self.stop = stop
        self.pending = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        if self.stop.is_set():
            self.transport.close()
            return
        self.pending = self.depth * _ANSWER
        self.transport.write(_REQUEST * self.depth)

    def data_received(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.pending <= 0:
            self.counter[0] += self.depth
            self._send()


async def _drive(port: int, connections: int, depth: int, seconds: float) -> float:
    loop = asyncio.get_running_loop()
    counter = [0]
    stop = asyncio.Event()
    for _ in range(connections):
        await loop.create_connection(lambda: _Load(depth, counter, stop), "127.0.0.1", port)
    await asyncio.sleep(0.3)  # warm up
    start_count, start = counter[0], time.perf_counter()
    await asyncio.sleep(seconds)
    rate = (counter[0] - start_count) / (time.perf_counter() - start)
    stop.set()
    await asyncio.sleep(0.05)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here (for run_all.py)")
    args = parser.parse_args()
    pin(CLIENT_CPU)
    loads = {"c50": (50, 1), "pipelined": (16, 64)}
    results: dict[str, list[float]] = {name: [] for name in loads}
    with server_process() as server:
        for _ in range(args.rounds):
            for name, (connections, depth) in loads.items():
                with asyncio.Runner(loop_factory=lambda: new_loop("auto")) as runner:
                    rate = runner.run(_drive(server.port, connections, depth, args.seconds))
                results[name].append(rate)
    lines = ["| load on `_server.py` | record answers/s, median (min–max) |", "|---|---|"]
    lines += [f"| {name} | {summary(values)} |" for name, values in results.items()]
    markdown = "\n".join(lines)
    print(markdown)
    write_json(
        args.json,
        {
            "markdown": markdown,
            "metrics": {f"server_{k}": median(v) for k, v in results.items()},
        },
    )


if __name__ == "__main__":
    main()
