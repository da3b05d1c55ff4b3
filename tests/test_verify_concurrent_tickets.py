"""Concurrent verifies of one id: a verify that began while another was in flight never
claims a match from the record as its own, and the in-flight registry empties again.

The loop clock (and the server's, which follows it) is moved by the test, never waited
on: the server stamps a match at the moment it processes the right code.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from email.utils import formatdate

import httpx
import pytest

from itnio_async import MatchStatus, OutcomeUnknownError, RequestTimeoutError

from .conftest import envelope, mock_client

VID = "22206051443051000003"
CODE = "4821"
WRONG = "9999"
PHONE = "91856321412"
SERVER_NOW = 1_700_000_000
CHINA = timezone(timedelta(hours=8))


class Server:
    """verify + record; the right code holds until the wrong one has arrived, then is
    processed 3 s later (by the shifted clock); the wrong one's answer is lost once the
    right one has been answered."""

    def __init__(self, shift: list[float]) -> None:
        self.shift = shift
        self.matched_at: float | None = None
        self.codes: list[str] = []
        self.right_arrived = asyncio.Event()
        self.wrong_arrived = asyncio.Event()
        self.right_answered = asyncio.Event()

    def now(self) -> float:
        return SERVER_NOW + self.shift[0]

    def _answer(self, data: object) -> httpx.Response:
        return httpx.Response(
            200, headers={"Date": formatdate(self.now(), usegmt=True)}, json=envelope(data)
        )

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/verification/verify"):
            verified = None
            if self.matched_at is not None:
                verified = datetime.fromtimestamp(self.matched_at, CHINA).isoformat()
            summary = {
                "matched": int(MatchStatus.MATCHED if verified else MatchStatus.NOT_VERIFIED),
                "verifiedDate": verified,
                "oriReceiver": PHONE,
                "channel": "sms",
            }
            return self._answer({"verificationId": VID, "verifications": summary})
        code = json.loads(request.content)["code"]
        self.codes.append(code)
        reply = {"verificationId": VID, "to": PHONE, "channel": "sms"}
        if code == CODE:
            self.right_arrived.set()
            await self.wrong_arrived.wait()
            self.shift[0] = 3.0
            self.matched_at = self.now()
            self.right_answered.set()
            return self._answer({**reply, "matched": int(MatchStatus.MATCHED)})
        self.wrong_arrived.set()
        await self.right_answered.wait()
        self.shift[0] = 4.0
        raise httpx.ReadTimeout("answer lost")


async def test_a_verify_that_began_during_another_never_claims_its_match(
    shift: list[float],
) -> None:
    """A (right code) is in flight when B (wrong code) begins; A matches 3 s after B
    began, B's answer is lost. The record's match is dated after B's start, and B was the
    last verify of the id to begin, but A overlapped it from its start: B cannot prove
    the match is its own and raises OutcomeUnknownError, never ok."""
    server = Server(shift)
    async with mock_client(server, clock=server.now, deadline=None) as client:
        a = asyncio.ensure_future(client.verifications.verify(VID, CODE))
        await server.right_arrived.wait()
        with pytest.raises(OutcomeUnknownError) as info:
            await client.verifications.verify(VID, WRONG)
        assert (await a).ok is True
    assert isinstance(info.value.__cause__, RequestTimeoutError)
    assert server.codes == [CODE, WRONG]


async def test_verifies_leave_no_registration_behind(shift: list[float]) -> None:
    """The in-flight registry of a client holds only verifies in flight: once two
    concurrent verifies of an id (and one of another id) have ended, it is empty again,
    so a long-lived client does not keep one entry per id it ever verified."""
    server = Server(shift)
    async with mock_client(server, clock=server.now, deadline=None) as client:
        a = asyncio.ensure_future(client.verifications.verify(VID, CODE))
        await server.right_arrived.wait()
        with pytest.raises(OutcomeUnknownError):
            await client.verifications.verify(VID, WRONG)
        await a
        assert client._shared.flights == {}
