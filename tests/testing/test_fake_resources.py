"""Apps, templates and flows in the fake, through the real SDK and on the wire."""

from __future__ import annotations

import attrs
import pytest

from itnio_async import (
    AlreadyExistsError,
    AsyncItnio,
    Channel,
    ChannelCut,
    CodeType,
    FlowStep,
    FlowTrigger,
    InvalidParameterError,
    NotFoundError,
    PeriodUnit,
    SendLimit,
)
from itnio_async.testing import FakeItnio

from .conftest import T0, Raw


async def test_app_create_defaults_and_wire(api: AsyncItnio, fake: FakeItnio) -> None:
    """apps.create answers the App object with the documented defaults and logs the body."""
    app = await api.apps.create(name="shop-app")
    assert len(app.app_id) == 8
    assert app.app_id.isalnum()
    assert app.name == "shop-app"
    assert app.code_expiry == 5
    assert app.create_time is not None
    assert app.create_time.timestamp() == T0
    assert app.create_time.isoformat().endswith("+08:00")
    assert app.period_total_send_limit == SendLimit(enabled=False)
    logged = fake.requests[-1]
    assert (logged.method, logged.path, logged.status) == ("POST", "/app/add", "0")
    assert logged.body == {"name": "shop-app"}


async def test_app_update_and_get(api: AsyncItnio, fake: FakeItnio) -> None:
    """apps.update (PUT, appId in path and body) changes the app; apps.get reads it back."""
    app = await api.apps.create(
        name="shop-app",
        code_expiry=10,
        period_total_send_limit=SendLimit(enabled=True, unit=PeriodUnit.DAY, period=1, limit=5),
    )
    updated = await api.apps.update(
        app.app_id,
        name="shop-app-2",
        period_phone_send_limit=SendLimit(enabled=True, unit=PeriodUnit.HOUR, period=2, limit=3),
    )
    assert fake.requests[-1].method == "PUT"
    assert fake.requests[-1].path == f"/app/update/{app.app_id}"
    assert updated.name == "shop-app-2"
    assert updated.code_expiry == 5  # not sent: the documented default, as the API reads it
    assert updated.period_total_send_limit == SendLimit(enabled=False)  # not sent: off
    got = await api.apps.get(app.app_id)
    assert got == updated
    assert got.period_phone_send_limit == SendLimit(
        enabled=True, unit=PeriodUnit.HOUR, period=2, limit=3
    )


async def test_app_modify_keeps_what_it_does_not_change(api: AsyncItnio, fake: FakeItnio) -> None:
    """apps.modify(name=...) renames the app and keeps its expiry and both limits."""
    total = SendLimit(enabled=True, unit=PeriodUnit.DAY, period=1, limit=10_000)
    phone = SendLimit(enabled=True, unit=PeriodUnit.HOUR, period=1, limit=20)
    app = await api.apps.create(
        name="shop-app",
        code_expiry=15,
        period_total_send_limit=total,
        period_phone_send_limit=phone,
    )
    renamed = await api.apps.modify(app.app_id, name="renamed")
    assert [(r.method, r.path) for r in fake.requests[-2:]] == [
        ("GET", f"/app/details/{app.app_id}"),
        ("PUT", f"/app/update/{app.app_id}"),
    ]
    assert renamed == attrs.evolve(app, name="renamed")
    assert await api.apps.get(app.app_id) == renamed
    longer = await api.apps.modify(app.app_id, code_expiry=30)
    assert longer == attrs.evolve(renamed, code_expiry=30)


async def test_template_modify_keeps_what_it_does_not_change(api: AsyncItnio) -> None:
    """templates.modify(code_length=...) keeps the text, type, voice settings and sender."""
    app = await api.apps.create(name="shop-app")
    template = await api.templates.create(
        app_id=app.app_id,
        name="voice",
        text="Code ##code##",
        code_type=CodeType.ALPHANUMERIC,
        code_length=8,
        speech_rate=0,
        language="DE",
        max_duration=120,
        repeat_cnt=3,
        sender_id="Shop",
    )
    changed = await api.templates.modify(template.template_id, code_length=6)
    assert changed == attrs.evolve(template, code_length=6)
    assert await api.templates.get(template.template_id) == changed


async def test_app_duplicate_name_is_minus_20(api: AsyncItnio) -> None:
    """A second app with a taken name is rejected with -20, also on update."""
    await api.apps.create(name="shop-app")
    other = await api.apps.create(name="other-app")
    with pytest.raises(AlreadyExistsError) as info:
        await api.apps.create(name="shop-app")
    assert info.value.status == -20
    with pytest.raises(AlreadyExistsError):
        await api.apps.update(other.app_id, name="shop-app")
    renamed = await api.apps.update(other.app_id, name="other-app")  # its own name is fine
    assert renamed.name == "other-app"


async def test_unknown_app_is_minus_24(api: AsyncItnio) -> None:
    """Reading or updating an app that does not exist is -24 (NotFoundError)."""
    with pytest.raises(NotFoundError) as info:
        await api.apps.get("nope1234")
    assert info.value.status == -24
    with pytest.raises(NotFoundError):
        await api.apps.update("nope1234", name="whatever")


async def test_template_lifecycle(api: AsyncItnio, fake: FakeItnio) -> None:
    """templates.create/update/get/list keep every field; ids count from 455."""
    app = await api.apps.create(name="shop-app")
    template = await api.templates.create(
        app_id=app.app_id,
        name="login",
        text="##code## is your code",
        code_type=CodeType.HEX,
        code_length=8,
        speech_rate=70,
        language="DE",
        max_duration=120,
        repeat_cnt=3,
        sender_id="Shop",
    )
    assert template.template_id == 455
    assert template.app_id == app.app_id
    assert (template.code_type, template.code_length, template.speech_rate) == (
        CodeType.HEX,
        8,
        70,
    )
    assert (template.language, template.max_duration, template.repeat_cnt) == ("DE", 120, 3)
    assert template.sender_id == "Shop"
    updated = await api.templates.update(455, name="login-2", text="Code: ##code##")
    assert fake.requests[-1].method == "PUT"
    assert fake.requests[-1].path == "/template/update/455"
    assert "appId" not in fake.requests[-1].body
    assert updated.name == "login-2"
    # Not sent: every optional field takes its documented default, as the API reads it.
    assert (updated.code_type, updated.code_length, updated.speech_rate) == (
        CodeType.NUMERIC,
        4,
        50,
    )
    assert (updated.language, updated.max_duration, updated.repeat_cnt) == ("EN", 59, 1)
    assert updated.sender_id is None
    assert await api.templates.get("455") == updated
    second = await api.templates.create(app_id=app.app_id, name="other", text="##code##")
    assert second.template_id == 456
    assert (second.code_type, second.code_length, second.speech_rate) == (CodeType.NUMERIC, 4, 50)
    assert (second.language, second.max_duration, second.repeat_cnt) == ("EN", 59, 1)
    assert [t.template_id for t in await api.templates.list()] == [455, 456]


async def test_template_errors(api: AsyncItnio) -> None:
    """Templates: unknown app or id is -24, a duplicate name -20."""
    app = await api.apps.create(name="shop-app")
    await api.templates.create(app_id=app.app_id, name="login", text="##code##")
    with pytest.raises(NotFoundError):
        await api.templates.create(app_id="nope1234", name="login-x", text="##code##")
    with pytest.raises(AlreadyExistsError):
        await api.templates.create(app_id=app.app_id, name="login", text="##code##")
    with pytest.raises(NotFoundError):
        await api.templates.get(999)
    with pytest.raises(NotFoundError):
        await api.templates.update(999, name="login-y", text="##code##")


async def test_flow_lifecycle(api: AsyncItnio, fake: FakeItnio) -> None:
    """flows.create/update/get/list: ids count from 90, update replaces the steps."""
    steps = [FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)]
    flow = await api.flows.create(name="fallback", steps=steps)
    assert flow.flow_id == 90
    assert flow.steps == steps
    assert fake.requests[-1].body == {
        "name": "fallback",
        "flow": [{"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0}],
    }
    new_steps = [
        FlowStep(
            waiting_time=120,
            status=FlowTrigger.NOT_VERIFIED,
            channel=Channel.CALL,
            channel_cut=ChannelCut.NO_SWITCH,
        )
    ]
    updated = await api.flows.update(90, name="fallback-2", steps=new_steps)
    assert updated.steps == new_steps
    assert await api.flows.get(90) == updated
    await api.flows.create(name="second", steps=steps)
    assert [(f.flow_id, f.name) for f in await api.flows.list()] == [
        (90, "fallback-2"),
        (91, "second"),
    ]


async def test_flow_errors(api: AsyncItnio) -> None:
    """Flows: a duplicate name is -20, an unknown id -24."""
    steps = [FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)]
    await api.flows.create(name="fallback", steps=steps)
    with pytest.raises(AlreadyExistsError):
        await api.flows.create(name="fallback", steps=steps)
    with pytest.raises(NotFoundError):
        await api.flows.get(12345)
    with pytest.raises(NotFoundError):
        await api.flows.update(12345, name="whatever", steps=steps)


async def test_flow_update_accepts_post(raw: Raw, api: AsyncItnio) -> None:
    """The docs' text says POST for flow.update: the fake answers it like PUT."""
    steps = [FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)]
    await api.flows.create(name="fallback", steps=steps)
    body = {"name": "renamed", "flow": [{"waitingTime": 40, "status": 2, "channel": "call"}]}
    response = await raw("POST", "/flow/update/90", body)
    assert response.json()["status"] == "0"
    assert response.json()["data"]["flow"][0] == {
        "waitingTime": 40,
        "status": 2,
        "channel": "call",
        "channelCut": 0,
    }


async def test_lists_are_arrays_even_when_empty(raw: Raw) -> None:
    """template.list and flow.list answer JSON arrays."""
    for path in ("/template/list", "/flow/list"):
        body = (await raw("GET", path)).json()
        assert body == {"status": "0", "reason": "success", "data": []}


async def test_invalid_path_id_is_minus_22(api: AsyncItnio) -> None:
    """A non-numeric template or flow id in the path is a parameter error (-22)."""
    with pytest.raises(InvalidParameterError):
        await api.templates.get("abc")
    with pytest.raises(InvalidParameterError):
        await api.flows.get("abc")
