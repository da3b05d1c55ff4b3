"""client.apps: app.add, app.update and app.details on the wire."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import respx

from itnio_async import App, AsyncItnio, PeriodUnit, SendLimit, ValidationError
from itnio_async._converter import structure

from ..conftest import envelope
from ._wire import READ_STATUSES, assert_status_raises, assert_wire, reply, sent_json

CST = timezone(timedelta(hours=8))

#: The vendor's app.details example (seed 004).
APP_DETAILS: dict[str, Any] = {
    "name": "test_app",
    "appId": "mRELxtHc",
    "periodTotalSendLimit": {"unit": 1, "period": 1, "limit": 1, "enabled": True},
    "periodPhoneSendLimit": {"unit": 1, "period": 1, "limit": 1, "enabled": True},
    "codeExpiry": 5,
    "createTime": "2022-01-01T00:00:00+08:00",
}

#: The constructed app.update example: the phone limit switched off with null fields.
APP_UPDATED: dict[str, Any] = {
    **APP_DETAILS,
    "periodPhoneSendLimit": {"unit": None, "period": None, "limit": None, "enabled": False},
}

ON = SendLimit(enabled=True, unit=PeriodUnit.DAY, period=1, limit=1)


def assert_example_app(app: App) -> None:
    """The documented app example, field by field with types."""
    assert type(app) is App
    assert app.app_id == "mRELxtHc"
    assert app.name == "test_app"
    assert app.code_expiry == 5
    assert type(app.code_expiry) is int
    assert app.create_time == datetime(2022, 1, 1, tzinfo=CST)
    assert app.create_time is not None
    assert app.create_time.utcoffset() == timedelta(hours=8)
    total = app.period_total_send_limit
    assert total == SendLimit(enabled=True, unit=PeriodUnit.DAY, period=1, limit=1)
    assert total is not None
    assert total.unit is PeriodUnit.DAY
    assert total.enabled is True
    assert type(total.limit) is int


# -- app.add -----------------------------------------------------------------------


async def test_create_sends_documented_example(client: AsyncItnio, router: respx.Router) -> None:
    """apps.create sends the vendor's app.add example body to POST /app/add."""
    route = reply(router, APP_DETAILS)
    await client.apps.create(
        name="test_app",
        code_expiry=5,
        period_total_send_limit=ON,
        period_phone_send_limit=SendLimit(enabled=True, unit=1, period=1, limit=1),  # type: ignore[arg-type]
    )
    assert_wire(
        route,
        "POST",
        "/app/add",
        {
            "name": "test_app",
            "codeExpiry": 5,
            "periodTotalSendLimit": {"enabled": True, "unit": 1, "period": 1, "limit": 1},
            "periodPhoneSendLimit": {"enabled": True, "unit": 1, "period": 1, "limit": 1},
        },
    )


async def test_create_omits_unset_arguments(client: AsyncItnio, router: respx.Router) -> None:
    """Arguments left as None are not sent: the body is just the name."""
    route = reply(router, APP_DETAILS)
    await client.apps.create(name="test_app")
    assert_wire(route, "POST", "/app/add", {"name": "test_app"})


async def test_create_decodes_example(client: AsyncItnio, router: respx.Router) -> None:
    """The constructed app.add response decodes into an App."""
    reply(router, APP_DETAILS)
    assert_example_app(await client.apps.create(name="test_app"))


async def test_create_limit_ten_billion_is_an_exact_json_integer(
    client: AsyncItnio, router: respx.Router
) -> None:
    """A limit of 10,000,000,000 (> 2^31) goes out as an exact JSON integer."""
    route = reply(router, APP_DETAILS)
    limit = SendLimit(enabled=True, unit=PeriodUnit.SECOND, period=90, limit=10_000_000_000)
    await client.apps.create(name="test_app", period_total_send_limit=limit)
    assert b'"limit":10000000000' in route.calls.last.request.content
    assert_wire(
        route,
        "POST",
        "/app/add",
        {
            "name": "test_app",
            "periodTotalSendLimit": {
                "enabled": True,
                "unit": 4,
                "period": 90,
                "limit": 10_000_000_000,
            },
        },
    )


async def test_create_disabled_limit_sends_nulls(client: AsyncItnio, router: respx.Router) -> None:
    """SendLimit(enabled=False) is sent as enabled false with null unit/period/limit."""
    route = reply(router, APP_DETAILS)
    await client.apps.create(name="test_app", period_phone_send_limit=SendLimit(enabled=False))
    assert_wire(
        route,
        "POST",
        "/app/add",
        {
            "name": "test_app",
            "periodPhoneSendLimit": {"enabled": False, "unit": None, "period": None, "limit": None},
        },
    )


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_create_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """Each status of the app family raises its documented exception class."""
    await assert_status_raises(router, status, lambda: client.apps.create(name="test_app"))


# -- app.update --------------------------------------------------------------------


async def test_update_sends_app_id_in_path_and_body(
    client: AsyncItnio, router: respx.Router
) -> None:
    """apps.update is PUT /app/update/{appId} with appId also in the body (trap 24)."""
    route = reply(router, APP_UPDATED)
    await client.apps.update(
        "mRELxtHc",
        name="test_app",
        code_expiry=5,
        period_total_send_limit=ON,
        period_phone_send_limit=SendLimit(enabled=False),
    )
    assert_wire(
        route,
        "PUT",
        "/app/update/mRELxtHc",
        {
            "appId": "mRELxtHc",
            "name": "test_app",
            "codeExpiry": 5,
            "periodTotalSendLimit": {"enabled": True, "unit": 1, "period": 1, "limit": 1},
            "periodPhoneSendLimit": {"enabled": False, "unit": None, "period": None, "limit": None},
        },
    )


async def test_update_percent_encodes_the_path_id(client: AsyncItnio, router: respx.Router) -> None:
    """An app id with a space and a slash is percent-encoded in the path, raw in the body."""
    route = reply(router, APP_UPDATED)
    await client.apps.update("a b/c", name="test_app")
    assert_wire(route, "PUT", "/app/update/a%20b%2Fc", {"appId": "a b/c", "name": "test_app"})


async def test_update_decodes_disabled_limit(client: AsyncItnio, router: respx.Router) -> None:
    """A disabled limit with null fields decodes to SendLimit(enabled=False) with Nones."""
    reply(router, APP_UPDATED)
    app = await client.apps.update("mRELxtHc", name="test_app")
    assert app.period_phone_send_limit == SendLimit(enabled=False)
    assert app.period_phone_send_limit is not None
    assert app.period_phone_send_limit.enabled is False
    assert app.period_total_send_limit == ON
    assert app == structure(APP_UPDATED, App, strict=True)


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_update_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """Each status of the app family raises its documented exception class."""
    await assert_status_raises(
        router, status, lambda: client.apps.update("mRELxtHc", name="test_app")
    )


# -- app.details -------------------------------------------------------------------


async def test_get_wire(client: AsyncItnio, router: respx.Router) -> None:
    """apps.get is GET /app/details/{appId} with no body."""
    route = reply(router, APP_DETAILS)
    await client.apps.get("mRELxtHc")
    assert_wire(route, "GET", "/app/details/mRELxtHc")


async def test_get_percent_encodes_and_accepts_int(
    client: AsyncItnio, router: respx.Router
) -> None:
    """Path ids accept int | str; a str is percent-encoded."""
    route = reply(router, APP_DETAILS)
    await client.apps.get("a b/c")
    assert_wire(route, "GET", "/app/details/a%20b%2Fc")
    route.calls.clear()
    await client.apps.get(12345678)
    assert_wire(route, "GET", "/app/details/12345678")


async def test_get_decodes_vendor_example(client: AsyncItnio, router: respx.Router) -> None:
    """The vendor's app.details example decodes field by field (and strictly)."""
    reply(router, APP_DETAILS)
    app = await client.apps.get("mRELxtHc")
    assert_example_app(app)
    assert app == structure(APP_DETAILS, App, strict=True)


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_get_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """app.details documents 0 -1 -2 -16 -18 -20 -22; each maps to its class."""
    await assert_status_raises(router, status, lambda: client.apps.get("mRELxtHc"))


# -- validation before sending ------------------------------------------------------


@pytest.mark.parametrize("name", ["abcd", "x" * 32])
async def test_name_boundaries_pass(client: AsyncItnio, router: respx.Router, name: str) -> None:
    """Names of 4 and 32 characters are sent."""
    route = reply(router, APP_DETAILS)
    await client.apps.create(name=name)
    assert_wire(route, "POST", "/app/add", {"name": name})


@pytest.mark.parametrize("code_expiry", [1, 60])
async def test_code_expiry_boundaries_pass(
    client: AsyncItnio, router: respx.Router, code_expiry: int
) -> None:
    """code_expiry 1 and 60 are sent."""
    route = reply(router, APP_DETAILS)
    await client.apps.create(name="test_app", code_expiry=code_expiry)
    assert_wire(route, "POST", "/app/add", {"name": "test_app", "codeExpiry": code_expiry})


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"name": "abc"}, "name"),
        ({"name": "x" * 33}, "name"),
        ({"name": 1234}, "name"),
        ({"name": "test_app", "code_expiry": 0}, "code_expiry"),
        ({"name": "test_app", "code_expiry": 61}, "code_expiry"),
        ({"name": "test_app", "code_expiry": True}, "code_expiry"),
        ({"name": "test_app", "code_expiry": 5.0}, "code_expiry"),
        (
            {"name": "test_app", "period_total_send_limit": SendLimit(enabled=True)},
            "period_total_send_limit.unit",
        ),
        (
            {
                "name": "test_app",
                "period_phone_send_limit": SendLimit(enabled=True, unit=PeriodUnit.DAY, period=1),
            },
            "period_phone_send_limit.limit",
        ),
        (
            {"name": "test_app", "period_total_send_limit": {"enabled": False}},
            "period_total_send_limit",
        ),
    ],
)
async def test_create_rejects_before_sending(
    client: AsyncItnio, router: respx.Router, kwargs: dict[str, Any], argument: str
) -> None:
    """A broken constraint raises ValidationError naming the argument; nothing is sent."""
    reply(router, APP_DETAILS)
    with pytest.raises(ValidationError) as info:
        await client.apps.create(**kwargs)
    assert info.value.argument == argument
    assert argument in str(info.value)
    assert not router.calls


@pytest.mark.parametrize("app_id", ["", "    ", "abc", "x" * 33, None, True, 1.5])
async def test_app_id_rejected_before_sending(
    client: AsyncItnio, router: respx.Router, app_id: Any
) -> None:
    """apps.get and apps.update reject empty, blank, too short/long and non-id app ids."""
    reply(router, APP_DETAILS)
    with pytest.raises(ValidationError, match="app_id"):
        await client.apps.get(app_id)
    with pytest.raises(ValidationError, match="app_id"):
        await client.apps.update(app_id, name="test_app")
    assert not router.calls


@pytest.mark.parametrize("app_id", ["abcd", "x" * 32])
async def test_app_id_boundaries_pass(
    client: AsyncItnio, router: respx.Router, app_id: str
) -> None:
    """App ids of 4 and 32 characters are accepted."""
    route = reply(router, APP_DETAILS)
    await client.apps.get(app_id)
    assert_wire(route, "GET", f"/app/details/{app_id}")


# -- modify: read, apply the changes, send it whole ---------------------------------

#: An app whose settings all differ from the documented defaults.
CUSTOM_APP: dict[str, Any] = {
    **APP_DETAILS,
    "codeExpiry": 15,
    "periodTotalSendLimit": {"unit": 1, "period": 1, "limit": 10000, "enabled": True},
    "periodPhoneSendLimit": {"unit": 2, "period": 1, "limit": 20, "enabled": True},
}


def _modify_routes(router: respx.Router, current: dict[str, Any]) -> tuple[Any, Any]:
    """GET /app/details answers ``current``; PUT /app/update answers it renamed."""
    get = router.get("/app/details/mRELxtHc").mock(
        return_value=httpx.Response(200, json=envelope(current))
    )
    put = router.put("/app/update/mRELxtHc").mock(
        return_value=httpx.Response(200, json=envelope({**current, "name": "renamed"}))
    )
    return get, put


async def test_update_sends_only_what_it_is_given(client: AsyncItnio, router: respx.Router) -> None:
    """update(name=...) alone sends no codeExpiry and no limits (the API then applies
    their defaults): that is why modify exists."""
    route = reply(router, APP_DETAILS)
    await client.apps.update("mRELxtHc", name="renamed")
    assert_wire(route, "PUT", "/app/update/mRELxtHc", {"appId": "mRELxtHc", "name": "renamed"})


async def test_modify_reads_then_sends_the_whole_app(
    client: AsyncItnio, router: respx.Router
) -> None:
    """modify(name=...) reads the app and PUTs every current setting with the new name."""
    get, put = _modify_routes(router, CUSTOM_APP)
    app = await client.apps.modify("mRELxtHc", name="renamed")
    assert_wire(get, "GET", "/app/details/mRELxtHc")
    assert_wire(
        put,
        "PUT",
        "/app/update/mRELxtHc",
        {
            "appId": "mRELxtHc",
            "name": "renamed",
            "codeExpiry": 15,
            "periodTotalSendLimit": {"enabled": True, "unit": 1, "period": 1, "limit": 10000},
            "periodPhoneSendLimit": {"enabled": True, "unit": 2, "period": 1, "limit": 20},
        },
    )
    assert app.name == "renamed"
    assert [c.request.method for c in router.calls] == ["GET", "PUT"]


async def test_modify_applies_every_change_given(client: AsyncItnio, router: respx.Router) -> None:
    """Changed settings replace the current ones; a limit switched off is sent with nulls."""
    _, put = _modify_routes(router, CUSTOM_APP)
    await client.apps.modify(
        "mRELxtHc", code_expiry=30, period_phone_send_limit=SendLimit(enabled=False)
    )
    assert sent_json(put) == {
        "appId": "mRELxtHc",
        "name": "test_app",
        "codeExpiry": 30,
        "periodTotalSendLimit": {"enabled": True, "unit": 1, "period": 1, "limit": 10000},
        "periodPhoneSendLimit": {"enabled": False, "unit": None, "period": None, "limit": None},
    }


@pytest.mark.parametrize(
    "changes",
    [{"name": "abc"}, {"code_expiry": 61}, {"period_total_send_limit": "off"}, {"name": 5}],
)
async def test_modify_checks_the_changes_before_reading(
    client: AsyncItnio, router: respx.Router, changes: dict[str, Any]
) -> None:
    """A bad change raises ValidationError before anything is sent (not even the read)."""
    _modify_routes(router, CUSTOM_APP)
    with pytest.raises(ValidationError):
        await client.apps.modify("mRELxtHc", **changes)
    assert not router.calls


async def test_modify_with_raw_response_answers_the_write(
    client: AsyncItnio, router: respx.Router
) -> None:
    """with_raw_response.modify returns the PUT's HTTP answer and the updated App."""
    _, put = _modify_routes(router, CUSTOM_APP)
    raw = await client.apps.with_raw_response.modify("mRELxtHc", name="renamed")
    assert raw.http_response.request.method == "PUT"
    assert raw.status_code == 200
    app = raw.parse()
    assert type(app) is App
    assert app.name == "renamed"
    assert put.call_count == 1
