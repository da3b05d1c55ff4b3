"""The pure argument checks of ``_validation``: boundaries on both sides and the messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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

from .conftest import BASE_URL

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


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("...", "..."),
        (".a", ".a"),
        ("a.", "a."),
        ("%2e", "%252e"),
        ("%2E%2E", "%252E%252E"),
        (".%2e", ".%252e"),
        ("./x", ".%2Fx"),
        ("../x", "..%2Fx"),
        ("..\\", "..%5C"),
        (0, "0"),
        (v.INT64_MAX, str(v.INT64_MAX)),
    ],
)
def test_path_id_keeps_dots_that_are_no_dot_segment(value: Any, encoded: str) -> None:
    """Ids that merely contain dots, or percent-escaped dots, are encoded and kept."""
    assert v.path_id("verification_id", value) == encoded


@pytest.mark.parametrize("value", [".", ".."])
def test_path_id_refuses_dot_segments(value: str) -> None:
    """'.' and '..' would be dropped or climbed by URL normalisation, so they are refused."""
    with pytest.raises(ValidationError) as info:
        v.path_id("verification_id", value)
    assert info.value.argument == "verification_id"
    assert info.value.rule == "an id other than '.' or '..'"
    assert info.value.shown == repr(value)


@given(st.one_of(st.text(min_size=1, max_size=12), st.text(".%2eE/\\", min_size=1, max_size=6)))
@settings(max_examples=400, derandomize=True, database=None, deadline=None)
def test_every_accepted_path_id_survives_url_normalisation(value: str) -> None:
    """For any id path_id accepts, the URL httpx builds ends with exactly that segment."""
    try:
        segment = v.path_id("verification_id", value)
    except ValidationError:
        assert not value.strip() or value in (".", "..")
        return
    url = httpx.URL(BASE_URL + "/verification/record/" + segment)
    assert url.raw_path.decode("ascii") == "/otp/verification/record/" + segment
    assert url.path.endswith("/record/" + unquote(segment))


async def test_records_get_dot_dot_sends_nothing(make_client: Any) -> None:
    """records.get('..') fails before any request instead of sending GET /otp/verification."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"status": "0", "reason": "success", "data": {}})

    async with make_client(handler) as client:
        for bad in ("..", "."):
            with pytest.raises(ValidationError, match="verification_id"):
                await client.records.get(bad)
            with pytest.raises(ValidationError, match="template_id"):
                await client.templates.get(bad)
            with pytest.raises(ValidationError, match="flow_id"):
                await client.flows.get(bad)
    assert sent == []


@pytest.mark.parametrize("value", [-1, v.INT64_MAX + 1, 10**30])
def test_int_path_ids_fit_a_signed_64_bit_integer(value: int) -> None:
    """An int path id (template_id=10**30) beyond what the API can hold is refused."""
    with pytest.raises(ValidationError) as info:
        v.path_id("template_id", value)
    assert info.value.rule == f"an integer id between 0 and {v.INT64_MAX}"
    assert info.value.shown == str(value)


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [(v.INT64_MAX, v.INT64_MAX), (str(v.INT64_MAX), v.INT64_MAX), ("0" * 30 + "7", 7)],
)
def test_int_id_up_to_signed_64_bit(value: Any, expected: int) -> None:
    """The largest signed 64-bit id passes, as an int or digits (leading zeros too)."""
    assert v.int_id("template_id", value) == expected


@pytest.mark.parametrize(
    "value", [v.INT64_MAX + 1, 10**30, str(v.INT64_MAX + 1), "9" * 20, "9" * 5000]
)
def test_int_id_beyond_signed_64_bit_rejected(value: Any) -> None:
    """template_id=10**30 (and 5000 digits, which int() itself refuses) fail cleanly."""
    with pytest.raises(ValidationError) as info:
        v.int_id("template_id", value)
    assert info.value.argument == "template_id"
    assert info.value.rule == f"at most {v.INT64_MAX}"
    assert info.value.shown == v._show(value)


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


# -- codes (phone numbers: tests/test_phone_numbers.py) ----------------------------


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


@pytest.mark.parametrize("value", [" ", "    ", "      ", "\t\t\t\t", " " * 11, "\u3000" * 4])
def test_blank_code_is_called_blank(value: str) -> None:
    """A code of spaces is "blank", whatever its length, not a length error."""
    with pytest.raises(ValidationError) as info:
        v.code("code", value, 4, 10)
    assert info.value.rule == "non-blank"
    assert info.value.shown == f"a blank code of {len(value)} characters"
    assert str(info.value) == f"code must be non-blank; got a blank code of {len(value)} characters"


@pytest.mark.parametrize(
    ("value", "size", "what"),
    [
        ("ＡＢＣＤ", 4, "a non-ASCII character at position 0"),
        ("12Ａ4", 4, "a non-ASCII character at position 2"),
        ("123٤", 4, "a non-ASCII character at position 3"),
        ("12 34", 5, "whitespace at position 2"),
        (" 12 34 ", 5, "whitespace at position 2"),
        ("１２\u3000３４", 5, "whitespace at position 2"),
        ("12\u00a034", 5, "whitespace at position 2"),
        ("12\x0034", 5, "a control character at position 2"),
        ("1234\x7f", 5, "a control character at position 4"),
        ("\x001234", 5, "a control character at position 0"),
    ],
)
def test_code_characters_are_printable_ascii(value: str, size: int, what: str) -> None:
    """Whitespace inside, other non-ASCII and control characters are refused, by position
    in the code without its surrounding whitespace."""
    with pytest.raises(ValidationError) as info:
        v.code("code", value, 4, 10)
    error = info.value
    assert error.argument == "code"
    assert error.rule == "printable ASCII without whitespace"
    assert error.shown == f"a code of {size} characters with {what}"
    for digit_run in ("1234", "１２３４", "12", "34"):
        assert digit_run not in str(error)
        assert digit_run not in repr(error)


@pytest.mark.parametrize("value", ["1234", "abcdef", "A1B2C3", "ff00aa", "!#$%&*+-", "~" * 10])
def test_printable_ascii_codes_pass(value: str) -> None:
    """Digits, letters, hex and other printable ASCII codes pass unchanged."""
    assert v.code("code", value, 4, 10) == value


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("482913 ", "482913"),
        ("\t482913\r\n", "482913"),
        ("\u3000482913\u00a0", "482913"),
        ("４８２９１３", "482913"),
        ("48２９13", "482913"),
        (" ４８２９１３\n", "482913"),
        ("12345678901 ", None),
        ("１２３", None),
    ],
)
@pytest.mark.parametrize(("lo", "hi"), [(1, 10), (4, 10)])
def test_pasted_codes_are_read_as_people_write_them(
    value: str, sent: str | None, lo: int, hi: int
) -> None:
    """Surrounding whitespace is dropped and full-width digits read as ASCII, before the
    length check (11 digits and a space is still too long, 3 full-width digits too short
    for verify)."""
    if sent is None and not (lo == 1 and value == "１２３"):
        with pytest.raises(ValidationError, match="between"):
            v.code("code", value, lo, hi)
        return
    assert v.code("code", value, lo, hi) == (sent or "123")


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1E-1", "0.1"),
        (Decimal("1E-1"), "0.1"),
        ("2.5E-1", "0.25"),
        ("1e1", "10"),
        ("1E+2", "100"),
        (Decimal("1.5E+1"), "15"),
        ("+5", "5"),
        (" 7 ", "7"),
        ("-0", "0"),
        ("-0.0", "0.0"),
        (Decimal("-0"), "0"),
        ("0E-2", "0.00"),
        (".5", "0.5"),
        ("5.", "5"),
        ("1_0", "10"),
        ("١٠.٥", "10.5"),
        (Decimal("12.50"), "12.50"),
        ("0.10", "0.10"),
        (100, "100"),
        ("1E-62", "0." + "0" * 61 + "1"),
        ("1E+63", "1" + "0" * 63),
    ],
)
def test_numbers_go_out_exactly_as_written_out_plainly(value: Any, expected: str) -> None:
    """Exponents, Decimals, signs, '-0' and Unicode digits are sent as plain ASCII decimals."""
    assert v.numeric_string("backfill_number", value, lo=Decimal(0)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1E+3", "1000"),
        ("1000.000", "1000"),
        ("-0", "0"),
        ("-0.0", "0"),
        (Decimal("1.00E+2"), "100"),
        ("1_000", "1000"),
        ("١٢", "12"),
        ("1E+63", "1" + "0" * 63),
    ],
)
def test_integer_numbers_go_out_as_plain_digits(value: Any, expected: str) -> None:
    """Integer fields write exponents and trailing '.0' out as plain digits."""
    result = v.numeric_string("backfill_number", value, lo=Decimal(0), integer=True)
    assert result == expected


@pytest.mark.parametrize(
    ("value", "integer"),
    [
        ("1E+64", False),
        ("1E+64", True),
        ("1E+999999999", True),
        ("1E-64", False),
        ("1" * 65, False),
    ],
)
def test_numbers_too_long_to_write_out_are_refused(value: str, integer: bool) -> None:
    """'1E+999999999' would be a billion zeros on the wire (and int() of it fails): refused."""
    kind = "an integer" if integer else "a number"
    with pytest.raises(ValidationError) as info:
        v.numeric_string("backfill_number", value, lo=Decimal(0), integer=integer)
    assert info.value.rule == f"{kind} of at most 64 digits"
    assert info.value.shown == v._show(value)


# -- credentials ---------------------------------------------------------------------------

SECRET = "7bz1lzh9"


@pytest.mark.parametrize(
    ("key", "secret"),
    [("bDqJFiq9", SECRET), ("k", "s"), ("!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "A" * 200)],
)
def test_good_credentials_are_returned_unchanged(key: str, secret: str) -> None:
    """Non-empty printable ASCII without whitespace passes and comes back as given."""
    assert v.check_credentials(key, secret) == (key, secret)


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("", "is empty"),
        ("   ", "is blank"),
        ("\n", "is blank"),
        (SECRET + "\n", "has a trailing newline"),
        (SECRET + "\r\n", "has a trailing newline"),
        (SECRET + "\r", "has a trailing newline"),
        (SECRET + " ", "has trailing whitespace"),
        (SECRET + "\t", "has trailing whitespace"),
        (" " + SECRET, "has leading whitespace"),
        ("\ufeff" + SECRET, "contains a non-ASCII character at position 0"),
        ("7bz" + "é" + "1lzh9", "contains a non-ASCII character at position 3"),
        ("7bz\u00a0lzh9", "contains whitespace at position 3"),
        ("7bz 1lzh9", "contains whitespace at position 3"),
        ("7bz1\nlzh9", "contains whitespace at position 4"),
        ("7bz1lzh9\x00", "contains a control character at position 8"),
        ("\x1b7bz1lzh9", "contains a control character at position 0"),
        ("7bz1\x7flzh9", "contains a control character at position 4"),
        (b"7bz1lzh9", "must be a string, not bytes"),
        (12345678, "must be a string, not int"),
    ],
)
@pytest.mark.parametrize("which", ["api_key", "api_secret"])
def test_bad_credentials_say_which_and_what_never_the_value(
    secret: Any, problem: str, which: str
) -> None:
    """The error names api_key or api_secret and the defect, and shows neither value."""
    key, good = ("bDqJFiq9", "other-secret-value")
    args = (secret, good) if which == "api_key" else (key, secret)
    with pytest.raises(ItnioError) as info:
        v.check_credentials(*args)
    error = info.value
    assert type(error) is ItnioError
    assert not isinstance(error, ValidationError)
    message = str(error)
    assert message == (
        f"{which} {problem}: API credentials are printable ASCII without spaces or line "
        "breaks (copy them again from the ITNIO console, Home → Developers)"
    )
    for shown in (message, repr(error)):
        assert "7bz" not in shown
        assert "lzh9" not in shown
        assert "bDqJ" not in shown
        assert "other-secret" not in shown


def test_the_key_is_checked_before_the_secret() -> None:
    """With both wrong, the key is named first."""
    with pytest.raises(ItnioError, match=r"^api_key is empty"):
        v.check_credentials("", "")


# -- base URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.itniotech.com/otp", "https://api.itniotech.com/otp"),
        ("HTTPS://API.EXAMPLE.COM/otp/", "https://api.example.com/otp"),
        ("https://api.example.com/OTP//", "https://api.example.com/OTP"),
        (" https://x/otp ", "https://x/otp"),
        ("\thttps://x/otp\n", "https://x/otp"),
        ("https://x", "https://x"),
        ("https://x/", "https://x"),
        ("https://x:8443/otp", "https://x:8443/otp"),
        ("http://[::1]:8080/otp", "http://[::1]:8080/otp"),
        ("http://[::1]/otp", "http://[::1]/otp"),
        ("http://127.0.0.1:8080/otp", "http://127.0.0.1:8080/otp"),
        ("http://127.0.0.2", "http://127.0.0.2"),
        ("http://127.255.255.254/otp", "http://127.255.255.254/otp"),
        ("http://localhost:8080/otp/", "http://localhost:8080/otp"),
        ("http://LOCALHOST/otp", "http://localhost/otp"),
        ("http://[::ffff:127.0.0.1]/otp", "http://[::ffff:127.0.0.1]/otp"),
        ("https://[2001:db8::1]/otp", "https://[2001:db8::1]/otp"),
        (httpx.URL("https://api.example.com/otp/"), "https://api.example.com/otp"),
    ],
)
def test_base_url_accepted_and_normalised(url: Any, expected: str) -> None:
    """https URLs and http to loopback pass, trimmed, lower-cased and without a trailing '/'."""
    assert v.check_base_url(url, allow_insecure_http=False) == expected


INSECURE = (
    "uses plain http:// to a host that is not loopback: the API key and a replayable Sign "
    "would travel in clear text. Use https://, or if this network is trusted pass "
    "allow_insecure_http=True, set ITNIO_ALLOW_INSECURE_HTTP=1 or give itnio "
    "--allow-insecure-http"
)


@pytest.mark.parametrize(
    "url",
    [
        "http://api.itniotech.com/otp",
        "http://localhost.evil.com/otp",
        "http://evil.com#@localhost/otp",
        "http://10.0.0.1/otp",
        "http://0.0.0.0:8080/otp",
        "http://128.0.0.1/otp",
        "http://[::2]/otp",
        "http://[2001:db8::1]/otp",
    ],
)
def test_plain_http_beyond_loopback_needs_the_opt_in(url: str) -> None:
    """Non-loopback http:// is refused, naming the risk and allow_insecure_http=True."""
    if "#" in url:
        with pytest.raises(ItnioError, match="fragment"):
            v.check_base_url(url, allow_insecure_http=False)
        return
    with pytest.raises(ItnioError) as info:
        v.check_base_url(url, allow_insecure_http=False)
    assert str(info.value) == f"base_url {url!r} {INSECURE}"
    assert not isinstance(info.value, ValidationError)
    assert v.check_base_url(url, allow_insecure_http=True) == url.removesuffix("/otp") + "/otp"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "base_url is empty"),
        ("   ", "base_url is empty"),
        (None, "base_url must be a string, not NoneType"),
        (b"https://x", "base_url must be a string, not bytes"),
        (
            "api.example.com/otp",
            "base_url 'api.example.com/otp' must start with https:// (or http://)",
        ),
        ("ftp://x/otp", "base_url 'ftp://x/otp' must start with https:// (or http://)"),
        ("https:x/otp", "base_url 'https:x/otp' must start with https:// (or http://)"),
        ("//x/otp", "base_url '//x/otp' must start with https:// (or http://)"),
        ("https://", "base_url 'https://' has no valid host"),
        ("https:///otp", "base_url 'https:///otp' has no valid host"),
        ("https://a..b/otp", "base_url 'https://a..b/otp' has no valid host"),
        ("https://exa%20mple.com", "base_url 'https://exa%20mple.com' has no valid host"),
        ("https://x:99999/otp", "base_url 'https://x:99999/otp' is not a valid URL"),
        ("https://x:0/otp", "base_url 'https://x:0/otp' is not a valid URL"),
        ("https://x:port/otp", "base_url 'https://x:port/otp' is not a valid URL"),
        ("https://[::1/otp", "base_url 'https://[::1/otp' is not a valid URL"),
        (
            "https://exa mple.com/otp",
            "base_url 'https://exa mple.com/otp' contains whitespace or a control character",
        ),
        (
            "https://x/otp\x00",
            "base_url 'https://x/otp\\x00' contains whitespace or a control character",
        ),
        (
            "https://x/otp?x=1",
            "base_url 'https://x/otp?x=1' must not have a query ('?...'): "
            "API paths are appended to it",
        ),
        (
            "https://x/otp?",
            "base_url 'https://x/otp?' must not have a query ('?...'): "
            "API paths are appended to it",
        ),
        (
            "https://x/otp#f",
            "base_url 'https://x/otp#f' must not have a fragment ('#...'): "
            "API paths are appended to it",
        ),
    ],
)
def test_bad_base_urls_say_what_is_wrong(url: Any, message: str) -> None:
    """Each defect has its own ItnioError message (not a ValidationError)."""
    with pytest.raises(ItnioError) as info:
        v.check_base_url(url, allow_insecure_http=True)
    assert str(info.value) == message
    assert not isinstance(info.value, ValidationError)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:s3cr3t-pw@api.example.com/otp", "'https://***@api.example.com/otp'"),
        ("https://s3cr3t-pw@api.example.com/otp", "'https://***@api.example.com/otp'"),
        ("https://alice:s3cr3t@pw@api.example.com/otp", "'https://***@api.example.com/otp'"),
        ("https://alice:s3cr3t/pw@api.example.com/otp", "'https://***@api.example.com/otp'"),
        ("https://alice:s3cr3t?pw@api.example.com/otp", "'https://***@api.example.com/otp'"),
        ("https://alice:s3cr3t#pw@api.example.com/otp", "'https://***@api.example.com/otp'"),
        ("https://alice:s3cr3t pw@api.example.com/otp", "'https://***@api.example.com/otp'"),
        ("https://alice:s3cr3t-pw@[::1/otp", "'https://***@[::1/otp'"),
        ("http://alice:s3cr3t-pw@10.0.0.1/otp", "'http://***@10.0.0.1/otp'"),
    ],
)
def test_base_url_passwords_are_never_shown(url: str, shown: str) -> None:
    """A alice:password@ URL is refused (or fails otherwise) without echoing the password."""
    with pytest.raises(ItnioError) as info:
        v.check_base_url(url, allow_insecure_http=False)
    message = str(info.value)
    assert message.startswith(f"base_url {shown} ")
    for text in (message, repr(info.value)):
        assert "s3cr3t" not in text
        assert "alice" not in text


def test_userinfo_refusal_message() -> None:
    """The refusal of user:password@ says why the SDK never needs one."""
    with pytest.raises(ItnioError) as info:
        v.check_base_url("https://user:pw@x/otp", allow_insecure_http=True)
    assert str(info.value) == (
        "base_url 'https://***@x/otp' must not contain a user name or password: "
        "requests are authenticated by the Api-Key and Sign headers"
    )


# -- every check: argument, rule and shown, exactly ----------------------------------------

_STEP: dict[str, Any] = {
    "waiting_time": 30,
    "status": FlowTrigger.SEND_FAILED,
    "channel": Channel.SMS,
}
_NUM: dict[str, Any] = {"lo": Decimal(0), "hi": Decimal(100), "places": 2}

#: (call, argument, rule, shown): one row per raise site of ``_validation``.
EXACT: list[tuple[Any, str, str, str]] = [
    (lambda: v.check_str("order_id", 12, 0, 64), "order_id", "a string", "int"),
    (
        lambda: v.check_str("order_id", 12, 0, 64, shown="<hidden>"),
        "order_id",
        "a string",
        "<hidden>",
    ),
    (
        lambda: v.check_str("order_id", "o" * 65, 0, 64),
        "order_id",
        "at most 64 characters",
        "'" + "o" * 56 + "... (65 characters)",
    ),
    (
        lambda: v.check_str("x", "abc", 4, 8, shown="<hidden>"),
        "x",
        "between 4 and 8 characters",
        "<hidden>",
    ),
    (
        lambda: v.check_name("name", "abc"),
        "name",
        "between 4 and 32 characters",
        "'abc' (3 characters)",
    ),
    (lambda: v.check_name("name", None), "name", "a string", "NoneType"),
    (
        lambda: v.check_app_id("app_id", "    "),
        "app_id",
        "a non-blank id of 4 to 32 characters",
        "'    '",
    ),
    (
        lambda: v.check_app_id("app_id", "abc"),
        "app_id",
        "between 4 and 32 characters",
        "'abc' (3 characters)",
    ),
    (lambda: v.check_text("sender_id", 1), "sender_id", "a string", "int"),
    (lambda: v.check_text("sender_id", "  "), "sender_id", "a non-empty string", "'  '"),
    (
        lambda: v.check_int("code_expiry", "5", 1, 60),
        "code_expiry",
        "an integer between 1 and 60",
        "'5'",
    ),
    (
        lambda: v.check_int("code_expiry", True, 1, 60),
        "code_expiry",
        "an integer between 1 and 60",
        "True",
    ),
    (lambda: v.check_int("code_expiry", 61, 1, 60), "code_expiry", "between 1 and 60", "61"),
    (
        lambda: v.check_choice("unit", 5, PeriodUnit, list(PeriodUnit)),
        "unit",
        "one of 1, 2, 3, 4",
        "5",
    ),
    (
        lambda: v.check_choice("unit", True, PeriodUnit, list(PeriodUnit)),
        "unit",
        "one of 1, 2, 3, 4",
        "True",
    ),
    (
        lambda: v.check_choice("unit", 1.0, PeriodUnit, list(PeriodUnit)),
        "unit",
        "one of 1, 2, 3, 4",
        "1.0",
    ),
    (
        lambda: v.check_choice("unit", Decimal(1), PeriodUnit, list(PeriodUnit)),
        "unit",
        "one of 1, 2, 3, 4",
        "Decimal('1')",
    ),
    (
        lambda: v.check_choice("unit", "+1", PeriodUnit, list(PeriodUnit)),
        "unit",
        "one of 1, 2, 3, 4",
        "'+1'",
    ),
    (
        lambda: v.check_choice("channel", "sna", Channel, [Channel.SMS]),
        "channel",
        "one of 'sms'",
        "'sna'",
    ),
    (lambda: v.path_id("flow_id", 1.0), "flow_id", "an int or a non-empty string", "1.0"),
    (
        lambda: v.path_id("flow_id", -1),
        "flow_id",
        "an integer id between 0 and 9223372036854775807",
        "-1",
    ),
    (lambda: v.path_id("flow_id", " "), "flow_id", "a non-empty id", "' '"),
    (lambda: v.path_id("flow_id", ".."), "flow_id", "an id other than '.' or '..'", "'..'"),
    (
        lambda: v.int_id("template_id", True),
        "template_id",
        "a non-negative integer id (or a string of digits)",
        "True",
    ),
    (
        lambda: v.int_id("template_id", -1),
        "template_id",
        "a non-negative integer id (or a string of digits)",
        "-1",
    ),
    (
        lambda: v.int_id("template_id", "١٢"),
        "template_id",
        "a non-negative integer id (or a string of digits)",
        "'١٢'",
    ),
    (
        lambda: v.int_id("template_id", 4.0),
        "template_id",
        "a non-negative integer id (or a string of digits)",
        "4.0",
    ),
    (
        lambda: v.int_id("template_id", 10**30),
        "template_id",
        "at most 9223372036854775807",
        "1000000000000000000000000000000",
    ),
    (
        lambda: v.verification_id("verification_id", 1.5),
        "verification_id",
        "a non-empty string",
        "1.5",
    ),
    (
        lambda: v.verification_id("verification_id", "  "),
        "verification_id",
        "a non-empty string",
        "'  '",
    ),
    (lambda: v.code("code", 1234, 4, 10), "code", "a string of 4 to 10 characters", "int"),
    (lambda: v.code("code", "      ", 4, 10), "code", "non-blank", "a blank code of 6 characters"),
    (
        lambda: v.code("code", "ＡＢＣＤ", 4, 10),
        "code",
        "printable ASCII without whitespace",
        "a code of 4 characters with a non-ASCII character at position 0",
    ),
    (
        lambda: v.code("code", "12345678901", 1, 10),
        "code",
        "between 1 and 10 characters",
        "a code of 11 characters",
    ),
    (
        lambda: v.lookup_order_id("order_id", "  "),
        "order_id",
        "a non-blank order id of 1 to 64 characters",
        "'  '",
    ),
    (
        lambda: v.lookup_order_id("order_id", ""),
        "order_id",
        "between 1 and 64 characters",
        "'' (0 characters)",
    ),
    (
        lambda: v.template_text("text", "no placeholder"),
        "text",
        "text containing the placeholder '##code##'",
        "'no placeholder'",
    ),
    (lambda: v.send_limit("l", None), "l", "a SendLimit", "None"),
    (lambda: v.send_limit("l", SendLimit(enabled=1)), "l.enabled", "a boolean", "1"),  # type: ignore[arg-type]
    (
        lambda: v.send_limit("l", SendLimit(enabled=True, period=1, limit=1)),
        "l.unit",
        "set when the limit is enabled",
        "None",
    ),
    (
        lambda: v.send_limit("l", SendLimit(enabled=True, unit=5, period=1, limit=1)),  # type: ignore[arg-type]
        "l.unit",
        "one of 1, 2, 3, 4",
        "5",
    ),
    (
        lambda: v.send_limit("l", SendLimit(enabled=True, unit=1, period=91, limit=1)),  # type: ignore[arg-type]
        "l.period",
        "between 1 and 90",
        "91",
    ),
    (
        lambda: v.send_limit("l", SendLimit(enabled=True, unit=1, period=1, limit=0)),  # type: ignore[arg-type]
        "l.limit",
        "between 1 and 10000000000",
        "0",
    ),
    (lambda: v.flow_steps("steps", "sms"), "steps", "a sequence of FlowStep", "'sms'"),
    (lambda: v.flow_steps("steps", []), "steps", "at least one step", "[]"),
    (lambda: v.flow_steps("steps", [1]), "steps[0]", "a FlowStep", "1"),
    (
        lambda: v.flow_steps("steps", [FlowStep(**{**_STEP, "waiting_time": 29})]),
        "steps[0].waiting_time",
        "between 30 and 120",
        "29",
    ),
    (
        lambda: v.flow_steps("steps", [FlowStep(**{**_STEP, "status": 3})]),
        "steps[0].status",
        "one of 1, 2",
        "3",
    ),
    (
        lambda: v.flow_steps("steps", [FlowStep(**{**_STEP, "channel_cut": 2})]),
        "steps[0].channel_cut",
        "one of 0, 1",
        "2",
    ),
    (
        lambda: v.epoch_millis("time", datetime(2023, 4, 11)),
        "time",
        "a timezone-aware datetime",
        "datetime.datetime(2023, 4, 11, 0, 0)",
    ),
    (
        lambda: v.epoch_millis("time", datetime(1969, 12, 31, tzinfo=UTC)),
        "time",
        "a time after 1970-01-01",
        "datetime.datetime(1969, 12, 31, 0, 0, tzinfo=datetime.tim...",
    ),
    (
        lambda: v.epoch_millis("time", "1.5"),
        "time",
        "a datetime or epoch milliseconds (int or digits)",
        "'1.5'",
    ),
    (
        lambda: v.iso_time("callback_time", datetime(2023, 4, 11)),
        "callback_time",
        "a timezone-aware datetime",
        "datetime.datetime(2023, 4, 11, 0, 0)",
    ),
    (
        lambda: v.iso_time("callback_time", "2023-01-29"),
        "callback_time",
        "an ISO-8601 time with an offset",
        "'2023-01-29'",
    ),
    (
        lambda: v.numeric_string("mcc", 1.5, integer=True),
        "mcc",
        "an integer (int, Decimal or str)",
        "1.5",
    ),
    (lambda: v.numeric_string("rate", True), "rate", "a number (int, Decimal or str)", "True"),
    (lambda: v.numeric_string("rate", "abc"), "rate", "a number", "'abc'"),
    (lambda: v.numeric_string("rate", "NaN"), "rate", "a finite number", "'NaN'"),
    (
        lambda: v.numeric_string("mcc", "-Infinity", integer=True),
        "mcc",
        "a finite integer",
        "'-Infinity'",
    ),
    (lambda: v.numeric_string("mcc", "4.6", integer=True), "mcc", "an integer", "'4.6'"),
    (lambda: v.numeric_string("n", "-1", lo=Decimal(0)), "n", "at least 0", "'-1'"),
    (lambda: v.numeric_string("n", "-1", **_NUM), "n", "between 0 and 100", "'-1'"),
    (lambda: v.numeric_string("n", "101", hi=Decimal(100)), "n", "at most 100", "'101'"),
    (lambda: v.numeric_string("n", "101", **_NUM), "n", "between 0 and 100", "'101'"),
    (
        lambda: v.numeric_string("n", "0.001", **_NUM),
        "n",
        "a number with at most 2 decimals",
        "'0.001'",
    ),
    (lambda: v.numeric_string("n", "1E+64"), "n", "a number of at most 64 digits", "'1E+64'"),
]


@pytest.mark.parametrize(("call", "argument", "rule", "shown"), EXACT)
def test_every_check_names_argument_rule_and_shown_exactly(
    call: Any, argument: str, rule: str, shown: str
) -> None:
    """Each raise site of _validation carries its own argument, rule and shown, verbatim."""
    with pytest.raises(ValidationError) as info:
        call()
    error = info.value
    assert (error.argument, error.rule, error.shown) == (argument, rule, shown)
    assert str(error) == f"{argument} must be {rule}; got {shown}"


# -- boundaries and forms the mutation run found unpinned --------------------------------------


@pytest.mark.parametrize(("value", "number"), [("000", 0), ("0", 0), ("007", 7), (" 0 ", 0)])
def test_int_id_reads_zeros_and_leading_zeros(value: str, number: int) -> None:
    """An id of zeros is 0 and leading zeros are dropped (never an error)."""
    assert v.int_id("template_id", value) == number


@pytest.mark.parametrize(
    ("length", "cut"), [(23, False), (24, False), (25, True)], ids=["23", "24", "25"]
)
def test_a_refused_number_longer_than_24_characters_is_cut(length: int, cut: bool) -> None:
    """A refused number is shown by its last 24 characters at most (masked), with '...' in
    front only when it was longer."""
    value = "1" * (length - 1) + "x"
    with pytest.raises(ValidationError) as info:
        v.phone("to", value)
    shown = info.value.shown
    assert shown.startswith("'...") is cut
    assert shown.endswith(f" ({length} characters)")


def test_send_limit_of_another_type_shows_the_value() -> None:
    """A send limit that is not a SendLimit is shown as given."""
    with pytest.raises(ValidationError) as info:
        v.send_limit("period_total_send_limit", {"enabled": True})
    assert info.value.rule == "a SendLimit"
    assert info.value.shown == "{'enabled': True}"


class _NoOffset(tzinfo):
    """A time zone that does not know its offset (utcoffset() is None)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str:
        return "?"


@pytest.mark.parametrize("check", [v.epoch_millis, v.iso_time], ids=["epoch_millis", "iso_time"])
def test_a_datetime_whose_zone_has_no_offset_is_naive(check: Any) -> None:
    """A datetime with a tzinfo that gives no offset is refused like a naive one."""
    value = datetime(2023, 4, 11, tzinfo=_NoOffset())
    with pytest.raises(ValidationError) as info:
        check("time", value)
    assert info.value.rule == "a timezone-aware datetime"


@pytest.mark.parametrize(
    ("value", "ok"), [("1E-63", True), ("1E-64", False), ("9E+63", True), ("1E+64", False)]
)
def test_plain_numbers_have_at_most_64_digits(value: str, ok: bool) -> None:
    """A number is sent only if written out plainly it has at most 64 digits (63 decimals
    after a leading 0 is 64)."""
    if ok:
        text = v.numeric_string("n", value)
        assert len(text.replace(".", "")) == 64
    else:
        with pytest.raises(ValidationError, match="of at most 64 digits"):
            v.numeric_string("n", value)


@pytest.mark.parametrize(
    ("value", "integer", "sent"),
    [("007", True, "007"), ("01.5", False, "01.5"), ("-1E1", False, "-10"), ("-0", False, "0")],
)
def test_numbers_already_plain_go_out_as_written(value: str, integer: bool, sent: str) -> None:
    """Plain digits go out exactly as written (leading zeros kept); other forms are written
    out plainly, keeping a sign, with "-0" as "0"."""
    assert v.numeric_string("n", value, integer=integer) == sent


@pytest.mark.parametrize("url", ["http://localhost./otp", "http://LOCALHOST/otp"])
def test_localhost_with_a_trailing_dot_is_loopback(url: str) -> None:
    """The fully qualified localhost is loopback too: plain http needs no opt-in."""
    assert v.check_base_url(url, allow_insecure_http=False) == url.lower()


@pytest.mark.parametrize(
    ("size", "shown"),
    [(58, "'" + "a" * 58 + "' (58 characters)"), (59, "'" + "a" * 56 + "... (59 characters)")],
)
def test_values_are_shown_up_to_60_characters(size: int, shown: str) -> None:
    """A value's repr is shown whole up to 60 characters, else cut to 57 and '...'."""
    with pytest.raises(ValidationError) as info:
        v.check_str("order_id", "a" * size, 0, 10)
    assert info.value.shown == shown


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bücher.example/otp", "https://bücher.example/otp"),
        ("https://api.example.com/apiX/", "https://api.example.com/apiX"),
    ],
)
def test_international_hosts_and_paths_are_kept(url: str, expected: str) -> None:
    """An international host name is accepted as given; only a trailing '/' leaves the path."""
    assert v.check_base_url(url, allow_insecure_http=False) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://b" + "ü" * 70 + ".example/otp",
            "base_url 'https://b" + "ü" * 47 + "... has no valid host",
        ),
        ("https://☃.example/otp", "base_url 'https://☃.example/otp' is not a valid URL"),
        (
            "user:hunter2@api.example.com/otp",
            "base_url '***@api.example.com/otp' must start with https:// (or http://)",
        ),
    ],
    ids=["idna-label-too-long", "not-idna-2008", "userinfo-without-scheme"],
)
def test_bad_hosts_say_what_is_wrong(url: str, message: str) -> None:
    """A host IDNA cannot encode, one httpx refuses, and user info without a scheme (masked)
    are refused with their own messages."""
    with pytest.raises(ItnioError) as info:
        v.check_base_url(url, allow_insecure_http=False)
    assert str(info.value) == message


# -- text that cannot be sent, ids too long to be ids ---------------------------------------------

SURROGATE = "a\ud800b"
STEP = FlowStep(waiting_time=60, status=FlowTrigger.SEND_FAILED, channel=Channel.CALL)

#: Every method that takes text, called with a lone surrogate in one argument.
UNENCODABLE_CALLS: list[tuple[str, str, Any]] = [
    ("apps.create", "name", lambda c: c.apps.create(name=SURROGATE + "app")),
    ("apps.get", "app_id", lambda c: c.apps.get(SURROGATE + "abcd")),
    (
        "templates.create",
        "text",
        lambda c: c.templates.create(app_id="mRELxtHc", name="name", text="##code## " + SURROGATE),
    ),
    ("flows.create", "name", lambda c: c.flows.create(name=SURROGATE + "flow", steps=[STEP])),
    (
        "verifications.send",
        "order_id",
        lambda c: c.verifications.send(
            app_id="mRELxtHc", template_id=455, to="8613512345678", order_id=SURROGATE
        ),
    ),
    ("verifications.resend", "verification_id", lambda c: c.verifications.resend(SURROGATE)),
    (
        "verifications.verify",
        "verification_id",
        lambda c: c.verifications.verify(SURROGATE, "4821"),
    ),
    ("records.get", "verification_id", lambda c: c.records.get(SURROGATE)),
    ("records.get_by_order_id", "order_id", lambda c: c.records.get_by_order_id(SURROGATE)),
]


@pytest.mark.parametrize(
    ("name", "argument", "call"), UNENCODABLE_CALLS, ids=[c[0] for c in UNENCODABLE_CALLS]
)
async def test_text_that_cannot_be_encoded_is_a_validation_error(
    make_client: Any, name: str, argument: str, call: Any
) -> None:
    """A lone surrogate (text no UTF-8 can carry) is a ValidationError naming the argument,
    before anything is sent (never a UnicodeEncodeError)."""
    sent: list[httpx.Request] = []
    async with make_client(lambda request: sent.append(request)) as client:
        with pytest.raises(ValidationError) as info:
            await call(client)
    assert info.value.argument == argument
    assert info.value.sent is False
    assert sent == []


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.records.get("1" * 129),
        lambda c: c.templates.get("9" * 64_000),
        lambda c: c.verifications.verify("2" * 65_536, "4821"),
    ],
)
async def test_an_id_too_long_to_be_an_id_is_a_validation_error(
    make_client: Any, call: Any
) -> None:
    """An id over 128 characters (a 64 KB one included) is refused before anything is sent,
    saying how long it was."""
    sent: list[httpx.Request] = []
    async with make_client(lambda request: sent.append(request)) as client:
        with pytest.raises(ValidationError, match="at most 128 characters") as info:
            await call(client)
    assert info.value.sent is False
    assert sent == []


async def test_an_unencodable_id_in_a_bulk_run_fails_only_itself(make_client: Any) -> None:
    """In a bulk lookup, an order id with a lone surrogate gets its own failed result (a
    ValidationError); the ids around it are looked up."""
    from itnio_async import LookupFailed, RecordFound

    def answer(request: httpx.Request) -> httpx.Response:
        wanted = json.loads(request.content)["orderId"]
        record = {"verificationId": "1", "orderId": wanted}
        return httpx.Response(200, json={"status": "0", "data": record})

    async with make_client(answer) as client:
        results = await client.records.get_many_by_order_ids(["a-1", SURROGATE, "a-2"])
    first, bad, last = results
    assert isinstance(first, RecordFound)
    assert isinstance(last, RecordFound)
    assert isinstance(bad, LookupFailed)
    assert isinstance(bad.error, ValidationError)
    assert bad.error.argument == "order_id"
