"""A minimal HTTP/1.1 server answering record lookups, fast enough never to be the limit.

Every request gets the documented answer of ``POST /verification/orderId/record``
(``tests/fixtures/record_by_order_id.json``, 1,497 bytes) with the ``orderId`` of the
request echoed in both places the example has it: the SDK rejects a record of
another order id. Connections are kept alive; pipelined requests are answered in
order. It runs on uvloop when that is installed (``--loop``), in its own process,
pinned to its own CPU::

    python benchmarks/_server.py --port 8765 --cpu 1

It prints ``READY <port>`` once it listens. ``bench_server.py`` measures its ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from _common import FIXTURE_ORDER_ID, RECORD_FIXTURE

_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=UTF-8\r\n"


def _parts() -> tuple[bytes, bytes, bytes]:
    first, second, third = RECORD_FIXTURE.read_bytes().split(FIXTURE_ORDER_ID)
    return first, second, third


_A, _B, _C = _parts()


def render(order_id: str, extra_headers: bytes = b"") -> bytes:
    """One full HTTP response for ``order_id`` (``extra_headers``: CRLF-terminated lines)."""
    quoted = json.dumps(order_id).encode()
    body = b"".join((_A, quoted, _B, quoted, _C))
    return b"%s%sContent-Length: %d\r\n\r\n%s" % (_HEAD, extra_headers, len(body), body)


def order_id_of(body: bytes) -> str:
    """The ``orderId`` of a lookup body (empty when there is none)."""
    try:
        return str(json.loads(body)["orderId"]) if body else ""
    except (ValueError, KeyError, TypeError):
        return ""


def split_requests(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete requests' bodies in ``buffer`` (framed by Content-Length) and the rest."""
    bodies = []
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            break
        lower = buffer[:end].lower()
        length = 0
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            stop = lower.find(b"\r\n", at + 2)
            length = int(lower[at + 17 : stop if stop >= 0 else end])
        total = end + 4 + length
        if len(buffer) < total:
            break
        bodies.append(buffer[end + 4 : total])
        buffer = buffer[total:]
    return bodies, buffer


class RecordProtocol(asyncio.Protocol):
    """Answers each complete request with the record of its ``orderId``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        bodies, self.buffer = split_requests(self.buffer + data)
        if bodies:
            self.transport.write(b"".join(render(order_id_of(b)) for b in bodies))


def new_loop(kind: str) -> asyncio.AbstractEventLoop:
    """An event loop of ``kind``: ``uvloop``, ``asyncio``, or ``auto`` (uvloop if installed)."""
    if kind in ("auto", "uvloop"):
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def serve(host: str, port: int) -> None:
    """Serve forever; print ``READY <port>`` once listening."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(RecordProtocol, host, port, backlog=4096, reuse_address=True)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {args.cpu})
    try:
        with asyncio.Runner(loop_factory=lambda: new_loop(args.loop)) as runner:
            runner.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
