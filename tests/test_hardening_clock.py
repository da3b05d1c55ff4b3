"""The clock offset learned from a ``-16`` answer is bounded (issue 12, item 9).

A ``Date`` more than a day (``MAX_CLOCK_OFFSET``) from the local clock — 1970, 9999, a
day and a second — is a broken server or proxy, not a clock to follow: the offset is
not applied (the next request is not signed with ``Timestamp: 0``), a warning is
logged, and the ``-16`` is raised without a retry. Within a day, the offset is
applied and the call is re-signed and retried once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, TimestampExpiredError
from itnio_async._client import MAX_CLOCK_OFFSET

from .conftest import API_SECRET, envelope, mock_client

LOCAL_NOW = 1_700_000_000
FLOW = {"flowId": 1, "name": "name", "flow": []}
SEND = {"verificationId": "22206051443051000003", "to": "8613512345678", "channel": "sms"}
DAY = 86_400


def http_date(epoch: float) -> str:
    """An HTTP ``Date`` value for ``epoch``."""
    return formatdate(epoch, usegmt=True)


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


def client_for(server: Rejecting, **options: Any) -> AsyncItnio:
    """A client whose local clock reads LOCAL_NOW."""
    return mock_client(server, clock=lambda: LOCAL_NOW, **options)


CALLS: dict[str, Callable[[AsyncItnio], Awaitable[Any]]] = {
    "flows.get": lambda c: c.flows.get(1),
    "send": lambda c: c.verifications.send(app_id="mRELxtHc", template_id=455, to="8613512345678"),
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
        await client.verifications.send(app_id="mRELxtHc", template_id=455, to="8613512345678")
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
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to="8613512345678")
        assert client.clock_offset == 600
    assert server.stamps == [LOCAL_NOW, LOCAL_NOW + 600]
