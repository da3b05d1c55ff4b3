"""The seed endpoint flow.details end to end over a mock transport."""

from __future__ import annotations

import httpx
import respx

from itnio_async import AsyncItnio, Channel, ChannelCut, FlowTrigger

from .conftest import FIXED_SIGN, envelope


async def test_flow_details_wire_and_decode(client: AsyncItnio, router: respx.Router) -> None:
    """GET /flow/details/1 is signed as documented and its example decodes."""
    route = router.get("/flow/details/1").mock(
        return_value=httpx.Response(
            200,
            json=envelope(
                {
                    "flowId": 1,
                    "name": "name",
                    "flow": [{"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0}],
                }
            ),
        )
    )
    flow = await client.flows.get(1)
    request = route.calls.last.request
    assert request.method == "GET"
    assert request.headers["Sign"] == FIXED_SIGN
    assert request.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert flow.flow_id == 1
    assert flow.steps[0].status is FlowTrigger.SEND_FAILED
    assert flow.steps[0].channel is Channel.SMS
    assert flow.steps[0].channel_cut is ChannelCut.SWITCH
