"""Fault injection and latency: every fault kind, its filters, and what the SDK raises."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from itnio_async import (
    AsyncItnio,
    DecodeError,
    HTTPStatusError,
    InsufficientBalanceError,
    InvalidParameterError,
    OutcomeUnknownError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from itnio_async.testing import FakeItnio

from .conftest import PHONE, Setup


async def test_http_fault_on_a_read_is_retried(api: AsyncItnio, fake: FakeItnio) -> None:
    """A 503 with Retry-After on a GET: the SDK retries and succeeds; both attempts are logged."""
    fault = fake.fail_next("http", status=503, retry_after=0)
    assert await api.flows.list() == []
    assert [(r.http_status, r.fault, r.performed) for r in fake.requests] == [
        (503, "http", False),
        (200, None, True),
    ]
    assert [r.outcome for r in fake.requests] == ["fault", "ok"]
    assert (fault.hits, fault.remaining) == (1, 0)
    assert fake.pending_faults == []


async def test_http_fault_on_a_send_raises_http_status_error(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """A 503 on send is raised as HTTPStatusError (not retried) and nothing is delivered."""
    app_id, template_id = await setup_app()
    fake.fail_next(503, retry_after=7)
    with pytest.raises(HTTPStatusError) as info:
        await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    assert info.value.status_code == 503
    assert info.value.retry_after == 7
    assert info.value.body == "Service Unavailable"
    assert len(fake.requests_to("/verification/send")) == 1
    assert fake.sent_to(PHONE) == []


async def test_http_fault_with_an_envelope_body(api: AsyncItnio, fake: FakeItnio) -> None:
    """An HTTP fault can carry a custom body; its envelope is kept on the error."""
    fake.fail_next("http", status=500, body='{"status":"-18","reason":"busy"}')
    with pytest.raises(HTTPStatusError) as info:
        await api.with_options(max_retries=0).flows.list()
    assert (info.value.status_code, info.value.status, info.value.reason) == (500, -18, "busy")
    assert fake.requests[-1].status == "-18"


@pytest.mark.parametrize(
    ("status", "reason", "error", "expected_reason"),
    [
        (-10, None, InsufficientBalanceError, "The customer's balance is insufficient"),
        (-18, "maintenance", ServerError, "maintenance"),
    ],
)
async def test_api_fault_raises_the_typed_error(
    api: AsyncItnio,
    fake: FakeItnio,
    setup_app: Setup,
    status: int,
    reason: str | None,
    error: type[Exception],
    expected_reason: str,
) -> None:
    """An envelope-status fault on send raises the mapped APIError subclass, no retry."""
    app_id, template_id = await setup_app()
    fake.fail_next("api", status=status, reason=reason, path="/verification/send")
    with pytest.raises(error) as info:
        await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    assert info.value.status == status  # type: ignore[attr-defined]
    assert info.value.reason == expected_reason  # type: ignore[attr-defined]
    assert fake.requests[-1].status == str(status)
    assert fake.requests[-1].http_status == 200
    assert fake.sent_to(PHONE) == []


async def test_minus_18_on_a_read_is_retried(api: AsyncItnio, fake: FakeItnio) -> None:
    """The shortcut fail_next(-18) strikes once; the SDK retries the GET."""
    fake.fail_next(-18, times=2)
    assert await api.templates.list() == []
    assert [r.status for r in fake.requests] == ["-18", "-18", "0"]


async def test_drop_before_a_send(api: AsyncItnio, fake: FakeItnio, setup_app: Setup) -> None:
    """A dropped connection on send raises TransportError; before: nothing was sent."""
    app_id, template_id = await setup_app()
    fake.fail_next("drop", path="/verification/send")
    with pytest.raises(TransportError) as info:
        await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    assert info.value.sent is True
    assert isinstance(info.value.__cause__, httpx.RemoteProtocolError)
    assert fake.sent_to(PHONE) == []
    [logged] = fake.requests_to("/verification/send")
    assert (logged.fault, logged.performed, logged.http_status) == ("drop", False, None)


async def test_drop_after_a_send_is_the_ambiguous_case(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """after=True: the code is delivered and recorded, but the answer is lost."""
    app_id, template_id = await setup_app()
    fake.fail_next("drop", path="/verification/send", after=True)
    with pytest.raises(TransportError):
        await api.verifications.send(
            app_id=app_id, template_id=template_id, to=PHONE, order_id="order-1"
        )
    assert len(fake.sent_to(PHONE)) == 1
    assert fake.requests_to("/verification/send")[0].performed is True
    record = await api.records.get_by_order_id("order-1")
    assert record.verifications is not None
    assert record.verifications.ori_receiver == PHONE


async def test_lost_verify_answer_is_resolved_from_the_record(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """A verify whose answer is lost after it matched is looked up in the record; stamped in
    the second the call began, the match cannot be proven this call's: OutcomeUnknownError."""
    app_id, template_id = await setup_app()
    sent = await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    fake.fail_next("drop", path="/verification/verify", after=True)
    with pytest.raises(OutcomeUnknownError):
        await api.verifications.verify(sent.verification_id, fake.last_code(PHONE))
    assert [(r.method, r.path, r.fault) for r in fake.requests[-2:]] == [
        ("POST", "/verification/verify", "drop"),
        ("GET", f"/verification/record/{sent.verification_id}", None),
    ]


@pytest.mark.parametrize(("times", "succeeds"), [(2, True), (3, False)])
async def test_drop_times(api: AsyncItnio, fake: FakeItnio, times: int, succeeds: bool) -> None:
    """times=N strikes N requests: a GET survives 2 drops (2 retries), not 3."""
    fault = fake.fail_next("drop", times=times)
    if succeeds:
        assert await api.flows.list() == []
    else:
        with pytest.raises(TransportError):
            await api.flows.list()
    assert fault.hits == times
    assert len(fake.requests) == 3


async def test_malformed_body_raises_decode_error(api: AsyncItnio, fake: FakeItnio) -> None:
    """An HTML page with HTTP 200 raises DecodeError with an excerpt; never retried."""
    fake.fail_next("malformed")
    with pytest.raises(DecodeError) as info:
        await api.flows.list()
    assert "502 Bad Gateway" in info.value.body
    assert len(fake.requests) == 1
    assert fake.requests[0].http_status == 200
    fake.fail_next("malformed", body=b"\x00\xffgarbage")
    with pytest.raises(DecodeError):
        await api.flows.list()


async def test_timeout_raises_request_timeout_error(
    api: AsyncItnio, fake: FakeItnio, setup_app: Setup
) -> None:
    """A timeout fault raises RequestTimeoutError at once; after=True still delivers."""
    app_id, template_id = await setup_app()
    fake.fail_next("timeout", path="/verification/send", after=True)
    with pytest.raises(RequestTimeoutError) as info:
        await api.verifications.send(app_id=app_id, template_id=template_id, to=PHONE)
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert len(fake.sent_to(PHONE)) == 1
    assert len(fake.requests_to("/verification/send")) == 1


async def test_path_and_method_filters(api: AsyncItnio, fake: FakeItnio) -> None:
    """A fault for a path prefix or a method leaves other requests alone."""
    by_prefix = fake.fail_next(-22, path="/otp/verification")
    by_method = fake.fail_next(-22, method="put")
    assert await api.flows.list() == []
    assert await api.templates.list() == []
    assert (by_prefix.hits, by_method.hits) == (0, 0)
    with pytest.raises(InvalidParameterError):
        await api.verifications.verify("22206051443059999999", "1234")
    assert by_prefix.hits == 1
    assert len(fake.pending_faults) == 1
    fake.clear_faults()
    assert fake.pending_faults == []


def test_fail_next_rejects_bad_arguments() -> None:
    """Unknown kinds, status 0, HTTP statuses out of range and times < 1 are refused."""
    fake = FakeItnio()
    with pytest.raises(ValueError, match="kind"):
        fake.fail_next("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="success"):
        fake.fail_next("api", status=0)
    with pytest.raises(ValueError, match="HTTP status"):
        fake.fail_next("http", status=700)
    with pytest.raises(ValueError, match="times"):
        fake.fail_next("drop", times=0)
    with pytest.raises(ValueError, match="negative"):
        fake.latency = -1


async def test_latency_global_and_per_path(
    api: AsyncItnio, fake: FakeItnio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """latency delays every request; set_latency(path=...) overrides it for that path.

    The fake's latency is an ``asyncio.sleep``: each sleep asked for is recorded (and only
    yields once), so the delays are read exactly instead of timed.
    """
    slept: list[float] = []
    real = asyncio.sleep

    async def sleep(delay: float, result: object = None) -> object:
        slept.append(delay)
        return await real(0, result)

    monkeypatch.setattr(asyncio, "sleep", sleep)  # what the fake's module calls
    fake.latency = 0.02
    fake.set_latency(0.0, path="/flow")
    await api.flows.list()
    assert slept == []
    await api.templates.list()
    assert slept == [0.02]
    assert fake.latency_for("/flow/list") == 0.0
    assert fake.latency_for("/template/list") == 0.02


async def test_latency_beyond_the_read_timeout_times_out(fake: FakeItnio) -> None:
    """In-process, a latency longer than the client's read timeout raises a read timeout."""
    fake.set_latency(5.0, path="/flow/list")
    async with fake.client(timeout=0.01, max_retries=0) as client:
        with pytest.raises(RequestTimeoutError):
            await client.flows.list()
    [logged] = fake.requests
    assert (logged.http_status, logged.performed, logged.outcome) == (None, False, "error")
