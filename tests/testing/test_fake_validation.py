"""Server-side validation of the fake: every documented constraint answers -22.

These requests bypass the SDK (which validates the same rules client-side) so the
fake's own checks are what is tested.
"""

from __future__ import annotations

from typing import Any

import pytest

from itnio_async.testing import FakeItnio

from .conftest import Raw

APP = "abcd1234"
LIMIT = {"enabled": True, "unit": 1, "period": 1, "limit": 1}
NODE = {"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0}
SEND = {"appId": APP, "templateId": 455, "to": "8613512345678"}
RATE = {"appId": APP, "mcc": "460", "backfillNow": "10", "callbackTime": "2023-01-29T09:59:58Z"}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not ...}


INVALID: list[tuple[str, str, Any]] = [
    ("POST", "/app/add", {}),
    ("POST", "/app/add", {"name": "abc"}),
    ("POST", "/app/add", {"name": "x" * 33}),
    ("POST", "/app/add", {"name": 12345}),
    ("POST", "/app/add", {"name": "okname", "codeExpiry": 0}),
    ("POST", "/app/add", {"name": "okname", "codeExpiry": 61}),
    ("POST", "/app/add", {"name": "okname", "codeExpiry": "5"}),
    ("POST", "/app/add", {"name": "okname", "codeExpiry": True}),
    ("POST", "/app/add", {"name": "okname", "colour": "red"}),
    ("POST", "/app/add", {"name": "okname", "periodTotalSendLimit": {"enabled": True}}),
    ("POST", "/app/add", {"name": "okname", "periodTotalSendLimit": _with(LIMIT, unit=5)}),
    ("POST", "/app/add", {"name": "okname", "periodTotalSendLimit": _with(LIMIT, period=0)}),
    ("POST", "/app/add", {"name": "okname", "periodTotalSendLimit": _with(LIMIT, period=91)}),
    ("POST", "/app/add", {"name": "okname", "periodPhoneSendLimit": _with(LIMIT, limit=0)}),
    (
        "POST",
        "/app/add",
        {"name": "okname", "periodPhoneSendLimit": _with(LIMIT, limit=10_000_000_001)},
    ),
    ("POST", "/app/add", {"name": "okname", "periodPhoneSendLimit": {"enabled": "yes"}}),
    ("POST", "/app/add", {"name": "okname", "periodPhoneSendLimit": _with(LIMIT, extra=1)}),
    ("POST", "/app/add", {"name": "okname", "periodPhoneSendLimit": [LIMIT]}),
    ("PUT", f"/app/update/{APP}", {"codeExpiry": 5}),
    ("PUT", f"/app/update/{APP}", {"appId": "other123", "name": "okname"}),
    ("POST", "/template/add", {"name": "login", "text": "##code##"}),
    ("POST", "/template/add", {"appId": APP, "name": "login", "text": "no placeholder"}),
    ("POST", "/template/add", {"appId": APP, "name": "login", "text": "##code##" + "x" * 249}),
    ("POST", "/template/add", {"appId": APP, "name": "login", "text": "##code##", "codeType": 5}),
    ("POST", "/template/add", {"appId": APP, "name": "login", "text": "##code##", "codeLength": 3}),
    (
        "POST",
        "/template/add",
        {"appId": APP, "name": "login", "text": "##code##", "codeLength": 11},
    ),
    (
        "POST",
        "/template/add",
        {"appId": APP, "name": "login", "text": "##code##", "speechRate": 101},
    ),
    (
        "POST",
        "/template/add",
        {"appId": APP, "name": "login", "text": "##code##", "speechRate": -1},
    ),
    (
        "POST",
        "/template/add",
        {"appId": APP, "name": "login", "text": "##code##", "maxDuration": 4},
    ),
    (
        "POST",
        "/template/add",
        {"appId": APP, "name": "login", "text": "##code##", "maxDuration": 600},
    ),
    ("POST", "/template/add", {"appId": APP, "name": "login", "text": "##code##", "repeatCnt": 0}),
    ("POST", "/template/add", {"appId": APP, "name": "login", "text": "##code##", "repeatCnt": 11}),
    (
        "POST",
        "/template/add",
        {"appId": APP, "name": "login", "text": "##code##", "language": "FR"},
    ),
    ("PUT", "/template/update/455", {"appId": APP, "name": "login", "text": "##code##"}),
    ("PUT", "/template/update/455", {"name": "login"}),
    ("POST", "/flow/add", {"name": "fallback"}),
    ("POST", "/flow/add", {"name": "fallback", "flow": []}),
    ("POST", "/flow/add", {"name": "fallback", "flow": [_with(NODE, waitingTime=29)]}),
    ("POST", "/flow/add", {"name": "fallback", "flow": [_with(NODE, waitingTime=121)]}),
    ("POST", "/flow/add", {"name": "fallback", "flow": [_with(NODE, status=3)]}),
    ("POST", "/flow/add", {"name": "fallback", "flow": [_with(NODE, channel="sna")]}),
    ("POST", "/flow/add", {"name": "fallback", "flow": [_with(NODE, channelCut=2)]}),
    ("POST", "/flow/add", {"name": "fallback", "flow": [_with(NODE, channelCut="0")]}),
    ("POST", "/flow/add", {"name": "fallback", "flow": [_with(NODE, channel=...)]}),
    ("POST", "/flow/add", {"name": "fallback", "flow": [_with(NODE, colour="red")]}),
    ("PUT", "/flow/update/90", {"name": "fallback", "flow": "sms"}),
    ("POST", "/verification/send", _with(SEND, to="861351234")),
    ("POST", "/verification/send", _with(SEND, to="861351234567890")),
    ("POST", "/verification/send", _with(SEND, to="+8613512345678")),
    ("POST", "/verification/send", _with(SEND, to=8613512345678)),
    ("POST", "/verification/send", _with(SEND, orderId="o" * 65)),
    ("POST", "/verification/send", _with(SEND, channel="email")),
    ("POST", "/verification/send", _with(SEND, channel="SMS")),
    ("POST", "/verification/send", _with(SEND, templateId=...)),
    ("POST", "/verification/send", _with(SEND, templateId="abc")),
    ("POST", "/verification/send", _with(SEND, templateId=2**63)),
    ("POST", "/verification/send", _with(SEND, templateId=str(2**63))),
    ("POST", "/verification/send", _with(SEND, templateId="9" * 5000)),
    ("POST", "/verification/send", _with(SEND, templateId=-1)),
    ("POST", "/verification/send", _with(SEND, templateId="١٢")),
    ("POST", "/verification/send", _with(SEND, flowId=10**30)),
    ("POST", "/verification/send", _with(SEND, appId="abc")),
    ("POST", "/verification/send", _with(SEND, code="1234")),
    ("POST", "/verification/sendRule", _with(SEND, code="")),
    ("POST", "/verification/sendRule", _with(SEND, code="12345678901")),
    ("POST", "/verification/sendRule", SEND),
    ("POST", "/verification/resend", {"channel": "sms"}),
    ("POST", "/verification/resend", {"verificationId": "1", "channel": "fax"}),
    ("POST", "/verification/verify", {"verificationId": "1", "code": "123"}),
    ("POST", "/verification/verify", {"verificationId": "1", "code": "12345678901"}),
    ("POST", "/verification/verify", {"code": "1234"}),
    ("POST", "/verification/orderId/record", {"appId": APP}),
    ("POST", "/verification/orderId/record", {"orderId": "o" * 65}),
    ("POST", "/postback/backfill", {"appId": APP, "verificationId": "1"}),
    (
        "POST",
        "/postback/backfill",
        {"appId": APP, "verificationId": "1", "time": "1", "number": "1"},
    ),
    (
        "POST",
        "/backfillRate",
        {
            "appId": APP,
            "mcc": "460",
            "backfillNow": "100.5",
            "callbackTime": "2023-01-29T09:59:58+08:00",
        },
    ),
    (
        "POST",
        "/backfillRate",
        {
            "appId": APP,
            "mcc": "460",
            "backfillNow": "10.123",
            "callbackTime": "2023-01-29T09:59:58+08:00",
        },
    ),
    (
        "POST",
        "/backfillRate",
        {"appId": APP, "mcc": "460", "backfillNow": "10", "callbackTime": "2023-01-29T09:59:58"},
    ),
    (
        "POST",
        "/backfillRate",
        {"appId": APP, "mcc": "abc", "backfillNow": "10", "callbackTime": "2023-01-29T09:59:58Z"},
    ),
    ("POST", "/backfillRate", {"appId": APP, "mcc": "460", "backfillNow": "10"}),
    *(
        ("POST", "/backfillRate", {**RATE, field: number})
        for field, number in [
            ("backfillNow", "1_0"),
            ("backfillNow", "١٠"),
            ("backfillNow", " 10"),
            ("backfillNow", "+10"),
            ("backfillNow", "1e1"),
            ("backfillNow", "10."),
            ("mcc", "4_60"),
            ("backfillNumber", "1E+2"),
            ("backfillCardinalNumber", "-0"),
        ]
    ),
    ("GET", "/template/details/abc", None),
]


@pytest.mark.parametrize(("method", "path", "body"), INVALID)
async def test_documented_constraints_answer_minus_22(
    raw: Raw, fake: FakeItnio, method: str, path: str, body: Any
) -> None:
    """A request breaking a documented constraint gets status "-22" and changes nothing."""
    response = await raw(method, path, body)
    assert response.status_code == 200
    payload = response.json()
    assert payload["status"] == "-22"
    assert payload["reason"].startswith("Parameter exception")
    assert "data" not in payload
    assert fake.requests[-1].status == "-22"
    assert fake.deliveries == []


@pytest.mark.parametrize(
    "content", [b"", b"not json", b"[1, 2]", b"null", b'{"name": "okname"', b'"text"']
)
async def test_body_that_is_not_a_json_object_is_minus_22(raw: Raw, content: bytes) -> None:
    """POST bodies must be JSON objects."""
    response = await raw("POST", "/app/add", content=content)
    assert response.json()["status"] == "-22"


async def test_boundaries_are_accepted(raw: Raw) -> None:
    """Values at the edges of the documented ranges are accepted."""
    limit = {"enabled": True, "unit": 4, "period": 90, "limit": 10_000_000_000}
    off = {"enabled": False, "unit": None, "period": None, "limit": None}
    body = {
        "name": "abcd",
        "codeExpiry": 60,
        "periodTotalSendLimit": limit,
        "periodPhoneSendLimit": off,
    }
    answer = (await raw("POST", "/app/add", body)).json()
    assert answer["status"] == "0"
    assert answer["data"]["periodTotalSendLimit"] == limit
    assert answer["data"]["periodPhoneSendLimit"] == off
    app_id = answer["data"]["appId"]
    template = {
        "appId": app_id,
        "name": "x" * 32,
        "text": "##code##" + "x" * 248,
        "codeType": 4,
        "codeLength": 10,
        "speechRate": 0,
        "maxDuration": 599,
        "repeatCnt": 10,
        "language": "BD",
    }
    assert (await raw("POST", "/template/add", template)).json()["status"] == "0"
    send = {"appId": app_id, "templateId": "455", "to": "1234567890", "orderId": "o" * 64}
    assert (await raw("POST", "/verification/send", send)).json()["status"] == "0"
    rule = {"appId": app_id, "code": "1", "to": "12345678901234", "flowId": None, "orderId": None}
    assert (await raw("POST", "/verification/sendRule", rule)).json()["status"] == "0"


async def test_largest_signed_64_bit_id_is_an_id(raw: Raw) -> None:
    """templateId 2**63-1 (int or digits) is a valid id: unknown (-24), not malformed (-22)."""
    app_id = (await raw("POST", "/app/add", {"name": "abcd"})).json()["data"]["appId"]
    for template_id in (2**63 - 1, str(2**63 - 1), "0" * 40 + "7"):
        send = {"appId": app_id, "templateId": template_id, "to": "8613512345678"}
        assert (await raw("POST", "/verification/send", send)).json()["status"] == "-24"


@pytest.mark.parametrize(
    ("field", "number"),
    [("backfillNow", "10.50"), ("backfillNow", 10.5), ("mcc", 460), ("backfillNumber", "007")],
)
async def test_plain_numbers_and_json_numbers_are_accepted(
    raw: Raw, field: str, number: Any
) -> None:
    """Plain ASCII decimal strings, and JSON numbers (the docs' mcc example), pass."""
    app_id = (await raw("POST", "/app/add", {"name": "abcd"})).json()["data"]["appId"]
    body = {**RATE, "appId": app_id, field: number}
    assert (await raw("POST", "/backfillRate", body)).json()["status"] == "0"
