"""A minimal asyncio HTTP/1.1 server answering the documented record response.

It answers every request with the seed-003 example of ``POST
/verification/orderId/record`` (the ``orderId`` of the request echoed back in both
places the example has it), keeps connections alive and handles pipelining, so
that the client, not the server, is what a benchmark measures.

Run it on its own core in a separate process::

    python benchmarks/_server.py --port 8765 --cpu 1 [--delay-ms 20]

It prints ``READY <port>`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from _common import RECORD_DATA

_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: "
_MARK = "\x00ORDER\x00"


def _body_parts() -> tuple[bytes, bytes, bytes]:
    data = json.loads(json.dumps(RECORD_DATA))
    data["orderId"] = _MARK
    data["verifications"]["orderId"] = _MARK
    text = json.dumps({"status": "0", "reason": "success", "data": data}, indent=4)
    first, second, third = text.split(json.dumps(_MARK))
    return first.encode(), second.encode(), third.encode()


_A, _B, _C = _body_parts()


def render(order_id: str) -> bytes:
    """One full HTTP response for ``order_id``."""
    quoted = json.dumps(order_id).encode()
    body = b"".join((_A, quoted, _B, quoted, _C))
    return b"%s%d\r\n\r\n%s" % (_HEAD, len(body), body)


class _Protocol(asyncio.Protocol):
    __slots__ = ("_buffer", "_transport")

    #: Seconds to hold every answer back (simulated network/server latency).
    delay = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport: asyncio.Transport = transport  # type: ignore[assignment]
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        out = []
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            length = 0
            lower = head.lower()
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else None])
            total = end + 4 + length
            if len(buffer) < total:
                break
            body = buffer[end + 4 : total]
            buffer = buffer[total:]
            try:
                order_id = str(json.loads(body)["orderId"]) if body else ""
            except (ValueError, KeyError, TypeError):
                order_id = ""
            out.append(render(order_id))
        self._buffer = buffer
        if out and self.delay:
            asyncio.get_running_loop().call_later(self.delay, self._write, b"".join(out))
        elif out:
            self._transport.write(b"".join(out))

    def _write(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)


async def serve(host: str, port: int) -> None:
    """Serve forever; print ``READY <port>`` once listening."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Protocol, host, port, backlog=1024, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="hold every answer back")
    args = parser.parse_args()
    _Protocol.delay = args.delay_ms / 1000
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
