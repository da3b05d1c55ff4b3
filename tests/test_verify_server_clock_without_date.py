"""Dating a match without any ``Date`` header: the call's start is placed on the signing
clock by the loop time elapsed since, so a match made during a slow call is its own."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx

from itnio_async import MatchStatus

from .conftest import envelope, mock_client

VID = "22206051443051000003"
CODE = "4821"
PHONE = "91856321412"
SERVER_NOW = 1_700_000_000
CHINA = timezone(timedelta(hours=8))


async def test_a_match_during_a_slow_call_is_its_own_without_date_headers(
    shift: list[float],
) -> None:
    """The right code is matched 3 s into the call and its answer is lost 10 s in; no
    answer has a Date. The start, placed at the signing clock minus the 10 s elapsed, is
    well before the match: ok (sending the code again would be answered ALREADY_USED)."""
    matched_at: list[float] = []
    verifies: list[str] = []

    def now() -> float:
        return SERVER_NOW + shift[0]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            verifies.append(json.loads(request.content)["code"])
            if matched_at:
                data = {"verificationId": VID, "matched": int(MatchStatus.ALREADY_USED)}
                return httpx.Response(200, json=envelope(data))
            shift[0] = 3.0
            matched_at.append(now())
            shift[0] = 10.0
            raise httpx.ReadTimeout("answer lost")
        summary = {
            "matched": int(MatchStatus.MATCHED),
            "verifiedDate": datetime.fromtimestamp(matched_at[0], CHINA).isoformat(),
            "oriReceiver": PHONE,
            "channel": "sms",
        }
        return httpx.Response(200, json=envelope({"verificationId": VID, "verifications": summary}))

    async with mock_client(handler, clock=now, deadline=None) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.matched is MatchStatus.MATCHED
    assert verifies == [CODE]
