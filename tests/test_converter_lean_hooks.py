"""The converter's generated hooks and its memo of parsed texts: a default made by a
factory is fresh for every decoded model, and the memo stays bounded."""

from __future__ import annotations

from typing import Any

import httpx

from itnio_async import Channel, Flow, FlowStep, FlowTrigger, Record
from itnio_async._converter import _REMEMBERED, _remembered, structure

from .conftest import envelope, mock_client


async def test_a_flow_without_steps_gets_its_own_empty_list() -> None:
    """Two flows read without a ``flow`` member: appending to one's steps leaves the
    other's empty (a default list is never shared)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope({"flowId": 1, "name": "n"}))

    async with mock_client(handler) as client:
        first, second = await client.flows.get(1), await client.flows.get(1)
    assert first.steps == []
    assert second.steps == []
    first.steps.append(
        FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS)
    )
    assert second.steps == []


def test_records_without_attempts_get_fresh_lists_and_summaries() -> None:
    a = structure({"verificationId": "1"}, Record)
    b = structure({"verificationId": "2"}, Record)
    assert a.sms is not b.sms
    assert a.call is not b.call
    assert a.verifications is not b.verifications
    assert isinstance(structure({"flowId": 1}, Flow).steps, list)


def test_the_memo_of_parsed_texts_is_bounded() -> None:
    """Past ``_REMEMBERED`` distinct texts the memo starts over: a hostile stream of
    distinct times cannot grow it without end (the first text is parsed again)."""
    parsed: list[str] = []

    def parse(value: Any, kind: Any) -> str:
        parsed.append(value)
        return f"<{value}>"

    remember = _remembered(parse)
    assert remember("t0", None) == "<t0>"
    assert remember("t0", None) == "<t0>"
    assert parsed == ["t0"]
    for number in range(1, _REMEMBERED + 1):
        remember(f"t{number}", None)
    assert len(parsed) == _REMEMBERED + 1
    remember("t0", None)
    assert parsed.count("t0") == 2
