"""What the fake delivered, for developers: a fixed code, a delivery hook, /_sandbox/deliveries."""

from __future__ import annotations

import httpx
import pytest

from itnio_async import MatchStatus
from itnio_async.testing import Delivery, FakeItnio

from .conftest import OTHER_PHONE, PHONE, T0


async def test_fixed_code_is_delivered_for_every_send() -> None:
    """FakeItnio(fixed_code=...) makes every send deliver that code, and it verifies."""
    fake = FakeItnio(clock=lambda: T0, fixed_code="246810")
    async with fake.client() as client:
        app = await client.apps.create(name="fixed-app")
        template = await client.templates.create(
            app_id=app.app_id, name="letters", text="##code##", code_type=2, code_length=8
        )
        sent = await client.verifications.send(
            app_id=app.app_id, template_id=template.template_id, to=PHONE
        )
        await client.verifications.send_code(app_id=app.app_id, code="ABCD", to=OTHER_PHONE)
        assert fake.last_code(PHONE) == "246810"
        assert fake.last_code(OTHER_PHONE) == "ABCD"  # a caller's own code is kept
        result = await client.verifications.verify(sent.verification_id, "246810")
    assert result.matched is MatchStatus.MATCHED
    assert fake.fixed_code == "246810"
    assert FakeItnio().fixed_code is None


@pytest.mark.parametrize("code", ["123", "12345678901", "12 34", "１２３４", ""])
def test_fixed_code_must_be_a_code_verify_accepts(code: str) -> None:
    """A fixed code outside 4-10 ASCII letters or digits is refused at construction."""
    with pytest.raises(ValueError, match="fixed_code"):
        FakeItnio(fixed_code=code)


async def test_on_delivery_sees_every_delivery_as_it_happens() -> None:
    """on_delivery (argument or attribute) is called with each Delivery, flow steps too."""
    seen: list[Delivery] = []
    fake = FakeItnio(clock=lambda: T0, on_delivery=seen.append)
    ids = fake.seed()
    assert [d.verification_id for d in seen] == list(ids.verification_ids)
    assert fake.on_delivery == seen.append
    later: list[str] = []
    fake.on_delivery = lambda d: later.append(d.kind)
    async with fake.client() as client:
        await client.verifications.send(
            app_id=ids.app_id, template_id=ids.template_id, to=PHONE, flow_id=ids.flow_id
        )
    fake.advance(61)  # the flow's "not verified after 60 s" call step fires
    assert later == ["send", "flow"]
    fake.on_delivery = None
    fake.advance(3600)
    assert later == ["send", "flow"]


@pytest.mark.parametrize("way", ["transport", "asgi"])
async def test_sandbox_deliveries_page(way: str) -> None:
    """GET /_sandbox/deliveries lists deliveries as JSON, filtered by ?to=; it needs no Sign."""
    fake = FakeItnio(clock=lambda: T0, random_seed=3)
    ids = fake.seed()
    transport: httpx.AsyncBaseTransport = (
        fake.transport if way == "transport" else httpx.ASGITransport(app=fake.asgi_app)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as http:
        everything = await http.get("/_sandbox/deliveries")
        one = await http.get("/_sandbox/deliveries", params={"to": ids.numbers[2]})
        nobody = await http.get("/_sandbox/deliveries?to=100")
        missing = await http.get("/_sandbox/nothing")
        posted = await http.post("/_sandbox/deliveries")
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("application/json")
    listed = everything.json()
    assert [d["verificationId"] for d in listed] == list(ids.verification_ids)
    assert [d["code"] for d in listed] == list(ids.codes)
    assert [d["to"] for d in listed] == list(ids.numbers)
    assert listed[2] == {
        "to": "14155550123",
        "code": "482913",
        "channel": "call",
        "verificationId": ids.verification_ids[2],
        "appId": ids.app_id,
        "templateId": ids.template_ids[1],
        "kind": "sendRule",
        "time": "2022-06-05T14:43:05+08:00",
    }
    assert one.json() == [listed[2]]
    assert nobody.json() == []
    assert missing.status_code == 404
    assert posted.status_code == 405
    assert posted.headers["allow"] == "GET"
    assert fake.requests == []  # not API calls: never logged, never faulted
