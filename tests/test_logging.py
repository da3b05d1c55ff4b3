"""Logging: metadata only, ITNIO_LOG switches it on, and no secret, Sign, code or full number
ever shows in a log line, a repr or an exception message."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from itnio_async import (
    APIError,
    AsyncItnio,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    RetryPolicy,
    TransportError,
    ValidationError,
)
from itnio_async._logging import logger, setup_logging_from_env
from itnio_async._redact import mask_phone

from .conftest import API_KEY, API_SECRET, BASE_URL, FIXED_TIME, envelope

VID = "22206051443051000003"
PHONE = "91856321412"
MASKED = "*******1412"
CODE = "A7Q9Z2"
OTHER_PHONE = "8613512345678"


@pytest.fixture(autouse=True)
def itnio_logger() -> Iterator[logging.Logger]:
    """Restore the itnio_async logger's handlers and level after each test (no leaks)."""
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield logger
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)
    logger.propagate = propagate


def env_handlers() -> list[logging.Handler]:
    """Handlers attached by ITNIO_LOG."""
    return [h for h in logger.handlers if type(h).__name__ == "_EnvHandler"]


# -- ITNIO_LOG --------------------------------------------------------------------------------


def test_no_env_variable_attaches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ITNIO_LOG a client leaves logging configuration to the application."""
    monkeypatch.delenv("ITNIO_LOG", raising=False)
    assert env_handlers() == []
    AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL)
    assert setup_logging_from_env() is None
    assert env_handlers() == []
    assert logger.level == logging.NOTSET


@pytest.mark.parametrize("value", ["debug", " DEBUG "])
async def test_itnio_log_debug_prints_attempt_lines(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ITNIO_LOG=debug attaches one stderr handler (however many clients) and logs attempts."""
    monkeypatch.setenv("ITNIO_LOG", value)
    assert env_handlers() == []  # the previous parametrisation left nothing behind

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope({"flowId": 1, "flow": []}))

    async with AsyncItnio(
        API_KEY, API_SECRET, base_url=BASE_URL, transport=httpx.MockTransport(handler)
    ) as client:
        AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL)
        assert len(env_handlers()) == 1
        assert logger.level == logging.DEBUG
        await client.flows.get(1)
    err = capsys.readouterr().err
    assert "itnio_async DEBUG GET /flow/details/1 attempt=1 status=200 outcome=ok" in err
    assert "elapsed=" in err


async def test_itnio_log_info_hides_debug_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ITNIO_LOG=info logs retries but not every attempt."""
    monkeypatch.setenv("ITNIO_LOG", "info")
    outcomes = [httpx.Response(503)]

    def handler(request: httpx.Request) -> httpx.Response:
        return outcomes.pop(0) if outcomes else httpx.Response(200, json=envelope({"flowId": 1}))

    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        retry_policy=RetryPolicy(base_delay=0.0),
    ) as client:
        await client.flows.get(1)
    err = capsys.readouterr().err
    assert logger.level == logging.INFO
    assert "GET /flow/details/1: HTTPServerError, retry 1/2 in 0.00s" in err
    assert "attempt=" not in err


def test_unknown_itnio_log_value_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """ITNIO_LOG=verbose (not a level) attaches nothing."""
    monkeypatch.setenv("ITNIO_LOG", "verbose")
    assert setup_logging_from_env() is None
    assert env_handlers() == []


# -- redaction across a whole flow ------------------------------------------------------------


class Flowing:
    """Answers a send → verify → record flow with failures, lost answers and a -16."""

    def __init__(self) -> None:
        self.signs: list[str] = []
        self.sent: dict[str, int] = {}
        self.verified = False

    def _count(self, path: str) -> int:
        self.sent[path] = self.sent.get(path, 0) + 1
        return self.sent[path]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.signs.append(request.headers["Sign"])
        path = request.url.path.removeprefix("/otp")
        n = self._count(path)
        data: Any
        if path == "/verification/send":
            if n == 1:
                raise httpx.ConnectError(f"refused while sending to {PHONE}")
            if n == 3:  # answered with a data list: a DecodeError that quotes the body
                return httpx.Response(200, json=envelope([{"to": PHONE, "code": CODE}]))
            data = {"verificationId": VID, "to": PHONE, "channel": "sms"}
        elif path == "/verification/sendRule":
            if n == 1:
                return httpx.Response(
                    200,
                    headers={"Date": formatdate(FIXED_TIME + 900, usegmt=True)},
                    json=envelope(status="-16"),
                )
            data = {"verificationId": VID, "to": PHONE, "channel": "call"}
        elif path == "/verification/verify":
            self.verified = True
            raise httpx.ReadTimeout("answer lost")
        elif path.startswith("/verification/record/"):
            if n == 1:
                return httpx.Response(200, json=envelope(status="-18"))
            data = {
                "verificationId": VID,
                "verifications": {
                    "matched": 0 if self.verified else -1,
                    "oriReceiver": PHONE,
                    # Well after the verify began (the server's clock runs 900 s ahead).
                    "verifiedDate": datetime.fromtimestamp(FIXED_TIME + 1000, UTC).isoformat(),
                },
                "sms": {"status": 0, "reason": "ok"},
            }
        elif path == "/postback/backfill":
            return httpx.Response(
                500, json={"status": "-18", "reason": "x", "data": {"number": OTHER_PHONE}}
            )
        else:
            raise AssertionError(path)
        return httpx.Response(200, json=envelope(data))


async def test_no_secret_sign_code_or_full_number_anywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Across sends, retries, a -16, a lost verify, record reads and failures, captured logs
    (all loggers, DEBUG), exception messages and reprs hold only masked numbers."""
    caplog.set_level(logging.DEBUG)
    server = Flowing()
    shown: list[str] = []
    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(server),
        clock=lambda: FIXED_TIME,
        retry_policy=RetryPolicy(base_delay=0.0),
    ) as client:
        shown.append(repr(client))
        sent = await client.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE)
        shown.append(repr(sent))
        with pytest.raises(DecodeError) as decode:
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE)
        shown += [str(decode.value), repr(decode.value), decode.value.body]
        by_rule = await client.verifications.send_code(app_id="mRELxtHc", code=CODE, to=PHONE)
        shown.append(repr(by_rule))
        result = await client.verifications.verify(VID, CODE)
        assert result.ok is True
        shown.append(repr(result))
        record = await client.records.get(VID)
        shown.append(repr(record))
        with pytest.raises(HTTPStatusError) as status:
            await client.backfill.report(
                app_id="mRELxtHc", verification_id=VID, time=1681184764000, number=OTHER_PHONE
            )
        shown += [str(status.value), repr(status.value), status.value.body]
    logged = [r.getMessage() for r in caplog.records]
    assert logged, "the flow must have produced log lines"
    everything = "\n".join(shown + logged)

    assert API_SECRET not in everything
    for sign in set(server.signs):
        assert sign not in everything
    assert CODE not in everything
    assert PHONE not in everything
    assert OTHER_PHONE not in everything
    assert MASKED in everything  # numbers are masked, not dropped
    assert "*********5678" in status.value.body

    # The log lines carry the metadata that makes them useful.
    attempts = [m for m in logged if " attempt=" in m]
    assert "POST /verification/send attempt=1 status=- outcome=ConnectError" in attempts[0]
    assert any("POST /verification/verify attempt=1" in m and "ReadTimeout" in m for m in logged)
    assert any("resolving the outcome from the record" in m for m in logged)
    assert any("clock offset now +900s" in m for m in logged)
    assert any("status=500" in m for m in attempts)
    assert all("elapsed=" in m for m in attempts)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, {"status": "0", "data": [{"to": PHONE, "code": CODE}]}, DecodeError),
        (200, f'<html>"to":"{PHONE}", "code": "{CODE}"</html>', DecodeError),
        (
            200,
            {"status": "0", "data": {"verificationId": VID, "to": PHONE, "channel": []}},
            DecodeError,
        ),
        (502, {"status": "-18", "data": {"oriReceiver": PHONE, "code": CODE}}, HTTPStatusError),
    ],
    ids=["data-list", "not-json", "bad-field", "http-502"],
)
async def test_exception_messages_mask_numbers_from_the_body(
    status: int, body: Any, error: type[ItnioError]
) -> None:
    """Errors quoting a response body show numbers masked and codes hidden."""
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content)

    async with AsyncItnio(
        API_KEY, API_SECRET, base_url=BASE_URL, transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(error) as info:
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE)
    excerpt = info.value.body  # type: ignore[attr-defined]
    assert MASKED in excerpt
    for text in (str(info.value), repr(info.value), excerpt):
        assert PHONE not in text
        assert CODE not in text


async def test_transport_error_detail_masks_numbers() -> None:
    """A transport error whose text quotes a number (custom transports do) shows it masked."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(f"peer closed while relaying to {PHONE} on port 8080")

    async with AsyncItnio(
        API_KEY,
        API_SECRET,
        base_url=BASE_URL,
        transport=httpx.MockTransport(handler),
        max_retries=0,
    ) as client:
        with pytest.raises(TransportError) as info:
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE)
    assert PHONE not in str(info.value)
    assert f"{MASKED} on port 8080" in str(info.value)


@pytest.mark.parametrize("http_status", [200, 400], ids=["api-error", "http-error"])
async def test_server_reason_quoting_a_number_is_masked(http_status: int) -> None:
    """A reason text that quotes the phone number reaches no message, attribute or repr whole."""
    body = {"status": "-28", "reason": f"Period phone send limit for {PHONE}"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(http_status, json=body)

    async with AsyncItnio(
        API_KEY, API_SECRET, base_url=BASE_URL, transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises((APIError, HTTPStatusError)) as info:
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to=PHONE)
    error = info.value
    assert isinstance(error, (APIError, HTTPStatusError))
    assert error.reason == f"Period phone send limit for {MASKED}"
    for text in (str(error), repr(error), repr(vars(error))):
        assert PHONE not in text


# -- validation errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["++91856321412", "918563214125555", "91  856 321 412", "9185632141x"]
)
async def test_bad_to_is_masked_in_the_validation_error(bad: str) -> None:
    """A rejected phone number shows only its last 4 characters."""
    async with AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL) as client:
        with pytest.raises(ValidationError) as info:
            await client.verifications.send(app_id="mRELxtHc", template_id=455, to=bad)
    message = str(info.value)
    assert info.value.argument == "to"
    assert bad not in message
    assert bad[:-4] not in message
    assert mask_phone(bad) in message


@pytest.mark.parametrize("bad", ["Q9", "QWERTYUIOPASD", "  "])
async def test_bad_code_is_not_shown_in_the_validation_error(bad: str) -> None:
    """A rejected code is described by its length only (verify and send_code)."""
    async with AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL) as client:
        with pytest.raises(ValidationError) as verify_info:
            await client.verifications.verify(VID, bad)
        with pytest.raises(ValidationError) as send_info:
            await client.verifications.send_code(app_id="mRELxtHc", code=bad * 6, to=PHONE)
    for info, value in ((verify_info, bad), (send_info, bad * 6)):
        assert info.value.argument == "code"
        if value.strip():
            assert value not in str(info.value)
        assert f"code of {len(value)} characters" in str(info.value)


async def test_client_errors_never_show_the_secret() -> None:
    """Configuration errors and the client repr mention neither secret nor Sign."""
    client = AsyncItnio(API_KEY, API_SECRET, base_url=BASE_URL)
    assert API_SECRET not in repr(client)
    assert API_SECRET not in repr(client.verifications)
    with pytest.raises(ItnioError) as info:
        client.with_options(max_retries=-1)
    assert API_SECRET not in str(info.value)
