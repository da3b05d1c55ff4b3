"""One sub-command per API call: the request each sends and the JSON it prints."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from click.testing import CliRunner, Result

from itnio_async import make_sign
from itnio_async._cli import cli
from itnio_async._cli._runtime import State

from ..conftest import envelope
from .conftest import CLI_KEY, CLI_SECRET, Invoke, body_of

APP = {
    "appId": "mRELxtHc",
    "name": "test_app",
    "codeExpiry": 5,
    "createTime": "2022-01-01T00:00:00+08:00",
    "periodTotalSendLimit": {"unit": 2, "period": 1, "limit": 100, "enabled": True},
    "periodPhoneSendLimit": {"unit": None, "period": None, "limit": None, "enabled": False},
}
TEMPLATE = {
    "templateId": 455,
    "appId": "mRELxtHc",
    "name": "login_sms",
    "text": "##code## is your code",
    "codeType": 3,
    "codeLength": 6,
    "speechRate": 50,
    "language": "EN",
    "maxDuration": 59,
    "repeatCnt": 1,
    "senderId": "shop",
}
FLOW = {
    "flowId": 7,
    "name": "sms_then_call",
    "flow": [
        {"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0},
        {"waitingTime": 60, "status": 2, "channel": "call", "channelCut": 1},
    ],
}
SENT = {"verificationId": "22206051443051000003", "to": "8613512345678", "channel": "sms"}
RECORD = {
    "verificationId": "22206051443051000003",
    "flowId": 7,
    "verifications": {
        "matched": 0,
        "verifiedDate": "2022-07-12T13:39:47+08:00",
        "oriReceiver": "8613512345678",
        "channel": "sms",
    },
    "sms": {"submitTm": "2022-07-12T13:39:45+08:00", "pay": "0.000002", "status": 0},
}
STEP_ARGS = (
    "--step",
    "waiting_time=30,status=1,channel=sms",
    "--step",
    "wait=60,status=not_verified,channel=call,channel_cut=no_switch",
)
STEP_WIRE = [
    {"waitingTime": 30, "status": 1, "channel": "sms", "channelCut": 0},
    {"waitingTime": 60, "status": 2, "channel": "call", "channelCut": 1},
]


def ok(data: object = None) -> httpx.Response:
    """A success envelope."""
    return httpx.Response(200, json=envelope(data))


def test_apps_create_sends_limits_and_signs(invoke: Invoke, router: respx.Router) -> None:
    """`apps create` POSTs /app/add with both limit forms and the documented signature headers."""
    route = router.post("/app/add").mock(return_value=ok(APP))
    result = invoke(
        "apps",
        "create",
        "--name",
        "test_app",
        "--code-expiry",
        "5",
        "--total-limit",
        "enabled=true,unit=hour,period=1,limit=100",
        "--phone-limit",
        "off",
    )
    assert result.exit_code == 0, result.stderr
    request = route.calls.last.request
    assert request.headers["Api-Key"] == CLI_KEY
    assert request.headers["Sign"] == make_sign(CLI_KEY, CLI_SECRET, request.headers["Timestamp"])
    assert request.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert body_of(route) == {
        "name": "test_app",
        "codeExpiry": 5,
        "periodTotalSendLimit": {"enabled": True, "unit": 2, "period": 1, "limit": 100},
        "periodPhoneSendLimit": {"enabled": False, "unit": None, "period": None, "limit": None},
    }
    printed = json.loads(result.stdout)
    assert printed["appId"] == "mRELxtHc"
    assert printed["createTime"] == "2022-01-01T00:00:00+08:00"
    assert printed["periodTotalSendLimit"] == {
        "enabled": True,
        "unit": 2,
        "period": 1,
        "limit": 100,
    }


def test_apps_update_puts_app_id_in_path_and_body(invoke: Invoke, router: respx.Router) -> None:
    """`apps update ID` sends PUT /app/update/ID with appId in the body too."""
    route = router.put("/app/update/mRELxtHc").mock(return_value=ok(APP))
    result = invoke("apps", "update", "mRELxtHc", "--name", "test_app", "--code-expiry", "10")
    assert result.exit_code == 0, result.stderr
    assert body_of(route) == {"appId": "mRELxtHc", "name": "test_app", "codeExpiry": 10}


def test_apps_get_prints_one_compact_json_object(invoke: Invoke, router: respx.Router) -> None:
    """`apps get` GETs /app/details/ID and prints one camelCase JSON line when piped."""
    route = router.get("/app/details/mRELxtHc").mock(return_value=ok(APP))
    result = invoke("apps", "get", "mRELxtHc")
    assert result.exit_code == 0, result.stderr
    assert route.calls.last.request.content == b""
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == {
        "appId": "mRELxtHc",
        "name": "test_app",
        "codeExpiry": 5,
        "createTime": "2022-01-01T00:00:00+08:00",
        "periodTotalSendLimit": {"enabled": True, "unit": 2, "period": 1, "limit": 100},
        "periodPhoneSendLimit": {"enabled": False, "unit": None, "period": None, "limit": None},
    }
    assert result.stderr == ""


def test_templates_create_sends_every_option(invoke: Invoke, router: respx.Router) -> None:
    """`templates create` maps each option to its wire field (code type by name)."""
    route = router.post("/template/add").mock(return_value=ok(TEMPLATE))
    result = invoke(
        "templates",
        "create",
        "--app-id",
        "mRELxtHc",
        "--name",
        "login_sms",
        "--text",
        "##code## is your code",
        "--code-type",
        "alphanumeric",
        "--code-length",
        "6",
        "--speech-rate",
        "50",
        "--language",
        "EN",
        "--max-duration",
        "59",
        "--repeat-cnt",
        "1",
        "--sender-id",
        "shop",
    )
    assert result.exit_code == 0, result.stderr
    assert body_of(route) == {
        "appId": "mRELxtHc",
        "name": "login_sms",
        "text": "##code## is your code",
        "codeType": 3,
        "codeLength": 6,
        "speechRate": 50,
        "language": "EN",
        "maxDuration": 59,
        "repeatCnt": 1,
        "senderId": "shop",
    }
    assert json.loads(result.stdout)["templateId"] == 455


def test_templates_create_defaults_code_type_to_numeric(
    invoke: Invoke, router: respx.Router
) -> None:
    """Without --code-type the documented default 1 (numeric) is sent explicitly."""
    route = router.post("/template/add").mock(return_value=ok(TEMPLATE))
    result = invoke(
        "templates", "create", "--app-id", "mRELxtHc", "--name", "abcd", "--text", "##code##"
    )
    assert result.exit_code == 0, result.stderr
    assert body_of(route) == {
        "appId": "mRELxtHc",
        "name": "abcd",
        "text": "##code##",
        "codeType": 1,
    }


def test_templates_update_get_and_list(invoke: Invoke, router: respx.Router) -> None:
    """update PUTs without appId; get and list GET their paths; list prints a JSON array."""
    put = router.put("/template/update/455").mock(return_value=ok(TEMPLATE))
    router.get("/template/details/455").mock(return_value=ok(TEMPLATE))
    router.get("/template/list").mock(return_value=ok([TEMPLATE, {**TEMPLATE, "templateId": 9}]))

    updated = invoke("templates", "update", "455", "--name", "login_sms", "--text", "x ##code##")
    assert updated.exit_code == 0, updated.stderr
    assert body_of(put) == {"name": "login_sms", "text": "x ##code##"}

    got = invoke("templates", "get", "455")
    assert json.loads(got.stdout)["senderId"] == "shop"

    listed = invoke("templates", "list")
    assert listed.exit_code == 0
    assert [t["templateId"] for t in json.loads(listed.stdout)] == [455, 9]


def test_flows_create_and_update_send_steps(invoke: Invoke, router: respx.Router) -> None:
    """Repeated --step options become the ordered `flow` list of POST /flow/add and PUT update."""
    create = router.post("/flow/add").mock(return_value=ok(FLOW))
    update = router.put("/flow/update/7").mock(return_value=ok(FLOW))

    created = invoke("flows", "create", "--name", "sms_then_call", *STEP_ARGS)
    assert created.exit_code == 0, created.stderr
    assert body_of(create) == {"name": "sms_then_call", "flow": STEP_WIRE}
    assert json.loads(created.stdout)["flow"] == STEP_WIRE

    updated = invoke("flows", "update", "7", "--name", "sms_then_call", *STEP_ARGS)
    assert updated.exit_code == 0, updated.stderr
    assert body_of(update) == {"name": "sms_then_call", "flow": STEP_WIRE}


def test_flows_get_and_list(invoke: Invoke, router: respx.Router) -> None:
    """`flows get` and `flows list` GET their paths and print the flow's wire shape."""
    router.get("/flow/details/7").mock(return_value=ok(FLOW))
    router.get("/flow/list").mock(return_value=ok([FLOW]))
    got = invoke("flows", "get", "7")
    assert json.loads(got.stdout) == {"flowId": 7, "name": "sms_then_call", "flow": STEP_WIRE}
    listed = invoke("flows", "list")
    assert json.loads(listed.stdout) == [{"flowId": 7, "name": "sms_then_call", "flow": STEP_WIRE}]


def test_verifications_send_and_send_code(invoke: Invoke, router: respx.Router) -> None:
    """send and send-code POST their bodies with integer ids and the order id."""
    send = router.post("/verification/send").mock(return_value=ok(SENT))
    send_rule = router.post("/verification/sendRule").mock(return_value=ok(SENT))

    sent = invoke(
        "verifications",
        "send",
        "--app-id",
        "mRELxtHc",
        "--template-id",
        "455",
        "--to",
        "8613512345678",
        "--channel",
        "SMS",
        "--flow-id",
        "7",
        "--order-id",
        "order-1",
    )
    assert sent.exit_code == 0, sent.stderr
    assert body_of(send) == {
        "appId": "mRELxtHc",
        "templateId": 455,
        "flowId": 7,
        "to": "8613512345678",
        "channel": "sms",
        "orderId": "order-1",
    }
    assert json.loads(sent.stdout)["verificationId"] == "22206051443051000003"

    coded = invoke(
        "verifications",
        "send-code",
        "--app-id",
        "mRELxtHc",
        "--code",
        "4821",
        "--to",
        "8613512345678",
    )
    assert coded.exit_code == 0, coded.stderr
    assert body_of(send_rule) == {"appId": "mRELxtHc", "code": "4821", "to": "8613512345678"}


def test_verifications_resend_and_verify(invoke: Invoke, router: respx.Router) -> None:
    """resend and verify take the id (and code) positionally; a wrong code still exits 0."""
    resend = router.post("/verification/resend").mock(return_value=ok(SENT))
    verify = router.post("/verification/verify").mock(return_value=ok({**SENT, "matched": 2}))
    resent = invoke("verifications", "resend", "22206051443051000003", "--channel", "call")
    assert resent.exit_code == 0, resent.stderr
    assert body_of(resend) == {"verificationId": "22206051443051000003", "channel": "call"}

    checked = invoke("verifications", "verify", "22206051443051000003", "123456")
    assert checked.exit_code == 0, checked.stderr
    assert body_of(verify) == {"verificationId": "22206051443051000003", "code": "123456"}
    assert json.loads(checked.stdout)["matched"] == 2


def test_records_get_prints_decimals_as_strings(invoke: Invoke, router: respx.Router) -> None:
    """`records get` GETs the record; money stays a string and sms is always a list."""
    router.get("/verification/record/22206051443051000003").mock(return_value=ok(RECORD))
    result = invoke("records", "get", "22206051443051000003")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["verificationId"] == "22206051443051000003"
    assert printed["sms"][0]["pay"] == "0.000002"
    assert printed["call"] == []
    assert printed["verifications"]["verifiedDate"] == "2022-07-12T13:39:47+08:00"


def test_records_get_by_order_id_sends_app_id(invoke: Invoke, router: respx.Router) -> None:
    """`records get-by-order-id` POSTs orderId and, when given, appId."""
    answer = {**RECORD, "orderId": "order-1"}
    route = router.post("/verification/orderId/record").mock(return_value=ok(answer))
    result = invoke("records", "get-by-order-id", "order-1", "--app-id", "mRELxtHc")
    assert result.exit_code == 0, result.stderr
    assert body_of(route) == {"appId": "mRELxtHc", "orderId": "order-1"}


def test_backfill_report_and_report_rate(invoke: Invoke, router: respx.Router) -> None:
    """Both backfill calls POST string fields and print {"ok": true}."""
    report = router.post("/postback/backfill").mock(return_value=ok())
    rate = router.post("/backfillRate").mock(return_value=ok())

    reported = invoke(
        "backfill",
        "report",
        "--app-id",
        "mRELxtHc",
        "--verification-id",
        "22206051443051000003",
        "--time",
        "1681184764000",
        "--number",
        "91856321412",
    )
    assert reported.exit_code == 0, reported.stderr
    assert json.loads(reported.stdout) == {"ok": True}
    assert body_of(report) == {
        "appId": "mRELxtHc",
        "verificationId": "22206051443051000003",
        "number": "91856321412",
        "time": "1681184764000",
    }

    rated = invoke(
        "backfill",
        "report-rate",
        "--app-id",
        "mRELxtHc",
        "--mcc",
        "460",
        "--backfill-now",
        "10.5",
        "--callback-time",
        "2023-01-29T09:59:58+08:00",
        "--backfill-number",
        "100",
    )
    assert rated.exit_code == 0, rated.stderr
    assert body_of(rate) == {
        "appId": "mRELxtHc",
        "mcc": "460",
        "backfillNumber": "100",
        "backfillNow": "10.5",
        "callbackTime": "2023-01-29T09:59:58+08:00",
    }


def test_backfill_report_time_defaults_to_now_in_millis(
    invoke: Invoke, router: respx.Router
) -> None:
    """Without --time the current time is sent as a 13-digit millisecond string."""
    route = router.post("/postback/backfill").mock(return_value=ok())
    result = invoke("backfill", "report", "--app-id", "mRELxtHc", "--verification-id", "1")
    assert result.exit_code == 0, result.stderr
    sent = body_of(route)["time"]
    assert sent.isdigit()
    assert len(sent) == 13


def test_global_options_after_the_command_win(invoke: Invoke, router: respx.Router) -> None:
    """--api-key/--api-secret given after the command are the ones that sign."""
    route = router.get("/flow/list").mock(return_value=ok([]))
    result = invoke(
        "--api-key", "rootKey1", "flows", "list", "--api-key", "leafKey1", "--api-secret", "s3cr"
    )
    assert result.exit_code == 0, result.stderr
    headers = route.calls.last.request.headers
    assert headers["Api-Key"] == "leafKey1"
    assert headers["Sign"] == make_sign("leafKey1", "s3cr", headers["Timestamp"])


def test_credentials_and_base_url_come_from_the_environment(router: respx.Router) -> None:
    """Without flags the SDK reads ITNIO_API_KEY / ITNIO_API_SECRET / ITNIO_BASE_URL."""
    from click.testing import CliRunner

    from itnio_async._cli import cli
    from itnio_async._cli._runtime import State

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok([])

    result = CliRunner().invoke(
        cli,
        ["flows", "list"],
        obj=State(transport=httpx.MockTransport(handler)),
        env={
            "ITNIO_API_KEY": "envKey01",
            "ITNIO_API_SECRET": "envSecret",
            "ITNIO_BASE_URL": "https://sandbox.invalid/otp",
        },
    )
    assert result.exit_code == 0, result.stderr
    assert str(seen[0].url) == "https://sandbox.invalid/otp/flow/list"
    assert seen[0].headers["Api-Key"] == "envKey01"
    assert seen[0].headers["Sign"] == make_sign(
        "envKey01", "envSecret", seen[0].headers["Timestamp"]
    )


def test_base_url_option_overrides_the_environment() -> None:
    """--base-url wins over ITNIO_BASE_URL."""
    from click.testing import CliRunner

    from itnio_async._cli import cli
    from itnio_async._cli._runtime import State

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok([])

    result = CliRunner().invoke(
        cli,
        ["--base-url", "https://flag.invalid/otp", "templates", "list"],
        obj=State(api_key="k123", api_secret="s", transport=httpx.MockTransport(handler)),
        env={"ITNIO_BASE_URL": "https://env.invalid/otp"},
    )
    assert result.exit_code == 0, result.stderr
    assert str(seen[0].url) == "https://flag.invalid/otp/template/list"


@pytest.mark.parametrize(("retries", "attempts"), [("0", 1), ("1", 2)])
def test_max_retries_option_bounds_attempts(
    invoke: Invoke, router: respx.Router, retries: str, attempts: int
) -> None:
    """--max-retries N makes a retryable read try N+1 times before exit code 4."""
    route = router.get("/flow/list").mock(
        return_value=httpx.Response(503, headers={"Retry-After": "0"})
    )
    result = invoke("--max-retries", retries, "--timeout", "2", "flows", "list")
    assert result.exit_code == 4
    assert route.call_count == attempts


# -- plain http:// to a sandbox container ------------------------------------------------

SANDBOX_URL = "http://sandbox:8080/otp"


def _flows_get(*args: str, env: dict[str, str] | None = None) -> tuple[Result, list[str]]:
    """`itnio ARGS --base-url http://sandbox:8080/otp flows get 1`; the URLs it requested."""
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        flow = {"flowId": 1, "name": "name", "flow": []}
        return httpx.Response(200, json={"status": "0", "reason": "success", "data": flow})

    state = State(transport=httpx.MockTransport(handler), api_key=CLI_KEY, api_secret=CLI_SECRET)
    command = [*args, "--base-url", SANDBOX_URL, "flows", "get", "1"]
    return CliRunner().invoke(cli, command, obj=state, env=env), urls


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--allow-insecure-http",), None),
        ((), {"ITNIO_ALLOW_INSECURE_HTTP": "1"}),
        ((), {"ITNIO_ALLOW_INSECURE_HTTP": "yes"}),
    ],
    ids=["option", "env-1", "env-yes"],
)
def test_the_plain_http_opt_in_from_the_command_line_or_the_environment(
    args: tuple[str, ...], env: dict[str, str] | None
) -> None:
    """--allow-insecure-http or ITNIO_ALLOW_INSECURE_HTTP=1 lets a command reach a sandbox
    container over plain http:// by its service name."""
    result, urls = _flows_get(*args, env=env)
    assert result.exit_code == 0, result.stderr
    assert urls == [f"{SANDBOX_URL}/flow/details/1"]


def test_plain_http_without_the_opt_in_names_both_ways_in() -> None:
    """Without the opt-in nothing is sent and the error names the option and the variable."""
    result, urls = _flows_get()
    assert result.exit_code == 1
    assert urls == []
    assert "--allow-insecure-http" in result.stderr
    assert "ITNIO_ALLOW_INSECURE_HTTP=1" in result.stderr


def test_a_bad_opt_in_value_is_a_clear_error() -> None:
    """ITNIO_ALLOW_INSECURE_HTTP=on is refused before anything is sent."""
    result, urls = _flows_get(env={"ITNIO_ALLOW_INSECURE_HTTP": "on"})
    assert result.exit_code == 1
    assert urls == []
    assert "ITNIO_ALLOW_INSECURE_HTTP must be 1, true or yes" in result.stderr
