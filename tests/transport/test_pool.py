"""The pool: reuse, limits, waiting, PoolTimeout, "was it sent", aclose."""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Iterator

import pytest

from itnio_async._transport import HTTP11Transport

from .conftest import RawServer, answered, idle_connections


@contextlib.contextmanager
def descriptors_taken(count: int) -> Iterator[None]:
    """Hold ``count`` extra file descriptors open (so new sockets get high numbers)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 256:
        pytest.skip(f"RLIMIT_NOFILE {soft} is too low to open {count} descriptors")
    taken = [os.dup(0) for _ in range(count)]
    try:
        yield
    finally:
        for fd in taken:
            os.close(fd)


async def test_connection_with_a_descriptor_above_1023_is_reused(
    raw: RawServer, transport: HTTP11Transport
) -> None:
    """A socket numbered past select()'s FD_SETSIZE (1024) is still reused when idle."""
    with descriptors_taken(1100):
        for _ in range(3):
            await answered(transport, raw.url)
        (conn,) = idle_connections(transport)
        assert conn.fd >= 1024
        assert [len(peer.requests) for peer in raw.peers] == [3]
