"""Clock skew: a -16 teaches the client the server's clock (from ``Date``), once and for all."""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, RetryPolicy, TimestampExpiredError, make_sign

from .conftest import API_KEY, API_SECRET, BASE_URL, envelope, mock_client

LOCAL_NOW = 1_700_000_000.0
FLOW = {"flowId": 1, "name": "name", "flow": []}
SEND = {"verificationId": "22206051443051000003", "to": "91856321412", "channel": "sms"}


class SkewedServer:
    """A server with its own clock: it rejects a Timestamp more than 300 s from its now."""

    def __init__(self, server_now: float, *, send_date: bool = True, date: str | None = None):
        self.now = server_now
        self.send_date = send_date
        self.date = date
        self.seen: list[tuple[str, int, str]] = []  # (path, Timestamp, Sign)
        self.rejected = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        stamp = request.headers["Timestamp"]
        self.seen.append((request.url.path, int(stamp), request.headers["Sign"]))
        assert request.headers["Sign"] == make_sign(API_KEY, API_SECRET, stamp)
        headers = {}
        if self.send_date:
            headers["Date"] = self.date or formatdate(self.now, usegmt=True)
        if abs(int(stamp) - self.now) > 300:
            self.rejected += 1
            return httpx.Response(
                200, headers=headers, json=envelope(status="-16", reason="Timestamp expires")
            )
        data = SEND if request.url.path.endswith("/send") else FLOW
        return httpx.Response(200, headers=headers, json=envelope(data))


def client_for(server: SkewedServer, **options: Any) -> AsyncItnio:
    """A client whose local clock reads LOCAL_NOW, talking to ``server``."""
    return mock_client(server, clock=lambda: LOCAL_NOW, **options)


@pytest.mark.parametrize("skew", [900.0, -900.0, 4 * 3600.0])
async def test_a_skewed_clock_works_after_one_rejected_request(skew: float) -> None:
    """15 minutes (or hours) off: the first call costs one -16, later calls none."""
    server = SkewedServer(LOCAL_NOW + skew)
    async with client_for(server) as client:
        assert client.clock_offset == 0.0
        flow = await client.flows.get(1)
        assert flow.flow_id == 1
        assert server.rejected == 1
        assert len(server.seen) == 2
        assert client.clock_offset == skew
        # The retry was re-signed with the corrected Timestamp.
        assert server.seen[1][1] == int(LOCAL_NOW + skew)
        for _ in range(3):
            await client.flows.get(1)
    assert server.rejected == 1
    assert len(server.seen) == 5
    assert {stamp for _, stamp, _ in server.seen[1:]} == {int(LOCAL_NOW + skew)}


async def test_offset_is_shared_with_with_options_copies() -> None:
    """A copy made before or after the lesson signs with the learned offset."""
    server = SkewedServer(LOCAL_NOW + 900)
    async with client_for(server) as client:
        early = client.with_options(max_retries=0)
        await client.flows.get(1)
        late = client.with_options(timeout=3.0)
        assert early.clock_offset == late.clock_offset == 900.0
        await early.flows.get(1)
        await late.flows.get(1)
    assert server.rejected == 1
    assert len(server.seen) == 4


async def test_a_copy_can_teach_the_original() -> None:
    """The offset learned through a with_options copy benefits the original client."""
    server = SkewedServer(LOCAL_NOW - 900)
    async with client_for(server) as client:
        await client.with_options(max_retries=1).flows.get(1)
        assert client.clock_offset == -900.0
        await client.flows.get(1)
    assert server.rejected == 1


async def test_send_is_retried_once_after_minus_16() -> None:
    """-16 means 'refused before acting': even a send is re-signed and sent again, once."""
    server = SkewedServer(LOCAL_NOW + 900)
    async with client_for(server, max_retries=0) as client:
        result = await client.verifications.send(
            app_id="mRELxtHc", template_id=455, to="91856321412"
        )
    assert result.verification_id == SEND["verificationId"]
    assert [path for path, _, _ in server.seen] == ["/otp/verification/send"] * 2
    assert server.rejected == 1
    first, second = server.seen
    assert first[2] != second[2]


async def test_without_a_date_header_minus_16_surfaces() -> None:
    """No Date header: nothing to learn from, so TimestampExpiredError after one request."""
    server = SkewedServer(LOCAL_NOW + 900, send_date=False)
    async with client_for(server) as client:
        with pytest.raises(TimestampExpiredError) as info:
            await client.flows.get(1)
        assert client.clock_offset == 0.0
    assert info.value.status == -16
    assert len(server.seen) == 1


async def test_an_unreadable_date_header_is_ignored() -> None:
    """A Date header that is not an HTTP date counts as none."""
    server = SkewedServer(LOCAL_NOW + 900, date="not a date")
    async with client_for(server) as client:
        with pytest.raises(TimestampExpiredError):
            await client.flows.get(1)
        assert client.clock_offset == 0.0
    assert len(server.seen) == 1


async def test_minus_16_is_retried_only_once() -> None:
    """A server that rejects even the corrected Timestamp gets exactly two requests."""
    seen: list[str] = []

    def always_expired(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Timestamp"])
        return httpx.Response(
            200,
            headers={"Date": formatdate(LOCAL_NOW + 900, usegmt=True)},
            content=json.dumps(envelope(status="-16")).encode(),
        )

    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(always_expired),
        clock=lambda: LOCAL_NOW,
        max_retries=5,
        retry_policy=RetryPolicy(base_delay=0.0),
    ) as client:
        with pytest.raises(TimestampExpiredError):
            await client.flows.get(1)
    assert seen == [str(int(LOCAL_NOW)), str(int(LOCAL_NOW + 900))]


async def test_a_correct_clock_is_never_rejected() -> None:
    """With no skew the server sees one request per call and the offset stays 0."""
    server = SkewedServer(LOCAL_NOW + 5)
    async with client_for(server) as client:
        await client.flows.get(1)
        await client.flows.get(1)
        assert client.clock_offset == 0.0
    assert server.rejected == 0
    assert len(server.seen) == 2
