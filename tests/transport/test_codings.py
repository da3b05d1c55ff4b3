"""Content codings: at most one, decoded within the cap, gzip checked whole (issue 20).

The stacked-coding bomb runs in a child process whose address space is limited
(``RLIMIT_AS``): a regression that unpacks it fails the test with a MemoryError in
the child instead of eating the machine.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
import zlib

import httpx
import pytest

from itnio_async._engine import HTTP11Transport, ResponseTooLarge, decode_body

from .._loopback import response
from .conftest import RawServer, answered, fails_after_sending, first_then
from .test_framing import TEXT, answer_once

PACKED = gzip.compress(TEXT)


@pytest.mark.parametrize(
    "lines",
    [
        ("Content-Encoding: gzip, gzip",),
        ("Content-Encoding: gzip", "Content-Encoding: gzip", "Content-Encoding: identity"),
        ("Content-Encoding: gzip", "Content-Encoding: deflate"),
        ("Content-Encoding: deflate, gzip",),
        ("Content-Encoding: gzip, br",),
    ],
    ids=["one-line", "three-lines", "gzip-deflate", "deflate-gzip", "gzip-br"],
)
async def test_stacked_codings_are_a_decoding_error(
    raw: RawServer, transport: HTTP11Transport, lines: tuple[str, ...]
) -> None:
    """More than one coding over all Content-Encoding lines: DecodingError, nothing unpacked
    by httpx afterwards; the connection stays usable."""
    raw.handler = first_then(answer_once(response(gzip.compress(PACKED), 200, *lines)))
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.DecodingError
    await answered(transport, raw.url)


@pytest.mark.parametrize(
    "lines",
    [
        ("Content-Encoding: identity, gzip",),
        ("Content-Encoding: identity", "Content-Encoding: gzip"),
        ("Content-Encoding: gzip, identity, ",),
    ],
    ids=["identity-first", "two-lines", "trailing-identity"],
)
async def test_identity_entries_are_ignored(
    raw: RawServer, client: httpx.AsyncClient, lines: tuple[str, ...]
) -> None:
    """``identity`` (and empty) entries beside one gzip: the body is unpacked once."""
    raw.handler = answer_once(response(PACKED, 200, *lines))
    reply = await client.get(raw.url)
    assert reply.content == TEXT
    assert "content-encoding" not in reply.headers


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (PACKED[:-8], "truncated"),
        (PACKED[:-1], "truncated"),
        (PACKED + b"garbage", "after the end"),
        (PACKED + gzip.compress(b"second member"), "after the end"),
    ],
    ids=["no-trailer", "cut-trailer", "trailing-garbage", "second-member"],
)
async def test_gzip_is_checked_whole(
    raw: RawServer, transport: HTTP11Transport, body: bytes, message: str
) -> None:
    """A gzip body without its trailer, or with bytes after its end: DecodingError."""
    raw.handler = answer_once(response(body, 200, "Content-Encoding: gzip"))
    error = await fails_after_sending(transport, raw.url)
    assert type(error) is httpx.DecodingError
    assert message in str(error)


def test_decode_body_needs_no_request() -> None:
    """decode_body raises typed errors without a request, and decodes within the limit."""
    headers = [(b"Content-Encoding", b"gzip"), (b"Content-Length", b"9")]
    assert decode_body(headers, PACKED, len(TEXT)) == ([], TEXT)
    with pytest.raises(ResponseTooLarge):
        decode_body(headers, PACKED, len(TEXT) - 1)
    with pytest.raises(httpx.DecodingError):
        decode_body([(b"content-encoding", b"gzip"), (b"content-encoding", b"gzip")], PACKED, 10)
    deflated = zlib.compress(TEXT)
    assert decode_body([(b"Content-Encoding", b"deflate")], deflated, len(TEXT))[1] == TEXT
    with pytest.raises(httpx.DecodingError, match="deflate"):
        decode_body([(b"Content-Encoding", b"deflate")], deflated[:-4], len(TEXT))


CHILD = textwrap.dedent(
    """
    import asyncio, gzip, resource, zlib
    import httpx
    from itnio_async._engine import HTTP11Transport

    def bomb():
        # gzip(gzip(4 GiB of zeros)): the inner stream repeats one flushed segment.
        packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, 9, zlib.Z_RLE)
        segment = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
        inner = b"\\x1f\\x8b\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\xff" + segment * 4096
        inner += packer.flush() + bytes(8)
        return gzip.compress(inner, 9)

    async def main():
        body = bomb()
        head = (
            "HTTP/1.1 200 OK\\r\\nContent-Encoding: gzip\\r\\nContent-Encoding: gzip\\r\\n"
            f"Content-Encoding: identity\\r\\nContent-Length: {len(body)}\\r\\n\\r\\n"
        ).encode()

        async def serve(reader, writer):
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(head + body)
            await writer.drain()
            await reader.read()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
        size = pages * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (size + (768 << 20), resource.RLIM_INFINITY))
        async with httpx.AsyncClient(transport=HTTP11Transport()) as client:
            try:
                reply = await client.get(f"http://127.0.0.1:{port}/")
                print("answered", len(reply.content))
            except MemoryError:
                print("MemoryError", 0)
            except Exception as exc:
                print(type(exc).__name__, len(body))
        server.close()

    asyncio.run(main())
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_stacked_gzip_bomb_in_a_memory_limited_child() -> None:
    """gzip, gzip, identity around 4 GiB of zeros (a few KB on the wire): DecodingError in a
    child whose address space allows 768 MiB more than it had (a regression: MemoryError)."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = done.stdout.split()
    assert outcome[0] == "DecodingError", done.stdout
    assert int(outcome[1]) < 64 * 1024
