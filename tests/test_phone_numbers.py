"""Phone numbers as people write them: accepted forms, what goes on the wire, what is refused.

``_validation.phone`` is the one check behind ``send``, ``send_code``,
``backfill.report(number=...)`` and the CLI; the API wants country code and number as
10–14 bare digits.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import respx

from itnio_async import AsyncItnio, ValidationError
from itnio_async import _validation as v
from itnio_async._redact import mask_phone
from itnio_async._resources.verifications import Verifications

from .conftest import FIXED_TIME
from .resources._wire import assert_wire, reply

VID = "22206051443051000003"
SENT = {"verificationId": VID, "to": "14155550100", "channel": "sms"}


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("14155550100", "14155550100"),
        ("+14155550100", "14155550100"),
        ("+1 (415) 555-0100", "14155550100"),
        ("+1 415 555 0100", "14155550100"),
        ("+1-415-555-0100", "14155550100"),
        ("+1.415.555.0100", "14155550100"),
        ("1(415)555-0100", "14155550100"),
        ("+(1) 415 555 0100", "14155550100"),
        ("86 135 1234 5678", "8613512345678"),
        ("0086-135.1234.5678", "8613512345678"),
        ("0086 135 1234 5678", "8613512345678"),
        ("00 86 135 1234 5678", "8613512345678"),
        ("+86 (135) 1234-5678", "8613512345678"),
        ("91856321412", "91856321412"),
        ("1" * 10, "1" * 10),
        ("9" * 14, "9" * 14),
        ("+" + "9" * 14, "9" * 14),
        ("00" + "9" * 14, "9" * 14),
        ("9 9 9 9 9 9 9 9 9 9", "9" * 10),
    ],
)
def test_written_forms_become_bare_digits(written: str, sent: str) -> None:
    """A leading + or 00 and separators between digits are dropped; the digits remain."""
    assert v.phone("to", written) == sent


_CHAR = (
    "a phone number: digits with an optional leading '+' or '00', and only spaces, '-', '.' "
    "or parentheses between digits"
)
_PLUS = "a phone number with '+' only as its first character"
_SEPARATOR = "a phone number with a single space, '-' or '.' only between digits"
_PAREN = "a phone number with parentheses only around digits after the country code"
_ZERO = "a phone number starting with its country code (which never starts with 0)"
_LENGTH = "10 to 14 digits (country code and number)"


@pytest.mark.parametrize(
    ("written", "rule"),
    [
        ("+1 415 555 0100 ext 7", _CHAR),
        ("1415555O100", _CHAR),
        ("9185632141a", _CHAR),
        ("٩١٨٥٦٣٢١٤١٢", _CHAR),
        ("９１８５６３２１４１２", _CHAR),
        ("+1/415/555/0100", _CHAR),
        ("+1_415_555_0100", _CHAR),
        ("14155550100\n", _CHAR),
        ("tel:+14155550100", _CHAR),
        ("++14155550100", _PLUS),
        ("1415+5550100", _PLUS),
        ("+1 +4155550100", _PLUS),
        (" 14155550100", _SEPARATOR),
        ("14155550100 ", _SEPARATOR),
        ("-14155550100", _SEPARATOR),
        ("14155550100-", _SEPARATOR),
        ("+ 14155550100", _SEPARATOR),
        ("1--4155550100", _SEPARATOR),
        ("1  4155550100", _SEPARATOR),
        ("1 -4155550100", _SEPARATOR),
        ("+1 ( 415) 555 0100", _SEPARATOR),
        ("(415) 555-0100", _PAREN),
        ("(0086) 135 1234 5678", _PAREN),
        ("+1 () 4155550100", _PAREN),
        ("+1 ((415)) 555 0100", _PAREN),
        ("+1 (415 555-0100", _PAREN),
        ("+1 415) 555-0100", _PAREN),
        ("+1 (415)(555) 0100", _PAREN),
        ("+1 (415 )555 0100", _PAREN),
        ("0135123456789", _ZERO),
        ("+0086 135 1234 5678", _ZERO),
        ("+0 415 555 0100", _ZERO),
        ("000 86 135 1234 5678", _ZERO),
    ],
)
def test_other_forms_are_refused_saying_what_is_wrong(written: str, rule: str) -> None:
    """Letters, a misplaced '+', stray separators, odd parentheses and a leading 0 fail."""
    with pytest.raises(ValidationError) as info:
        v.phone("to", written)
    error = info.value
    assert error.argument == "to"
    assert error.rule == rule
    assert error.shown == f"{mask_phone(written)!r} ({len(written)} characters)"


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("", 0),
        ("+", 0),
        ("1" * 9, 9),
        ("+1 415 555 01", 9),
        ("0086 135 1234", 9),
        ("1" * 15, 15),
        ("+1 415 555 0100 9999", 15),
        ("0086 1351 2345 6789 0", 15),
    ],
)
def test_digit_count_after_normalising_is_10_to_14(written: str, digits: int) -> None:
    """9 or 15 digits (after dropping + / 00 and separators) fail, counting digits."""
    with pytest.raises(ValidationError) as info:
        v.phone("to", written)
    error = info.value
    assert error.rule == _LENGTH
    assert error.shown == f"{mask_phone(written)!r} ({digits} digits)"


@pytest.mark.parametrize(
    "written",
    [
        "+1 (415) 555-0100 x",
        "++8613512345678",
        "(86) 135 1234 5678",
        "086135123456789",
        "8613512345678901",
        "86135123456ab",
        "+86 135 1234 567８",
        " 8613512345678",
    ],
)
def test_refused_numbers_show_only_the_last_four_characters(written: str) -> None:
    """Message, .shown and repr show at most the last four characters, never the number."""
    with pytest.raises(ValidationError) as info:
        v.phone("to", written)
    error = info.value
    digits = "".join(ch for ch in written if ch.isdigit())
    for text in (str(error), error.shown, repr(error)):
        assert written not in text
        assert digits[:-4] not in text
        assert written[-4:] in text


def test_very_long_input_is_cut_not_echoed() -> None:
    """A huge string shows a bounded mask, not thousands of characters."""
    written = "1" * 5000 + "x"
    with pytest.raises(ValidationError) as info:
        v.phone("to", written)
    assert info.value.shown == repr("..." + "*" * 20 + "111x") + " (5001 characters)"
    assert len(str(info.value)) < 250


@pytest.mark.parametrize("value", [14155550100, None, b"14155550100", ["1"]])
def test_non_strings_show_only_the_type(value: Any) -> None:
    """An int (or other non-string) number is rejected by type and never echoed."""
    with pytest.raises(ValidationError) as info:
        v.phone("to", value)
    assert info.value.rule == "a string of 10 to 14 digits"
    assert info.value.shown == type(value).__name__
    assert "4155550100" not in str(info.value)


# -- on the wire -------------------------------------------------------------------------


async def test_send_sends_the_bare_digits(client: AsyncItnio, router: respx.Router) -> None:
    """send(to="+1 (415) 555-0100") posts "to": "14155550100"."""
    route = reply(router, SENT)
    await client.verifications.send(app_id="mRELxtHc", template_id=455, to="+1 (415) 555-0100")
    assert_wire(
        route,
        "POST",
        "/verification/send",
        {"appId": "mRELxtHc", "templateId": 455, "to": "14155550100"},
    )


async def test_send_code_sends_the_bare_digits(client: AsyncItnio, router: respx.Router) -> None:
    """send_code(to="+1 (415) 555-0100") posts "to": "14155550100"."""
    route = reply(router, SENT)
    await client.verifications.send_code(app_id="mRELxtHc", code="4821", to="+1 (415) 555-0100")
    assert_wire(
        route,
        "POST",
        "/verification/sendRule",
        {"appId": "mRELxtHc", "code": "4821", "to": "14155550100"},
    )


async def test_backfill_report_sends_the_bare_digits(
    client: AsyncItnio, router: respx.Router
) -> None:
    """backfill.report(number="0086-135.1234.5678") posts "number": "8613512345678"."""
    route = reply(router)
    await client.backfill.report(
        app_id="mRELxtHc",
        verification_id=VID,
        number="0086-135.1234.5678",
        time=FIXED_TIME * 1000,
    )
    assert_wire(
        route,
        "POST",
        "/postback/backfill",
        {
            "appId": "mRELxtHc",
            "verificationId": VID,
            "number": "8613512345678",
            "time": str(FIXED_TIME * 1000),
        },
    )


@pytest.mark.parametrize("written", ["+1 (415) 555-0100 x", "1415+5550100"])
async def test_refused_numbers_send_nothing(
    client: AsyncItnio, router: respx.Router, written: str
) -> None:
    """A refused number fails send, send_code and backfill.report before any request."""
    reply(router, SENT)
    with pytest.raises(ValidationError, match=r"^to must be"):
        await client.verifications.send(app_id="mRELxtHc", template_id=455, to=written)
    with pytest.raises(ValidationError, match=r"^to must be"):
        await client.verifications.send_code(app_id="mRELxtHc", code="4821", to=written)
    with pytest.raises(ValidationError, match=r"^number must be"):
        await client.backfill.report(
            app_id="mRELxtHc", verification_id=VID, number=written, time=FIXED_TIME * 1000
        )
    assert not router.calls


def test_send_documents_the_number_as_people_write_it() -> None:
    """`send`'s docstring describes `to` as the rule accepts it (no stale "no `+`"), and
    every example it gives is accepted."""
    doc = Verifications.send.__doc__ or ""
    to_doc = doc.split("to:", 1)[1].split("channel:", 1)[0]
    assert "no ``+``" not in to_doc
    examples = re.findall(r'``"([^"]+)"``', to_doc)
    assert "+86 135 1234 5678" in examples
    for example in examples:
        assert v.phone("to", example) == "8613512345678"
