"""The ceiling of ``_server.py``: how many record answers/s it can serve at all.

A raw asyncio load generator (pre-built request bytes, no HTTP parsing beyond
counting bytes, pinned to the other core) drives the server two ways:

* ``c50``       — 50 keep-alive connections, one request in flight on each (what the
  client benchmarks do); here the load generator itself may be the limit;
* ``pipelined`` — 16 connections with 64 pipelined requests each, which takes
  the load generator's own cost per request almost out of the picture.

    python benchmarks/bench_server.py [--seconds 3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from _common import API_KEY, CLIENT_CPU, pin, server_process, summary
from _server import render

_BODY = json.dumps({"appId": "ad454212", "orderId": "1234566"}).encode()
_REQUEST = (
    b"POST /otp/verification/orderId/record HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json;charset=UTF-8\r\nApi-Key: " + API_KEY.encode() + b"\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_BODY), _BODY)
)
_RESPONSE_SIZE = len(render("1234566"))


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
        self.pending = self.depth * _RESPONSE_SIZE
        self.transport.write(_REQUEST * self.depth)

    def data_received(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.pending <= 0:
            self.counter[0] += self.depth
            self._send()


async def _drive(url: str, connections: int, depth: int, seconds: float) -> float:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    loop = asyncio.get_running_loop()
    counter = [0]
    stop = asyncio.Event()
    for _ in range(connections):
        await loop.create_connection(lambda: _Load(depth, counter, stop), host, int(port))
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
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pin(CLIENT_CPU)
    results: dict[str, list[float]] = {"c50": [], "pipelined": []}
    with server_process() as url:
        for _ in range(args.repeat):
            results["c50"].append(asyncio.run(_drive(url, 50, 1, args.seconds)))
            results["pipelined"].append(asyncio.run(_drive(url, 16, 64, args.seconds)))
    print("| load | record answers/s (median, min–max) |")
    print("|---|---|")
    for name, values in results.items():
        print(f"| {name} | {summary(values)} |")


if __name__ == "__main__":
    main()
