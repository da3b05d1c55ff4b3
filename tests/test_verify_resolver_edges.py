"""verify after a lost answer, when the next verify says ALREADY_USED: the record is read
again, and it decides without another verify (each verify may consume the code)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from itnio_async import MatchStatus, OutcomeUnknownError, RequestTimeoutError

from .conftest import FIXED_TIME, envelope, mock_client

VID = "22206051443051000003"
CODE = "4821"
CHINA = timezone(timedelta(hours=8))
NO_MATCH: dict[str, object] = {"matched": int(MatchStatus.NOT_VERIFIED)}
#: A match an hour before the call began: an earlier call's.
OLD_MATCH: dict[str, object] = {
    "matched": int(MatchStatus.MATCHED),
    "verifiedDate": datetime.fromtimestamp(FIXED_TIME - 3600, CHINA).isoformat(),
}


class Script:
    """verify answers: lost, then ALREADY_USED; record answers: as given, in turn."""

    def __init__(self, *records: dict[str, object]) -> None:
        self.records = list(records)
        self.verifies = 0
        self.lookups = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            self.verifies += 1
            if self.verifies == 1:
                raise httpx.ReadTimeout("answer lost")
            data = {"verificationId": VID, "matched": int(MatchStatus.ALREADY_USED)}
            return httpx.Response(200, json=envelope(data))
        self.lookups += 1
        summary = self.records.pop(0)
        return httpx.Response(200, json=envelope({"verificationId": VID, "verifications": summary}))


async def test_already_used_with_an_older_match_in_the_record_is_returned() -> None:
    """No match yet in the first read (a lagging record), ALREADY_USED from the second
    verify, and then a match an hour old: another call used the code, so ALREADY_USED is
    the truth, returned without a third verify."""
    script = Script(NO_MATCH, OLD_MATCH)
    async with mock_client(script, deadline=None) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.matched is MatchStatus.ALREADY_USED
    assert (script.verifies, script.lookups) == (2, 2)


async def test_already_used_with_no_match_in_the_record_is_unknown() -> None:
    """ALREADY_USED after a lost answer, and the record still shows no match: it cannot
    tell whether the lost verify used the code: OutcomeUnknownError, no third verify."""
    script = Script(NO_MATCH, NO_MATCH)
    async with mock_client(script, deadline=None) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.verifications.verify(VID, CODE)
    assert isinstance(info.value.__cause__, RequestTimeoutError)
    assert (script.verifies, script.lookups) == (2, 2)
