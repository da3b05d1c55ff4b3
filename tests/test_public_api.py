"""The public surface matches the contract (docs/public-api): signatures, defaults, models.

Names alone (``test_package.py``) do not catch a renamed argument, a positional one
made keyword-only, or a changed default; these tests do. Extra arguments beyond the
contract are allowed only as keyword-only ones with a default, so every call written
against the contract keeps working.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

import attrs
import pytest

import itnio_async
from itnio_async import AsyncItnio, CodeType
from itnio_async.testing import FakeItnio

_NO_DEFAULT = inspect.Parameter.empty
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
KEYWORD = inspect.Parameter.KEYWORD_ONLY

#: Each contract signature: (name, positional?, default or _NO_DEFAULT), in order.
Spec = list[tuple[str, bool, Any]]


def _spec(text: str) -> Spec:
    """Parse a contract signature such as ``app_id, *, name, code_expiry=None``."""
    spec: Spec = []
    positional = True
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part == "*":
            positional = False
            continue
        name, _, default = part.partition("=")
        value: Any = _NO_DEFAULT
        if default:
            value = eval(default, {"CodeType": CodeType})  # noqa: S307 - our own constants
        spec.append((name.strip(), positional, value))
    return spec


#: The table of "Namespaces and methods" in docs/public-api, verbatim.
METHODS = {
    "apps.create": (
        "*, name, code_expiry=None, period_total_send_limit=None, period_phone_send_limit=None"
    ),
    "apps.update": (
        "app_id, *, name, code_expiry=None, period_total_send_limit=None,"
        " period_phone_send_limit=None"
    ),
    "apps.get": "app_id",
    "templates.create": (
        "*, app_id, name, text, code_type=CodeType.NUMERIC, code_length=None,"
        " speech_rate=None, language=None, max_duration=None, repeat_cnt=None, sender_id=None"
    ),
    "templates.update": (
        "template_id, *, name, text, code_type=None, code_length=None, speech_rate=None,"
        " language=None, max_duration=None, repeat_cnt=None, sender_id=None"
    ),
    "templates.get": "template_id",
    "templates.list": "",
    "flows.create": "*, name, steps",
    "flows.update": "flow_id, *, name, steps",
    "flows.get": "flow_id",
    "flows.list": "",
    "verifications.send": ("*, app_id, template_id, to, channel=None, flow_id=None, order_id=None"),
    "verifications.send_code": (
        "*, app_id, code, to, template_id=None, channel=None, flow_id=None, order_id=None"
    ),
    "verifications.resend": "verification_id, *, channel=None",
    "verifications.verify": "verification_id, code",
    "records.get": "verification_id",
    "records.get_by_order_id": "order_id, *, app_id=None",
    "records.iter_by_order_ids": "order_ids, *, app_id=None, concurrency=16",
    "records.get_many_by_order_ids": "order_ids, *, app_id=None, concurrency=16",
    "backfill.report": "*, app_id, verification_id, time, number=None",
    "backfill.report_rate": (
        "*, app_id, mcc, backfill_now, callback_time, backfill_number=None,"
        " backfill_cardinal_number=None"
    ),
}


def _check(signature: inspect.Signature, spec: Spec) -> None:
    """Assert ``signature`` offers exactly the contract's parameters, kinds and defaults."""
    params = [p for p in signature.parameters.values() if p.name != "self"]
    by_name = {p.name: p for p in params}
    for name, positional, default in spec:
        assert name in by_name, f"missing argument {name}"
        param = by_name[name]
        if positional:
            assert param.kind in POSITIONAL, f"{name} must be positional"
        else:
            assert param.kind is KEYWORD, f"{name} must be keyword-only"
        assert param.default == default, f"{name} defaults to {param.default!r}, not {default!r}"
    contract_positional = [name for name, positional, _ in spec if positional]
    assert [p.name for p in params if p.kind in POSITIONAL] == contract_positional
    for param in params:
        if param.name not in {name for name, _, _ in spec}:
            assert param.kind is KEYWORD, f"extra argument {param.name} must be keyword-only"
            assert param.default is not _NO_DEFAULT, f"extra argument {param.name} needs a default"


@pytest.mark.parametrize("method", METHODS)
async def test_method_signatures_match_the_contract(method: str) -> None:
    """Every namespace method has the contract's arguments, kinds and defaults."""
    namespace, name = method.split(".")
    async with FakeItnio().client() as client:
        bound = getattr(getattr(client, namespace), name)
    _check(inspect.signature(bound), _spec(METHODS[method]))


def test_iter_by_order_ids_is_an_async_generator_and_the_rest_coroutines() -> None:
    """All methods are coroutines, except iter_by_order_ids, an async generator."""
    for method in METHODS:
        namespace, name = method.split(".")
        cls = type(getattr(FakeItnio().client(), namespace))
        func = getattr(cls, name)
        if name == "iter_by_order_ids":
            assert inspect.isasyncgenfunction(func), method
        else:
            assert inspect.iscoroutinefunction(func), method


def test_client_signature_matches_the_contract() -> None:
    """AsyncItnio(api_key=None, api_secret=None, *, base_url=None, timeout=..., max_retries=2,
    http_client=None), the default timeout being 10 s with 5 s to connect."""
    signature = inspect.signature(AsyncItnio)
    timeout = signature.parameters["timeout"].default
    _check(
        signature,
        [
            ("api_key", True, None),
            ("api_secret", True, None),
            ("base_url", False, None),
            ("timeout", False, timeout),
            ("max_retries", False, 2),
            ("http_client", False, None),
        ],
    )
    assert (timeout.read, timeout.write, timeout.pool, timeout.connect) == (10, 10, 10, 5)


def test_with_options_takes_timeout_and_max_retries() -> None:
    """client.with_options(timeout=..., max_retries=...) takes both as keyword arguments."""
    params = inspect.signature(AsyncItnio.with_options).parameters
    assert params["timeout"].kind is KEYWORD
    assert params["max_retries"].kind is KEYWORD


#: The table of "Models" in docs/public-api, verbatim.
MODELS = {
    "SendLimit": "enabled, unit, period, limit",
    "App": (
        "app_id, name, code_expiry, create_time, period_total_send_limit, period_phone_send_limit"
    ),
    "Template": (
        "template_id, app_id, name, text, code_type, code_length, speech_rate, language,"
        " max_duration, repeat_cnt, sender_id"
    ),
    "FlowStep": "waiting_time, status, channel, channel_cut",
    "Flow": "flow_id, name, steps",
    "SendResult": "verification_id, to, channel, sna_url",
    "VerifyResult": "verification_id, to, channel, matched",
    "Record": "verification_id, order_id, flow_id, verifications, sms, call, sna",
    "VerificationSummary": "matched, verified_date, ori_receiver, channel, order_id",
    "SmsAttempt": (
        "submit_tm, send_tm, done_tm, mcc, mnc, sender, charge_cnt, pay, status, reason"
    ),
    "CallAttempt": (
        "termination_code, termination_reason, submit_time, call_time, ringing_time,"
        " answer_time, hangup_time, call_duration, charged_duration, display_num,"
        " bill_periodstring, code, rate, cost"
    ),
    "SnaAttempt": ("post_verification_time, verification_back_time, mcc, mnc, status, reason"),
    "RecordLookup": "order_id, ok, record, error",
}


@pytest.mark.parametrize("model", MODELS)
def test_model_attributes_match_the_contract(model: str) -> None:
    """Each model (each arm of a union) has the contract's attributes; frozen, slotted attrs."""
    value = getattr(itnio_async, model)
    for cls in typing.get_args(value) or (value,):
        fields = {a.name for a in attrs.fields(cls)}
        assert fields == {n.strip() for n in MODELS[model].split(",")}
        assert "__slots__" in cls.__dict__
        instance = attrs.evolve(_any_instance(cls))
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            instance.__setattr__(attrs.fields(cls)[0].name, None)


def _any_instance(cls: type) -> Any:
    """An instance of ``cls`` with every required attribute set to None."""
    required = {a.name: None for a in attrs.fields(cls) if a.default is attrs.NOTHING}
    return cls(**required)


def test_fake_signature_and_ways_in_match_the_contract() -> None:
    """FakeItnio(api_key="test-key", api_secret="test-secret") offers the contract's ways in."""
    _check(
        inspect.signature(FakeItnio),
        [("api_key", True, "test-key"), ("api_secret", True, "test-secret")],
    )
    fake = FakeItnio()
    for name in ("client", "last_code", "fail_next"):
        assert callable(getattr(fake, name)), name
    assert fake.transport is fake.transport
    assert callable(fake.asgi_app)
    assert fake.latency == 0
