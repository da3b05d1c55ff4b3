"""verify after an ambiguous failure: the record decides, so a right code is never "failed".

The server here is a small stateful fake of verify + record: a code can be consumed
once, a later verify of a consumed id answers ``matched`` 4 (already used), and
faults can strike before or after the server has processed the verify.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from itnio_async import (
    Channel,
    HTTPStatusError,
    InvalidParameterError,
    MatchStatus,
    NotFoundError,
    OutcomeUnknownError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)

from .conftest import envelope, mock_client

VID = "22206051443051000003"
CODE = "4821"
WRONG = "9999"
PHONE = "91856321412"
SERVER_NOW = 1_700_000_000.0
CHINA = timezone(timedelta(hours=8))


def lost_read_timeout() -> Exception:
    """The answer never arrives."""
    return httpx.ReadTimeout("answer lost")


def lost_dropped() -> Exception:
    """The connection drops before the answer."""
    return httpx.RemoteProtocolError("Server disconnected without sending a response.")


class VerifyServer:
    """Stateful verify + record endpoints with scripted faults.

    ``after`` faults strike once the verify has been processed (the answer is lost);
    ``before`` faults strike before it is processed; ``record_faults`` strike record
    lookups in turn (``None`` answers normally). A fault is an exception to raise, an
    HTTP status, or an envelope status string.
    """

    def __init__(self, *, dates: bool = False, record_lag: int = 0) -> None:
        self.matched = MatchStatus.NOT_VERIFIED
        self.verified_at: float | None = None
        self.after: list[Any] = []
        self.before: list[Any] = []
        self.record_faults: list[Any] = []
        self.record_lag = record_lag
        self.dates = dates
        self.verify_codes: list[str] = []
        self.record_calls = 0
        #: Seconds after SERVER_NOW (every Date header) at which a match is stamped.
        self.verified_offset = 0.0

    def _headers(self) -> dict[str, str]:
        return {"Date": formatdate(SERVER_NOW, usegmt=True)} if self.dates else {}

    def _answer(self, fault: Any) -> httpx.Response:
        if isinstance(fault, Exception):
            raise fault
        if isinstance(fault, int):
            return httpx.Response(fault, headers=self._headers())
        return httpx.Response(200, headers=self._headers(), json=envelope(status=fault))

    def _process(self, code: str) -> MatchStatus:
        if self.matched == MatchStatus.MATCHED:
            return MatchStatus.ALREADY_USED
        if code == CODE:
            self.matched = MatchStatus.MATCHED
            self.verified_at = SERVER_NOW + self.verified_offset
            return MatchStatus.MATCHED
        self.matched = MatchStatus.FAILED
        return MatchStatus.FAILED

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            body = json.loads(request.content)
            assert body["verificationId"] == VID
            self.verify_codes.append(body["code"])
            if self.before:
                return self._answer(self.before.pop(0))
            outcome = self._process(body["code"])
            if self.after:
                return self._answer(self.after.pop(0))
            data = {"verificationId": VID, "to": PHONE, "channel": "sms", "matched": outcome}
            return httpx.Response(200, headers=self._headers(), json=envelope(data))
        assert request.method == "GET"
        assert request.url.path == f"/otp/verification/record/{VID}"
        self.record_calls += 1
        fault = self.record_faults.pop(0) if self.record_faults else None
        if fault is not None:
            return self._answer(fault)
        shown = self.matched
        if self.record_lag > 0:
            self.record_lag -= 1
            shown = MatchStatus.NOT_VERIFIED
        verified = (
            datetime.fromtimestamp(self.verified_at, CHINA).isoformat()
            if self.verified_at is not None and shown == MatchStatus.MATCHED
            else None
        )
        record = {
            "verificationId": VID,
            "verifications": {
                "matched": int(shown),
                "verifiedDate": verified,
                "oriReceiver": PHONE,
                "channel": "sms",
            },
        }
        return httpx.Response(200, headers=self._headers(), json=envelope(record))

    @property
    def verify_calls(self) -> int:
        """Verify requests the server saw."""
        return len(self.verify_codes)


# -- the lost answer of a right code ----------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [lost_read_timeout(), lost_dropped(), 502, 503, 500, "-18"],
    ids=["read-timeout", "dropped", "http-502", "http-503", "http-500", "status-18"],
)
async def test_right_code_with_lost_answer_is_ok(fault: Any) -> None:
    """The server consumed the right code, the answer was lost; the record says matched: ok."""
    server = VerifyServer()
    server.after.append(fault)
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
    assert result.matched is MatchStatus.MATCHED
    assert result.verification_id == VID
    assert result.channel is Channel.SMS
    assert result.to == PHONE
    assert server.verify_calls == 1  # never re-verified: the record answered
    assert server.record_calls == 1


async def test_blind_retry_would_have_said_already_used() -> None:
    """The trap this guards against: the same verify sent twice answers 'already used'."""
    server = VerifyServer()
    async with mock_client(server) as client:
        first = await client.verifications.verify(VID, CODE)
        second = await client.verifications.verify(VID, CODE)
    assert first.ok is True
    assert second.matched is MatchStatus.ALREADY_USED
    assert second.ok is False
    assert server.record_calls == 0  # plain answers need no record lookup


async def test_record_lagging_behind_then_already_used_resolves_to_ok() -> None:
    """Record not updated yet → verify again → 4 (our lost attempt used it) → record → ok."""
    server = VerifyServer(record_lag=1)
    server.after.append(lost_read_timeout())
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
    assert server.verify_codes == [CODE, CODE]
    assert server.record_calls == 2


# -- the record says "not verified" -----------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [lost_read_timeout(), lost_dropped(), 503, "-18"],
    ids=["read-timeout", "dropped", "http-503", "status-18"],
)
async def test_unprocessed_verify_is_retried_once_and_its_answer_returned(fault: Any) -> None:
    """The verify never reached the server's logic; the record says -1; verify again: ok."""
    server = VerifyServer()
    server.before.append(fault)
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
    assert server.verify_codes == [CODE, CODE]
    assert server.record_calls == 1


async def test_wrong_code_with_lost_answer_stays_wrong() -> None:
    """A wrong code whose answer was lost is verified again and reported as failed."""
    server = VerifyServer()
    server.after.append(lost_read_timeout())
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, WRONG)
    assert result.ok is False
    assert result.matched is MatchStatus.FAILED
    assert server.verify_codes == [WRONG, WRONG]
    assert server.record_calls == 1


async def test_wrong_code_unprocessed_stays_wrong() -> None:
    """A wrong code refused with -18 is verified again, and the wrong answer returned."""
    server = VerifyServer()
    server.before.append("-18")
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, WRONG)
    assert result.matched is MatchStatus.FAILED
    assert server.verify_calls == 2


async def test_re_verifies_are_bounded_by_max_retries() -> None:
    """Every answer lost, record never matched: 1 + max_retries verifies, then the first error."""
    server = VerifyServer()
    server.before.extend([lost_read_timeout(), 503, "-18", "-18"])
    async with mock_client(server, max_retries=2) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.verifications.verify(VID, CODE)
    assert "ReadTimeout" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert server.verify_calls == 3
    assert server.record_calls == 3


async def test_max_retries_zero_still_reads_the_record() -> None:
    """With max_retries=0 a lost right code is still resolved (a read is not a re-send)."""
    server = VerifyServer()
    server.after.append(lost_dropped())
    async with mock_client(server, max_retries=0) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
    assert server.verify_calls == 1


async def test_max_retries_zero_never_sends_verify_twice() -> None:
    """With max_retries=0 and a record that says -1, the original error is raised."""
    server = VerifyServer()
    server.before.append(503)
    async with mock_client(server, max_retries=0) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.verifications.verify(VID, CODE)
    assert info.value.status_code == 503
    assert server.verify_calls == 1
    assert server.record_calls == 1


# -- the record cannot be read ----------------------------------------------------------------


async def test_failed_lookup_surfaces_the_original_error() -> None:
    """Record lookup fails too: verify's own error is raised, the lookup failure its cause."""
    server = VerifyServer()
    server.after.append(lost_read_timeout())
    server.record_faults.extend([httpx.ConnectError("down")] * 3)
    async with mock_client(server) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.verifications.verify(VID, CODE)
    assert info.value.path == "/verification/verify"
    assert isinstance(info.value.__cause__, TransportError)
    assert info.value.__cause__.path == f"/verification/record/{VID}"
    assert server.verify_calls == 1
    assert server.record_calls == 3  # the lookup itself is a retried read


async def test_lookup_answering_an_api_error_surfaces_the_original_error() -> None:
    """A lookup that answers -24 leaves the outcome unknown: verify's ServerError is raised."""
    server = VerifyServer()
    server.after.append("-18")
    server.record_faults.append("-24")
    async with mock_client(server) as client:
        with pytest.raises(ServerError) as info:
            await client.verifications.verify(VID, CODE)
    assert isinstance(info.value.__cause__, NotFoundError)
    assert server.verify_calls == 1


async def test_failed_lookup_after_already_used_surfaces_the_original_error() -> None:
    """If 'already used' cannot be checked against the record, the first error is raised."""
    server = VerifyServer(record_lag=1)
    server.after.append(lost_read_timeout())
    # First lookup lags (says -1), the re-verify answers 4, the second lookup fails.
    server.record_faults.extend([None, httpx.ConnectError("down"), httpx.ConnectError("down")])
    async with mock_client(server, max_retries=1) as client:
        with pytest.raises(RequestTimeoutError) as info:
            await client.verifications.verify(VID, CODE)
    assert "ReadTimeout" in str(info.value)
    assert isinstance(info.value.__cause__, TransportError)
    assert server.verify_codes == [CODE, CODE]
    # One budget: the re-verify took the one retry, so the failed recheck is not repeated.
    assert server.record_calls == 2


# -- what does not trigger a resolution -------------------------------------------------------


async def test_a_clear_rejection_is_raised_without_a_lookup() -> None:
    """-22 is an answer, not an ambiguity: raised after one verify, no record read."""
    server = VerifyServer()
    server.before.append("-22")
    async with mock_client(server) as client:
        with pytest.raises(InvalidParameterError):
            await client.verifications.verify(VID, CODE)
    assert server.verify_calls == 1
    assert server.record_calls == 0


async def test_a_verify_that_never_left_is_simply_retried() -> None:
    """A connect error proves nothing was sent: verify is retried, no record read."""
    server = VerifyServer()
    server.before.append(httpx.ConnectError("refused"))
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
    assert server.verify_calls == 2
    assert server.record_calls == 0


async def test_wrong_code_is_data_not_an_exception() -> None:
    """A plain wrong code comes back as matched=FAILED with one request."""
    server = VerifyServer()
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, WRONG)
    assert result.matched is MatchStatus.FAILED
    assert server.verify_calls == 1
    assert server.record_calls == 0


# -- a match that belongs to an earlier call --------------------------------------------------


async def test_a_stale_match_in_the_record_is_not_this_calls_match() -> None:
    """Record matched an hour before this call (server clock): a lost wrong code is not ok."""
    server = VerifyServer(dates=True)
    server.matched = MatchStatus.MATCHED
    server.verified_at = SERVER_NOW - 3600
    server.after.append(lost_read_timeout())
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, WRONG)
    assert result.ok is False
    assert result.matched is MatchStatus.ALREADY_USED
    assert server.verify_calls == 2
    # The first read showed the older match: the re-verify's ALREADY_USED needs no recheck.
    assert server.record_calls == 1


async def test_a_match_too_close_to_the_start_is_an_unknown_outcome() -> None:
    """With Date headers present, a match stamped in the same second as the call began
    cannot be told from an earlier one: OutcomeUnknownError, never ok, never re-verified."""
    server = VerifyServer(dates=True)
    server.after.append(lost_read_timeout())
    async with mock_client(server) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.verifications.verify(VID, CODE)
    assert isinstance(info.value.__cause__, RequestTimeoutError)
    assert (info.value.method, info.value.path) == ("POST", "/verification/verify")
    assert server.verify_calls == 1


async def test_a_match_provably_after_the_start_is_this_calls_match() -> None:
    """The server's Date said SERVER_NOW when the call began and the record dates the match
    well after it: that is this call's match, reported ok without a second verify."""
    server = VerifyServer(dates=True)
    server.after.append(lost_read_timeout())
    server.verified_offset = 10.0  # the server took its time: stamped 10 s after Date
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
    assert server.verify_calls == 1


async def test_a_stale_match_without_date_headers_is_not_this_calls_match() -> None:
    """No Date header ever seen: the signing clock dates the call, so a lost wrong code whose
    record shows an hour-old match is not reported ok (a replayed id is no login)."""
    server = VerifyServer(dates=False)
    server.matched = MatchStatus.MATCHED
    server.verified_at = SERVER_NOW - 3600
    server.after.append(502)
    async with mock_client(server, clock=lambda: SERVER_NOW) as client:
        result = await client.verifications.verify(VID, WRONG)
    assert result.ok is False
    assert result.matched is MatchStatus.ALREADY_USED
    assert server.verify_codes == [WRONG, WRONG]


async def test_a_fresh_match_without_date_headers_is_an_unknown_outcome() -> None:
    """No Date header, clocks in step, match stamped as the call began: not provably this
    call's, so OutcomeUnknownError rather than ok."""
    server = VerifyServer(dates=False)
    server.after.append(lost_read_timeout())
    async with mock_client(server, clock=lambda: SERVER_NOW) as client:
        with pytest.raises(OutcomeUnknownError):
            await client.verifications.verify(VID, CODE)
    assert server.verify_calls == 1


# -- the server's clock moves on; other verifies of the same id ---------------------------------


class ClockedServer:
    """verify + record on a server whose clock is the (test-driven) loop clock: every
    answer's ``Date`` is ``SERVER_NOW + shift[0]``, a match is stamped when it is made."""

    def __init__(self, shift: list[float]) -> None:
        self.shift = shift
        self.matched_at: float | None = None
        self.verify_codes: list[str] = []
        self.verified = asyncio.Event()  # set when a verify has been processed
        #: What a verify of a code does while it is processed: awaited before its answer.
        self.during: dict[str, Any] = {}

    def now(self) -> float:
        return SERVER_NOW + self.shift[0]

    def _date(self) -> dict[str, str]:
        return {"Date": formatdate(self.now(), usegmt=True)}

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            code = json.loads(request.content)["code"]
            self.verify_codes.append(code)
            if code == CODE and self.matched_at is None:
                self.matched_at = self.now()
                outcome = MatchStatus.MATCHED
            else:
                outcome = MatchStatus.ALREADY_USED if self.matched_at else MatchStatus.FAILED
            self.verified.set()
            during = self.during.get(code)
            if during is not None:
                await during()
            data = {"verificationId": VID, "to": PHONE, "channel": "sms", "matched": outcome}
            return httpx.Response(200, headers=self._date(), json=envelope(data))
        matched = self.matched_at is not None
        summary = {
            "matched": int(MatchStatus.MATCHED if matched else MatchStatus.NOT_VERIFIED),
            "verifiedDate": (
                datetime.fromtimestamp(self.matched_at, CHINA).isoformat()
                if self.matched_at is not None
                else None
            ),
            "oriReceiver": PHONE,
            "channel": "sms",
        }
        record = {"verificationId": VID, "verifications": summary}
        return httpx.Response(200, headers=self._date(), json=envelope(record))


@pytest.fixture
async def shift(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Seconds added to the running loop's clock (and so to the server's), set by a test."""
    loop = asyncio.get_running_loop()
    real = loop.time
    moved = [0.0]
    monkeypatch.setattr(loop, "time", lambda: real() + moved[0])
    return moved


async def test_the_server_clock_estimate_counts_the_time_since_its_date_was_seen(
    shift: list[float],
) -> None:
    """A right code processed 3 s into the call, its answer lost 10 s in: the record read's
    Date is 10 s after the start, so the start is placed by that Date minus the loop time
    since; the match (3 s in) is provably this call's: ok, not ALREADY_USED."""
    server = ClockedServer(shift)

    async def slow_then_lost() -> None:
        shift[0] += 10.0
        raise httpx.ReadTimeout("answer lost")

    server.during[CODE] = slow_then_lost
    original = server.__call__

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            shift[0] += 3.0  # the server gets to it 3 s into the call
        return await original(request)

    shift[0] = 60.0  # a minute after anything the client saw
    async with mock_client(handler, clock=server.now, deadline=None) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
    assert result.matched is MatchStatus.MATCHED
    assert server.verify_codes == [CODE]


@pytest.mark.parametrize("copy", [False, True])
async def test_a_concurrent_verifys_match_is_never_taken_as_this_calls(
    shift: list[float], copy: bool
) -> None:
    """A verifies a wrong code and its answer is lost 4 s in; B verifies the right code
    2.5 s after A began (through the same client, or a with_options copy of it) and is
    answered MATCHED. The record then shows a match dated after A began: it is B's, so A
    gets OutcomeUnknownError, never ok."""
    server = ClockedServer(shift)
    b_done = asyncio.Event()

    async def wait_for_b_then_lose() -> None:
        await b_done.wait()
        shift[0] = 4.0
        raise httpx.ReadTimeout("answer lost")

    server.during[WRONG] = wait_for_b_then_lose
    async with mock_client(server, clock=server.now, deadline=None) as client:
        other = client.with_options(timeout=5.0) if copy else client
        a = asyncio.ensure_future(client.verifications.verify(VID, WRONG))
        await server.verified.wait()  # A has reached the server (and waits for B)
        shift[0] = 2.5
        b = await other.verifications.verify(VID, CODE)
        b_done.set()
        with pytest.raises(OutcomeUnknownError) as info:
            await a
    assert b.ok is True
    assert isinstance(info.value.__cause__, RequestTimeoutError)
    assert server.verify_codes == [WRONG, CODE]


async def test_a_verify_alone_takes_a_match_dated_after_its_start(shift: list[float]) -> None:
    """The same timing with no other verify of the id in flight: the match 2.5 s after the
    start is this call's own (its answer was lost after it matched): ok."""
    server = ClockedServer(shift)

    async def matched_then_lost() -> None:
        shift[0] = 4.0
        raise httpx.ReadTimeout("answer lost")

    original = server.__call__

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            shift[0] = 2.5
        return await original(request)

    server.during[CODE] = matched_then_lost
    async with mock_client(handler, clock=server.now, deadline=None) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
