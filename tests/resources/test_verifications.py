"""client.verifications: verification.send, sendRule, resend and verify on the wire."""

from __future__ import annotations

from typing import Any

import pytest
import respx

from itnio_async import (
    AsyncItnio,
    Channel,
    MatchStatus,
    SendResult,
    ValidationError,
    VerifyResult,
)
from itnio_async._converter import structure

from ._wire import (
    PLAIN_STATUSES,
    SEND_STATUSES,
    assert_status_raises,
    assert_wire,
    reply,
)

VID = "22206051443051000003"
PHONE = "91856321412"

#: The constructed send / sendRule / resend example.
SENT: dict[str, Any] = {"verificationId": VID, "to": PHONE, "channel": "sms"}
#: The constructed verify example.
VERIFIED: dict[str, Any] = {"verificationId": VID, "to": PHONE, "channel": "sms", "matched": 0}


def assert_example_send_result(result: SendResult) -> None:
    """The constructed send example, field by field with types."""
    assert type(result) is SendResult
    assert result.verification_id == VID
    assert type(result.verification_id) is str
    assert result.to == PHONE
    assert result.channel is Channel.SMS
    assert result.sna_url is None


# -- verification.send -------------------------------------------------------------


async def test_send_sends_documented_example(client: AsyncItnio, router: respx.Router) -> None:
    """send posts the documented body to /verification/send; the null fields are omitted."""
    route = reply(router, SENT)
    await client.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE, channel="sms")
    assert_wire(
        route,
        "POST",
        "/verification/send",
        {"appId": "mRELxtHc", "templateId": 455, "to": PHONE, "channel": "sms"},
    )


async def test_send_all_arguments_and_digit_string_ids(
    client: AsyncItnio, router: respx.Router
) -> None:
    """templateId and flowId given as digit strings are sent as JSON integers."""
    route = reply(router, SENT)
    await client.verifications.send(
        app_id="mRELxtHc",
        template_id="455",
        to=PHONE,
        channel=Channel.CALL,
        flow_id="7",
        order_id="1234566",
    )
    assert_wire(
        route,
        "POST",
        "/verification/send",
        {
            "appId": "mRELxtHc",
            "templateId": 455,
            "flowId": 7,
            "to": PHONE,
            "channel": "call",
            "orderId": "1234566",
        },
    )


async def test_send_decodes_example(client: AsyncItnio, router: respx.Router) -> None:
    """The constructed send response decodes field by field (and strictly)."""
    reply(router, SENT)
    result = await client.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE)
    assert_example_send_result(result)
    assert result == structure(SENT, SendResult, strict=True)


async def test_send_sna_url_and_numeric_id_decode(client: AsyncItnio, router: respx.Router) -> None:
    """snaUrl decodes for the sna channel; a 20-digit numeric id stays an exact str."""
    reply(
        router,
        {
            "verificationId": 22206051443051000003,
            "to": PHONE,
            "channel": "sna",
            "snaUrl": "https://x",
        },
    )
    result = await client.verifications.send(
        app_id="mRELxtHc", template_id=455, to=PHONE, channel="sna"
    )
    assert result.verification_id == VID
    assert type(result.verification_id) is str
    assert result.channel is Channel.SNA
    assert result.sna_url == "https://x"


@pytest.mark.parametrize("status", [*SEND_STATUSES])
async def test_send_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """send documents 0 -1 -2 -10 -16 -18 -22 -26 -27 -28 -29; each maps to its class."""
    await assert_status_raises(
        router,
        status,
        lambda: client.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE),
    )


# -- verification.sendRule ---------------------------------------------------------


async def test_send_code_sends_documented_example(client: AsyncItnio, router: respx.Router) -> None:
    """send_code posts the documented sendRule body to /verification/sendRule."""
    route = reply(router, SENT)
    await client.verifications.send_code(
        app_id="mRELxtHc", template_id=1, code="12345", to=PHONE, channel="sms"
    )
    assert_wire(
        route,
        "POST",
        "/verification/sendRule",
        {"appId": "mRELxtHc", "templateId": 1, "code": "12345", "to": PHONE, "channel": "sms"},
    )


async def test_send_code_optional_template_and_string_ids(
    client: AsyncItnio, router: respx.Router
) -> None:
    """templateId is optional (omitted when None); digit-string ids go out as ints."""
    route = reply(router, SENT)
    await client.verifications.send_code(app_id="mRELxtHc", code="1", to=PHONE)
    assert_wire(
        route, "POST", "/verification/sendRule", {"appId": "mRELxtHc", "code": "1", "to": PHONE}
    )
    route.calls.clear()
    await client.verifications.send_code(
        app_id="mRELxtHc", code="0123456789", to=PHONE, template_id="12", flow_id="3", order_id=""
    )
    assert_wire(
        route,
        "POST",
        "/verification/sendRule",
        {
            "appId": "mRELxtHc",
            "templateId": 12,
            "code": "0123456789",
            "flowId": 3,
            "to": PHONE,
            "orderId": "",
        },
    )


async def test_send_code_decodes_example(client: AsyncItnio, router: respx.Router) -> None:
    """The sendRule response decodes like send's."""
    reply(router, SENT)
    result = await client.verifications.send_code(app_id="mRELxtHc", code="12345", to=PHONE)
    assert_example_send_result(result)


@pytest.mark.parametrize("status", [*SEND_STATUSES])
async def test_send_code_error_statuses(
    client: AsyncItnio, router: respx.Router, status: int
) -> None:
    """sendRule documents the send status list; each maps to its class."""
    await assert_status_raises(
        router,
        status,
        lambda: client.verifications.send_code(app_id="mRELxtHc", code="12345", to=PHONE),
    )


# -- verification.resend -----------------------------------------------------------


async def test_resend_sends_documented_example(client: AsyncItnio, router: respx.Router) -> None:
    """resend posts {verificationId, channel} to /verification/resend."""
    route = reply(router, {**SENT, "verificationId": "22206051443051000004"})
    result = await client.verifications.resend(VID, channel="sms")
    assert_wire(route, "POST", "/verification/resend", {"verificationId": VID, "channel": "sms"})
    assert result.verification_id == "22206051443051000004"
    assert result.channel is Channel.SMS


async def test_resend_verification_id_is_always_a_string(
    client: AsyncItnio, router: respx.Router
) -> None:
    """An int verification id is sent as its exact digit string; channel omitted when None."""
    route = reply(router, SENT)
    await client.verifications.resend(22206051443051000003)  # type: ignore[arg-type]
    assert_wire(route, "POST", "/verification/resend", {"verificationId": VID})


@pytest.mark.parametrize("status", [*SEND_STATUSES])
async def test_resend_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """resend documents the send status list; each maps to its class."""
    await assert_status_raises(router, status, lambda: client.verifications.resend(VID))


# -- verification.verify -----------------------------------------------------------


async def test_verify_sends_documented_example(client: AsyncItnio, router: respx.Router) -> None:
    """verify posts {verificationId, code} to /verification/verify."""
    route = reply(router, VERIFIED)
    await client.verifications.verify(VID, "5863")
    assert_wire(route, "POST", "/verification/verify", {"verificationId": VID, "code": "5863"})


async def test_verify_decodes_example(client: AsyncItnio, router: respx.Router) -> None:
    """The constructed verify example decodes to an ok VerifyResult."""
    reply(router, VERIFIED)
    result = await client.verifications.verify(VID, "5863")
    assert type(result) is VerifyResult
    assert result.verification_id == VID
    assert result.to == PHONE
    assert result.channel is Channel.SMS
    assert result.matched is MatchStatus.MATCHED
    assert result.ok is True
    assert result == structure(VERIFIED, VerifyResult, strict=True)


@pytest.mark.parametrize(
    "matched",
    [
        MatchStatus.NOT_VERIFIED,
        MatchStatus.SENDING,
        MatchStatus.FAILED,
        MatchStatus.NOT_FOUND,
        MatchStatus.ALREADY_USED,
        MatchStatus.EXPIRED,
    ],
)
async def test_verify_wrong_code_is_data_not_an_exception(
    client: AsyncItnio, router: respx.Router, matched: MatchStatus
) -> None:
    """status "0" with matched != 0 gives ok False and no exception, in one request (trap 33)."""
    route = reply(router, {**VERIFIED, "matched": int(matched)})
    result = await client.verifications.verify(VID, "0000")
    assert result.ok is False
    assert result.matched is matched
    assert route.call_count == 1


async def test_verify_unknown_matched_value_is_kept(
    client: AsyncItnio, router: respx.Router
) -> None:
    """An undocumented matched value survives decoding and is not ok."""
    reply(router, {**VERIFIED, "matched": 9})
    result = await client.verifications.verify(VID, "0000")
    assert result.matched == 9
    assert result.ok is False


@pytest.mark.parametrize("status", [*PLAIN_STATUSES])
async def test_verify_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """verify documents 0 -1 -2 -16 -18 -22; each maps to its class."""
    await assert_status_raises(router, status, lambda: client.verifications.verify(VID, "5863"))


# -- validation before sending ------------------------------------------------------


@pytest.mark.parametrize("to", ["1234567890", "12345678901234"])
async def test_to_boundaries_pass(client: AsyncItnio, router: respx.Router, to: str) -> None:
    """Numbers of 10 and 14 digits are sent."""
    route = reply(router, SENT)
    await client.verifications.send(app_id="mRELxtHc", template_id=1, to=to)
    assert_wire(
        route, "POST", "/verification/send", {"appId": "mRELxtHc", "templateId": 1, "to": to}
    )


@pytest.mark.parametrize("order_id", ["", "o" * 64])
async def test_order_id_boundaries_pass(
    client: AsyncItnio, router: respx.Router, order_id: str
) -> None:
    """order_id of 0 and 64 characters is sent (documented 0–64)."""
    route = reply(router, SENT)
    await client.verifications.send(app_id="mRELxtHc", template_id=1, to=PHONE, order_id=order_id)
    body = {"appId": "mRELxtHc", "templateId": 1, "to": PHONE, "orderId": order_id}
    assert_wire(route, "POST", "/verification/send", body)


@pytest.mark.parametrize("channel", ["sms", "call", "sna", Channel.SNA, "CALL"])
async def test_send_channels_pass(client: AsyncItnio, router: respx.Router, channel: Any) -> None:
    """Send accepts sms, call and sna (case-insensitive), sent lower case."""
    route = reply(router, SENT)
    await client.verifications.send(app_id="mRELxtHc", template_id=1, to=PHONE, channel=channel)
    body = {"appId": "mRELxtHc", "templateId": 1, "to": PHONE, "channel": str(channel).lower()}
    assert_wire(route, "POST", "/verification/send", body)


SEND_FAILING = [
    ("app_id", "abc"),
    ("app_id", "x" * 33),
    ("app_id", ""),
    ("app_id", "    "),
    ("template_id", ""),
    ("template_id", "abc"),
    ("template_id", "²"),
    ("template_id", "١٢"),
    ("template_id", -1),
    ("template_id", True),
    ("template_id", 1.0),
    ("to", "123456789"),
    ("to", "123456789012345"),
    ("to", "++91856321412"),
    ("to", "91  856321412"),
    ("to", "(91) 856321412"),
    ("to", "091856321412"),
    ("to", "٩١٨٥٦٣٢١٤١٢"),
    ("to", 91856321412),
    ("channel", "email"),
    ("channel", ""),
    ("flow_id", "x"),
    ("flow_id", False),
    ("order_id", "o" * 65),
    ("order_id", 12),
]


@pytest.mark.parametrize(("argument", "value"), SEND_FAILING)
async def test_send_and_send_code_reject_before_sending(
    client: AsyncItnio, router: respx.Router, argument: str, value: Any
) -> None:
    """A broken constraint on a shared argument fails send and send_code without a request."""
    reply(router, SENT)
    args: dict[str, Any] = {"app_id": "mRELxtHc", "template_id": 1, "to": PHONE, argument: value}
    with pytest.raises(ValidationError) as info:
        await client.verifications.send(**args)
    assert info.value.argument == argument
    with pytest.raises(ValidationError) as info:
        await client.verifications.send_code(code="1234", **args)
    assert info.value.argument == argument
    assert not router.calls


async def test_phone_number_is_masked_in_the_error(
    client: AsyncItnio, router: respx.Router
) -> None:
    """A rejected number shows only its last 4 digits."""
    reply(router, SENT)
    with pytest.raises(ValidationError) as info:
        await client.verifications.send(app_id="mRELxtHc", template_id=1, to="+918563214129x")
    message = str(info.value)
    assert "918563214129" not in message
    assert "8563" not in message
    assert "129x" in message
    assert "to must be" in message


@pytest.mark.parametrize("code", ["", "12345678901", 1234, None])
async def test_send_code_code_rejected(client: AsyncItnio, router: respx.Router, code: Any) -> None:
    """send_code needs a code of 1–10 characters; nothing is sent otherwise."""
    reply(router, SENT)
    with pytest.raises(ValidationError) as info:
        await client.verifications.send_code(app_id="mRELxtHc", code=code, to=PHONE)
    assert info.value.argument == "code"
    assert not router.calls


async def test_code_never_shown_in_the_error(client: AsyncItnio, router: respx.Router) -> None:
    """A rejected code appears in the message by length only."""
    reply(router, SENT)
    with pytest.raises(ValidationError) as info:
        await client.verifications.send_code(app_id="mRELxtHc", code="98765432109", to=PHONE)
    assert "98765432109" not in str(info.value)
    assert "11 characters" in str(info.value)
    with pytest.raises(ValidationError) as info:
        await client.verifications.verify(VID, "987")
    assert "987" not in str(info.value)
    assert not router.calls


@pytest.mark.parametrize("code", ["1234", "1234567890"])
async def test_verify_code_boundaries_pass(
    client: AsyncItnio, router: respx.Router, code: str
) -> None:
    """verify accepts codes of 4 and 10 characters."""
    route = reply(router, VERIFIED)
    await client.verifications.verify(VID, code)
    assert_wire(route, "POST", "/verification/verify", {"verificationId": VID, "code": code})


@pytest.mark.parametrize(("pasted", "sent"), [("482913 ", "482913"), ("４８２９１３", "482913")])
async def test_pasted_codes_are_sent_as_ascii_digits(
    client: AsyncItnio, router: respx.Router, pasted: str, sent: str
) -> None:
    """A code pasted with a space or typed in full-width digits is sent as its ASCII digits,
    by verify and by send_code."""
    route = reply(router, VERIFIED)
    await client.verifications.verify(VID, pasted)
    assert_wire(route, "POST", "/verification/verify", {"verificationId": VID, "code": sent})
    router.routes.clear()
    route = reply(router, SENT)
    await client.verifications.send_code(app_id="mRELxtHc", code=pasted, to=PHONE)
    assert_wire(
        route, "POST", "/verification/sendRule", {"appId": "mRELxtHc", "code": sent, "to": PHONE}
    )


@pytest.mark.parametrize("code", ["482 913", "４８２ ９１３", "ＡＢＣＤ", "48\x002913"])
async def test_codes_with_inner_whitespace_or_other_characters_are_refused(
    client: AsyncItnio, router: respx.Router, code: str
) -> None:
    """Whitespace inside a code, full-width letters and control characters stay refused."""
    reply(router, VERIFIED)
    with pytest.raises(ValidationError) as info:
        await client.verifications.verify(VID, code)
    assert info.value.argument == "code"
    assert not router.calls


@pytest.mark.parametrize(
    ("verification_id", "code", "argument"),
    [
        (VID, "123", "code"),
        (VID, "12345678901", "code"),
        (VID, "    ", "code"),
        (VID, 1234, "code"),
        ("", "1234", "verification_id"),
        ("  ", "1234", "verification_id"),
        (None, "1234", "verification_id"),
        (True, "1234", "verification_id"),
    ],
)
async def test_verify_rejected_before_sending(
    client: AsyncItnio, router: respx.Router, verification_id: Any, code: Any, argument: str
) -> None:
    """verify needs a non-empty id and a code of 4–10 characters."""
    reply(router, VERIFIED)
    with pytest.raises(ValidationError) as info:
        await client.verifications.verify(verification_id, code)
    assert info.value.argument == argument
    assert not router.calls


@pytest.mark.parametrize(
    ("verification_id", "channel", "argument"),
    [("", None, "verification_id"), ("   ", None, "verification_id"), (VID, "fax", "channel")],
)
async def test_resend_rejected_before_sending(
    client: AsyncItnio, router: respx.Router, verification_id: Any, channel: Any, argument: str
) -> None:
    """resend rejects a blank id or an unknown channel without a request."""
    reply(router, SENT)
    with pytest.raises(ValidationError) as info:
        await client.verifications.resend(verification_id, channel=channel)
    assert info.value.argument == argument
    assert not router.calls
