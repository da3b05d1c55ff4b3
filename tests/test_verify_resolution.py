"""verify after an ambiguous failure: the record decides, so a right code is never "failed"
and a wrong code never right.

When verify's answer is lost (a timeout, a dropped or reset connection, HTTP 5xx,
envelope -18) or is an ambiguous ``status "0"`` (``data`` missing, ``{}``, without
``matched``), the SDK reads the record. The record says *whether* the verification
matched and *when* (``verifiedDate``), never which call or which code did it. So:

* a record that says "not verified" means the verify was never processed: it is sent
  again (within ``max_retries``) and its answer returned;
* a wrong code is never ``ok``: a match dated before this call began is an earlier
  verify's (verifying again gives the truthful "already used"); one dated within the
  margin of the start, or undated (``null``, ``""``), could be a concurrent verify's:
  :class:`OutcomeUnknownError`, whose ``__cause__`` is the error that lost the answer;
* a right code is never ``ok=False``: ``MATCHED`` when the record dates the match
  provably after the call began, :class:`OutcomeUnknownError` otherwise;
* a record that cannot be read leaves verify's own error, the lookup's as its cause.

The call's start is dated by the server's clock (its ``Date`` headers, moved on by the
loop clock since) or, without one, by the signing clock. :class:`VerifyServer` is a
small stateful fake of verify + record: a code can be consumed once, a later verify
of a consumed id answers ``matched`` 4 (already used), and faults can strike before
or after the server has processed the verify. :class:`ClockedServer` is one whose
clock moves with the (test-driven) loop clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from itnio_async import (
    APIError,
    AsyncItnio,
    Channel,
    DecodeError,
    HTTPStatusError,
    InvalidParameterError,
    ItnioError,
    MatchStatus,
    NotFoundError,
    OutcomeUnknownError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    VerifyResult,
)
from itnio_async._call import CallState
from itnio_async._models import VerificationSummary
from itnio_async._resources.verifications import _MARGIN, _VerifyResolver

from .conftest import API_KEY, API_SECRET, BASE_URL, envelope, mock_client

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


def _iso(epoch: float) -> str:
    """``epoch`` as the record writes a ``verifiedDate`` (China time)."""
    return datetime.fromtimestamp(epoch, CHINA).isoformat()


class VerifyServer:
    """Stateful verify + record endpoints with scripted faults.

    ``after`` faults strike once a verify has been processed (its answer is lost; with
    ``lose_codes``, only a verify of one of those codes loses it); ``before`` faults
    strike before it is processed; ``record_faults`` strike record lookups in turn
    (``None`` answers normally). A fault is an exception to raise, an HTTP status, an
    envelope status string, or a whole JSON body (a dict) answered with HTTP 200.
    With ``dates``, every answer has a ``Date`` of SERVER_NOW; ``record_lag`` lookups
    still show "not verified" after a match (a record lagging behind); a verify of a
    code in ``gates`` is held until its event is set.
    """

    def __init__(self, *, dates: bool = False, record_lag: int = 0) -> None:
        self.matched = MatchStatus.NOT_VERIFIED
        #: The record's verifiedDate as sent: an ISO string, "", or None.
        self.verified_date: str | None = None
        #: Where the server stamps a match it makes, in seconds from SERVER_NOW;
        #: ``None`` stamps null.
        self.stamp: float | None = 0.0
        self.after: list[Any] = []
        self.before: list[Any] = []
        self.record_faults: list[Any] = []
        self.lose_codes: set[str] | None = None
        self.gates: dict[str, asyncio.Event] = {}
        self.record_lag = record_lag
        self.dates = dates
        self.verify_codes: list[str] = []
        self.record_calls = 0

    def match_at(self, seconds: float | None) -> None:
        """Put a match in the record, dated ``seconds`` from SERVER_NOW (``None``: null)."""
        self.matched = MatchStatus.MATCHED
        self.verified_date = None if seconds is None else _iso(SERVER_NOW + seconds)

    def _headers(self) -> dict[str, str]:
        return {"Date": formatdate(SERVER_NOW, usegmt=True)} if self.dates else {}

    def _answer(self, fault: Any) -> httpx.Response:
        if isinstance(fault, Exception):
            raise fault
        if isinstance(fault, int):
            return httpx.Response(fault, headers=self._headers())
        if isinstance(fault, dict):
            return httpx.Response(200, headers=self._headers(), json=fault)
        return httpx.Response(200, headers=self._headers(), json=envelope(status=fault))

    def _process(self, code: str) -> MatchStatus:
        if self.matched == MatchStatus.MATCHED:
            return MatchStatus.ALREADY_USED
        if code == CODE:
            self.match_at(self.stamp)
            return MatchStatus.MATCHED
        self.matched = MatchStatus.FAILED
        return MatchStatus.FAILED

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            body = json.loads(request.content)
            assert body["verificationId"] == VID
            code = body["code"]
            gate = self.gates.get(code)
            if gate is not None:
                await gate.wait()
            self.verify_codes.append(code)
            if self.before:
                return self._answer(self.before.pop(0))
            outcome = self._process(code)
            if self.after and (self.lose_codes is None or code in self.lose_codes):
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
        summary = {
            "matched": int(shown),
            "verifiedDate": self.verified_date if shown == MatchStatus.MATCHED else None,
            "oriReceiver": PHONE,
            "channel": "sms",
        }
        record = {"verificationId": VID, "verifications": summary}
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
    server.match_at(-3600)
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
    server.stamp = 10.0  # the server took its time: stamped 10 s after Date
    async with mock_client(server) as client:
        result = await client.verifications.verify(VID, CODE)
    assert result.ok is True
    assert server.verify_calls == 1


async def test_a_stale_match_without_date_headers_is_not_this_calls_match() -> None:
    """No Date header ever seen: the signing clock dates the call, so a lost wrong code whose
    record shows an hour-old match is not reported ok (a replayed id is no login)."""
    server = VerifyServer(dates=False)
    server.match_at(-3600)
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


# -- every way an answer is lost, with the server's Date --------------------------------------

#: How the first verify's answer is lost (after the server processed it), and the error
#: class that loses it.
LOSSES: dict[str, type[ItnioError]] = {
    "http-503": HTTPStatusError,
    "status-18": ServerError,
    "reset": TransportError,
    "data-missing": DecodeError,
    "data-empty": DecodeError,
    "matched-missing": DecodeError,
    "matched-null": DecodeError,
}


def lost_answer(loss: str) -> Any:
    """The :class:`VerifyServer` fault that loses a processed verify's answer as ``loss`` says."""
    data: dict[str, Any] = {"verificationId": VID, "to": PHONE, "channel": "sms"}
    faults: dict[str, Any] = {
        "http-503": 503,
        "status-18": "-18",
        "reset": httpx.ReadError("connection reset by peer"),
        "data-missing": {"status": "0", "reason": "ok"},
        "data-empty": {"status": "0", "data": {}},
        "matched-missing": {"status": "0", "data": data},
        "matched-null": {"status": "0", "data": {**data, "matched": None}},
    }
    return faults[loss]


def losing(loss: str) -> VerifyServer:
    """A server with Date headers that loses the first verify's answer as ``loss`` says."""
    server = VerifyServer(dates=True)
    server.after.append(lost_answer(loss))
    return server


def client_for(server: VerifyServer, **options: Any) -> AsyncItnio:
    """A client around ``server``, signing with the server's clock, without backoff."""
    return mock_client(server, clock=lambda: SERVER_NOW, **options)


async def _verify(server: VerifyServer, code: str) -> VerifyResult | OutcomeUnknownError:
    """Verify ``code``; its result, or the OutcomeUnknownError it raised (anything else fails)."""
    async with client_for(server) as client:
        try:
            return await client.verifications.verify(VID, code)
        except OutcomeUnknownError as exc:
            return exc


def _assert_unknown(outcome: Any, loss: str) -> None:
    assert isinstance(outcome, OutcomeUnknownError), repr(outcome)
    assert isinstance(outcome.__cause__, LOSSES[loss]), repr(outcome.__cause__)
    assert (outcome.method, outcome.path) == ("POST", "/verification/verify")


# -- a wrong code, every loss -----------------------------------------------------------------

#: A match already in the record: seconds from SERVER_NOW (None: null), or "" raw.
PRIORS: dict[str, Any] = {
    "earlier-hour": -3600,
    "earlier-10s": -10,
    "concurrent-same-second": 0,
    "concurrent-1s-before": -1,
    "concurrent-1s-after": 1,
    "verified-date-null": None,
    "verified-date-empty": "",
}


def _wrong_cases() -> Iterator[Any]:
    for loss in LOSSES:
        for prior in PRIORS:
            yield pytest.param(loss, prior, id=f"{loss}-{prior}")


@pytest.mark.parametrize(("loss", "prior"), list(_wrong_cases()))
async def test_a_wrong_code_is_never_reported_right(loss: str, prior: str) -> None:
    """A wrong code whose answer is lost while the record shows a match: an earlier match
    gives the truthful ALREADY_USED, a concurrent or undated one OutcomeUnknownError; never
    ok, and verify is never sent more than twice."""
    server = losing(loss)
    when = PRIORS[prior]
    if when == "":
        server.match_at(None)
        server.verified_date = ""
    else:
        server.match_at(when)
    outcome = await _verify(server, WRONG)
    if prior.startswith("earlier"):
        assert isinstance(outcome, VerifyResult), repr(outcome)
        assert outcome.matched is MatchStatus.ALREADY_USED
        assert outcome.ok is False
        assert server.verify_codes == [WRONG, WRONG]
    else:
        _assert_unknown(outcome, loss)
        assert server.verify_codes == [WRONG]
    assert server.record_calls >= 1


@pytest.mark.parametrize("loss", LOSSES)
async def test_a_wrong_code_with_no_match_in_the_record_stays_wrong(loss: str) -> None:
    """No match anywhere: the record shows the failure, verify is sent again, FAILED."""
    server = losing(loss)
    outcome = await _verify(server, WRONG)
    assert isinstance(outcome, VerifyResult), repr(outcome)
    assert outcome.matched is MatchStatus.FAILED
    assert server.verify_codes == [WRONG, WRONG]


@pytest.mark.parametrize("loss", ["http-503", "status-18", "reset", "matched-missing"])
async def test_a_concurrent_right_verify_never_makes_a_lost_wrong_one_right(loss: str) -> None:
    """Two verifies of one id at once: the right code matches (answered), the wrong one's
    answer is lost; the record's match is the other call's, so the wrong one gets
    OutcomeUnknownError and the right one ok."""
    server = losing(loss)
    server.stamp = 0.0  # stamped the second both calls began
    server.lose_codes = {WRONG}
    right_done = asyncio.Event()
    server.gates[WRONG] = right_done  # the wrong one reaches the server second
    async with client_for(server) as client:
        wrong = asyncio.ensure_future(client.verifications.verify(VID, WRONG))
        ok = await client.verifications.verify(VID, CODE)
        right_done.set()
        with pytest.raises(OutcomeUnknownError) as info:
            await wrong
    assert ok.ok is True
    assert isinstance(info.value.__cause__, LOSSES[loss])
    assert server.verify_codes == [CODE, WRONG]


# -- a right code, every loss -----------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
async def test_a_right_code_matched_provably_after_the_start_is_ok(loss: str) -> None:
    """The server stamped the match 10 s after the call began: the record proves it is this
    call's, ok without a second verify."""
    server = losing(loss)
    server.stamp = 10.0
    outcome = await _verify(server, CODE)
    assert isinstance(outcome, VerifyResult), repr(outcome)
    assert outcome.ok is True
    assert outcome.matched is MatchStatus.MATCHED
    assert (outcome.verification_id, outcome.to) == (VID, PHONE)
    assert server.verify_codes == [CODE]


@pytest.mark.parametrize("stamp", [0.0, 1.0, -1.0, None], ids=["same-second", "+1s", "-1s", "null"])
@pytest.mark.parametrize("loss", LOSSES)
async def test_a_right_code_whose_match_cannot_be_dated_is_unknown_never_wrong(
    loss: str, stamp: float | None
) -> None:
    """The record shows the match, but within the margin of the start or undated: never
    ok=False, never re-verified (that would answer ALREADY_USED): OutcomeUnknownError."""
    server = losing(loss)
    server.stamp = stamp
    outcome = await _verify(server, CODE)
    _assert_unknown(outcome, loss)
    assert server.verify_codes == [CODE]


@pytest.mark.parametrize("loss", LOSSES)
async def test_a_right_code_is_never_reported_wrong(loss: str) -> None:
    """Wherever the server stamps the match it made (its stamps agreeing with its Date
    within the margin), a right code whose answer is lost is ok or OutcomeUnknownError,
    never a result with ok=False."""
    for stamp in (-2.0, -1.5, -0.5, 0.0, 1.5, 2.0, 2.5, 60.0, 3600.0, None):
        server = losing(loss)
        server.stamp = stamp
        outcome = await _verify(server, CODE)
        if isinstance(outcome, VerifyResult):
            assert outcome.ok is True, (stamp, outcome)
        else:
            _assert_unknown(outcome, loss)


@pytest.mark.parametrize(
    ("stamp", "ok"), [(10.0, True), (0.0, False), (-1.0, False), (None, False)]
)
@pytest.mark.parametrize("loss", ["http-503", "reset", "matched-missing"])
async def test_a_lagging_record_then_already_used_is_never_reported_used(
    loss: str, stamp: float | None, ok: bool
) -> None:
    """The record lags (no match yet), so verify goes again and is answered ALREADY_USED:
    the lost attempt may have used the right code, so the record decides again: ok when
    the match is dated after the start, OutcomeUnknownError otherwise, never "used"."""
    server = losing(loss)
    server.stamp = stamp
    server.record_lag = 1
    outcome = await _verify(server, CODE)
    if ok:
        assert isinstance(outcome, VerifyResult), repr(outcome)
        assert outcome.ok is True
    else:
        _assert_unknown(outcome, loss)
    assert server.verify_codes == [CODE, CODE]
    assert server.record_calls == 2


# -- the margin, exactly ----------------------------------------------------------------------


class _Port:
    """A ClientPort stand-in whose server clock reads ``since`` at the call's start."""

    def __init__(self, since: float) -> None:
        self.since = since

    def server_time(self, at: float) -> float:
        return self.since


class _Alone:
    """A Ticket stand-in: no other verify of the id ran."""

    def alone(self) -> bool:
        return True


def _summary(verified: datetime | None) -> VerificationSummary:
    return VerificationSummary(
        matched=MatchStatus.MATCHED, verified_date=verified, ori_receiver=PHONE, channel=None
    )


@pytest.mark.parametrize(
    ("offset", "when"),
    [
        (-3600.0, "before"),
        (-_MARGIN - 0.001, "before"),
        (-_MARGIN, ""),
        (-1.0, ""),
        (0.0, ""),
        (_MARGIN - 0.001, ""),
        (_MARGIN, "after"),
        (3600.0, "after"),
    ],
)
def test_a_match_is_dated_against_the_start_with_a_two_second_margin(
    offset: float, when: str
) -> None:
    """A match at least 2 s after the start is this call's, one more than 2 s before it an
    earlier call's; anything in between is neither."""
    assert _MARGIN == 2.0
    since = SERVER_NOW
    resolver = _VerifyResolver(_Port(since), VID, _Alone())  # type: ignore[arg-type]
    verified = datetime.fromtimestamp(since + offset, CHINA)
    state = CallState(started=0.0, deadline_at=None)
    assert resolver._when(_summary(verified), state) == when
    assert resolver._when(_summary(None), state) == ""


async def test_a_lookup_that_fails_leaves_the_first_error_with_the_lookup_as_cause() -> None:
    """If the record cannot be read, verify raises the error that lost its answer (never a
    guess), and the failed lookup is its cause."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verify"):
            return httpx.Response(503)
        return httpx.Response(200, json={"status": "-24", "reason": "no such record"})

    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        clock=lambda: SERVER_NOW,
    ) as client:
        with pytest.raises(HTTPStatusError) as info:
            await client.verifications.verify(VID, CODE)
    assert info.value.status_code == 503
    assert isinstance(info.value.__cause__, APIError)


# -- the server's clock moves on; other verifies of the same id -------------------------------


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
            "verifiedDate": None if self.matched_at is None else _iso(self.matched_at),
            "oriReceiver": PHONE,
            "channel": "sms",
        }
        record = {"verificationId": VID, "verifications": summary}
        return httpx.Response(200, headers=self._date(), json=envelope(record))


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
