"""What the fake delivered, for developers: a fixed code, a delivery hook, /_sandbox/deliveries."""

from __future__ import annotations

import httpx
import pytest

from itnio_async import MatchStatus
from itnio_async.testing import Delivery, FakeItnio

from .conftest import OTHER_PHONE, PHONE, T0


async def test_fixed_code_is_delivered_for_every_send() -> None:
    """FakeItnio(fixed_code=...) makes a send on a template of its length deliver that
    code, and it verifies; a caller's own code is kept."""
    fake = FakeItnio(clock=lambda: T0, fixed_code="246810")
    async with fake.client() as client:
        app = await client.apps.create(name="fixed-app")
        template = await client.templates.create(
            app_id=app.app_id, name="digits", text="##code##", code_length=6
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


@pytest.mark.parametrize(
    ("fixed", "code_type", "code_length", "delivered"),
    [
        ("246810", 1, 4, "2468"),
        ("1234", 1, 6, "123412"),
        ("1234", 1, 10, "1234123412"),
        ("ABCD", 2, 8, "ABCDABCD"),
        ("A1B2", 3, 5, "A1B2A"),
        ("00FF", 4, 6, "00FF00"),
        ("123456", 4, 4, "1234"),
    ],
)
async def test_fixed_code_is_fitted_to_the_template_length(
    fixed: str, code_type: int, code_length: int, delivered: str
) -> None:
    """A fixed code is repeated or cut to the template's codeLength: the code delivered
    has the template's length and verifies."""
    fake = FakeItnio(clock=lambda: T0, fixed_code=fixed)
    async with fake.client() as client:
        app = await client.apps.create(name="fixed-app")
        template = await client.templates.create(
            app_id=app.app_id,
            name="fitted",
            text="##code##",
            code_type=code_type,
            code_length=code_length,
        )
        sent = await client.verifications.send(
            app_id=app.app_id, template_id=template.template_id, to=PHONE
        )
        assert fake.last_code(PHONE) == delivered
        result = await client.verifications.verify(sent.verification_id, delivered)
    assert result.matched is MatchStatus.MATCHED


@pytest.mark.parametrize(
    ("fixed", "code_type", "alphabet"),
    [
        ("246810", 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("ABCD", 1, "0123456789"),
        ("abcd", 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        ("12G4", 4, "0123456789ABCDEF"),
    ],
)
async def test_a_template_that_cannot_make_the_fixed_code_gets_a_random_one(
    fixed: str, code_type: int, alphabet: str
) -> None:
    """Digits for a letters-only template (or letters for a numeric one...) are not sent:
    the code delivered is a random one of the template's type and length, and verifies."""
    fake = FakeItnio(clock=lambda: T0, fixed_code=fixed, random_seed=3)
    async with fake.client() as client:
        app = await client.apps.create(name="fixed-app")
        template = await client.templates.create(
            app_id=app.app_id, name="other", text="##code##", code_type=code_type, code_length=8
        )
        sent = await client.verifications.send(
            app_id=app.app_id, template_id=template.template_id, to=PHONE
        )
        code = fake.last_code(PHONE)
        result = await client.verifications.verify(sent.verification_id, code)
    assert len(code) == 8
    assert set(code) <= set(alphabet)
    assert result.matched is MatchStatus.MATCHED


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
