"""Fixtures for the command-line tests: a CliRunner wired to a respx router (no sockets)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from click.testing import CliRunner, Result

from itnio_async._cli import cli
from itnio_async._cli._runtime import State

CLI_KEY = "cliKey01"
CLI_SECRET = "cli-secret-7bz1lzh9"

#: The installed console script, next to the running interpreter.
ITNIO = Path(sys.executable).with_name("itnio")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ITNIO_* setting of the developer's shell leaks into a test."""
    names = ("ITNIO_API_KEY", "ITNIO_API_SECRET", "ITNIO_BASE_URL", "ITNIO_LOG")
    for name in (*names, "ITNIO_ALLOW_INSECURE_HTTP"):
        monkeypatch.delenv(name, raising=False)


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(router: respx.Router) -> Invoke:
    """Run ``itnio ARGS`` in-process against the respx ``router`` (credentials preset)."""
    runner = CliRunner()

    def run(
        *args: str, input: str | None = None, env: dict[str, str] | None = None, creds: bool = True
    ) -> Result:
        state = State(transport=httpx.MockTransport(router.async_handler))
        if creds:
            state.api_key, state.api_secret = CLI_KEY, CLI_SECRET
        return runner.invoke(cli, list(args), obj=state, input=input, env=env)

    return run


def body_of(route: respx.Route) -> Any:
    """The JSON body of the last request a route received."""
    return json.loads(route.calls.last.request.content)


def lines_of(text: str) -> list[dict[str, Any]]:
    """Parse JSON Lines output."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
