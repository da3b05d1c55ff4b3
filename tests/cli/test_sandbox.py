"""`--sandbox`, `itnio sandbox ids` and `itnio demo`: the whole SDK without credentials."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from itnio_async._cli import cli
from itnio_async._cli._demo import run_demo
from itnio_async._cli._sandbox_data import make_fake
from itnio_async.testing import FakeItnio

from .._sandbox import ThreadedSandbox
from .conftest import lines_of


def run(*args: str, input: str | None = None) -> Result:
    """Invoke the CLI with no credentials at all (the environment is cleared by conftest)."""
    return CliRunner().invoke(cli, list(args), input=input)


@pytest.fixture(scope="module")
def seeded() -> dict[str, object]:
    """The ids every --sandbox run is seeded with."""
    result = CliRunner().invoke(cli, ["sandbox", "ids"])
    assert result.exit_code == 0, result.stderr
    ids: dict[str, object] = json.loads(result.stdout)
    return ids


def test_sandbox_ids_are_the_same_on_every_run(seeded: dict[str, object]) -> None:
    """`sandbox ids` prints camelCase ids that a fresh seeding reproduces exactly."""
    assert set(seeded) >= {"appId", "templateIds", "flowId", "verificationIds", "orderIds"}
    _, again = make_fake()
    assert again == seeded


def test_seeded_codes_verify_under_the_sandbox(seeded: dict[str, object]) -> None:
    """`sandbox ids` lists each verification's code; they verify (the first was already used)."""
    codes = seeded["codes"]
    verification_ids = seeded["verificationIds"]
    assert isinstance(codes, list)
    assert isinstance(verification_ids, list)
    assert len(codes) == len(verification_ids) == 4
    outcomes = []
    for verification_id, code in zip(verification_ids, codes, strict=True):
        result = run("--sandbox", "verifications", "verify", verification_id, code)
        assert result.exit_code == 0, result.stderr
        outcomes.append(json.loads(result.stdout)["matched"])
    assert outcomes == [4, 0, 0, 0]  # ALREADY_USED, then MATCHED
    wrong = run("--sandbox", "verifications", "verify", verification_ids[1], "999999999")
    assert json.loads(wrong.stdout)["matched"] == 2


def test_read_commands_return_seeded_data(seeded: dict[str, object]) -> None:
    """With --sandbox and no credentials, reads return the seeded objects."""
    app = run("--sandbox", "apps", "get", str(seeded["appId"]))
    assert app.exit_code == 0, app.stderr
    assert json.loads(app.stdout)["appId"] == seeded["appId"]

    templates = run("--sandbox", "templates", "list")
    assert [t["templateId"] for t in json.loads(templates.stdout)] == seeded["templateIds"]

    verification_id = seeded["verificationIds"][0]  # type: ignore[index]
    record = run("records", "get", verification_id, "--sandbox")
    assert record.exit_code == 0, record.stderr
    assert json.loads(record.stdout)["verifications"]["matched"] == 0


def test_write_commands_work_in_the_sandbox(seeded: dict[str, object]) -> None:
    """A send against the seeded app and template answers with a new verificationId."""
    result = run(
        "--sandbox",
        "verifications",
        "send",
        "--app-id",
        str(seeded["appId"]),
        "--template-id",
        "455",
        "--to",
        "8613900000000",
        "--order-id",
        "cli-order-1",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["verificationId"].isdigit()


def test_sandbox_not_found_names_the_seeded_ids(seeded: dict[str, object]) -> None:
    """An unknown id exits 3 and stderr lists the ids that do exist."""
    result = run("--sandbox", "apps", "get", "nope1")
    assert result.exit_code == 3
    error, hint = result.stderr.splitlines()
    assert error.startswith("error: NotFoundError (status -24)")
    assert hint.startswith("sandbox: seeded appId: ")
    assert str(seeded["appId"]) in hint


def test_sandbox_lookup_mixes_found_and_unknown(seeded: dict[str, object]) -> None:
    """`records lookup --sandbox` finds the seeded orderIds and reports unknown ones."""
    result = run("records", "lookup", "--sandbox", "--file", "-", input="order-1001\nnope\n")
    assert result.exit_code == 3
    lines = {line["orderId"]: line for line in lines_of(result.stdout)}
    assert lines["order-1001"]["ok"] is True
    assert lines["nope"]["error"]["type"] == "NotFoundError"


def test_sandbox_help_lists_the_seeded_ids(seeded: dict[str, object]) -> None:
    """`itnio sandbox --help` shows the seeded ids."""
    result = run("sandbox", "--help")
    assert result.exit_code == 0
    assert str(seeded["appId"]) in result.stdout
    assert "order-1001" in result.stdout


def test_demo_passes_every_step() -> None:
    """`itnio demo` exits 0 and prints every step, ending with the verdict (plain when piped)."""
    result = run("demo", "--bulk", "40")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    steps = [line for line in lines if line.startswith("ok ")]
    assert len(steps) == 18
    assert steps[0].startswith("ok 1/18 create an app: appId=")
    assert any("fail a verify with a wrong code: matched=FAILED" in s for s in steps)
    assert any("pass the verify with the right code: matched=MATCHED" in s for s in steps)
    assert steps[-1].startswith("ok 18/18 bulk-look-up 40 + 5 unknown order ids: 40 found, 5")
    assert lines[-1].startswith("demo: all 18 steps behaved as expected")
    assert "\x1b[" not in result.stdout
    assert result.stderr == ""


async def test_demo_reports_the_failing_step(capsys: pytest.CaptureFixture[str]) -> None:
    """When the sandbox misbehaves the demo names the step, stops and reports failure."""
    fake = FakeItnio()
    fake.fail_next(-29, path="/template/add")
    ok, passed, _ = await run_demo(5, fake=fake)
    out = capsys.readouterr().out
    assert not ok
    assert passed == 4
    assert "FAILED 5/18 create a template: unexpected SensitiveContentError" in out
    assert "ok 6/18" not in out


@pytest.mark.parametrize("code", ["123", "12345678901", "12-34"])
def test_sandbox_serve_refuses_a_code_verify_would_refuse(code: str) -> None:
    """`sandbox serve --fixed-code` takes 4-10 letters or digits only (exit 2, nothing served)."""
    result = run("sandbox", "serve", "--port", "0", "--fixed-code", code)
    assert result.exit_code == 2
    assert "a code is 4 to 10 letters or digits" in result.stderr


@pytest.mark.parametrize("how", ["option", "environment"])
def test_sandbox_advance_moves_a_running_sandbox_clock(how: str) -> None:
    """`itnio sandbox advance N` posts to the sandbox named by --base-url or ITNIO_BASE_URL
    over HTTP; its clock moves and the answer is printed."""
    now = [1_700_000_000.0]
    with ThreadedSandbox(clock=lambda: now[0]) as box:
        if how == "option":
            result = CliRunner().invoke(cli, ["sandbox", "advance", "301", "--base-url", box.url])
        else:
            env = {"ITNIO_BASE_URL": box.url}
            result = CliRunner().invoke(cli, ["sandbox", "advance", "301"], env=env)
        moved = box.fake.now() - now[0]
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["advanced"] == 301.0
    assert moved == 301.0


@pytest.mark.parametrize("seconds", ["0", "-1", "nan", "inf", "soon"])
def test_sandbox_advance_refuses_a_bad_number_before_sending(seconds: str) -> None:
    """N must be a positive finite number: exit 2, nothing is sent."""
    result = run("sandbox", "advance", "--base-url", "http://127.0.0.1:9/otp", "--", seconds)
    assert result.exit_code == 2
    assert "SECONDS" in result.stderr


def test_sandbox_advance_without_a_sandbox_is_a_transport_error() -> None:
    """Nothing listening: one error line naming the URL, exit 4."""
    result = run("sandbox", "advance", "5", "--base-url", "http://127.0.0.1:9/otp")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: cannot reach the sandbox at http://127.0.0.1:9")
