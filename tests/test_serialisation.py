"""``Model.to_dict()`` / ``Model.to_json()``: JSON-native, the wire's keys, one serialiser.

Every model is built with every field set (a value of each field's own type), so a
field that ``json.dumps`` cannot take, or that does not come back through the
converter's structure side, fails here.
"""

from __future__ import annotations

import enum
import json
import types
import typing
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from itnio_async import (
    App,
    CallAttempt,
    Flow,
    FlowStep,
    LookupFailed,
    MatchStatus,
    NotFoundError,
    Record,
    RecordFound,
    SendLimit,
    SendResult,
    SmsAttempt,
    SnaAttempt,
    Template,
    TransportError,
    VerificationSummary,
    VerifyResult,
)
from itnio_async import _models as models
from itnio_async._converter import structure

#: Every model that decodes from the wire (the two bulk-lookup results are built below).
WIRE_MODELS: tuple[type[Any], ...] = (
    SendLimit,
    App,
    Template,
    FlowStep,
    Flow,
    SendResult,
    VerifyResult,
    VerificationSummary,
    SmsAttempt,
    CallAttempt,
    SnaAttempt,
    Record,
)
WHEN = datetime(2022, 7, 12, 13, 39, 45, tzinfo=timezone(timedelta(hours=8)))


def _value(hint: Any) -> Any:
    """A value of type ``hint`` that is not None (the last member of an enum, so 0 and
    the first value are not all that is tried)."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return _value(args[0])
    if typing.get_origin(hint) is list:
        return [full(args[0]), full(args[0])]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return list(hint)[-1]
    if attrs.has(hint):
        return full(hint)
    simple: dict[Any, Any] = {
        bool: True,
        int: 10_000_000_000,
        str: "text ü",
        datetime: WHEN,
        Decimal: Decimal("0.000002"),
    }
    return simple[hint]


def full(cls: type[Any]) -> Any:
    """An instance of ``cls`` with every init field set to a value of its type."""
    hints = typing.get_type_hints(cls, dict(vars(models)))
    return cls(**{f.name: _value(hints[f.name]) for f in attrs.fields(cls) if f.init})


def every_model() -> list[Any]:
    """One fully set instance of every model in ``_models``, the lookup results included."""
    found = RecordFound(order_id="order-1", record=full(Record))
    failed = LookupFailed(order_id="nope", error=NotFoundError(-24, "gone"))
    return [*(full(cls) for cls in WIRE_MODELS), found, failed]


def test_every_model_of_the_module_is_covered() -> None:
    """The instances below cover every attrs class that ``_models`` exports."""
    exported = {getattr(models, name) for name in models.__all__}
    model_classes = {c for c in exported if isinstance(c, type) and attrs.has(c)}
    assert {type(m) for m in every_model()} == model_classes


@pytest.mark.parametrize("model", every_model(), ids=lambda m: type(m).__name__)
def test_to_dict_is_plain_json(model: Any) -> None:
    """json.dumps takes to_dict() as it is (no Decimal, datetime or enum left), and
    to_json() is that JSON on one compact line."""
    data = model.to_dict()
    text = json.dumps(data)
    assert json.loads(text) == data
    assert model.to_json() == json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    assert "\n" not in model.to_json()


@pytest.mark.parametrize(
    "model", [full(cls) for cls in WIRE_MODELS], ids=lambda m: type(m).__name__
)
def test_to_dict_round_trips_through_the_converter(model: Any) -> None:
    """The converter's structure side reads to_dict() back into an equal model, strictly
    (every key is a wire name it knows)."""
    assert structure(model.to_dict(), type(model), strict=True) == model


def test_to_dict_values_follow_the_wire() -> None:
    """camelCase keys (flow for steps), Decimal as string, ISO 8601 times, enums as their
    integer values, Channel as its string, None kept, nested lists converted."""
    record = full(Record)
    data = record.to_dict()
    assert list(data) == [
        "verificationId",
        "orderId",
        "flowId",
        "verifications",
        "sms",
        "call",
        "sna",
    ]
    assert data["verifications"]["matched"] == 5
    assert data["verifications"]["verifiedDate"] == "2022-07-12T13:39:45+08:00"
    assert data["verifications"]["channel"] == "sna"
    assert data["sms"][0]["pay"] == "0.000002"
    assert data["call"][1]["billPeriodstring"] == "text ü"
    assert len(data["sna"]) == 2
    flow = full(Flow).to_dict()
    assert list(flow) == ["flowId", "name", "flow"]
    assert flow["flow"][0] == {
        "waitingTime": 10_000_000_000,
        "status": 2,
        "channel": "sna",
        "channelCut": 1,
    }
    assert VerifyResult().to_dict() == {
        "verificationId": None,
        "to": None,
        "channel": None,
        "matched": None,
    }
    assert VerifyResult(matched=MatchStatus(9)).to_dict()["matched"] == 9


def test_lookup_results_are_the_cli_lines() -> None:
    """A lookup result's to_dict() is the line `itnio records lookup` writes for it."""
    found = RecordFound(order_id="order-1", record=Record(order_id="order-1"))
    assert found.to_dict() == {
        "orderId": "order-1",
        "ok": True,
        "record": Record(order_id="order-1").to_dict(),
    }
    gone = LookupFailed(order_id="x", error=NotFoundError(-24, "Data unexisting"))
    assert gone.to_dict() == {
        "orderId": "x",
        "ok": False,
        "error": {"type": "NotFoundError", "status": -24, "message": "Data unexisting"},
    }
    lost = LookupFailed(order_id="y", error=TransportError("connect  failed\nto host"))
    assert lost.to_dict()["error"] == {
        "type": "TransportError",
        "status": None,
        "message": "connect failed to host",
    }
