"""client.records: verification.record and verification.recordByOrderId (single lookups)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import respx

from itnio_async import (
    AsyncItnio,
    CallAttempt,
    Channel,
    MatchStatus,
    Record,
    SmsAttempt,
    SnaAttempt,
    ValidationError,
)
from itnio_async._converter import structure

from ._wire import PLAIN_STATUSES, assert_status_raises, assert_wire, reply

CST = timezone(timedelta(hours=8))
VID = "22206051443051000003"

SMS: dict[str, Any] = {
    "submitTm": "2022-07-12T13:39:45+08:00",
    "sendTm": "2022-07-12T13:39:45+08:00",
    "doneTm": "2022-07-12T13:39:49+08:00",
    "mcc": 460,
    "mnc": 10,
    "sender": "",
    "chargeCnt": 1,
    "pay": "0.000002",
    "status": 0,
    "reason": "success",
}

CALL: dict[str, Any] = {
    "terminationCode": 100005,
    "terminationReason": "Temporarily Unavailable",
    "submitTime": "2022-07-12T13:59:55+08:00",
    "callTime": "2022-07-12T13:59:56+08:00",
    "ringingTime": "2022-07-12T13:59:56+08:00",
    "answerTime": "2022-07-12T13:59:56+08:00",
    "hangupTime": "2022-07-12T13:59:56+08:00",
    "callDuration": 0,
    "chargedDuration": 0,
    "displayNum": None,
    "billPeriodstring": "20+20",
    "code": "661",
    "rate": "0.138",
    "cost": "0",
}

#: The constructed verification.record example: sms documented as an object.
RECORD: dict[str, Any] = {
    "verificationId": VID,
    "verifications": {
        "matched": 0,
        "verifiedDate": "2022-07-12T13:39:47+08:00",
        "oriReceiver": "91856321412",
        "channel": "sms",
        "orderId": "1234566",
    },
    "sms": SMS,
}

#: The vendor's recordByOrderId example (seed 003): arrays, orderId inside verifications.
RECORD_BY_ORDER: dict[str, Any] = {
    "orderId": "1234566",
    "flowId": 1,
    "verifications": {
        "matched": 0,
        "verifiedDate": "2022-07-12T13:39:47+08:00",
        "oriReceiver": "91856321412",
        "channel": "call",
        "orderId": "1234566",
    },
    "sms": [{**SMS, "reason": "successR"}],
    "call": [CALL],
}

SNA: dict[str, Any] = {
    "postVerificationTime": "2022-07-12T13:39:45+08:00",
    "verificationBackTime": "2022-07-12T13:39:46+08:00",
    "mcc": 460,
    "mnc": 1,
    "status": 0,
    "reason": "success",
}


def assert_sms(sms: SmsAttempt, reason: str) -> None:
    """The documented SMS attempt, field by field with types."""
    assert type(sms) is SmsAttempt
    assert sms.submit_tm == datetime(2022, 7, 12, 13, 39, 45, tzinfo=CST)
    assert sms.send_tm == datetime(2022, 7, 12, 13, 39, 45, tzinfo=CST)
    assert sms.done_tm == datetime(2022, 7, 12, 13, 39, 49, tzinfo=CST)
    assert sms.done_tm is not None
    assert sms.done_tm.utcoffset() == timedelta(hours=8)
    assert sms.mcc == 460
    assert sms.mnc == 10
    assert sms.sender == ""
    assert sms.charge_cnt == 1
    assert sms.pay == Decimal("0.000002")
    assert type(sms.pay) is Decimal
    assert sms.status == 0
    assert type(sms.status) is int
    assert sms.reason == reason


# -- verification.record -----------------------------------------------------------


async def test_get_wire(client: AsyncItnio, router: respx.Router) -> None:
    """records.get is GET /verification/record/{verificationId} with no body."""
    route = reply(router, RECORD)
    await client.records.get(VID)
    assert_wire(route, "GET", f"/verification/record/{VID}")


@pytest.mark.parametrize(
    ("verification_id", "path"),
    [("a b/c", "a%20b%2Fc"), (22206051443051000003, VID), ("x?y#z", "x%3Fy%23z")],
)
async def test_get_path_id_encoding(
    client: AsyncItnio, router: respx.Router, verification_id: Any, path: str
) -> None:
    """The id is percent-encoded; an int id keeps all 20 digits."""
    route = reply(router, {**RECORD, "verificationId": str(verification_id)})
    await client.records.get(verification_id)
    assert_wire(route, "GET", f"/verification/record/{path}")


async def test_get_decodes_example_with_sms_object_as_list(
    client: AsyncItnio, router: respx.Router
) -> None:
    """The record example decodes; its sms object becomes a one-item list (trap 11)."""
    reply(router, RECORD)
    record = await client.records.get(VID)
    assert type(record) is Record
    assert record.verification_id == VID
    assert record.order_id is None
    assert record.flow_id is None
    summary = record.verifications
    assert summary is not None
    assert summary.matched is MatchStatus.MATCHED
    assert summary.verified_date == datetime(2022, 7, 12, 13, 39, 47, tzinfo=CST)
    assert summary.ori_receiver == "91856321412"
    assert summary.channel is Channel.SMS
    assert summary.order_id == "1234566"
    assert type(record.sms) is list
    assert len(record.sms) == 1
    assert_sms(record.sms[0], "success")
    assert record.call == []
    assert record.sna == []
    assert record == structure(RECORD, Record, strict=True)


async def test_get_call_object_and_sna_array_become_lists(
    client: AsyncItnio, router: respx.Router
) -> None:
    """call as an object and sna as an array both decode to lists of attempts."""
    reply(router, {"verificationId": VID, "call": CALL, "sna": [SNA, SNA]})
    record = await client.records.get(VID)
    assert type(record.call) is list
    assert [type(c) for c in record.call] == [CallAttempt]
    assert record.call[0].termination_code == 100005
    assert record.sms == []
    assert len(record.sna) == 2
    sna = record.sna[0]
    assert type(sna) is SnaAttempt
    assert sna.post_verification_time == datetime(2022, 7, 12, 13, 39, 45, tzinfo=CST)
    assert sna.verification_back_time == datetime(2022, 7, 12, 13, 39, 46, tzinfo=CST)
    assert (sna.mcc, sna.mnc, sna.status, sna.reason) == (460, 1, 0, "success")


@pytest.mark.parametrize("status", [*PLAIN_STATUSES])
async def test_get_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """record: the read-only set -1 -2 -16 -18 -22 each maps to its class."""
    await assert_status_raises(router, status, lambda: client.records.get(VID))


# -- verification.recordByOrderId --------------------------------------------------


async def test_get_by_order_id_sends_documented_example(
    client: AsyncItnio, router: respx.Router
) -> None:
    """get_by_order_id posts {appId, orderId} to /verification/orderId/record."""
    route = reply(router, RECORD_BY_ORDER)
    await client.records.get_by_order_id("1234566", app_id="ad454212")
    assert_wire(
        route,
        "POST",
        "/verification/orderId/record",
        {"appId": "ad454212", "orderId": "1234566"},
    )


async def test_get_by_order_id_omits_app_id_when_none(
    client: AsyncItnio, router: respx.Router
) -> None:
    """app_id is sent only when given."""
    route = reply(router, RECORD_BY_ORDER)
    await client.records.get_by_order_id("1234566")
    assert_wire(route, "POST", "/verification/orderId/record", {"orderId": "1234566"})


async def test_get_by_order_id_decodes_vendor_example(
    client: AsyncItnio, router: respx.Router
) -> None:
    """The vendor's recordByOrderId example decodes field by field (and strictly)."""
    reply(router, RECORD_BY_ORDER)
    record = await client.records.get_by_order_id("1234566", app_id="ad454212")
    assert record.order_id == "1234566"
    assert record.flow_id == 1
    assert record.verification_id is None
    assert record.verifications is not None
    assert record.verifications.channel is Channel.CALL
    assert record.verifications.order_id == "1234566"
    assert len(record.sms) == 1
    assert_sms(record.sms[0], "successR")
    assert len(record.call) == 1
    call = record.call[0]
    assert call.termination_code == 100005
    assert call.termination_reason == "Temporarily Unavailable"
    assert call.submit_time == datetime(2022, 7, 12, 13, 59, 55, tzinfo=CST)
    for moment in (call.call_time, call.ringing_time, call.answer_time, call.hangup_time):
        assert moment == datetime(2022, 7, 12, 13, 59, 56, tzinfo=CST)
    assert call.call_duration == 0
    assert call.charged_duration == 0
    assert call.display_num is None
    assert call.bill_periodstring == "20+20"
    assert call.code == "661"
    assert call.rate == Decimal("0.138")
    assert call.cost == Decimal("0")
    assert type(call.rate) is Decimal
    assert type(call.cost) is Decimal
    assert record.sna == []
    assert record == structure(RECORD_BY_ORDER, Record, strict=True)


@pytest.mark.parametrize("status", [*PLAIN_STATUSES])
async def test_get_by_order_id_error_statuses(
    client: AsyncItnio, router: respx.Router, status: int
) -> None:
    """recordByOrderId documents 0 -1 -2 -16 -18 -22; each maps to its class."""
    await assert_status_raises(router, status, lambda: client.records.get_by_order_id("1234566"))


# -- validation before sending ------------------------------------------------------


@pytest.mark.parametrize("order_id", ["1", "o" * 64])
async def test_order_id_boundaries_pass(
    client: AsyncItnio, router: respx.Router, order_id: str
) -> None:
    """Order ids of 1 and 64 characters are looked up."""
    route = reply(router, {**RECORD_BY_ORDER, "orderId": order_id})
    await client.records.get_by_order_id(order_id)
    assert_wire(route, "POST", "/verification/orderId/record", {"orderId": order_id})


@pytest.mark.parametrize(
    ("order_id", "app_id", "argument"),
    [
        ("", None, "order_id"),
        ("   ", None, "order_id"),
        ("o" * 65, None, "order_id"),
        (1234566, None, "order_id"),
        (None, None, "order_id"),
        ("1234566", "abc", "app_id"),
        ("1234566", "x" * 33, "app_id"),
        ("1234566", "", "app_id"),
        ("1234566", "    ", "app_id"),
    ],
)
async def test_get_by_order_id_rejected_before_sending(
    client: AsyncItnio, router: respx.Router, order_id: Any, app_id: Any, argument: str
) -> None:
    """Lookups need a non-blank order id of at most 64 characters and a 4–32 app id."""
    reply(router, RECORD_BY_ORDER)
    with pytest.raises(ValidationError) as info:
        await client.records.get_by_order_id(order_id, app_id=app_id)
    assert info.value.argument == argument
    assert not router.calls


@pytest.mark.parametrize("verification_id", ["", "  ", None, True, 1.5])
async def test_get_rejects_empty_ids(
    client: AsyncItnio, router: respx.Router, verification_id: Any
) -> None:
    """records.get rejects empty, blank and non-id verification ids without a request."""
    reply(router, RECORD)
    with pytest.raises(ValidationError) as info:
        await client.records.get(verification_id)
    assert info.value.argument == "verification_id"
    assert not router.calls
