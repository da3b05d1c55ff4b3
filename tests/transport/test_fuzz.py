"""Property tests: any valid response, cut anywhere, arrives exactly; any bytes fail cleanly."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itnio_async._engine import HTTP11Transport

from .conftest import GUARD, Peer, RawServer, make_request

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1)
#: Header values: visible ASCII with inner spaces (leading/trailing whitespace is not part
#: of a field value).
VALUE = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.just(" "), max_size=40
).map(str.strip)


@dataclass
class Reply:
    """A generated response and how its bytes are cut into writes."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    framing: str
    wire: bytes
    cuts: list[int]

    def pieces(self) -> list[bytes]:
        edges = [0, *sorted(set(self.cuts)), len(self.wire)]
        return [self.wire[a:b] for a, b in itertools.pairwise(edges) if b > a]


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    status = draw(st.integers(200, 599))
    reason = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz", max_size=20))
    reason = reason.strip() or "X"
    names = draw(st.lists(TOKEN.map(lambda t: "X-" + t), max_size=8))
    headers = [(name, draw(VALUE)) for name in names]
    no_body = status in (204, 304)
    body = b"" if no_body else draw(st.binary(max_size=3000))
    framing = "none" if no_body else draw(st.sampled_from(["length", "chunked", "close"]))
    version = "1.0" if framing == "close" and draw(st.booleans()) else "1.1"
    lines = [f"HTTP/{version} {status} {reason}", *(f"{n}: {v}" for n, v in headers)]
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        cuts = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=6))))
        edges = [0, *cuts, len(body)]
        upper = draw(st.booleans())
        payload = b""
        for a, b in itertools.pairwise(edges):
            if b > a:
                size = (b"%X" if upper else b"%x") % (b - a)
                payload += size + b"\r\n" + body[a:b] + b"\r\n"
        payload += b"0\r\n\r\n"
    else:
        payload = body
    wire = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
    cut_points = draw(st.lists(st.integers(1, max(1, len(wire) - 1)), max_size=12))
    return Reply(status, reason, headers, body, framing, wire, cut_points)


class Scripted:
    """The raw server answering each request with the pieces registered for its id."""

    def __init__(self, raw: RawServer) -> None:
        self.raw = raw
        self.scripts: dict[str, tuple[list[bytes], bool]] = {}
        raw.handler = self.serve

    async def serve(self, peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            pieces, close = self.scripts.pop(request.id)
            await peer.send_drained(*pieces)
            if close:
                await peer.close()
                return

    def request(self, pieces: list[bytes], close: bool, limits: httpx.Timeout) -> httpx.Request:
        request = make_request(self.raw.url, timeout=limits)
        self.scripts[request.headers["x-id"]] = (pieces, close)
        return request


@pytest.fixture
async def scripted(raw: RawServer) -> Scripted:
    """The raw server, scripted per request id (one server for all examples of a test)."""
    return Scripted(raw)


@FUZZ
@given(reply=replies())
async def test_any_valid_response_cut_anywhere_arrives_exactly(
    scripted: Scripted, transport: HTTP11Transport, reply: Reply
) -> None:
    """Status, reason, headers and body come out exactly, however the bytes are split."""
    request = scripted.request(reply.pieces(), reply.framing == "close", GUARD)
    answer = await transport.handle_async_request(request)
    assert answer.status_code == reply.status
    assert answer.extensions["reason_phrase"] == reply.reason.encode()
    got = [(k.decode(), v.decode()) for k, v in answer.headers.raw if k[:2] in (b"X-", b"x-")]
    assert got == reply.headers
    assert await answer.aread() == reply.body
    stats = transport.stats()
    assert (stats.busy, stats.waiting) == (0, 0)


PREFIX = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


@FUZZ
@given(
    pieces=st.lists(
        st.binary(max_size=200) | st.sampled_from([PREFIX, b"\r\n", b"0\r\n\r\n"]),
        max_size=5,
    )
)
async def test_any_bytes_end_in_a_response_or_an_httpx_error(
    scripted: Scripted, transport: HTTP11Transport, pieces: list[bytes]
) -> None:
    """Whatever bytes the server sends (then closes), the result is a response or an httpx error."""
    request = scripted.request(pieces, True, httpx.Timeout(10.0, pool=2.0))
    try:
        await transport.handle_async_request(request)
    except (httpx.ConnectError, httpx.PoolTimeout):
        raise  # the request was sent: never a "never sent" error
    except (httpx.TransportError, httpx.DecodingError):
        pass
    stats = transport.stats()
    assert (stats.busy, stats.waiting) == (0, 0)
    assert transport._slots == stats.connections
