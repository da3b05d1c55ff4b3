"""What the CLI prints is the models' one serialiser: ``to_json()`` piped or with ``--json``,
enum names for a person on a terminal."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner, Result

from itnio_async import RecordLookup, VerifyResult
from itnio_async._cli import _output, cli
from itnio_async._cli._sandbox_data import make_fake
from itnio_async._converter import structure

from .conftest import lines_of


def run(*args: str) -> Result:
    """Invoke the CLI in-process (no credentials: the sandbox needs none)."""
    return CliRunner().invoke(cli, list(args))


def _wrong_verify(*extra: str) -> Result:
    """`itnio --sandbox verifications verify` of a seeded id with a wrong code."""
    _, ids = make_fake()
    assert ids is not None
    vid = ids["verificationIds"][1]
    result = run("--sandbox", *extra, "verifications", "verify", vid, "99999999")
    assert result.exit_code == 0, result.stderr
    return result


def test_piped_output_is_to_json() -> None:
    """Piped, a result is one line equal to the model's to_json(): matched as 2."""
    out = _wrong_verify().stdout
    result = structure(json.loads(out), VerifyResult, strict=True)
    assert out == result.to_json() + "\n"
    assert '"matched":2' in out


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdout counts as a terminal (where a person reads)."""
    monkeypatch.setattr(_output, "is_terminal", lambda stream: True)


@pytest.mark.usefixtures("terminal")
def test_a_terminal_shows_enum_names() -> None:
    """On a terminal the result is pretty and matched reads FAILED, not 2."""
    out = _wrong_verify().stdout
    shown = json.loads(out)
    assert shown["matched"] == "FAILED"
    assert '"matched": 2' not in out
    assert out.count("\n") > 1


@pytest.mark.usefixtures("terminal")
@pytest.mark.parametrize("where", ["before", "after"])
def test_json_option_prints_to_json_on_a_terminal(where: str) -> None:
    """--json (a global option, before or after the command) prints to_json() even on a
    terminal."""
    _, ids = make_fake()
    assert ids is not None
    vid = ids["verificationIds"][1]
    args = ["verifications", "verify", vid, "99999999"]
    args = ["--json", *args] if where == "before" else [*args, "--json"]
    result = run("--sandbox", *args)
    assert result.exit_code == 0, result.stderr
    parsed = structure(json.loads(result.stdout), VerifyResult, strict=True)
    assert result.stdout == parsed.to_json() + "\n"


@pytest.mark.usefixtures("terminal")
def test_enum_names_reach_nested_models_and_lists() -> None:
    """Templates list, app limits and flow steps show their enums by name on a terminal."""
    templates = json.loads(run("--sandbox", "templates", "list").stdout)
    assert [t["codeType"] for t in templates] == ["NUMERIC", "ALPHANUMERIC"]
    flows = json.loads(run("--sandbox", "flows", "list").stdout)
    assert flows[0]["flow"][0]["status"] == "NOT_VERIFIED"
    assert flows[0]["flow"][0]["channelCut"] == "SWITCH"
    assert flows[0]["flow"][0]["channel"] == "call"
    _, ids = make_fake()
    assert ids is not None
    app = json.loads(run("--sandbox", "apps", "get", ids["appId"]).stdout)
    assert app["periodTotalSendLimit"]["unit"] == "DAY"
    assert app["periodPhoneSendLimit"]["unit"] == "HOUR"


def test_lookup_lines_are_to_dict() -> None:
    """Each JSON line of `records lookup` equals to_dict() of the same lookup made by the SDK."""
    order_ids = ["order-1001", "order-1003", "nope"]
    result = run("records", "lookup", "--sandbox", *order_ids)
    printed = {line["orderId"]: line for line in lines_of(result.stdout)}

    async def look_up() -> list[RecordLookup]:
        fake, _ = make_fake()
        async with fake.client() as client:
            return await client.records.get_many_by_order_ids(order_ids)

    lookups = asyncio.run(look_up())
    assert printed == {lookup.order_id: lookup.to_dict() for lookup in lookups}
    assert printed["order-1001"]["record"]["verifications"]["matched"] == 0
