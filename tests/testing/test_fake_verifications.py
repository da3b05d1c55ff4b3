"""Sending, resending and verifying codes in the fake; records, limits, flows and backfill."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from itnio_async import (
    AlreadyExistsError,
    AsyncItnio,
    Channel,
    CodeType,
    FlowStep,
    FlowTrigger,
    MatchStatus,
    NotFoundError,
    PeriodUnit,
    PhoneSendLimitError,
    SendLimit,
    TotalSendLimitError,
)
from itnio_async.testing import FakeItnio

from .conftest import OTHER_PHONE, PHONE, T0, Raw, Setup


async def test_send_issues_a_documented_verification(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """send answers a 20-digit verificationId and delivers one code of the template's shape."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    assert sent.verification_id == "22206051443051000001"
    assert (sent.to, sent.channel, sent.sna_url) == (PHONE, Channel.SMS, None)
    assert fake.requests[-1].body == {"appId": app_id, "templateId": template_id, "to": PHONE}
    [delivery] = fake.sent_to(PHONE)
    assert re.fullmatch(r"[0-9]{4}", delivery.code)
    assert delivery.text == f"Your code is {delivery.code}"
    assert (delivery.channel, delivery.kind, delivery.time) == ("sms", "send", T0)
    assert (delivery.verification_id, delivery.app_id) == (sent.verification_id, app_id)
    assert delivery.template_id == template_id
    assert fake.last_code(PHONE) == delivery.code
    assert fake.deliveries == [delivery]


@pytest.mark.parametrize(
    ("code_type", "length", "pattern"),
    [
        (CodeType.NUMERIC, 4, r"[0-9]{4}"),
        (CodeType.ALPHA, 6, r"[A-Z]{6}"),
        (CodeType.ALPHANUMERIC, 8, r"[A-Z0-9]{8}"),
        (CodeType.HEX, 10, r"[0-9A-F]{10}"),
    ],
)
async def test_codes_follow_code_type_and_length(
    api: AsyncItnio,
    fake: FakeItnio,
    setup_app: Setup,
    code_type: CodeType,
    length: int,
    pattern: str,
) -> None:
    """Generated codes use the template's codeType alphabet and codeLength."""
    app_id, template_id = await setup_app(code_type=code_type, code_length=length)
    codes = set()
    for index in range(20):
        to = f"86135123456{index:02d}"
        await api.verifications.send(app_id=app_id, template_id=template_id, to=to)
        codes.add(fake.last_code(to))
    assert all(re.fullmatch(pattern, code) for code in codes)
    assert len(codes) > 1


async def test_sna_send_has_sna_url_and_sna_record(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """An sna send answers a snaUrl and records an sna attempt."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(
        app_id=app_id, template_id=template_id, to=PHONE, channel="sna"
    )
    assert sent.channel is Channel.SNA
    assert sent.sna_url == f"http://itnio.fake/sna/{sent.verification_id}"
    record = await api.records.get(sent.verification_id)
    assert len(record.sna) == 1
    assert (record.sna[0].status, record.sna[0].mcc) == (0, 460)
    assert record.sms == []
    assert record.call == []


async def test_send_code_delivers_the_callers_code(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """sendRule delivers the caller's code, with or without a template."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send_code(app_id=app_id, code="A1b2C3", to=PHONE)
    assert fake.last_code(PHONE) == "A1b2C3"
    assert fake.sent_to(PHONE)[-1].text == "Your verification code is A1b2C3"
    assert fake.sent_to(PHONE)[-1].kind == "sendRule"
    assert fake.sent_to(PHONE)[-1].template_id is None
    await api.verifications.send_code(
        app_id=app_id, code="99", to=OTHER_PHONE, template_id=template_id, channel="call"
    )
    assert fake.sent_to(OTHER_PHONE)[-1].text == "Your code is 99"
    assert fake.sent_to(OTHER_PHONE)[-1].channel == "call"
    result = await api.verifications.verify(sent.verification_id, "A1b2C3")
    assert result.matched is MatchStatus.MATCHED


async def test_send_unknown_ids_are_minus_24(api: AsyncItnio, setup_app: Setup) -> None:
    """Unknown app, template (or one of another app) and flow are -24."""
    app_id, template_id = await setup_app()
    other = await api.apps.create(name="other-app")
    with pytest.raises(NotFoundError):
        await api.verifications.send(app_id="nope1234", template_id=template_id, to=PHONE)
    with pytest.raises(NotFoundError):
        await api.verifications.send(app_id=app_id, template_id=999, to=PHONE)
    with pytest.raises(NotFoundError):
        await api.verifications.send(app_id=other.app_id, template_id=template_id, to=PHONE)
    with pytest.raises(NotFoundError):
        await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE, flow_id=7)
    with pytest.raises(NotFoundError):
        await api.verifications.resend("22206051443059999999")


async def test_verify_outcomes(api: AsyncItnio, fake: FakeItnio, setup_app: Setup) -> None:
    """verify: wrong code 2, right code 0, again 4, unknown id 3 — all with status "0"."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    code = fake.last_code(PHONE)
    wrong = "0000" if code != "0000" else "1111"
    first = await api.verifications.verify(sent.verification_id, wrong)
    assert first.matched is MatchStatus.FAILED
    assert not first.ok
    assert (first.verification_id, first.to, first.channel) == (
        sent.verification_id,
        PHONE,
        Channel.SMS,
    )
    right = await api.verifications.verify(sent.verification_id, code)
    assert right.ok
    again = await api.verifications.verify(sent.verification_id, code)
    assert again.matched is MatchStatus.ALREADY_USED
    unknown = await api.verifications.verify("22206051443059999999", code)
    assert unknown.matched is MatchStatus.NOT_FOUND
    assert [r.status for r in fake.requests_to("/verification/verify")] == ["0"] * 4


async def test_unknown_verify_on_the_wire(raw: Raw) -> None:
    """An unknown verificationId answers status "0" with matched 3 (as documented)."""
    body = {"verificationId": "22206051443059999999", "code": "1234"}
    assert (await raw("POST", "/verification/verify", body)).json() == {
        "status": "0",
        "reason": "success",
        "data": {
            "verificationId": "22206051443059999999",
            "to": None,
            "channel": None,
            "matched": 3,
        },
    }


async def test_code_expires_after_code_expiry_minutes(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """A code is valid for the app's codeExpiry minutes, then verify answers 5."""
    app_id, template_id = await setup_app(code_expiry=2)
    first = await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    first_code = fake.last_code(PHONE)
    second = await api.verifications.send(app_id=app_id, template_id=template_id, to=OTHER_PHONE)
    fake.advance(119)
    assert (await api.verifications.verify(first.verification_id, first_code)).ok
    fake.advance(1)
    expired = await api.verifications.verify(second.verification_id, fake.last_code(OTHER_PHONE))
    assert expired.matched is MatchStatus.EXPIRED
    record = await api.records.get(second.verification_id)
    assert record.verifications is not None
    assert record.verifications.matched is MatchStatus.NOT_VERIFIED


async def test_resend_issues_a_new_id_for_the_same_code(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """resend answers a new verificationId and re-delivers the same code; ids share the outcome."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(
        app_id=app_id, template_id=template_id, to=PHONE, order_id="order-1"
    )
    code = fake.last_code(PHONE)
    again = await api.verifications.resend(sent.verification_id, channel="call")
    assert again.verification_id != sent.verification_id
    assert re.fullmatch(r"[0-9]{20}", again.verification_id)
    assert (again.to, again.channel) == (PHONE, Channel.CALL)
    deliveries = fake.sent_to(PHONE)
    assert [(d.kind, d.channel, d.code) for d in deliveries] == [
        ("send", "sms", code),
        ("resend", "call", code),
    ]
    assert deliveries[1].verification_id == again.verification_id
    assert (await api.verifications.verify(again.verification_id, code)).ok
    old = await api.verifications.verify(sent.verification_id, code)
    assert old.matched is MatchStatus.ALREADY_USED
    by_order = await api.records.get_by_order_id("order-1", app_id=app_id)
    assert by_order.verifications is not None
    assert by_order.verifications.matched is MatchStatus.MATCHED
    assert by_order.verifications.channel is Channel.CALL
    assert len(by_order.call) == 1


async def test_records_reflect_what_happened(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """record by id: -1 before verify, 2 after a wrong code, 0 with verifiedDate once matched."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(
        app_id=app_id, template_id=template_id, to=PHONE, order_id="order-7"
    )
    record = await api.records.get(sent.verification_id)
    assert record.verification_id == sent.verification_id
    assert record.verifications is not None
    assert record.verifications.matched is MatchStatus.NOT_VERIFIED
    assert record.verifications.verified_date is None
    assert (record.verifications.ori_receiver, record.verifications.order_id) == (PHONE, "order-7")
    assert len(record.sms) == 1
    assert record.sms[0].submit_tm == datetime.fromtimestamp(T0, UTC)
    assert (record.sms[0].status, record.sms[0].mcc, record.sms[0].pay) == (
        0,
        460,
        Decimal("0.0050"),
    )
    await api.verifications.verify(sent.verification_id, "abcd")
    failed = await api.records.get(sent.verification_id)
    assert failed.verifications is not None
    assert failed.verifications.matched is MatchStatus.FAILED
    fake.advance(42)
    await api.verifications.verify(sent.verification_id, fake.last_code(PHONE))
    done = await api.records.get(sent.verification_id)
    assert done.verifications is not None
    assert done.verifications.matched is MatchStatus.MATCHED
    assert done.verifications.verified_date == datetime.fromtimestamp(T0 + 42, UTC)


async def test_record_shapes_on_the_wire(raw: Raw, api: AsyncItnio, setup_app: Setup) -> None:
    """By id: sms as an object (documented), no flowId; by orderId: arrays, flowId, no id."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(
        app_id=app_id, template_id=template_id, to=PHONE, order_id="order-9"
    )
    by_id = (await raw("GET", f"/verification/record/{sent.verification_id}")).json()["data"]
    assert set(by_id) == {"verificationId", "verifications", "sms"}
    assert isinstance(by_id["sms"], dict)
    assert by_id["verifications"] == {
        "matched": -1,
        "verifiedDate": None,
        "oriReceiver": PHONE,
        "channel": "sms",
        "orderId": "order-9",
    }
    by_order = (
        await raw("POST", "/verification/orderId/record", {"appId": app_id, "orderId": "order-9"})
    ).json()["data"]
    assert set(by_order) == {"orderId", "flowId", "verifications", "sms", "call", "sna"}
    assert (by_order["orderId"], by_order["flowId"]) == ("order-9", None)
    assert isinstance(by_order["sms"], list)
    assert (by_order["call"], by_order["sna"]) == ([], [])
    assert by_order["sms"][0]["submitTm"] == "2022-06-05T14:43:05+08:00"


async def test_call_send_records_call_attempts(api: AsyncItnio, setup_app: Setup) -> None:
    """A call send records a call attempt (not sms) in both record lookups."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(
        app_id=app_id, template_id=template_id, to=PHONE, channel="call", order_id="order-c"
    )
    for record in (
        await api.records.get(sent.verification_id),
        await api.records.get_by_order_id("order-c"),
    ):
        assert record.sms == []
        assert len(record.call) == 1
        assert record.call[0].termination_code == 0
        assert record.call[0].bill_periodstring == "20+20"
        assert record.call[0].rate == Decimal("0.1380")
        assert record.verifications is not None
        assert record.verifications.channel is Channel.CALL


async def test_record_lookup_errors(api: AsyncItnio, setup_app: Setup) -> None:
    """Unknown verificationId / orderId, or an orderId of another app, are -24."""
    app_id, template_id = await setup_app()
    other = await api.apps.create(name="other-app")
    await api.verifications.send(
        app_id=app_id, template_id=template_id, to=PHONE, order_id="order-1"
    )
    with pytest.raises(NotFoundError):
        await api.records.get("22206051443059999999")
    with pytest.raises(NotFoundError):
        await api.records.get_by_order_id("order-404")
    with pytest.raises(NotFoundError):
        await api.records.get_by_order_id("order-1", app_id=other.app_id)


async def test_order_id_is_unique(api: AsyncItnio, fake: FakeItnio, setup_app: Setup) -> None:
    """Reusing an orderId is rejected with -20 and nothing is delivered."""
    app_id, template_id = await setup_app()
    await api.verifications.send(
        app_id=app_id, template_id=template_id, to=PHONE, order_id="order-1"
    )
    with pytest.raises(AlreadyExistsError):
        await api.verifications.send_code(
            app_id=app_id, code="1234", to=OTHER_PHONE, order_id="order-1"
        )
    assert fake.sent_to(OTHER_PHONE) == []


async def test_bulk_order_id_lookup(api: AsyncItnio, setup_app: Setup) -> None:
    """get_many_by_order_ids against the fake: found ids get records, unknown ones -24."""
    app_id, template_id = await setup_app()
    for index in range(5):
        await api.verifications.send(
            app_id=app_id, template_id=template_id, to=PHONE, order_id=f"bulk-{index}"
        )
    lookups = await api.records.get_many_by_order_ids(
        ["bulk-3", "missing", "bulk-0"], app_id=app_id, concurrency=2
    )
    assert [lookup.order_id for lookup in lookups] == ["bulk-3", "missing", "bulk-0"]
    assert lookups[0].record is not None
    assert lookups[0].record.order_id == "bulk-3"
    assert isinstance(lookups[1].error, NotFoundError)
    assert lookups[2].ok


@pytest.mark.parametrize(
    ("unit", "seconds"),
    [
        (PeriodUnit.SECOND, 1),
        (PeriodUnit.MINUTE, 60),
        (PeriodUnit.HOUR, 3600),
        (PeriodUnit.DAY, 86400),
    ],
)
async def test_total_send_limit_per_period(
    api: AsyncItnio,
    fake: FakeItnio,
    setup_app: Setup,
    unit: PeriodUnit,
    seconds: int,
) -> None:
    """periodTotalSendLimit caps an app's sends per rolling period (-27), any number."""
    limit = SendLimit(enabled=True, unit=unit, period=2, limit=2)
    app_id, template_id = await setup_app(period_total_send_limit=limit)
    await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    await api.verifications.send_code(app_id=app_id, code="1234", to=OTHER_PHONE)
    with pytest.raises(TotalSendLimitError) as info:
        await api.verifications.send(app_id=app_id, template_id=template_id, to="14155550123")
    assert info.value.status == -27
    assert fake.sent_to("14155550123") == []
    fake.advance(2 * seconds - 1)
    with pytest.raises(TotalSendLimitError):
        await api.verifications.send(app_id=app_id, template_id=template_id, to="14155550123")
    fake.advance(1)
    await api.verifications.send(app_id=app_id, template_id=template_id, to="14155550123")
    assert len(fake.sent_to("14155550123")) == 1


async def test_phone_send_limit(api: AsyncItnio, fake: FakeItnio, setup_app: Setup) -> None:
    """periodPhoneSendLimit caps sends to one number (-28); resends count; others are free."""
    limit = SendLimit(enabled=True, unit=PeriodUnit.MINUTE, period=1, limit=2)
    app_id, template_id = await setup_app(period_phone_send_limit=limit)
    sent = await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    await api.verifications.resend(sent.verification_id)
    with pytest.raises(PhoneSendLimitError) as info:
        await api.verifications.resend(sent.verification_id)
    assert info.value.status == -28
    await api.verifications.send(app_id=app_id, template_id=template_id, to=OTHER_PHONE)
    assert len(fake.sent_to(PHONE)) == 2
    fake.advance(60)
    await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    assert len(fake.sent_to(PHONE)) == 3


async def test_limits_can_be_switched_off(api: AsyncItnio, setup_app: Setup) -> None:
    """Updating an app with SendLimit(enabled=False) lifts the limit."""
    limit = SendLimit(enabled=True, unit=PeriodUnit.DAY, period=1, limit=1)
    app_id, template_id = await setup_app(period_total_send_limit=limit)
    await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    with pytest.raises(TotalSendLimitError):
        await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    await api.apps.update(app_id, name="test-app", period_total_send_limit=SendLimit(enabled=False))
    await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)


async def test_flow_fallback_fires_on_the_fake_clock(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """A "not verified" flow step calls after its waitingTime unless the code was verified."""
    app_id, template_id = await setup_app()
    flow = await api.flows.create(
        name="sms-then-call",
        steps=[
            FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS),
            FlowStep(waiting_time=60, status=FlowTrigger.NOT_VERIFIED, channel=Channel.CALL),
        ],
    )
    pending = await api.verifications.send(
        app_id=app_id, template_id=template_id, to=PHONE, flow_id=flow.flow_id, order_id="o-1"
    )
    await api.verifications.send(
        app_id=app_id, template_id=template_id, to=OTHER_PHONE, flow_id=flow.flow_id
    )
    await api.verifications.verify(
        fake.sent_to(OTHER_PHONE)[0].verification_id, fake.last_code(OTHER_PHONE)
    )
    fake.advance(89)
    assert len(fake.sent_to(PHONE)) == 1
    fake.advance(1)
    assert [(d.kind, d.channel, d.time) for d in fake.sent_to(PHONE)] == [
        ("send", "sms", T0),
        ("flow", "call", T0 + 90),
    ]
    assert len(fake.sent_to(OTHER_PHONE)) == 1  # verified: no fallback
    record = await api.records.get(pending.verification_id)
    assert (len(record.sms), len(record.call)) == (1, 1)
    assert record.verifications is not None
    assert record.verifications.channel is Channel.CALL
    by_order = await api.records.get_by_order_id("o-1")
    assert by_order.flow_id == flow.flow_id
    assert (await api.verifications.verify(pending.verification_id, fake.last_code(PHONE))).ok


async def test_backfill_reports_are_stored(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """postback/backfill and backfillRate are accepted and kept for assertions."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    await api.backfill.report(
        app_id=app_id, verification_id=sent.verification_id, time=1681184764000, number=PHONE
    )
    await api.backfill.report_rate(
        app_id=app_id,
        mcc=460,
        backfill_now=Decimal("10.5"),
        callback_time="2023-01-29T09:59:58+08:00",
        backfill_number=100,
        backfill_cardinal_number=1000,
    )
    assert fake.backfills == [
        {
            "appId": app_id,
            "verificationId": sent.verification_id,
            "number": PHONE,
            "time": "1681184764000",
        }
    ]
    assert fake.backfill_rates == [
        {
            "appId": app_id,
            "mcc": "460",
            "backfillNumber": "100",
            "backfillCardinalNumber": "1000",
            "backfillNow": "10.5",
            "callbackTime": "2023-01-29T09:59:58+08:00",
        }
    ]
    with pytest.raises(NotFoundError):
        await api.backfill.report(
            app_id=app_id, verification_id="22206051443059999999", time=1681184764000
        )
    with pytest.raises(NotFoundError):
        await api.backfill.report_rate(
            app_id="nope1234", mcc=460, backfill_now=1, callback_time="2023-01-29T09:59:58Z"
        )
    assert len(fake.backfills) == 1


async def test_last_code_without_delivery_and_delivery_repr(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """last_code of an untouched number raises LookupError; reprs mask numbers and hide codes."""
    with pytest.raises(LookupError, match=r"\*{9}5678"):
        fake.last_code(PHONE)
    app_id, template_id = await setup_app()
    await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    shown = repr(fake.sent_to(PHONE)[0])
    assert PHONE not in shown
    assert "*********5678" in shown
    assert "code=" not in shown
    assert "text=" not in shown
