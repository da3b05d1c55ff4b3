"""The pure argument checks of ``_validation``: boundaries on both sides and the messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from itnio_async import (
    Channel,
    ChannelCut,
    FlowStep,
    FlowTrigger,
    ItnioError,
    PeriodUnit,
    SendLimit,
    ValidationError,
)
from itnio_async import _validation as v

CST = timezone(timedelta(hours=8))
VID = "22206051443051000003"


def test_validation_error_is_a_value_error_naming_argument_rule_value() -> None:
    """The message reads 'argument must be rule; got value' and the class is a ValueError."""
    with pytest.raises(ValidationError) as info:
        v.check_name("name", "abc")
    error = info.value
    assert isinstance(error, ValueError)
    assert isinstance(error, ItnioError)
    assert error.argument == "name"
    assert error.rule == "between 4 and 32 characters"
    assert str(error) == "name must be between 4 and 32 characters; got 'abc' (3 characters)"


# -- strings, names and ids --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"), [("a" * 3, False), ("a" * 4, True), ("a" * 32, True), ("a" * 33, False)]
)
def test_name_length_boundaries(value: str, ok: bool) -> None:
    """Names of 4 and 32 characters pass; 3 and 33 fail."""
    if ok:
        assert v.check_name("name", value) == value
    else:
        with pytest.raises(ValidationError, match="between 4 and 32 characters"):
            v.check_name("name", value)


@pytest.mark.parametrize("value", ["abcd", "x" * 32, "mRELxtHc"])
def test_app_id_passes(value: str) -> None:
    """App ids of 4–32 characters pass unchanged."""
    assert v.check_app_id("app_id", value) == value


@pytest.mark.parametrize("value", ["", "  ", "    ", "abc", "x" * 33, 12345678, None, True])
def test_app_id_rejected(value: Any) -> None:
    """Empty, blank, too short, too long and non-string app ids fail."""
    with pytest.raises(ValidationError) as info:
        v.check_app_id("app_id", value)
    assert info.value.argument == "app_id"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(1, "1"), ("455", "455"), ("a b/c", "a%20b%2Fc"), ("x?y#z%", "x%3Fy%23z%25"), ("é", "%C3%A9")],
)
def test_path_id_percent_encodes(value: Any, encoded: str) -> None:
    """Path ids accept int | str and are fully percent-encoded (no '/' left)."""
    assert v.path_id("flow_id", value) == encoded


@pytest.mark.parametrize("value", ["", " ", "  \t", None, True, False, 1.0, b"1"])
def test_path_id_rejects_empty_and_non_ids(value: Any) -> None:
    """Empty or blank strings, booleans and other types are not path ids."""
    with pytest.raises(ValidationError, match="flow_id"):
        v.path_id("flow_id", value)


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (455, 455), ("455", 455), (" 7 ", 7)])
def test_int_id_sends_json_ints(value: Any, expected: int) -> None:
    """Ints and ASCII digit strings become JSON integers."""
    result = v.int_id("template_id", value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", ["", "  ", "abc", "4.5", "-1", -1, "²", "١٢", True, 4.0, None])
def test_int_id_rejects_non_ids(value: Any) -> None:
    """Non-digit strings, Unicode digits, negatives, booleans and floats fail cleanly."""
    with pytest.raises(ValidationError, match="template_id"):
        v.int_id("template_id", value)


@pytest.mark.parametrize(("value", "expected"), [(VID, VID), (int(VID), VID)])
def test_verification_id_is_always_a_string(value: Any, expected: str) -> None:
    """A 20-digit id stays exact and is a str whether given as str or int."""
    result = v.verification_id("verification_id", value)
    assert result == expected
    assert type(result) is str


@pytest.mark.parametrize("value", ["", "   ", None, True, 1.5])
def test_verification_id_rejects_empty(value: Any) -> None:
    """Empty and blank ids, booleans and floats fail."""
    with pytest.raises(ValidationError, match="verification_id"):
        v.verification_id("verification_id", value)


@pytest.mark.parametrize(
    ("value", "ok"), [("", False), ("  ", False), ("1", True), ("o" * 64, True), ("o" * 65, False)]
)
def test_lookup_order_id_boundaries(value: str, ok: bool) -> None:
    """Lookups need an order id of 1–64 characters that is not blank."""
    if ok:
        assert v.lookup_order_id("order_id", value) == value
    else:
        with pytest.raises(ValidationError, match="order_id"):
            v.lookup_order_id("order_id", value)


@pytest.mark.parametrize(("value", "ok"), [("", True), ("o" * 64, True), ("o" * 65, False)])
def test_send_order_id_at_most_64(value: str, ok: bool) -> None:
    """At send time an order id may be 0–64 characters."""
    if ok:
        assert v.check_str("order_id", value, 0, 64) == value
    else:
        with pytest.raises(ValidationError, match="at most 64 characters"):
            v.check_str("order_id", value, 0, 64)


@pytest.mark.parametrize("value", ["", "  ", 1, None])
def test_check_text_needs_a_non_empty_string(value: Any) -> None:
    """Free-form fields (language, sender id) must be non-empty strings."""
    with pytest.raises(ValidationError, match="sender_id"):
        v.check_text("sender_id", value)


# -- integers and enums ------------------------------------------------------------

RANGES = [
    ("code_expiry", 1, 60),
    ("code_length", 4, 10),
    ("speech_rate", 0, 100),
    ("max_duration", 5, 599),
    ("repeat_cnt", 1, 10),
    ("waiting_time", 30, 120),
    ("period", 1, 90),
    ("limit", 1, 10_000_000_000),
]


@pytest.mark.parametrize(("argument", "lo", "hi"), RANGES)
def test_int_ranges_both_sides(argument: str, lo: int, hi: int) -> None:
    """Each documented integer range accepts its ends and rejects one past them."""
    assert v.check_int(argument, lo, lo, hi) == lo
    assert v.check_int(argument, hi, lo, hi) == hi
    for bad in (lo - 1, hi + 1):
        with pytest.raises(ValidationError) as info:
            v.check_int(argument, bad, lo, hi)
        assert info.value.argument == argument
        assert f"between {lo} and {hi}" in str(info.value)
        assert str(bad) in str(info.value)


@pytest.mark.parametrize("value", [True, False, 5.0, "5", None])
def test_booleans_and_other_types_are_not_ints(value: Any) -> None:
    """True/False are not integers here, nor are floats or digit strings."""
    with pytest.raises(ValidationError, match="an integer between 1 and 60"):
        v.check_int("code_expiry", value, 1, 60)


def test_check_choice_accepts_members_and_values() -> None:
    """An enum member, its raw value or its case-insensitive string are accepted."""
    allowed = v.SEND_CHANNELS
    assert v.check_choice("channel", Channel.SNA, Channel, allowed) is Channel.SNA
    assert v.check_choice("channel", "call", Channel, allowed) is Channel.CALL
    assert v.check_choice("channel", "SMS", Channel, allowed) is Channel.SMS
    assert v.check_choice("unit", 4, PeriodUnit, list(PeriodUnit)) is PeriodUnit.SECOND


@pytest.mark.parametrize("value", ["sna", Channel.SNA, "email", "", 1, None, True])
def test_flow_channels_are_sms_or_call_only(value: Any) -> None:
    """A flow step's channel must be sms or call; sna and anything else fail."""
    with pytest.raises(ValidationError, match=r"one of 'sms', 'call'|one of 'call', 'sms'"):
        v.check_choice("channel", value, Channel, v.FLOW_CHANNELS)


# -- phone numbers and codes -------------------------------------------------------


@pytest.mark.parametrize("value", ["1" * 10, "9" * 14, "91856321412"])
def test_phone_boundaries_pass(value: str) -> None:
    """Numbers of 10 to 14 ASCII digits pass."""
    assert v.phone("to", value) == value


@pytest.mark.parametrize(
    "value",
    ["1" * 9, "1" * 15, "+91856321412", "91 856321412", "9185632141a", "٩١٨٥٦٣٢١٤١٢", ""],
)
def test_phone_rejected_and_masked(value: str) -> None:
    """Bad numbers fail and the message shows at most their last 4 characters."""
    with pytest.raises(ValidationError) as info:
        v.phone("to", value)
    message = str(info.value)
    assert "10 to 14 digits" in message
    if len(value) > 4:
        assert value not in message
        assert value[:-4] not in message
        assert value[-4:] in message


def test_phone_of_wrong_type_shows_only_the_type() -> None:
    """An int number is rejected and not echoed."""
    with pytest.raises(ValidationError) as info:
        v.phone("to", 91856321412)
    assert "91856321412" not in str(info.value)
    assert "int" in str(info.value)


@pytest.mark.parametrize(("lo", "hi"), [(1, 10), (4, 10)])
def test_code_boundaries_and_secrecy(lo: int, hi: int) -> None:
    """send_code (1–10) and verify (4–10) codes: ends pass, one past fails, code never shown."""
    assert v.code("code", "7" * lo, lo, hi) == "7" * lo
    assert v.code("code", "7" * hi, lo, hi) == "7" * hi
    for bad in ("5" * (lo - 1), "5" * (hi + 1)):
        with pytest.raises(ValidationError) as info:
            v.code("code", bad, lo, hi)
        message = str(info.value)
        assert f"between {lo} and {hi} characters" in message
        assert f"a code of {len(bad)} characters" in message
        assert "55" not in message


def test_blank_code_rejected() -> None:
    """A code of spaces is not a code."""
    with pytest.raises(ValidationError, match="code"):
        v.code("code", "    ", 4, 10)


# -- templates ---------------------------------------------------------------------


@pytest.mark.parametrize("value", ["##code##", "Your code: ##code##", "##code##" + "x" * 248])
def test_template_text_passes(value: str) -> None:
    """Text of up to 256 characters containing ##code## passes."""
    assert v.template_text("text", value) == value


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "between 1 and 256 characters"),
        ("##code##" + "x" * 249, "between 1 and 256 characters"),
        ("no placeholder", "##code##"),
        ("##Code##", "##code##"),
    ],
)
def test_template_text_rejected(value: str, rule: str) -> None:
    """Empty, 257-character and placeholder-less texts fail."""
    with pytest.raises(ValidationError, match=rule):
        v.template_text("text", value)


# -- send limits -------------------------------------------------------------------


def test_disabled_send_limit_is_sent_with_nulls() -> None:
    """SendLimit(enabled=False) encodes to enabled false and null unit/period/limit."""
    expected = {"enabled": False, "unit": None, "period": None, "limit": None}
    assert v.send_limit("limit", SendLimit(enabled=False)) == expected
    on = SendLimit(enabled=False, unit=PeriodUnit.DAY, period=1, limit=1)
    assert v.send_limit("limit", on) == expected


@pytest.mark.parametrize(
    ("unit", "period", "limit"),
    [(1, 1, 1), (4, 90, 10_000_000_000), (PeriodUnit.HOUR, 45, 2**31)],
)
def test_enabled_send_limit_boundaries_pass(unit: Any, period: int, limit: int) -> None:
    """unit 1–4, period 1–90 and limit 1–10,000,000,000 pass and encode as ints."""
    encoded = v.send_limit("l", SendLimit(enabled=True, unit=unit, period=period, limit=limit))
    assert encoded == {"enabled": True, "unit": int(unit), "period": period, "limit": limit}
    assert type(encoded["unit"]) is int
    assert type(encoded["limit"]) is int


@pytest.mark.parametrize(
    ("fields", "argument"),
    [
        ({"unit": 0, "period": 1, "limit": 1}, "l.unit"),
        ({"unit": 5, "period": 1, "limit": 1}, "l.unit"),
        ({"unit": True, "period": 1, "limit": 1}, "l.unit"),
        ({"unit": 1, "period": 0, "limit": 1}, "l.period"),
        ({"unit": 1, "period": 91, "limit": 1}, "l.period"),
        ({"unit": 1, "period": 1, "limit": 0}, "l.limit"),
        ({"unit": 1, "period": 1, "limit": 10_000_000_001}, "l.limit"),
        ({"unit": 1, "period": 1, "limit": True}, "l.limit"),
        ({"period": 1, "limit": 1}, "l.unit"),
        ({"unit": 1, "limit": 1}, "l.period"),
        ({"unit": 1, "period": 1}, "l.limit"),
    ],
)
def test_enabled_send_limit_rejected(fields: dict[str, Any], argument: str) -> None:
    """Out-of-range or missing fields of an enabled limit fail, naming the sub-field."""
    with pytest.raises(ValidationError) as info:
        v.send_limit("l", SendLimit(enabled=True, **fields))
    assert info.value.argument == argument


@pytest.mark.parametrize("value", [{"enabled": True}, None, SendLimit(enabled=1)])  # type: ignore[arg-type]
def test_send_limit_needs_a_send_limit_with_boolean_enabled(value: Any) -> None:
    """Dicts, None and a non-boolean enabled are rejected."""
    with pytest.raises(ValidationError):
        v.send_limit("l", value)


# -- flow steps --------------------------------------------------------------------


def test_flow_steps_encode_with_default_channel_cut() -> None:
    """Steps encode in order, with channelCut 0 when not given."""
    steps = [
        FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS),
        FlowStep(
            waiting_time=120,
            status=FlowTrigger.NOT_VERIFIED,
            channel=Channel.CALL,
            channel_cut=ChannelCut.NO_SWITCH,
        ),
    ]
    assert v.flow_steps("steps", steps) == [
        {"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0},
        {"waitingTime": 120, "status": 2, "channel": "call", "channelCut": 1},
    ]


@pytest.mark.parametrize(
    ("steps", "argument"),
    [
        ([], "steps"),
        ((), "steps"),
        (None, "steps"),
        ("sms", "steps"),
        (
            [FlowStep(waiting_time=29, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)],
            "steps[0].waiting_time",
        ),
        (
            [FlowStep(waiting_time=121, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)],
            "steps[0].waiting_time",
        ),
        (
            [FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SNA)],
            "steps[0].channel",
        ),
    ],
)
def test_flow_steps_rejected(steps: Any, argument: str) -> None:
    """At least one step; waiting time 30–120; sms or call only."""
    with pytest.raises(ValidationError) as info:
        v.flow_steps("steps", steps)
    assert info.value.argument == argument


# -- times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2023, 4, 11, 11, 46, 4, tzinfo=CST), "1681184764000"),
        (datetime(2023, 4, 11, 3, 46, 4, 1500, tzinfo=UTC), "1681184764001"),
        (datetime(1970, 1, 1, tzinfo=UTC), "0"),
        (1681184764000, "1681184764000"),
        ("1681184764000", "1681184764000"),
    ],
)
def test_epoch_millis(value: Any, expected: str) -> None:
    """Aware datetimes, ints and digit strings become exact millisecond strings."""
    assert v.epoch_millis("time", value) == expected


@pytest.mark.parametrize(
    "value",
    [datetime(2023, 4, 11), -1, "-1", "1.5", "", " 1", True, 1.5, None],
)
def test_epoch_millis_rejected(value: Any) -> None:
    """Naive datetimes, negatives, non-digit strings, booleans and floats fail."""
    with pytest.raises(ValidationError, match="time"):
        v.epoch_millis("time", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2023, 1, 29, 9, 59, 58, tzinfo=CST), "2023-01-29T09:59:58+08:00"),
        (datetime(2023, 1, 29, 9, 59, 58, 999, tzinfo=UTC), "2023-01-29T09:59:58+00:00"),
        ("2023-01-29T09:59:58+08:00", "2023-01-29T09:59:58+08:00"),
        ("2023-01-29T01:59:58Z", "2023-01-29T01:59:58Z"),
    ],
)
def test_iso_time(value: Any, expected: str) -> None:
    """Aware datetimes and offset-carrying strings become ISO-8601 with an offset."""
    assert v.iso_time("callback_time", value) == expected


@pytest.mark.parametrize(
    "value",
    [datetime(2023, 1, 29, 9, 59, 58), "2023-01-29T09:59:58", "2023-01-29", "later", 0, None],
)
def test_iso_time_rejects_naive_and_unparsable(value: Any) -> None:
    """Naive datetimes, offset-less strings and non-times fail."""
    with pytest.raises(ValidationError, match="callback_time"):
        v.iso_time("callback_time", value)


# -- numbers sent as strings -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (100, "100"),
        ("0.01", "0.01"),
        ("99.99", "99.99"),
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+1"), "10"),
        ("-0", "0"),
        ("١٠", "10"),
    ],
)
def test_rate_percent_passes_as_plain_string(value: Any, expected: str) -> None:
    """backfill_now 0–100, at most two decimals, sent as a plain ASCII decimal string."""
    result = v.numeric_string("backfill_now", value, lo=Decimal(0), hi=Decimal(100), places=2)
    assert result == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("-0.01", "between 0 and 100"),
        ("100.01", "between 0 and 100"),
        ("0.001", "at most 2 decimals"),
        ("abc", "a number"),
        ("Infinity", "a finite number"),
        (True, "a number"),
        (1.5, "a number"),
    ],
)
def test_rate_percent_rejected(value: Any, rule: str) -> None:
    """Out-of-range, three-decimal, non-numeric, boolean and float rates fail."""
    with pytest.raises(ValidationError, match=rule):
        v.numeric_string("backfill_now", value, lo=Decimal(0), hi=Decimal(100), places=2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(460, "460"), ("460", "460"), ("460.0", "460"), (Decimal("4.6E+2"), "460")],
)
def test_integer_strings_are_normalised(value: Any, expected: str) -> None:
    """Integer fields (mcc, counts) go out as plain digit strings."""
    assert v.numeric_string("mcc", value, lo=Decimal(0), hi=Decimal(999), integer=True) == expected


@pytest.mark.parametrize("value", ["4.6", "-1", "1000", "46a"])
def test_integer_fields_rejected(value: str) -> None:
    """Fractions, negatives, out-of-range and non-numeric mcc values fail."""
    with pytest.raises(ValidationError, match="mcc"):
        v.numeric_string("mcc", value, lo=Decimal(0), hi=Decimal(999), integer=True)
