"""Clock skew: a -16 teaches the client the server's clock (from ``Date``), once and for all.

The client signs every request with its own clock plus the offset it has learned. A
``-16`` answer whose ``Date`` is within a day (``MAX_CLOCK_OFFSET``) of the local clock
teaches the offset, and the call is re-signed and sent again, once (a send too: -16 is
refused before acting). A ``Date`` more than a day off (1970, 9999, a day and a second)
is a broken server or proxy, not a clock to follow: it is ignored with a warning and the
``-16`` is raised without a retry; no ``Date`` (or an unreadable one) teaches nothing.
Copies made by ``with_options`` share the offset with their original.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, RetryPolicy, TimestampExpiredError, make_sign
from itnio_async._client import MAX_CLOCK_OFFSET

from .conftest import API_KEY, API_SECRET, BASE_URL, envelope, mock_client

LOCAL_NOW = 1_700_000_000.0
FLOW = {"flowId": 1, "name": "name", "flow": []}
SEND = {"verificationId": "22206051443051000003", "to": "91856321412", "channel": "sms"}
DAY = 86_400


def http_date(epoch: float) -> str:
    """An HTTP ``Date`` value for ``epoch``."""
    return formatdate(epoch, usegmt=True)


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
            headers["Date"] = self.date or http_date(self.now)
        if abs(int(stamp) - self.now) > 300:
            self.rejected += 1
            return httpx.Response(
                200, headers=headers, json=envelope(status="-16", reason="Timestamp expires")
            )
        data = SEND if request.url.path.endswith("/send") else FLOW
        return httpx.Response(200, headers=headers, json=envelope(data))


def client_for(server: Callable[[httpx.Request], httpx.Response], **options: Any) -> AsyncItnio:
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
            headers={"Date": http_date(LOCAL_NOW + 900)},
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


# -- the bound on what a Date may teach -----------------------------------------------------


class Rejecting:
    """Answers ``-16`` with the ``Date`` it is given to the first ``rejections`` requests,
    then answers normally; records every Timestamp it sees."""

    def __init__(self, date: str, rejections: int = 1) -> None:
        self.date = date
        self.rejections = rejections
        self.stamps: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.stamps.append(int(request.headers["Timestamp"]))
        if len(self.stamps) <= self.rejections:
            return httpx.Response(
                200,
                headers={"Date": self.date},
                json=envelope(status="-16", reason="Timestamp expires"),
            )
        data = SEND if request.url.path.endswith("/send") else FLOW
        return httpx.Response(200, json=envelope(data))


CALLS: dict[str, Callable[[AsyncItnio], Awaitable[Any]]] = {
    "flows.get": lambda c: c.flows.get(1),
    "send": lambda c: c.verifications.send(app_id="mRELxtHc", template_id=455, to="91856321412"),
}


def test_the_bound_is_one_day() -> None:
    """The documented bound is a day."""
    assert MAX_CLOCK_OFFSET == DAY


FAR_OFF = {
    "1970": "Thu, 01 Jan 1970 00:00:00 GMT",
    "9999": "Fri, 31 Dec 9999 23:59:59 GMT",
    "a day and a second ahead": http_date(LOCAL_NOW + DAY + 1),
    "a day and a second behind": http_date(LOCAL_NOW - DAY - 1),
    "a year behind": http_date(LOCAL_NOW - 365 * DAY),
}


@pytest.mark.parametrize("date", FAR_OFF.values(), ids=list(FAR_OFF))
@pytest.mark.parametrize("call", ["flows.get", "send"])
async def test_a_date_beyond_a_day_is_ignored_logged_and_the_minus_16_raised(
    date: str, call: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A -16 whose Date is more than a day off: no offset learned, one warning, the -16
    raised after one request; the next call is still signed with the local clock."""
    caplog.set_level(logging.INFO, logger="itnio_async")
    server = Rejecting(date)
    async with client_for(server) as client:
        make = CALLS[call]
        with pytest.raises(TimestampExpiredError) as info:
            await make(client)
        assert client.clock_offset == 0.0
        assert server.stamps == [LOCAL_NOW]  # not retried
        await client.flows.get(1)
    assert server.stamps == [LOCAL_NOW, LOCAL_NOW]
    assert info.value.status == -16
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "ignoring it" in message
    assert "-16" in message
    assert API_SECRET not in message
    assert not any("clock offset now" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("offset", [DAY, -DAY, DAY - 1, 3600, -900, 301], ids=lambda o: f"{o:+d}s")
async def test_a_date_within_a_day_is_applied_and_the_call_retried_once(
    offset: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A -16 whose Date is at most a day off teaches the offset (inclusive of the bound);
    the call is re-signed with it and retried once, and no warning is logged."""
    caplog.set_level(logging.INFO, logger="itnio_async")
    server = Rejecting(http_date(LOCAL_NOW + offset))
    async with client_for(server) as client:
        await client.verifications.send(app_id="mRELxtHc", template_id=455, to="91856321412")
        assert client.clock_offset == offset
        await client.flows.get(1)
    assert server.stamps == [LOCAL_NOW, LOCAL_NOW + offset, LOCAL_NOW + offset]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(f"clock offset now {offset:+d}s" in r.getMessage() for r in caplog.records)


async def test_a_far_off_date_never_undoes_an_offset_learned_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An offset learned from a sane Date survives a later -16 whose Date is absurd."""
    caplog.set_level(logging.INFO, logger="itnio_async")
    server = Rejecting(http_date(LOCAL_NOW + 900))
    async with client_for(server) as client:
        await client.flows.get(1)
        assert client.clock_offset == 900
        server.date = FAR_OFF["9999"]
        server.rejections = 3  # the third request is rejected too
        with pytest.raises(TimestampExpiredError):
            await client.flows.get(1)
        assert client.clock_offset == 900
    assert server.stamps == [LOCAL_NOW, LOCAL_NOW + 900, LOCAL_NOW + 900]


async def test_the_retry_after_a_learned_offset_happens_only_once() -> None:
    """Two -16 answers with sane Dates in one call: the first is recovered, the second raised."""
    server = Rejecting(http_date(LOCAL_NOW + 600), rejections=2)
    async with client_for(server) as client:
        with pytest.raises(TimestampExpiredError):
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to="91856321412")
        assert client.clock_offset == 600
    assert server.stamps == [LOCAL_NOW, LOCAL_NOW + 600]
