"""Errors: one line on stderr naming the class and status, distinct exit codes, no secrets."""

from __future__ import annotations

from typing import Any

import click
import httpx
import pytest
import respx

from itnio_async import (
    APIError,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    NotFoundError,
    PhoneSendLimitError,
    RequestTimeoutError,
    TransportError,
    ValidationError,
)
from itnio_async._cli import cli
from itnio_async._cli._output import error_line, exit_code_for

from ..conftest import envelope
from .conftest import CLI_SECRET, Invoke

SEND = (
    "verifications",
    "send",
    "--app-id",
    "mRELxtHc",
    "--template-id",
    "455",
    "--to",
    "8613512345678",
)


def test_api_error_exits_3_with_one_line(invoke: Invoke, router: respx.Router) -> None:
    """An error envelope prints `error: <Class> (status N): <reason>` and exits 3."""
    router.post("/verification/send").mock(
        return_value=httpx.Response(
            200, json=envelope(status="-28", reason="Period phone send limit")
        )
    )
    result = invoke(*SEND)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: PhoneSendLimitError (status -28): Period phone send limit [POST /verification/send]"
    ]


def test_unknown_api_status_is_a_plain_api_error(invoke: Invoke, router: respx.Router) -> None:
    """A status the SDK does not know is reported as APIError with its number."""
    router.get("/flow/list").mock(
        return_value=httpx.Response(200, json=envelope(status="-99", reason="Odd"))
    )
    result = invoke("flows", "list")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: APIError (status -99): Odd")


def test_validation_error_exits_2_before_sending(invoke: Invoke, router: respx.Router) -> None:
    """An argument the SDK rejects exits 2, names the argument and sends nothing."""
    route = router.post("/verification/send")
    result = invoke(
        "verifications", "send", "--app-id", "mRELxtHc", "--template-id", "1", "--to", "+1"
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ValidationError: to must be")
    assert route.call_count == 0


@pytest.mark.parametrize(
    "args",
    [
        ("apps", "create"),
        ("flows", "create", "--name", "abcd", "--step", "waiting_time=30,channel=sms"),
        ("apps", "create", "--name", "abcd", "--total-limit", "enabled=maybe"),
        (
            "templates",
            "create",
            "--app-id",
            "abcd",
            "--name",
            "abcd",
            "--text",
            "x",
            "--code-type",
            "9",
        ),
        ("verifications", "verify", "22206051443051000003"),
        ("nonsense",),
    ],
)
def test_usage_errors_exit_2(invoke: Invoke, router: respx.Router, args: tuple[str, ...]) -> None:
    """Missing or malformed options and arguments are click usage errors (exit 2)."""
    result = invoke(*args)
    assert result.exit_code == 2
    assert "Error" in result.stderr
    assert not router.calls


def test_transport_error_exits_4(invoke: Invoke, router: respx.Router) -> None:
    """A connection failure prints TransportError and exits 4."""
    router.get("/flow/list").mock(side_effect=httpx.ConnectError("connection refused"))
    result = invoke("--max-retries", "0", "flows", "list")
    assert result.exit_code == 4
    assert result.stderr.startswith(
        "error: TransportError: ConnectError on GET https://api.itniotech.com/otp/flow/list"
    )


def test_http_status_error_exits_4(invoke: Invoke, router: respx.Router) -> None:
    """A non-2xx answer prints HTTPStatusError with the HTTP status and exits 4."""
    router.get("/template/list").mock(return_value=httpx.Response(404))
    result = invoke("templates", "list")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: HTTPStatusError (HTTP 404): HTTP 404 from GET")


def test_decode_error_exits_4(invoke: Invoke, router: respx.Router) -> None:
    """A 2xx body that is not JSON prints DecodeError and exits 4."""
    router.get("/template/list").mock(return_value=httpx.Response(200, text="<html>oops</html>"))
    result = invoke("templates", "list")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: DecodeError:")
    assert len(result.stderr.splitlines()) == 1


def test_missing_credentials_exit_1_with_a_hint(invoke: Invoke, router: respx.Router) -> None:
    """No key anywhere: ItnioError, exit 1, naming the variable, the flag and --sandbox."""
    result = invoke("flows", "list", creds=False)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("error: ItnioError: no API key")
    assert "ITNIO_API_KEY" in line
    assert "--api-key" in line
    assert "--sandbox" in line
    assert not router.calls


@pytest.mark.parametrize(
    "where",
    [("--api-key", "key with spaces"), ("ITNIO_API_SECRET", "Zq9sEcr3t\n")],
    ids=["option", "environment"],
)
def test_malformed_credentials_name_the_credentials_not_the_base_url(
    router: respx.Router, where: tuple[str, str]
) -> None:
    """A key or secret that is present but malformed points at --api-key, not --base-url."""
    from click.testing import CliRunner

    name, value = where
    env = {"ITNIO_API_KEY": "envKey01", "ITNIO_API_SECRET": "envSecret"}
    args = ["flows", "list"]
    if name == "--api-key":
        args = [name, value, *args]
    else:
        env[name] = value
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith("error: ItnioError: api_")
    assert "API credentials are printable ASCII" in line
    assert "--api-key / --api-secret" in line
    assert "--base-url" not in line
    assert value.strip() not in line
    assert not router.calls


@pytest.mark.parametrize(
    "where",
    [("--base-url", "ftp://example.invalid/otp"), ("ITNIO_BASE_URL", "not a url")],
    ids=["option", "environment"],
)
def test_bad_base_url_names_the_base_url_not_the_key(
    router: respx.Router, where: tuple[str, str]
) -> None:
    """With credentials from the environment, a bad base URL points at --base-url, not --api-key."""
    from click.testing import CliRunner

    name, value = where
    env = {"ITNIO_API_KEY": "envKey01", "ITNIO_API_SECRET": "envSecret"}
    args = ["flows", "list"]
    if name == "--base-url":
        args += [name, value]
    else:
        env[name] = value
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert line.startswith(f"error: ItnioError: base_url {value!r} ")
    assert "--base-url URL, or the ITNIO_BASE_URL environment variable" in line
    assert "--api-key" not in line
    assert not router.calls


def test_secret_never_printed(invoke: Invoke, router: respx.Router) -> None:
    """Neither the secret nor the Sign appears in the output, even if the server echoes them."""
    route = router.get("/flow/list").mock(
        return_value=httpx.Response(
            200, json=envelope(status="-1", reason=f"bad sign for secret {CLI_SECRET}")
        )
    )
    result = invoke("flows", "list")
    sign = route.calls.last.request.headers["Sign"]
    assert result.exit_code == 3
    assert CLI_SECRET not in result.output
    assert sign not in result.output
    assert "***" in result.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValidationError("to", "10 digits", "'1'"), 2),
        (PhoneSendLimitError(-28, "limit"), 3),
        (APIError(-99, "odd"), 3),
        (TransportError("boom"), 4),
        (RequestTimeoutError("slow"), 4),
        (HTTPStatusError(502), 4),
        (DecodeError("bad"), 4),
        (ItnioError("closed"), 1),
        (RuntimeError("bug"), 1),
    ],
)
def test_exit_code_table(error: BaseException, code: int) -> None:
    """Each error class maps to its documented exit code."""
    assert exit_code_for(error) == code


def test_error_line_for_http_status_with_envelope() -> None:
    """An HTTP error that carried an envelope names both statuses."""
    line = error_line(HTTPStatusError(503, method="GET", path="/x", status=-18, reason="busy"))
    assert line.startswith("error: HTTPStatusError (HTTP 503, status -18): ")


def test_error_line_is_one_line() -> None:
    """Newlines in a reason are folded so the error stays on one line."""
    assert error_line(NotFoundError(-24, "no\nsuch\n  thing")) == (
        "error: NotFoundError (status -24): no such thing"
    )


def _leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[Any]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _leaf_commands(command, (*prefix, name))
        else:
            found.append(((*prefix, name), command))
    return found


API_COMMANDS = [path for path, _ in _leaf_commands(cli) if path[0] not in ("sandbox", "demo")]


#: Every API command and the HTTP call its help must name (the 19 calls plus the bulk lookup).
HTTP_CALLS: dict[tuple[str, ...], str] = {
    ("apps", "create"): "POST /app/add",
    ("apps", "update"): "PUT /app/update/{appId}",
    ("apps", "get"): "GET /app/details/{appId}",
    ("templates", "create"): "POST /template/add",
    ("templates", "update"): "PUT /template/update/{templateId}",
    ("templates", "get"): "GET /template/details/{templateId}",
    ("templates", "list"): "GET /template/list",
    ("flows", "create"): "POST /flow/add",
    ("flows", "update"): "PUT /flow/update/{flowId}",
    ("flows", "get"): "GET /flow/details/{flowId}",
    ("flows", "list"): "GET /flow/list",
    ("verifications", "send"): "POST /verification/send",
    ("verifications", "send-code"): "POST /verification/sendRule",
    ("verifications", "resend"): "POST /verification/resend",
    ("verifications", "verify"): "POST /verification/verify",
    ("records", "get"): "GET /verification/record/{id}",
    ("records", "get-by-order-id"): "POST /verification/orderId/record",
    ("records", "lookup"): "POST /verification/orderId/record",
    ("backfill", "report"): "POST /postback/backfill",
    ("backfill", "report-rate"): "POST /backfillRate",
}


def test_every_api_call_has_a_command() -> None:
    """The 19 API calls are 19 commands, plus the bulk lookup: these, no more, no fewer."""
    assert set(API_COMMANDS) == set(HTTP_CALLS)


@pytest.mark.parametrize("path", API_COMMANDS, ids=" ".join)
def test_every_command_help_names_its_http_call(invoke: Invoke, path: tuple[str, ...]) -> None:
    """`--help` of each API command names its own HTTP method and path."""
    result = invoke(*path, "--help")
    assert result.exit_code == 0
    assert HTTP_CALLS[path] in " ".join(result.stdout.split())
    assert "global options" in result.stdout


def test_root_help_documents_exit_codes(invoke: Invoke) -> None:
    """`itnio --help` lists every exit code."""
    result = invoke("--help")
    assert result.exit_code == 0
    for line in (
        "0    success",
        "1    any other failure",
        "2    usage error",
        "3    the API",
        "4    transport",
        "5    records lookup stopped early",
        "130  records lookup interrupted",
    ):
        assert line in result.stdout
