"""verify never calls a wrong code right, nor a right code wrong (issue 12, item 1).

When verify's answer is lost (HTTP 503, envelope -18, a reset connection) or is an
ambiguous ``status "0"`` (``data`` missing, ``{}``, without ``matched``), the SDK reads
the record. The record says *whether* the verification matched and *when*
(``verifiedDate``), never which call or which code did it. So:

* a wrong code is never ``ok``: a match dated before this call began is an earlier
  verify's (verifying again gives the truthful "already used"); one dated within the
  margin of the start, or undated (``null``, ``""``), could be a concurrent verify's:
  :class:`OutcomeUnknownError`, whose ``__cause__`` is the error that lost the answer;
* a right code is never ``ok=False``: ``MATCHED`` when the record dates the match
  provably after the call began, :class:`OutcomeUnknownError` otherwise.

The server is a small stateful fake of verify and record: a verification matches
once; its clock is fixed at ``SERVER_NOW`` (every answer's ``Date``).
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
    DecodeError,
    HTTPStatusError,
    ItnioError,
    MatchStatus,
    OutcomeUnknownError,
    ServerError,
    TransportError,
    VerifyResult,
)
from itnio_async._call import CallState
from itnio_async._models import VerificationSummary
from itnio_async._resources.verifications import _MARGIN, _VerifyResolver

from .conftest import API_KEY, API_SECRET, BASE_URL, mock_client

VID = "22206051443051000003"
RIGHT = "4821"
WRONG = "9999"
PHONE = "8613512345678"
SERVER_NOW = 1_700_000_000
CHINA = timezone(timedelta(hours=8))

#: How the first verify's answer is lost, and the error class that loses it.
LOSSES: dict[str, type[ItnioError]] = {
    "http-503": HTTPStatusError,
    "status-18": ServerError,
    "reset": TransportError,
    "data-missing": DecodeError,
    "data-empty": DecodeError,
    "matched-missing": DecodeError,
    "matched-null": DecodeError,
}


class VerifyServer:
    """Stateful verify + record; the first verify's answer is lost the way ``loss`` says
    (after the server has processed it)."""

    def __init__(self, loss: str) -> None:
        self.loss = loss
        self.matched = MatchStatus.NOT_VERIFIED
        #: The record's verifiedDate as sent: an ISO string, "", or None.
        self.verified_date: str | None = None
        #: Where the server stamps a match it makes, in seconds from SERVER_NOW;
        #: ``None`` stamps null.
        self.stamp: float | None = 10.0
        self.verify_codes: list[str] = []
        self.record_calls = 0
        #: Hold a verify of this code until the event is set (for concurrency tests).
        self.gates: dict[str, asyncio.Event] = {}
        #: Only the answer of a verify of one of these codes is lost (None: any code).
        self.lose_codes: set[str] | None = None
        self._losses_left = 1
        #: Record lookups that still show "not verified" (a record lagging behind).
        self.record_lag = 0

    def match_at(self, seconds: float | None) -> None:
        """Put a match in the record, dated ``seconds`` from SERVER_NOW (``None``: null)."""
        self.matched = MatchStatus.MATCHED
        self.verified_date = None if seconds is None else _iso(SERVER_NOW + seconds)

    def _headers(self) -> dict[str, str]:
        return {"Date": formatdate(SERVER_NOW, usegmt=True)}

    def _process(self, code: str) -> MatchStatus:
        if self.matched == MatchStatus.MATCHED:
            return MatchStatus.ALREADY_USED
        if code == RIGHT:
            self.match_at(self.stamp)
            return MatchStatus.MATCHED
        self.matched = MatchStatus.FAILED
        return MatchStatus.FAILED

    def _lost(self, outcome: MatchStatus) -> httpx.Response:
        loss, headers = self.loss, self._headers()
        if loss == "http-503":
            return httpx.Response(503, headers=headers)
        if loss == "status-18":
            return httpx.Response(200, headers=headers, json={"status": "-18", "reason": "busy"})
        if loss == "reset":
            raise httpx.ReadError("connection reset by peer")
        data: dict[str, Any] = {"verificationId": VID, "to": PHONE, "channel": "sms"}
        if loss == "data-missing":
            return httpx.Response(200, headers=headers, json={"status": "0", "reason": "ok"})
        if loss == "data-empty":
            return httpx.Response(200, headers=headers, json={"status": "0", "data": {}})
        if loss == "matched-null":
            data["matched"] = None
        else:
            assert loss == "matched-missing"
        return httpx.Response(200, headers=headers, json={"status": "0", "data": data})

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verification/verify"):
            code = json.loads(request.content)["code"]
            gate = self.gates.get(code)
            if gate is not None:
                await gate.wait()
            self.verify_codes.append(code)
            outcome = self._process(code)
            if self._losses_left and (self.lose_codes is None or code in self.lose_codes):
                self._losses_left -= 1
                return self._lost(outcome)
            data = {"verificationId": VID, "to": PHONE, "channel": "sms", "matched": outcome}
            return httpx.Response(200, headers=self._headers(), json={"status": "0", "data": data})
        assert request.url.path == f"/otp/verification/record/{VID}"
        self.record_calls += 1
        shown = self.matched
        if self.record_lag:
            self.record_lag -= 1
            shown = MatchStatus.NOT_VERIFIED
        summary = {
            "matched": int(shown),
            "verifiedDate": self.verified_date if shown == MatchStatus.MATCHED else None,
            "oriReceiver": PHONE,
            "channel": "sms",
        }
        record = {"verificationId": VID, "verifications": summary}
        return httpx.Response(200, headers=self._headers(), json={"status": "0", "data": record})


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, CHINA).isoformat()


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


# -- a wrong code -----------------------------------------------------------------------------

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
    server = VerifyServer(loss)
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
    server = VerifyServer(loss)
    outcome = await _verify(server, WRONG)
    assert isinstance(outcome, VerifyResult), repr(outcome)
    assert outcome.matched is MatchStatus.FAILED
    assert server.verify_codes == [WRONG, WRONG]


@pytest.mark.parametrize("loss", ["http-503", "status-18", "reset", "matched-missing"])
async def test_a_concurrent_right_verify_never_makes_a_lost_wrong_one_right(loss: str) -> None:
    """Two verifies of one id at once: the right code matches (answered), the wrong one's
    answer is lost; the record's match is the other call's, so the wrong one gets
    OutcomeUnknownError and the right one ok."""
    server = VerifyServer(loss)
    server.stamp = 0.0  # stamped the second both calls began
    server.lose_codes = {WRONG}
    right_done = asyncio.Event()
    server.gates[WRONG] = right_done  # the wrong one reaches the server second
    async with client_for(server) as client:
        wrong = asyncio.ensure_future(client.verifications.verify(VID, WRONG))
        ok = await client.verifications.verify(VID, RIGHT)
        right_done.set()
        with pytest.raises(OutcomeUnknownError) as info:
            await wrong
    assert ok.ok is True
    assert isinstance(info.value.__cause__, LOSSES[loss])
    assert server.verify_codes == [RIGHT, WRONG]


# -- a right code -----------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES)
async def test_a_right_code_matched_provably_after_the_start_is_ok(loss: str) -> None:
    """The server stamped the match 10 s after the call began: the record proves it is this
    call's, ok without a second verify."""
    server = VerifyServer(loss)
    server.stamp = 10.0
    outcome = await _verify(server, RIGHT)
    assert isinstance(outcome, VerifyResult), repr(outcome)
    assert outcome.ok is True
    assert outcome.matched is MatchStatus.MATCHED
    assert (outcome.verification_id, outcome.to) == (VID, PHONE)
    assert server.verify_codes == [RIGHT]


@pytest.mark.parametrize("stamp", [0.0, 1.0, -1.0, None], ids=["same-second", "+1s", "-1s", "null"])
@pytest.mark.parametrize("loss", LOSSES)
async def test_a_right_code_whose_match_cannot_be_dated_is_unknown_never_wrong(
    loss: str, stamp: float | None
) -> None:
    """The record shows the match, but within the margin of the start or undated: never
    ok=False, never re-verified (that would answer ALREADY_USED): OutcomeUnknownError."""
    server = VerifyServer(loss)
    server.stamp = stamp
    outcome = await _verify(server, RIGHT)
    _assert_unknown(outcome, loss)
    assert server.verify_codes == [RIGHT]


@pytest.mark.parametrize("loss", LOSSES)
async def test_a_right_code_is_never_reported_wrong(loss: str) -> None:
    """Wherever the server stamps the match it made (its stamps agreeing with its Date
    within the margin), a right code whose answer is lost is ok or OutcomeUnknownError,
    never a result with ok=False."""
    for stamp in (-2.0, -1.5, -0.5, 0.0, 1.5, 2.0, 2.5, 60.0, 3600.0, None):
        server = VerifyServer(loss)
        server.stamp = stamp
        outcome = await _verify(server, RIGHT)
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
    server = VerifyServer(loss)
    server.stamp = stamp
    server.record_lag = 1
    outcome = await _verify(server, RIGHT)
    if ok:
        assert isinstance(outcome, VerifyResult), repr(outcome)
        assert outcome.ok is True
    else:
        _assert_unknown(outcome, loss)
    assert server.verify_codes == [RIGHT, RIGHT]
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
    since = float(SERVER_NOW)
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
            await client.verifications.verify(VID, RIGHT)
    assert info.value.status_code == 503
    assert isinstance(info.value.__cause__, APIError)
