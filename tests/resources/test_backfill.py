"""client.backfill: postback.backfill and backfillRate (customer → ITNIO reports)."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import respx

from itnio_async import AsyncItnio, ValidationError

from ._wire import GLOBAL_STATUSES, PLAIN_STATUSES, assert_status_raises, assert_wire, reply

CST = timezone(timedelta(hours=8))
VID = "22206051443051000003"
#: 2023-04-11T03:46:04Z, the millisecond example of the sibling SMS docs.
MOMENT = datetime(2023, 4, 11, 11, 46, 4, tzinfo=CST)
MILLIS = "1681184764000"


async def returned(call: Awaitable[object]) -> object:
    """What ``call`` returns, checked at run time (the signature already says None)."""
    return await call


# -- postback.backfill -------------------------------------------------------------


async def test_report_sends_constructed_example(client: AsyncItnio, router: respx.Router) -> None:
    """report posts {appId, verificationId, number, time} to /postback/backfill, returns None."""
    route = reply(router)
    result = await returned(
        client.backfill.report(
            app_id="mRELxtHc", verification_id=VID, number="91856321412", time=MOMENT
        )
    )
    assert result is None
    assert_wire(
        route,
        "POST",
        "/postback/backfill",
        {"appId": "mRELxtHc", "verificationId": VID, "number": "91856321412", "time": MILLIS},
    )


@pytest.mark.parametrize(
    ("time", "sent"),
    [
        (MOMENT, MILLIS),
        (MOMENT.astimezone(UTC), MILLIS),
        (MOMENT.replace(microsecond=999_999), "1681184764999"),
        (1681184764000, MILLIS),
        ("1681184764000", MILLIS),
        (0, "0"),
    ],
)
async def test_report_time_is_a_millisecond_string(
    client: AsyncItnio, router: respx.Router, time: Any, sent: str
) -> None:
    """An aware datetime, an int or a digit string is sent as a millisecond string."""
    route = reply(router)
    await client.backfill.report(app_id="mRELxtHc", verification_id=VID, time=time)
    assert_wire(
        route,
        "POST",
        "/postback/backfill",
        {"appId": "mRELxtHc", "verificationId": VID, "time": sent},
    )


async def test_report_int_verification_id_is_sent_as_string(
    client: AsyncItnio, router: respx.Router
) -> None:
    """verificationId is always a JSON string with every digit kept."""
    route = reply(router)
    await client.backfill.report(
        app_id="mRELxtHc",
        verification_id=22206051443051000003,  # type: ignore[arg-type]
        time=MILLIS,
    )
    assert_wire(
        route,
        "POST",
        "/postback/backfill",
        {"appId": "mRELxtHc", "verificationId": VID, "time": MILLIS},
    )


@pytest.mark.parametrize("status", [*GLOBAL_STATUSES])
async def test_report_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """postback.backfill lists no codes: every code of the global table maps to its class."""
    await assert_status_raises(
        router,
        status,
        lambda: client.backfill.report(app_id="mRELxtHc", verification_id=VID, time=MILLIS),
    )


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"time": datetime(2023, 4, 11, 11, 46, 4)}, "time"),
        ({"time": datetime(1969, 12, 31, tzinfo=UTC)}, "time"),
        ({"time": -1}, "time"),
        ({"time": "2023-04-11"}, "time"),
        ({"time": ""}, "time"),
        ({"time": True}, "time"),
        ({"time": 1.5}, "time"),
        ({"app_id": "abc"}, "app_id"),
        ({"app_id": "x" * 33}, "app_id"),
        ({"verification_id": ""}, "verification_id"),
        ({"verification_id": "  "}, "verification_id"),
        ({"number": "+91 856321412x"}, "number"),
        ({"number": "91+856321412"}, "number"),
        ({"number": "123456789"}, "number"),
    ],
)
async def test_report_rejected_before_sending(
    client: AsyncItnio, router: respx.Router, changes: dict[str, Any], argument: str
) -> None:
    """Naive datetimes, bad times, ids and numbers fail before any request."""
    reply(router)
    args: dict[str, Any] = {"app_id": "mRELxtHc", "verification_id": VID, "time": MILLIS, **changes}
    with pytest.raises(ValidationError) as info:
        await client.backfill.report(**args)
    assert info.value.argument == argument
    assert not router.calls


# -- backfillRate ------------------------------------------------------------------


async def test_report_rate_sends_documented_example(
    client: AsyncItnio, router: respx.Router
) -> None:
    """report_rate posts to /backfillRate (directly under the base) with numbers as strings."""
    route = reply(router)
    result = await returned(
        client.backfill.report_rate(
            app_id="mRELxtHc",
            mcc=460,
            backfill_number=100,
            backfill_cardinal_number=Decimal(1000),
            backfill_now="10",
            callback_time=datetime(2023, 1, 29, 9, 59, 58, tzinfo=CST),
        )
    )
    assert result is None
    assert_wire(
        route,
        "POST",
        "/backfillRate",
        {
            "appId": "mRELxtHc",
            "mcc": "460",
            "backfillNumber": "100",
            "backfillCardinalNumber": "1000",
            "backfillNow": "10",
            "callbackTime": "2023-01-29T09:59:58+08:00",
        },
    )


async def test_report_rate_omits_optional_counts(client: AsyncItnio, router: respx.Router) -> None:
    """backfill_number and backfill_cardinal_number are omitted when None; ISO strings pass."""
    route = reply(router)
    await client.backfill.report_rate(
        app_id="mRELxtHc",
        mcc="460",
        backfill_now=Decimal("12.5"),
        callback_time="2023-01-29T09:59:58+08:00",
    )
    assert_wire(
        route,
        "POST",
        "/backfillRate",
        {
            "appId": "mRELxtHc",
            "mcc": "460",
            "backfillNow": "12.5",
            "callbackTime": "2023-01-29T09:59:58+08:00",
        },
    )


@pytest.mark.parametrize(
    ("callback_time", "sent"),
    [
        (datetime(2023, 1, 29, 1, 59, 58, tzinfo=UTC), "2023-01-29T01:59:58+00:00"),
        (datetime(2023, 1, 29, 9, 59, 58, 123456, tzinfo=CST), "2023-01-29T09:59:58+08:00"),
        ("2023-01-29T01:59:58Z", "2023-01-29T01:59:58Z"),
    ],
)
async def test_report_rate_callback_time_is_iso_with_offset(
    client: AsyncItnio, router: respx.Router, callback_time: Any, sent: str
) -> None:
    """callback_time goes out as ISO-8601 with its offset, to the second."""
    route = reply(router)
    await client.backfill.report_rate(
        app_id="mRELxtHc", mcc=460, backfill_now=0, callback_time=callback_time
    )
    body = {"appId": "mRELxtHc", "mcc": "460", "backfillNow": "0", "callbackTime": sent}
    assert_wire(route, "POST", "/backfillRate", body)


@pytest.mark.parametrize(
    ("backfill_now", "sent"),
    [
        (0, "0"),
        (100, "100"),
        ("100.00", "100.00"),
        ("99.99", "99.99"),
        (Decimal("0.01"), "0.01"),
        (Decimal("1E+1"), "10"),
        (" 5.5 ", "5.5"),
    ],
)
async def test_report_rate_backfill_now_boundaries_pass(
    client: AsyncItnio, router: respx.Router, backfill_now: Any, sent: str
) -> None:
    """backfill_now 0–100 with up to two decimals is sent as a plain decimal string."""
    route = reply(router)
    await client.backfill.report_rate(
        app_id="mRELxtHc", mcc=460, backfill_now=backfill_now, callback_time=MOMENT
    )
    assert_wire(
        route,
        "POST",
        "/backfillRate",
        {
            "appId": "mRELxtHc",
            "mcc": "460",
            "backfillNow": sent,
            "callbackTime": "2023-04-11T11:46:04+08:00",
        },
    )


@pytest.mark.parametrize("status", [*PLAIN_STATUSES])
async def test_report_rate_error_statuses(
    client: AsyncItnio, router: respx.Router, status: int
) -> None:
    """backfillRate documents 0 -1 -2 -16 -18 -22; each maps to its class."""
    await assert_status_raises(
        router,
        status,
        lambda: client.backfill.report_rate(
            app_id="mRELxtHc", mcc=460, backfill_now=10, callback_time=MOMENT
        ),
    )


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"backfill_now": "-0.01"}, "backfill_now"),
        ({"backfill_now": "100.01"}, "backfill_now"),
        ({"backfill_now": "10.555"}, "backfill_now"),
        ({"backfill_now": "ten"}, "backfill_now"),
        ({"backfill_now": "NaN"}, "backfill_now"),
        ({"backfill_now": True}, "backfill_now"),
        ({"backfill_now": 10.5}, "backfill_now"),
        ({"mcc": "46a"}, "mcc"),
        ({"mcc": 1000}, "mcc"),
        ({"mcc": "4.6"}, "mcc"),
        ({"backfill_number": -1}, "backfill_number"),
        ({"backfill_number": "1.5"}, "backfill_number"),
        ({"backfill_cardinal_number": "x"}, "backfill_cardinal_number"),
        ({"callback_time": datetime(2023, 1, 29, 9, 59, 58)}, "callback_time"),
        ({"callback_time": "2023-01-29T09:59:58"}, "callback_time"),
        ({"callback_time": "yesterday"}, "callback_time"),
        ({"callback_time": 1675000000}, "callback_time"),
        ({"app_id": "abc"}, "app_id"),
        ({"app_id": "    "}, "app_id"),
    ],
)
async def test_report_rate_rejected_before_sending(
    client: AsyncItnio, router: respx.Router, changes: dict[str, Any], argument: str
) -> None:
    """Out-of-range rates, bad counts, naive or unparsable times fail before any request."""
    reply(router)
    args: dict[str, Any] = {
        "app_id": "mRELxtHc",
        "mcc": 460,
        "backfill_now": 10,
        "callback_time": MOMENT,
        **changes,
    }
    with pytest.raises(ValidationError) as info:
        await client.backfill.report_rate(**args)
    assert info.value.argument == argument
    assert not router.calls
