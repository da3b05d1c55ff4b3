"""The one converter: documented examples → models, field by field, and the decoding rules.

The fixtures under ``tests/fixtures/`` are full response envelopes copied from the API
reference (``otp-api.md`` section 4) and the vendor seed pages:

=========================== =========================================== ================
file                        endpoint                                    source
=========================== =========================================== ================
app_details.json            app.details (4.3)                           seed 004, docs
template_details.json       template.details (4.6)                      seed 002, docs
template_list.json          template.list (4.7)                         constructed
flow_details.json           flow.details (4.10)                         seed 000, docs
flow_update.json            flow.update (4.9)                           seed 001, docs
flow_list.json              flow.list (4.11)                            constructed
verification_send.json      verification.send (4.12)                    constructed
verification_verify.json    verification.verify (4.15)                  constructed
verification_record.json    verification.record (4.16)                  constructed
record_by_order_id.json     verification.recordByOrderId (4.17)         seed 003, docs
=========================== =========================================== ================

They are decoded with ``strict=True`` (unknown keys rejected), so fixtures and models
cannot drift apart silently.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from cattrs.errors import ForbiddenExtraKeysError

from itnio_async import (
    App,
    CallAttempt,
    Channel,
    ChannelCut,
    CodeType,
    DecodeError,
    Flow,
    FlowStep,
    FlowTrigger,
    ItnioError,
    LookupFailed,
    MatchStatus,
    PeriodUnit,
    Record,
    RecordFound,
    SendLimit,
    SendResult,
    SmsAttempt,
    SnaAttempt,
    Template,
    VerificationSummary,
    VerifyResult,
)
from itnio_async._converter import (
    _parse_bool,
    _parse_decimal,
    _parse_int,
    _parse_str,
    camel,
    get_converter,
    parse_datetime,
    structure,
    unstructure,
)
from itnio_async._ints import parse_int_text

FIXTURES = Path(__file__).parent / "fixtures"
CN = timezone(timedelta(hours=8))
VID = "22206051443051000003"
PHONE = "91856321412"


@pytest.fixture(autouse=True)
def fresh_converter() -> Any:
    """Build the converter afresh for every test here, so its construction (renames, list
    and object hooks) is exercised by each one, not only by the first in a process."""
    get_converter.cache_clear()
    yield
    get_converter.cache_clear()


def load(name: str) -> Any:
    """The ``data`` of a fixture envelope (after checking the envelope is a success)."""
    payload = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert payload["status"] == "0"
    assert payload["reason"] == "success"
    return payload["data"]


def strict(data: Any, cls: Any) -> Any:
    """Decode with unknown keys forbidden."""
    return get_converter(strict=True).structure(data, cls)


def cn(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """An aware datetime at UTC+08:00."""
    return datetime(year, month, day, hour, minute, second, tzinfo=CN)


def assert_aware_cn(value: object, expected: datetime) -> None:
    """A datetime that is timezone-aware, +08:00, and equal to ``expected``."""
    assert isinstance(value, datetime)
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(hours=8)
    assert value == expected


# -- documented examples ----------------------------------------------------------------


def test_app_details_example() -> None:
    """The app.details seed example decodes field by field with enum and datetime types."""
    app = strict(load("app_details.json"), App)
    assert type(app) is App
    assert app.app_id == "mRELxtHc"
    assert app.name == "test_app"
    assert app.code_expiry == 5
    assert type(app.code_expiry) is int
    assert_aware_cn(app.create_time, cn(2022, 1, 1, 0, 0, 0))
    for limit in (app.period_total_send_limit, app.period_phone_send_limit):
        assert limit == SendLimit(enabled=True, unit=PeriodUnit.DAY, period=1, limit=1)
        assert limit is not None
        assert limit.enabled is True
        assert limit.unit is PeriodUnit.DAY
        assert type(limit.period) is int
        assert type(limit.limit) is int


def test_send_limit_large_limit_and_disabled_nulls() -> None:
    """A ten-billion limit stays an exact int; a disabled limit with nulls decodes to None."""
    big = strict({"enabled": True, "unit": 4, "period": 90, "limit": 10_000_000_000}, SendLimit)
    assert big.limit == 10_000_000_000
    assert big.unit is PeriodUnit.SECOND
    off = strict({"enabled": False, "unit": None, "period": None, "limit": None}, SendLimit)
    assert off == SendLimit(enabled=False)
    assert off.unit is None
    assert off.period is None
    assert off.limit is None


def test_template_details_example() -> None:
    """The template.details seed example decodes field by field."""
    template = strict(load("template_details.json"), Template)
    assert template == Template(
        template_id=455,
        app_id="mRELxtHc",
        name="name",
        text="text",
        code_type=CodeType.NUMERIC,
        code_length=4,
        speech_rate=50,
        language="EN",
        max_duration=59,
        repeat_cnt=1,
        sender_id="senderId",
    )
    assert template.code_type is CodeType.NUMERIC
    assert type(template.template_id) is int


def test_template_list_example_as_array() -> None:
    """template.list's documented array decodes to a list of Template."""
    templates = strict(load("template_list.json"), list[Template])
    assert len(templates) == 1
    (template,) = templates
    assert type(template) is Template
    assert template.template_id == 455
    assert template.text == "##code## ..."
    assert template.code_type is CodeType.NUMERIC
    assert template.sender_id == "senderId"


async def test_template_list_as_single_object_is_wrapped(make_client: Any) -> None:
    """template.list documented as a single JSONObject is wrapped into a one-item list."""
    one = load("template_details.json")

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        assert request.url.path == "/otp/template/list"
        return httpx.Response(200, json={"status": "0", "reason": "success", "data": one})

    async with make_client(handler) as client:
        templates = await client.templates.list()
    assert templates == [strict(one, Template)]


async def test_template_list_as_array_through_client(make_client: Any) -> None:
    """template.list's array arrives through the client as the same list of Template."""
    body = (FIXTURES / "template_list.json").read_bytes()
    async with make_client(lambda _: httpx.Response(200, content=body)) as client:
        templates = await client.templates.list()
    assert templates == strict(load("template_list.json"), list[Template])


@pytest.mark.parametrize("name", ["flow_details.json", "flow_update.json"])
def test_flow_example(name: str) -> None:
    """flow.details / flow.update seed examples decode to Flow with enum steps."""
    flow = strict(load(name), Flow)
    assert flow.flow_id == 1
    assert flow.name == "name"
    assert flow.steps == [
        FlowStep(
            waiting_time=30,
            status=FlowTrigger.SEND_FAILED,
            channel=Channel.SMS,
            channel_cut=ChannelCut.SWITCH,
        )
    ]
    step = flow.steps[0]
    assert step.status is FlowTrigger.SEND_FAILED
    assert step.channel is Channel.SMS
    assert step.channel_cut is ChannelCut.SWITCH


def test_flow_list_example() -> None:
    """flow.list's array decodes to a list of Flow."""
    flows = strict(load("flow_list.json"), list[Flow])
    assert len(flows) == 1
    assert flows[0].flow_id == 1
    assert flows[0].steps[0].status is FlowTrigger.NOT_VERIFIED
    assert flows[0].steps[0].waiting_time == 30


def test_send_example() -> None:
    """verification.send's example decodes; no snaUrl means None."""
    result = strict(load("verification_send.json"), SendResult)
    assert result.verification_id == VID
    assert type(result.verification_id) is str
    assert result.to == PHONE
    assert result.channel is Channel.SMS
    assert result.sna_url is None


def test_verify_example() -> None:
    """verification.verify's example decodes to a MATCHED, ok result."""
    result = strict(load("verification_verify.json"), VerifyResult)
    assert result.verification_id == VID
    assert result.to == PHONE
    assert result.channel is Channel.SMS
    assert result.matched is MatchStatus.MATCHED
    assert result.ok is True


def test_record_by_verification_id_example() -> None:
    """The 4.16 record (sms as an object) decodes, with sms wrapped into a list."""
    record = strict(load("verification_record.json"), Record)
    assert record.verification_id == VID
    assert record.order_id is None
    assert record.flow_id is None
    v = record.verifications
    assert v == VerificationSummary(
        matched=MatchStatus.MATCHED,
        verified_date=cn(2022, 7, 12, 13, 39, 47),
        ori_receiver=PHONE,
        channel=Channel.SMS,
        order_id="1234566",
    )
    assert isinstance(record.sms, list)
    assert len(record.sms) == 1
    sms = record.sms[0]
    assert_aware_cn(sms.submit_tm, cn(2022, 7, 12, 13, 39, 45))
    assert_aware_cn(sms.send_tm, cn(2022, 7, 12, 13, 39, 45))
    assert_aware_cn(sms.done_tm, cn(2022, 7, 12, 13, 39, 49))
    assert (sms.mcc, sms.mnc, sms.sender, sms.charge_cnt) == (460, 10, "", 1)
    assert type(sms.pay) is Decimal
    assert sms.pay == Decimal("0.000002")
    assert str(sms.pay) == "0.000002"
    assert sms.status == 0
    assert sms.reason == "success"
    assert record.call == []
    assert record.sna == []


def test_record_by_order_id_seed_example() -> None:
    """The recordByOrderId seed example decodes field by field (arrays, Decimal, null)."""
    record = strict(load("record_by_order_id.json"), Record)
    assert record.order_id == "1234566"
    assert record.flow_id == 1
    assert record.verification_id is None
    v = record.verifications
    assert v is not None
    assert v.matched is MatchStatus.MATCHED
    assert_aware_cn(v.verified_date, cn(2022, 7, 12, 13, 39, 47))
    assert v.ori_receiver == PHONE
    assert v.channel is Channel.CALL
    assert v.order_id == "1234566"

    assert record.sms == [
        SmsAttempt(
            submit_tm=cn(2022, 7, 12, 13, 39, 45),
            send_tm=cn(2022, 7, 12, 13, 39, 45),
            done_tm=cn(2022, 7, 12, 13, 39, 49),
            mcc=460,
            mnc=10,
            sender="",
            charge_cnt=1,
            pay=Decimal("0.000002"),
            status=0,
            reason="successR",
        )
    ]
    assert type(record.sms[0].pay) is Decimal

    (call,) = record.call
    assert call.termination_code == 100005
    assert call.termination_reason == "Temporarily Unavailable"
    assert_aware_cn(call.submit_time, cn(2022, 7, 12, 13, 59, 55))
    for t in (call.call_time, call.ringing_time, call.answer_time, call.hangup_time):
        assert_aware_cn(t, cn(2022, 7, 12, 13, 59, 56))
    assert call.call_duration == 0
    assert call.charged_duration == 0
    assert call.display_num is None
    assert call.bill_periodstring == "20+20"
    assert call.code == "661"
    assert type(call.code) is str
    assert type(call.rate) is Decimal
    assert call.rate == Decimal("0.138")
    assert type(call.cost) is Decimal
    assert call.cost == Decimal("0")
    assert record.sna == []


def test_sna_attempts_decode() -> None:
    """sna items decode with aware times and integer status/network codes."""
    record = strict(
        {
            "verificationId": VID,
            "sna": [
                {
                    "postVerificationTime": "2022-07-12T13:39:45+08:00",
                    "verificationBackTime": "2022-07-12T13:39:46+08:00",
                    "mcc": 460,
                    "mnc": 1,
                    "status": 0,
                    "reason": "success",
                }
            ],
        },
        Record,
    )
    assert record.sna == [
        SnaAttempt(
            post_verification_time=cn(2022, 7, 12, 13, 39, 45),
            verification_back_time=cn(2022, 7, 12, 13, 39, 46),
            mcc=460,
            mnc=1,
            status=0,
            reason="success",
        )
    ]


# -- decoding rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected_offset"),
    [
        ("2022-07-12T13:39:47+08:00", timedelta(hours=8)),
        ("2022-07-12T13:39:47", timedelta(hours=8)),
        ("2022-07-12 13:39:47", timedelta(hours=8)),
        ("2022-07-12T13:39:47Z", timedelta(0)),
        ("2022-07-12T13:39:47+00:00", timedelta(0)),
        ("2022-07-12T13:39:47-05:00", timedelta(hours=-5)),
    ],
)
def test_times_are_aware(text: str, expected_offset: timedelta) -> None:
    """Offsets are kept; a naive time reads as +08:00; Z reads as UTC."""
    record = structure({"verifications": {"verifiedDate": text}}, Record)
    assert record.verifications is not None
    value = record.verifications.verified_date
    assert isinstance(value, datetime)
    assert value.utcoffset() == expected_offset
    assert (value.hour, value.minute, value.second) == (13, 39, 47)


#: Forms servers send (Java trims trailing zeros of fractions, offsets come without a
#: colon or minutes, or as Z) and the instant each stands for.
SERVER_TIME_FORMS = [
    ("2022-07-12T13:39:47.12+08:00", "2022-07-12T13:39:47.120000+08:00"),
    ("2022-07-12T13:39:47.1234567+08:00", "2022-07-12T13:39:47.123456+08:00"),
    ("2022-07-12T13:39:47+0800", "2022-07-12T13:39:47+08:00"),
    ("2022-07-12T13:39:47+08", "2022-07-12T13:39:47+08:00"),
    ("2022-07-12T13:39:47Z", "2022-07-12T13:39:47+00:00"),
    ("2022-07-12 13:39:47,5Z", "2022-07-12T13:39:47.500000+00:00"),
    ("2022-07-12T13:39-0500", "2022-07-12T13:39:00-05:00"),
]


@pytest.mark.parametrize(("text", "rewritten"), SERVER_TIME_FORMS)
def test_server_time_forms_decode_on_every_python(text: str, rewritten: str) -> None:
    """Trimmed fractions, offsets without a colon and Z decode to the same instant."""
    assert parse_datetime(text) == datetime.fromisoformat(rewritten)


@pytest.mark.parametrize("text", ["yesterday", "2022-07-12T25:00:00+08:00", "12:00"])
def test_bad_times_are_still_rejected(text: str) -> None:
    """Text that is no ISO time fails to parse (and so becomes a DecodeError upstream)."""
    with pytest.raises(ValueError):  # noqa: PT011 - datetime's own error
        parse_datetime(text)


def test_naive_and_offset_times_are_the_same_instant() -> None:
    """A naive wire time is the same instant as the same time with +08:00."""
    assert parse_datetime("2022-07-12T13:39:47") == parse_datetime("2022-07-12T13:39:47+08:00")
    assert parse_datetime("2022-07-12T05:39:47Z") == parse_datetime("2022-07-12T13:39:47+08:00")


def test_empty_time_is_none() -> None:
    """An empty time string and a null both decode to None."""
    record = structure({"sms": [{"submitTm": "", "sendTm": None}]}, Record)
    assert record.sms[0].submit_tm is None
    assert record.sms[0].send_tm is None


@pytest.mark.parametrize("value", ["0.138", 0.138, "  0.138 "])
def test_money_is_decimal(value: object) -> None:
    """rate arrives as a string (documented) or a number and is an exact Decimal."""
    call = structure({"rate": value}, CallAttempt)
    assert type(call.rate) is Decimal
    assert call.rate == Decimal("0.138")


@pytest.mark.parametrize("field", ["sms", "call", "sna"])
def test_attempts_are_always_lists(field: str) -> None:
    """sms/call/sna: an object is wrapped, an array is kept, null and absent are []."""
    item_type = {"sms": SmsAttempt, "call": CallAttempt, "sna": SnaAttempt}[field]
    as_object = strict({field: {"mcc": 460} if field != "call" else {"code": "661"}}, Record)
    as_array = strict({field: [{}, {}]}, Record)
    as_null = strict({field: None}, Record)
    absent = strict({}, Record)
    wrapped = getattr(as_object, field)
    assert isinstance(wrapped, list)
    assert len(wrapped) == 1
    assert type(wrapped[0]) is item_type
    assert getattr(as_array, field) == [item_type(), item_type()]
    assert getattr(as_null, field) == []
    assert getattr(absent, field) == []


@pytest.mark.parametrize("cls", [SendResult, VerifyResult, Record])
def test_twenty_digit_verification_id_stays_exact_str(
    cls: type[SendResult | VerifyResult | Record],
) -> None:
    """A 20-digit verificationId stays the exact string, even when sent as a JSON number."""
    from_string = structure(json.loads('{"verificationId": "22206051443051000003"}'), cls)
    from_number = structure(json.loads('{"verificationId": 22206051443051000003}'), cls)
    for obj in (from_string, from_number):
        assert type(obj.verification_id) is str
        assert obj.verification_id == VID
    leading_zero = structure({"verificationId": "00006051443051000003"}, cls)
    assert leading_zero.verification_id == "00006051443051000003"


def test_null_fields_are_none() -> None:
    """Documented nulls (displayNum) and absent optional fields decode to None."""
    call = strict({"displayNum": None, "code": "661"}, CallAttempt)
    assert call.display_num is None
    assert call.rate is None
    assert call.termination_code is None
    template = strict({"templateId": 1, "senderId": None, "codeType": None}, Template)
    assert template.sender_id is None
    assert template.code_type is None


def test_unknown_fields_ignored_by_default_rejected_when_strict() -> None:
    """Extra wire keys are ignored in production and rejected by the strict converter."""
    data = {"flowId": 1, "name": "n", "flow": [], "createdBy": "someone"}
    assert structure(data, Flow) == Flow(flow_id=1, name="n", steps=[])
    with pytest.raises(ForbiddenExtraKeysError, match=r"Flow: createdBy$"):
        strict(data, Flow)
    nested = {"flowId": 1, "flow": [{"waitingTime": 30, "status": 1, "channel": "sms", "x": 1}]}
    assert structure(nested, Flow).steps[0].waiting_time == 30
    with pytest.raises(ForbiddenExtraKeysError, match=r"FlowStep: x$"):
        strict(nested, Flow)


def test_strict_and_lenient_converters_are_distinct() -> None:
    """get_converter(strict=True) is a different converter from the default one."""
    assert get_converter(strict=True) is not get_converter()
    assert get_converter() is get_converter()


@pytest.mark.parametrize(
    ("data", "cls", "attr", "enum_cls", "value"),
    [
        ({"templateId": 1, "codeType": 9}, Template, "code_type", CodeType, 9),
        (
            {"verificationId": VID, "channel": "whatsapp"},
            SendResult,
            "channel",
            Channel,
            "whatsapp",
        ),
        ({"matched": 7}, VerifyResult, "matched", MatchStatus, 7),
        ({"matched": -9}, VerificationSummary, "matched", MatchStatus, -9),
        (
            {"waitingTime": 30, "status": 3, "channel": "sms", "channelCut": 0},
            FlowStep,
            "status",
            FlowTrigger,
            3,
        ),
        (
            {"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 5},
            FlowStep,
            "channel_cut",
            ChannelCut,
            5,
        ),
        ({"enabled": True, "unit": 9}, SendLimit, "unit", PeriodUnit, 9),
    ],
)
def test_unknown_enum_values_are_kept(
    data: dict[str, Any], cls: type, attr: str, enum_cls: type[enum.Enum], value: object
) -> None:
    """An enum value the SDK does not know survives as a member of the enum, not a failure."""
    obj = strict(data, cls)
    member = getattr(obj, attr)
    assert isinstance(member, enum_cls)
    assert member.value == value
    assert member == value
    assert member.name.startswith("UNKNOWN_")
    wire = unstructure(obj)
    assert value in wire.values()


def test_known_enum_values_are_canonical_members() -> None:
    """Known values decode to the very enum members (identity), strings case-insensitively."""
    result = structure({"verificationId": VID, "channel": "SMS", "matched": "0"}, VerifyResult)
    assert result.channel is Channel.SMS
    assert result.matched is MatchStatus.MATCHED


ALL_MODELS = [
    SendLimit,
    App,
    Template,
    FlowStep,
    Flow,
    SendResult,
    VerifyResult,
    Record,
    VerificationSummary,
    SmsAttempt,
    CallAttempt,
    SnaAttempt,
]


@pytest.mark.parametrize("cls", ALL_MODELS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("value", ["not an object", ["x"], 7, True])
def test_non_objects_never_decode_into_models(cls: type, value: object) -> None:
    """A string, list or number is a TypeError for every model, never an all-None model."""
    with pytest.raises(TypeError, match=f"object for {cls.__name__}"):
        structure(value, cls)


@pytest.mark.parametrize(
    "data",
    [
        {"verifications": "abc"},
        {"verifications": ["abc"]},
        {"sms": ["junk"]},
        {"call": [1]},
        {"sna": "junk"},
    ],
)
def test_nested_non_objects_are_rejected(data: dict[str, Any]) -> None:
    """Junk nested inside a record is rejected instead of becoming empty attempts."""
    with pytest.raises(TypeError):
        structure(data, Record)


def test_wrong_enum_type_raises() -> None:
    """A value of the wrong type for an enum (an object for a channel) is a decode failure."""
    with pytest.raises((TypeError, ValueError)):
        structure({"verificationId": VID, "channel": {"x": 1}}, SendResult)


# -- strict integers, integer enums and booleans ------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("7", 7),
        ("455", 455),
        ("-1", -1),
        ("-16", -16),
        ("10000000000", 10_000_000_000),
        ("9223372036854775807", 2**63 - 1),
        ("22206051443051000003", 22206051443051000003),
    ],
)
def test_parse_int_text_reads_canonical_integers(text: str, expected: int) -> None:
    """ASCII digits with an optional minus and no leading zero are read exactly."""
    assert parse_int_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-",
        "+0",
        "+1",
        "00",
        "007",
        "-0",
        "-07",
        "--1",
        "٠",
        "١٢",
        "０",
        "１２",
        "²",
        "1_6",
        "-1_6",
        " 1",
        "1 ",
        "1\n",
        "1 2",
        "\t0",
        "1.0",
        "1e3",
        "0x10",
        "one",
        "1" * 41,
    ],
)
def test_parse_int_text_refuses_everything_int_would_stretch_to(text: str) -> None:
    """Signs, leading zeros, Unicode digits, underscores and spaces are not integer text."""
    assert parse_int_text(text) is None


@pytest.mark.parametrize("value", [4, "4"])
def test_integer_fields_take_ints_and_canonical_digit_strings(value: object) -> None:
    """An Int field reads a JSON integer or its canonical digit string as an exact int."""
    template = structure({"templateId": 455, "codeLength": value}, Template)
    assert template.code_length == 4
    assert type(template.code_length) is int


@pytest.mark.parametrize(
    "value", [True, False, 4.0, 0.0, 4.5, "4.0", "+4", "04", " 4", "4 ", "٤", "4_0", "", None]
)
def test_integer_fields_refuse_booleans_floats_and_stretched_text(value: object) -> None:
    """Booleans, floats (even whole ones) and non-canonical strings are decode failures."""
    data = {"templateId": 455, "codeLength": value}
    if value is None:
        assert structure(data, Template).code_length is None
        return
    with pytest.raises((TypeError, ValueError)):
        structure(data, Template)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, MatchStatus.MATCHED),
        ("0", MatchStatus.MATCHED),
        (-1, MatchStatus.NOT_VERIFIED),
        ("-1", MatchStatus.NOT_VERIFIED),
        (2, MatchStatus.FAILED),
        ("5", MatchStatus.EXPIRED),
    ],
)
def test_match_status_reads_ints_and_canonical_strings(value: object, expected: object) -> None:
    """matched as a JSON integer or a canonical digit string is the very member."""
    assert structure({"matched": value}, VerifyResult).matched is expected


@pytest.mark.parametrize(
    "value", [False, True, 0.0, 2.0, 1.5, "+0", "00", "-0", "٠", " 0", "0 ", "1_0", "", []]
)
def test_match_status_refuses_booleans_floats_and_stretched_text(value: object) -> None:
    """false is not MATCHED, true is not SENDING, 0.0 and "+0" are not MATCHED: all fail."""
    with pytest.raises((TypeError, ValueError)):
        structure({"matched": value}, VerifyResult)


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (Template, {"codeType": False}),
        (Template, {"codeType": 1.0}),
        (FlowStep, {"waitingTime": 30, "status": True, "channel": "sms"}),
        (FlowStep, {"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": False}),
        (FlowStep, {"waitingTime": 30.0, "status": 1, "channel": "sms"}),
        (SendLimit, {"enabled": True, "unit": True}),
        (SendLimit, {"enabled": True, "unit": "01"}),
        (SendLimit, {"enabled": True, "limit": 1e10}),
        (SmsAttempt, {"status": False}),
        (CallAttempt, {"terminationCode": "1_00005"}),
    ],
)
def test_every_int_and_int_enum_field_is_strict(cls: type, data: dict[str, Any]) -> None:
    """The strict rule holds for every integer enum and plain integer, nested or not."""
    with pytest.raises((TypeError, ValueError)):
        structure(data, cls)


def test_unknown_integer_enum_values_are_still_kept_from_strings() -> None:
    """A canonical digit string of an unknown value becomes a kept pseudo-member."""
    member = structure({"matched": "9"}, VerifyResult).matched
    assert isinstance(member, MatchStatus)
    assert member.value == 9
    assert member.name == "UNKNOWN_9"


@pytest.mark.parametrize(
    ("cls", "value", "expected"),
    [
        (MatchStatus, "0", MatchStatus.MATCHED),
        (MatchStatus, "-1", MatchStatus.NOT_VERIFIED),
        (CodeType, "4", CodeType.HEX),
        (CodeType, "7", 7),
        (PeriodUnit, "-3", -3),
    ],
)
def test_open_int_enums_read_canonical_strings(
    cls: type[enum.IntEnum], value: str, expected: int
) -> None:
    """Calling an open int enum with canonical integer text finds or keeps the value."""
    member = cls(value)  # type: ignore[arg-type]  # mypy types IntEnum(value) as int only
    assert isinstance(member, cls)
    assert member == expected
    assert type(member.value) is int


@pytest.mark.parametrize(
    ("cls", "value"),
    [
        (MatchStatus, " 0"),
        (MatchStatus, "+0"),
        (MatchStatus, "00"),
        (MatchStatus, "٠"),
        (CodeType, "+1"),
        (CodeType, "01"),
        (CodeType, "1_0"),
        (CodeType, "١"),
        (CodeType, False),
        (CodeType, 7.0),
        (CodeType, "x"),
    ],
)
def test_open_int_enums_refuse_non_canonical_values(cls: type, value: object) -> None:
    """An open int enum keeps unknown integers, never stretched text, booleans or floats."""
    with pytest.raises(ValueError, match="is not a valid"):
        cls(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("1", True),
        ("0", False),
        ("true", True),
        ("false", False),
    ],
)
def test_lenient_booleans_read_the_right_way_round(value: object, expected: bool) -> None:
    """enabled reads true/false, 1/0, "1"/"0" and "true"/"false", each as itself."""
    limit = structure({"enabled": value}, SendLimit)
    assert limit.enabled is expected


@pytest.mark.parametrize(
    "value", [2, -1, 1.0, 0.0, "2", "yes", "no", "True", "FALSE", "", " 1", [], {}]
)
def test_other_boolean_values_fail(value: object) -> None:
    """Anything but the eight accepted spellings of a boolean is a decode failure."""
    with pytest.raises(TypeError, match="expected a boolean"):
        structure({"enabled": value}, SendLimit)


@pytest.mark.parametrize("matched", ["false", "true", "0.0", "2.0", '"+0"', '"٠"'])
async def test_stretched_matched_through_the_client_is_a_decode_error(
    make_client: Any, matched: str
) -> None:
    """A verify answer with matched false/true/0.0 raises DecodeError instead of a verdict."""
    body = (
        '{"status":"0","reason":"success","data":{"verificationId":"' + VID + '",'
        '"to":"' + PHONE + '","channel":"sms","matched":' + matched + "}}"
    ).encode()
    async with make_client(lambda _: httpx.Response(200, content=body)) as client:
        with pytest.raises(DecodeError, match="VerifyResult"):
            await client.verifications.verify(VID, "1234")


# -- encoding -----------------------------------------------------------------------------


def test_unstructure_flow_step_is_camel_case() -> None:
    """A FlowStep encodes to the documented node with camelCase keys and plain values."""
    step = FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)
    wire = unstructure(step)
    assert wire == {"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0}
    assert type(wire["status"]) is int
    assert type(wire["channel"]) is str
    assert type(wire["channelCut"]) is int
    assert json.dumps(wire) == (
        '{"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0}'
    )


def test_unstructure_flow_uses_flow_key_for_steps() -> None:
    """A Flow encodes its steps under the wire name ``flow`` and round-trips."""
    flow = Flow(
        flow_id=1,
        name="name",
        steps=[
            FlowStep(
                waiting_time=60,
                status=FlowTrigger.NOT_VERIFIED,
                channel=Channel.CALL,
                channel_cut=ChannelCut.NO_SWITCH,
            )
        ],
    )
    wire = unstructure(flow)
    assert wire == {
        "flowId": 1,
        "name": "name",
        "flow": [{"waitingTime": 60, "status": 2, "channel": "call", "channelCut": 1}],
    }
    assert "steps" not in wire
    assert strict(wire, Flow) == flow


def test_documented_examples_round_trip() -> None:
    """Decoding then encoding a documented Flow example gives the example back."""
    data = load("flow_details.json")
    assert unstructure(strict(data, Flow)) == data


# -- model properties -----------------------------------------------------------------------

MODEL_INSTANCES: list[Any] = [
    SendLimit(enabled=False),
    App(app_id="mRELxtHc"),
    Template(template_id=1),
    FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS),
    Flow(flow_id=1),
    SendResult(verification_id=VID, to=PHONE),
    VerifyResult(verification_id=VID, to=PHONE),
    Record(),
    VerificationSummary(ori_receiver=PHONE),
    SmsAttempt(),
    CallAttempt(),
    SnaAttempt(),
    RecordFound(order_id="1", record=Record()),
    LookupFailed(order_id="2", error=ItnioError("failed")),
]


@pytest.mark.parametrize("obj", MODEL_INSTANCES, ids=lambda o: type(o).__name__)
def test_models_are_frozen_and_slotted(obj: Any) -> None:
    """Every model refuses assignment and has no per-instance __dict__."""
    first = attrs.fields(type(obj))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(obj, first, None)
    assert not hasattr(obj, "__dict__")
    with pytest.raises((AttributeError, TypeError)):
        obj.not_a_field = 1


@pytest.mark.parametrize("matched", [*MatchStatus, None, MatchStatus(7)])
def test_verify_result_ok_only_for_matched(matched: MatchStatus | None) -> None:
    """VerifyResult.ok is true for MATCHED and false for every other outcome."""
    result = VerifyResult(verification_id=VID, matched=matched)
    assert result.ok is (matched is MatchStatus.MATCHED)


def test_phone_numbers_masked_in_reprs() -> None:
    """SendResult.to, VerifyResult.to and VerificationSummary.ori_receiver show 4 digits."""
    record = strict(load("record_by_order_id.json"), Record)
    objs = [
        strict(load("verification_send.json"), SendResult),
        strict(load("verification_verify.json"), VerifyResult),
        record.verifications,
        record,
    ]
    for obj in objs:
        text = repr(obj)
        assert PHONE not in text
        assert "*******1412" in text
        assert str(obj) == text
    # The value itself is intact; only its display is masked.
    assert objs[0].to == PHONE


def test_short_or_missing_phone_reprs() -> None:
    """A missing number shows as None and a very short one is fully masked."""
    assert "to=None" in repr(SendResult(verification_id=VID))
    assert "1234" not in repr(SendResult(verification_id=VID, to="1234"))


# -- the converter explains every refusal, exactly -------------------------------------------


@pytest.mark.parametrize(
    ("hook", "value", "error", "message"),
    [
        (_parse_int, True, TypeError, "expected an integer, got a boolean"),
        (_parse_int, 2.0, TypeError, "expected an integer, got float"),
        (_parse_int, "x" * 50, ValueError, "not an integer: '" + "x" * 40 + "'"),
        (_parse_decimal, [1], TypeError, "expected a decimal string, got list"),
        (_parse_decimal, True, TypeError, "expected a decimal string, got bool"),
        (_parse_decimal, "y" * 50, ValueError, "not a decimal: '" + "y" * 40 + "'"),
        (_parse_decimal, "-" + "9" * 49, ValueError, None),
        (_parse_decimal, "Infinity" + " " * 50, ValueError, "not a finite decimal: 'Infinity'"),
        (
            _parse_decimal,
            "NaN" + "1" * 45,
            ValueError,
            "not a finite decimal: 'NaN" + "1" * 37 + "'",
        ),
        (_parse_str, [1], TypeError, "expected a string, got list"),
        (_parse_str, {"a": 1}, TypeError, "expected a string, got dict"),
        (_parse_str, True, TypeError, "expected a string, got bool"),
        (_parse_str, None, TypeError, "expected a string, got NoneType"),
        (_parse_bool, [True], TypeError, "expected a boolean, got list"),
        (lambda v, _: parse_datetime(v), 7, TypeError, "expected an ISO-8601 string, got int"),
    ],
)
def test_each_hook_names_what_it_refused(
    hook: Any, value: Any, error: type[Exception], message: str | None
) -> None:
    """Each decoding hook refuses a value of the wrong kind with its own exception type and a
    message naming what it got (text cut to 40 characters)."""
    if message is None:  # a valid decimal: no refusal
        assert hook(value, Decimal) == Decimal(value)
        return
    with pytest.raises(error) as info:
        hook(value, object)
    assert str(info.value) == message


@pytest.mark.parametrize("value", [[VID], {"id": VID}, True, None])
def test_a_string_field_refuses_lists_objects_booleans_and_null(value: Any) -> None:
    """verificationId takes a string or a number, never a list, an object or a boolean."""
    with pytest.raises((TypeError, ValueError)):
        structure({"verificationId": value, "to": PHONE}, SendResult)


def test_an_aware_datetime_passes_through_and_a_naive_one_gets_the_wire_offset() -> None:
    """A datetime given to the time hook keeps its offset; a naive one is read at +08:00."""
    aware = datetime(2022, 7, 12, 5, 39, 47, tzinfo=UTC)
    assert parse_datetime(aware) is aware
    assert_aware_cn(parse_datetime(datetime(2022, 7, 12, 13, 39, 47)), cn(2022, 7, 12, 13, 39, 47))


def test_the_longest_integer_text_is_forty_digits() -> None:
    """Canonical integer text of up to 40 characters is read; 41 is refused unread."""
    assert parse_int_text("1" + "0" * 39) == 10**39
    assert parse_int_text("-" + "1" * 39) == -int("1" * 39)
    assert parse_int_text("1" + "0" * 40) is None


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("code_expiry", "codeExpiry"),
        ("bill_periodstring", "billPeriodstring"),
        ("sna_url", "snaUrl"),
        ("period_total_send_limit", "periodTotalSendLimit"),
        ("x_y", "xY"),
        ("name", "name"),
    ],
)
def test_camel(name: str, wire: str) -> None:
    """Attribute names become wire names mechanically: each part after the first capitalised."""
    assert camel(name) == wire


@pytest.mark.parametrize("shape", ["object", "list", "null", "absent"])
def test_attempt_lists_through_a_fresh_converter(shape: str) -> None:
    """sms is always a list: an object is wrapped, a list kept, null and absent are []."""
    attempt = {"mcc": "460", "status": 0}
    data: dict[str, Any] = {"verificationId": VID}
    if shape != "absent":
        data["sms"] = {"object": attempt, "list": [attempt, attempt], "null": None}[shape]
    record = structure(data, Record)
    expected = {"object": 1, "list": 2, "null": 0, "absent": 0}[shape]
    assert len(record.sms) == expected
    assert all(isinstance(item, SmsAttempt) and item.mcc == 460 for item in record.sms)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sms", "expected an array or object, got str"),
        (7, "expected an array or object, got int"),
        ([[{}]], "expected an object for SmsAttempt, got list"),
    ],
)
def test_attempt_lists_refuse_anything_else(value: Any, message: str) -> None:
    """sms as a string, a number, or a list of non-objects is a decode failure, with a message
    naming what it got."""
    with pytest.raises(TypeError) as info:
        structure({"verificationId": VID, "sms": value}, Record)
    assert str(info.value) == message


def test_a_model_refuses_a_non_object_naming_both() -> None:
    """A model given a list says which model wanted an object and what it got."""
    with pytest.raises(TypeError) as info:
        structure([1], Flow)
    assert str(info.value) == "expected an object for Flow, got list"


def test_structure_strict_forbids_unknown_keys() -> None:
    """structure(strict=True) refuses an unknown key that the default converter ignores."""
    data = {"flowId": 1, "name": "n", "flow": [], "surprise": 1}
    assert structure(data, Flow).flow_id == 1
    with pytest.raises(ForbiddenExtraKeysError):
        structure(data, Flow, strict=True)


def test_unstructure_writes_times_as_iso_and_money_as_strings() -> None:
    """Encoding a model writes times in ISO-8601 with a 'T' and offset, money as exact text."""
    attempt = SmsAttempt(submit_tm=cn(2022, 7, 12, 13, 39, 45), pay=Decimal("0.0035"))
    wire = unstructure(attempt)
    assert wire["submitTm"] == "2022-07-12T13:39:45+08:00"
    assert wire["pay"] == "0.0035"


# -- the production converter's generated hooks decode as cattrs' own do ------------------------

#: A documented answer's ``data`` per model (a fixture's whole object, or the part of it
#: the model reads).
_SHAPES: list[tuple[type[Any], str, tuple[str, ...]]] = [
    (App, "app_details.json", ()),
    (Template, "template_details.json", ()),
    (Flow, "flow_details.json", ()),
    (FlowStep, "flow_details.json", ("flow", 0)),  # type: ignore[list-item]
    (SendLimit, "app_details.json", ("periodTotalSendLimit",)),
    (Record, "record_by_order_id.json", ()),
    (Record, "verification_record.json", ()),
    (VerificationSummary, "record_by_order_id.json", ("verifications",)),
    (SmsAttempt, "record_by_order_id.json", ("sms", 0)),  # type: ignore[list-item]
    (CallAttempt, "record_by_order_id.json", ("call", 0)),  # type: ignore[list-item]
]


def _shape(name: str, path: tuple[Any, ...]) -> dict[str, Any]:
    data: Any = json.loads((FIXTURES / name).read_text())["data"]
    for step in path:
        data = data[step]
    assert isinstance(data, dict)
    return data


def _outcome(data: Any, cls: type[Any], *, strict: bool) -> Any:
    try:
        return structure(data, cls, strict=strict)
    except Exception as exc:
        return ("failed", type(exc) in (TypeError, ValueError, KeyError))


@pytest.mark.parametrize(("cls", "name", "path"), _SHAPES, ids=lambda x: getattr(x, "__name__", x))
def test_generated_hooks_decode_every_subset_of_a_shape_as_cattrs_does(
    cls: type[Any], name: str, path: tuple[Any, ...]
) -> None:
    """For each documented shape, every answer made by leaving out one or two of its keys,
    or by setting them to null, decodes into the same model (or fails alike) with the
    production converter's generated hooks as with cattrs' own (the strict converter,
    which differs only in refusing unknown keys)."""
    full = _shape(name, path)
    keys = list(full)
    variants: list[dict[str, Any]] = [full]
    for i, first in enumerate(keys):
        variants.append({k: v for k, v in full.items() if k != first})
        variants.append({**full, first: None})
        for second in keys[i + 1 :]:
            variants.append({k: v for k, v in full.items() if k not in (first, second)})
    variants.append({})
    for variant in variants:
        lean = _outcome(variant, cls, strict=False)
        reference = _outcome(variant, cls, strict=True)
        assert lean == reference, (cls.__name__, variant)
