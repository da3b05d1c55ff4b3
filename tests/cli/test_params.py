"""Parsing of the structured options: send limits and flow steps."""

from __future__ import annotations

import pytest

from itnio_async import Channel, ChannelCut, FlowStep, FlowTrigger, PeriodUnit, SendLimit
from itnio_async._cli._params import parse_flow_step, parse_send_limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", SendLimit(enabled=False)),
        ("enabled=false", SendLimit(enabled=False)),
        (
            "enabled=true,unit=1,period=1,limit=100",
            SendLimit(enabled=True, unit=PeriodUnit.DAY, period=1, limit=100),
        ),
        (
            "unit=hour, period=2, limit=10000000000",
            SendLimit(enabled=True, unit=PeriodUnit.HOUR, period=2, limit=10_000_000_000),
        ),
    ],
)
def test_send_limit_forms(text: str, expected: SendLimit) -> None:
    """`off`, numbers or unit names all parse to the SendLimit the SDK expects."""
    assert parse_send_limit(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("enabled=true,unit=1", "period, limit required"),
        ("unit=week,period=1,limit=1", "unit must be one of"),
        ("unit=1,period=x,limit=1", "period must be an integer"),
        ("unit=1,period=1,limit=1,size=3", "unknown key 'size'"),
        ("unit=1,unit=2,period=1,limit=1", "unit given twice"),
        ("limit", "expected key=value"),
    ],
)
def test_send_limit_errors(text: str, message: str) -> None:
    """Malformed limits fail with a message that says what is wrong."""
    with pytest.raises(ValueError, match=message):
        parse_send_limit(text)


def test_flow_step_forms() -> None:
    """Steps accept snake, camel and short keys, and enum values or names."""
    assert parse_flow_step("waiting_time=30,status=1,channel=sms") == FlowStep(
        waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS
    )
    assert parse_flow_step("waitingTime=60,status=not_verified,channel=CALL,channelCut=1") == (
        FlowStep(
            waiting_time=60,
            status=FlowTrigger.NOT_VERIFIED,
            channel=Channel.CALL,
            channel_cut=ChannelCut.NO_SWITCH,
        )
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("waiting_time=30,status=1", "missing channel"),
        ("waiting_time=30,status=3,channel=sms", "status must be one of"),
        ("waiting_time=soon,status=1,channel=sms", "waiting_time must be an integer"),
    ],
)
def test_flow_step_errors(text: str, message: str) -> None:
    """Malformed steps fail with a message that says what is wrong."""
    with pytest.raises(ValueError, match=message):
        parse_flow_step(text)
