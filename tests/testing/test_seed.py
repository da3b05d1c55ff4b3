"""The seed data set and the public surface of ``itnio_async.testing``."""

from __future__ import annotations

import inspect
import json

import pytest

import itnio_async.testing
from itnio_async import AsyncItnio, Channel, CodeType, MatchStatus
from itnio_async.testing import FakeItnio, SeedData, seed


async def test_seed_creates_a_consistent_data_set(fake: FakeItnio, api: AsyncItnio) -> None:
    """seed() creates an app, two templates, a flow and four verifications with records."""
    ids = fake.seed()
    assert fake.requests == []  # no HTTP involved
    assert ids.template_ids == (455, 456)
    assert ids.template_id == 455
    assert ids.flow_id == 90
    assert ids.order_ids == ("order-1001", "order-1002", "order-1003", "order-1004")
    assert ids.order_id == "order-1001"
    assert ids.verified_ids == (ids.verification_ids[0],)
    app = await api.apps.get(ids.app_id)
    assert app.name == "demo-shop"
    templates = await api.templates.list()
    assert [(t.name, t.code_type, t.code_length) for t in templates] == [
        ("login-sms", CodeType.NUMERIC, 6),
        ("voice-login", CodeType.ALPHANUMERIC, 8),
    ]
    assert [f.name for f in await api.flows.list()] == ["sms-then-call"]
    expected = [
        (MatchStatus.MATCHED, Channel.SMS, 90),
        (MatchStatus.FAILED, Channel.SMS, None),
        (MatchStatus.NOT_VERIFIED, Channel.CALL, None),
        (MatchStatus.NOT_VERIFIED, Channel.SNA, None),
    ]
    for order_id, number, (matched, channel, flow_id) in zip(
        ids.order_ids, ids.numbers, expected, strict=True
    ):
        record = await api.records.get_by_order_id(order_id, app_id=ids.app_id)
        assert record.verifications is not None
        assert record.verifications.matched is matched
        assert record.verifications.channel is channel
        assert record.verifications.ori_receiver == number
        assert record.flow_id == flow_id
    assert fake.last_code(ids.numbers[2]) == "482913"
    assert ids.codes == tuple(fake.last_code(number) for number in ids.numbers)
    assert ids.codes[2] == "482913"
    pending = ids.verification_ids[1]
    result = await api.verifications.verify(pending, fake.last_code(ids.numbers[1]))
    assert result.ok


def test_seed_function_and_as_dict() -> None:
    """itnio_async.testing.seed(fake) works like fake.seed(); as_dict() is JSON-ready."""
    fake = FakeItnio()
    data = seed(fake)
    assert isinstance(data, SeedData)
    as_dict = data.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["template_ids"] == [455, 456]
    assert set(as_dict) == {
        "app_id",
        "template_ids",
        "flow_id",
        "verification_ids",
        "order_ids",
        "numbers",
        "codes",
        "verified_ids",
    }
    with pytest.raises(RuntimeError, match="-20"):
        fake.seed()


def test_random_seed_makes_runs_reproducible() -> None:
    """Two fakes with the same random_seed and clock issue the same ids and codes."""
    first = FakeItnio(clock=lambda: 1e9, random_seed=3)
    second = FakeItnio(clock=lambda: 1e9, random_seed=3)
    assert first.seed() == second.seed()
    assert [d.code for d in first.deliveries] == [d.code for d in second.deliveries]


def test_public_surface_is_listed_and_documented() -> None:
    """Every name in itnio_async.testing.__all__ exists, and public callables have docstrings."""
    names = itnio_async.testing.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    for name in names:
        value = getattr(itnio_async.testing, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name
    for attribute, member in inspect.getmembers(FakeItnio):
        if not attribute.startswith("_"):
            assert inspect.getdoc(member), attribute
