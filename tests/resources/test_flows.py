"""client.flows: flow.add, flow.update (PUT), flow.details and flow.list."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from itnio_async import (
    AsyncItnio,
    Channel,
    ChannelCut,
    Flow,
    FlowStep,
    FlowTrigger,
    ValidationError,
)
from itnio_async._converter import structure

from ..conftest import envelope
from ._wire import PLAIN_STATUSES, READ_STATUSES, assert_status_raises, assert_wire, reply

#: The vendor's flow.update / flow.details example (seeds 000 and 001).
FLOW: dict[str, Any] = {
    "flowId": 1,
    "name": "name",
    "flow": [{"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0}],
}

STEP = FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)
WIRE_STEP = {"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0}


def assert_example_flow(flow: Flow) -> None:
    """The documented flow example, field by field with types."""
    assert type(flow) is Flow
    assert flow.flow_id == 1
    assert type(flow.flow_id) is int
    assert flow.name == "name"
    assert type(flow.steps) is list
    assert len(flow.steps) == 1
    step = flow.steps[0]
    assert step.waiting_time == 30
    assert type(step.waiting_time) is int
    assert step.status is FlowTrigger.SEND_FAILED
    assert step.channel is Channel.SMS
    assert step.channel_cut is ChannelCut.SWITCH


# -- flow.add ----------------------------------------------------------------------


async def test_create_sends_documented_example(client: AsyncItnio, router: respx.Router) -> None:
    """flows.create sends the vendor's flow.add example (steps as `flow`) to POST /flow/add."""
    route = reply(router, FLOW)
    step = FlowStep(
        waiting_time=30,
        status=FlowTrigger.SEND_FAILED,
        channel=Channel.SMS,
        channel_cut=ChannelCut.NO_SWITCH,
    )
    await client.flows.create(name="name", steps=[step])
    assert_wire(
        route,
        "POST",
        "/flow/add",
        {
            "name": "name",
            "flow": [{"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 1}],
        },
    )


async def test_channel_cut_defaults_to_switch_and_is_always_sent(
    client: AsyncItnio, router: respx.Router
) -> None:
    """A FlowStep without channel_cut is sent with channelCut 0 (SWITCH)."""
    route = reply(router, FLOW)
    assert STEP.channel_cut is ChannelCut.SWITCH
    await client.flows.create(name="name", steps=[STEP])
    assert_wire(route, "POST", "/flow/add", {"name": "name", "flow": [WIRE_STEP]})


async def test_steps_keep_order_and_accept_raw_values(
    client: AsyncItnio, router: respx.Router
) -> None:
    """Several steps go out in order; raw ints and strings are sent as the enum values."""
    route = reply(router, FLOW)
    steps = [
        STEP,
        FlowStep(waiting_time=120, status=2, channel="call", channel_cut=1),  # type: ignore[arg-type]
        FlowStep(waiting_time=60, status=FlowTrigger.NOT_VERIFIED, channel="SMS"),  # type: ignore[arg-type]
    ]
    await client.flows.create(name="name", steps=tuple(steps))
    assert_wire(
        route,
        "POST",
        "/flow/add",
        {
            "name": "name",
            "flow": [
                WIRE_STEP,
                {"waitingTime": 120, "status": 2, "channel": "call", "channelCut": 1},
                {"waitingTime": 60, "status": 2, "channel": "sms", "channelCut": 0},
            ],
        },
    )


async def test_create_decodes_example(client: AsyncItnio, router: respx.Router) -> None:
    """The flow.add response decodes into a Flow."""
    reply(router, FLOW)
    assert_example_flow(await client.flows.create(name="name", steps=[STEP]))


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_create_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """flow.add documents 0 -1 -2 -16 -18 -20 -22; each maps to its class."""
    await assert_status_raises(
        router, status, lambda: client.flows.create(name="name", steps=[STEP])
    )


# -- flow.update -------------------------------------------------------------------


@pytest.mark.parametrize("flow_id", [1, "1"])
async def test_update_is_put(client: AsyncItnio, router: respx.Router, flow_id: Any) -> None:
    """flows.update is PUT /flow/update/{flowId} (not the POST of the page text), full list."""
    route = reply(router, FLOW)
    await client.flows.update(flow_id, name="name", steps=[STEP])
    assert_wire(route, "PUT", "/flow/update/1", {"name": "name", "flow": [WIRE_STEP]})


async def test_update_percent_encodes_the_path_id(client: AsyncItnio, router: respx.Router) -> None:
    """A string flow id is percent-encoded in the path."""
    route = reply(router, FLOW)
    await client.flows.update("a b/c", name="name", steps=[STEP])
    assert_wire(route, "PUT", "/flow/update/a%20b%2Fc", {"name": "name", "flow": [WIRE_STEP]})


async def test_update_decodes_vendor_example(client: AsyncItnio, router: respx.Router) -> None:
    """The vendor's flow.update example decodes field by field (and strictly)."""
    reply(router, FLOW)
    flow = await client.flows.update(1, name="name", steps=[STEP])
    assert_example_flow(flow)
    assert flow == structure(FLOW, Flow, strict=True)


@pytest.mark.parametrize("status", [*READ_STATUSES])
async def test_update_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """flow.update documents 0 -1 -2 -16 -18 -20 -22; each maps to its class."""
    await assert_status_raises(
        router, status, lambda: client.flows.update(1, name="name", steps=[STEP])
    )


# -- flow.details ------------------------------------------------------------------


@pytest.mark.parametrize(("flow_id", "path"), [(1, "1"), ("1", "1"), ("a b/c", "a%20b%2Fc")])
async def test_get_wire(client: AsyncItnio, router: respx.Router, flow_id: Any, path: str) -> None:
    """flows.get is GET /flow/details/{flowId}, id int | str, no body."""
    route = reply(router, FLOW)
    await client.flows.get(flow_id)
    assert_wire(route, "GET", f"/flow/details/{path}")


async def test_get_decodes_vendor_example(client: AsyncItnio, router: respx.Router) -> None:
    """The vendor's flow.details example decodes field by field."""
    reply(router, FLOW)
    assert_example_flow(await client.flows.get(1))


@pytest.mark.parametrize("status", [*PLAIN_STATUSES])
async def test_get_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """flow.details documents 0 -1 -2 -16 -18 -22; each maps to its class."""
    await assert_status_raises(router, status, lambda: client.flows.get(1))


# -- flow.list ---------------------------------------------------------------------


async def test_list_wire_and_decode(client: AsyncItnio, router: respx.Router) -> None:
    """flows.list is GET /flow/list with no body; the constructed array example decodes."""
    example = {
        "flowId": 1,
        "name": "name",
        "flow": [{"waitingTime": 30, "status": 2, "channel": "sms", "channelCut": 0}],
    }
    route = reply(router, [example])
    flows = await client.flows.list()
    assert_wire(route, "GET", "/flow/list")
    assert type(flows) is list
    assert len(flows) == 1
    assert flows[0].flow_id == 1
    assert flows[0].steps[0].status is FlowTrigger.NOT_VERIFIED
    assert flows == structure([example], list[Flow], strict=True)


async def test_list_wraps_object_and_maps_null_to_empty(
    client: AsyncItnio, router: respx.Router
) -> None:
    """A single object is wrapped into a list; null data is []."""
    route = reply(router, FLOW)
    assert [f.flow_id for f in await client.flows.list()] == [1]
    route.return_value = httpx.Response(200, json={**envelope(), "data": None})
    assert await client.flows.list() == []


@pytest.mark.parametrize("status", [*PLAIN_STATUSES])
async def test_list_error_statuses(client: AsyncItnio, router: respx.Router, status: int) -> None:
    """flow.list documents 0 -1 -2 -16 -18 -22; each maps to its class."""
    await assert_status_raises(router, status, lambda: client.flows.list())


# -- validation before sending ------------------------------------------------------


@pytest.mark.parametrize("waiting_time", [30, 120])
async def test_waiting_time_boundaries_pass(
    client: AsyncItnio, router: respx.Router, waiting_time: int
) -> None:
    """waiting_time 30 and 120 are sent."""
    route = reply(router, FLOW)
    step = FlowStep(waiting_time=waiting_time, status=FlowTrigger.SEND_FAILED, channel=Channel.CALL)
    await client.flows.create(name="abcd", steps=[step])
    wire = {"waitingTime": waiting_time, "status": 1, "channel": "call", "channelCut": 0}
    assert_wire(route, "POST", "/flow/add", {"name": "abcd", "flow": [wire]})


def _step(**changes: Any) -> FlowStep:
    fields: dict[str, Any] = {"waiting_time": 30, "status": 1, "channel": "sms", **changes}
    return FlowStep(**fields)


@pytest.mark.parametrize(
    ("name", "steps", "argument"),
    [
        ("abc", [STEP], "name"),
        ("x" * 33, [STEP], "name"),
        ("name", [], "steps"),
        ("name", STEP, "steps"),
        ("name", "steps", "steps"),
        ("name", [{"waitingTime": 30}], "steps[0]"),
        ("name", [_step(waiting_time=29)], "steps[0].waiting_time"),
        ("name", [STEP, _step(waiting_time=121)], "steps[1].waiting_time"),
        ("name", [_step(waiting_time=True)], "steps[0].waiting_time"),
        ("name", [_step(channel="sna")], "steps[0].channel"),
        ("name", [_step(channel=Channel.SNA)], "steps[0].channel"),
        ("name", [_step(channel="email")], "steps[0].channel"),
        ("name", [_step(status=3)], "steps[0].status"),
        ("name", [_step(status=0)], "steps[0].status"),
        ("name", [_step(channel_cut=2)], "steps[0].channel_cut"),
    ],
)
async def test_rejected_before_sending(
    client: AsyncItnio, router: respx.Router, name: str, steps: Any, argument: str
) -> None:
    """Bad names and steps raise ValidationError naming the argument; nothing is sent."""
    reply(router, FLOW)
    with pytest.raises(ValidationError) as info:
        await client.flows.create(name=name, steps=steps)
    assert info.value.argument == argument
    with pytest.raises(ValidationError) as info:
        await client.flows.update(1, name=name, steps=steps)
    assert info.value.argument == argument
    assert not router.calls


@pytest.mark.parametrize("flow_id", ["", "   ", None, False])
async def test_bad_path_ids_rejected(
    client: AsyncItnio, router: respx.Router, flow_id: Any
) -> None:
    """Empty, blank, None and boolean flow ids never reach the wire."""
    reply(router, FLOW)
    with pytest.raises(ValidationError, match="flow_id"):
        await client.flows.get(flow_id)
    with pytest.raises(ValidationError, match="flow_id"):
        await client.flows.update(flow_id, name="name", steps=[STEP])
    assert not router.calls
