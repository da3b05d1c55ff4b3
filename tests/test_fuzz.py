"""Fuzzing the response path: any body yields a model or an ItnioError, never anything else."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from itnio_async import (
    AsyncItnio,
    Flow,
    ItnioError,
    Record,
    Template,
    VerifyResult,
)

from .conftest import API_KEY, API_SECRET, BASE_URL, FIXED_TIME

VID = "22206051443051000003"

Call = Callable[[AsyncItnio], Awaitable[Any]]


def _template_list_ok(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(t, Template) for t in value)


#: endpoint name → (call, check that a returned value is the documented model)
ENDPOINTS: dict[str, tuple[Call, Callable[[Any], bool]]] = {
    "flows.get": (lambda c: c.flows.get(1), lambda v: isinstance(v, Flow)),
    "templates.list": (lambda c: c.templates.list(), _template_list_ok),
    "records.get": (lambda c: c.records.get(VID), lambda v: isinstance(v, Record)),
    "verifications.verify": (
        lambda c: c.verifications.verify(VID, "4821"),
        lambda v: isinstance(v, VerifyResult),
    ),
    "backfill.report": (
        lambda c: c.backfill.report(app_id="mRELxtHc", verification_id=VID, time=1681184764000),
        lambda v: v is None,
    ),
}

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["0", "-16", "-18", "-22", "", " 0 ", "2022-07-12T13:39:47+08:00", "sms"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.text(max_size=10)
            | st.sampled_from(
                [
                    "flowId",
                    "flow",
                    "templateId",
                    "verificationId",
                    "matched",
                    "verifications",
                    "sms",
                    "call",
                    "sna",
                    "waitingTime",
                    "status",
                    "channel",
                    "verifiedDate",
                    "pay",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)
statuses = (
    st.sampled_from(["0", "-1", "-16", "-18", "-22", "-24", "-99", "0 ", "x"])
    | st.integers(min_value=-30, max_value=5)
    | json_scalars
)


def shaped(*keys: str) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of the documented keys (values still arbitrary JSON)."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(keys, json_values | json_scalars))


# Data close to the documented models, so decoding gets deep before it fails (or succeeds).
model_like = st.one_of(
    shaped("flowId", "name", "flow"),
    shaped("templateId", "appId", "name", "text", "codeType", "codeLength", "language"),
    shaped("verificationId", "to", "channel", "matched"),
    shaped("verificationId", "orderId", "flowId", "verifications", "sms", "call", "sna"),
    st.lists(shaped("templateId", "name", "codeType"), max_size=3),
)
envelopes = st.fixed_dictionaries(
    {"status": statuses, "data": json_values | model_like},
    optional={"reason": json_scalars},
)


async def run(name: str, content: bytes, status_code: int = 200) -> None:
    """Call endpoint ``name`` against a server that answers ``content``; check the outcome."""
    call, is_model = ENDPOINTS[name]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status_code, content=content)

    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        clock=lambda: FIXED_TIME,
        max_retries=0,
    ) as client:
        try:
            result = await call(client)
        except ItnioError:
            return
        assert is_model(result), result


@pytest.mark.parametrize("name", ENDPOINTS)
@FUZZ
@given(value=json_values)
async def test_arbitrary_json(name: str, value: Any) -> None:
    """Any JSON value as the body: a model or an ItnioError."""
    await run(name, json.dumps(value).encode())


@pytest.mark.parametrize("name", ENDPOINTS)
@FUZZ
@given(value=envelopes)
async def test_envelope_shaped_json(name: str, value: dict[str, Any]) -> None:
    """Envelopes with random status and data: a model or an ItnioError."""
    await run(name, json.dumps(value).encode())


@pytest.mark.parametrize("name", ENDPOINTS)
@FUZZ
@given(
    content=st.binary(max_size=200),
    status_code=st.sampled_from([200, 200, 200, 204, 400, 404, 429, 500, 503]),
)
async def test_arbitrary_bytes(name: str, content: bytes, status_code: int) -> None:
    """Any bytes (and a few HTTP statuses): a model or an ItnioError."""
    await run(name, content, status_code)


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000,
        b'{"status":"0","data":' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        b'{"status":"0","data":{"flowId":' + b"9" * 5000 + b"}}",
        b'{"status":"0","data":{"flowId":1e999}}',
        b'{"status":"0","data":{"flowId":NaN,"flow":Infinity}}',
        b'{"status":"\xff\xfe"}',
        '{"status":"0","data":{"flowId":1,"name":"\ud800"}}'.encode("utf-8", "surrogatepass"),
    ],
    ids=["deep-list", "deep-data", "huge-int", "inf", "nan", "bad-utf8", "lone-surrogate"],
)
@pytest.mark.parametrize("name", ENDPOINTS)
async def test_pathological_bodies(name: str, content: bytes) -> None:
    """Deep nesting, huge numbers, NaN and broken UTF-8: a model or an ItnioError."""
    await run(name, content)
