"""The `itnio` command runs on uvloop where it is installed; the library never picks a loop."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ITNIO

uvloop = pytest.importorskip("uvloop")


def _loop_line(**env: str) -> str:
    """The `event loop:` debug line of a sandboxed call, with ``env`` added."""
    done = subprocess.run(
        [str(ITNIO), "--sandbox", "flows", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "ITNIO_LOG": "debug", **env},
    )
    (line,) = [x for x in done.stderr.splitlines() if "event loop:" in x]
    return line


@pytest.mark.skipif(not ITNIO.exists(), reason="the itnio console script is not installed")
def test_cli_runs_on_uvloop_unless_asked_not_to() -> None:
    """With uvloop installed the CLI runs on it; ITNIO_EVENT_LOOP=asyncio keeps asyncio's loop."""
    assert _loop_line().endswith("event loop: uvloop")
    assert _loop_line(ITNIO_EVENT_LOOP="asyncio").endswith("event loop: asyncio.unix_events")


def test_importing_and_using_the_library_sets_no_event_loop_policy() -> None:
    """`import itnio_async` and a client call leave asyncio's default policy in place."""
    code = (
        "import asyncio, itnio_async, itnio_async.testing as t\n"
        "before = type(asyncio.get_event_loop_policy())\n"
        "async def main():\n"
        "    async with t.FakeItnio().client() as c:\n"
        "        await c.flows.list()\n"
        "asyncio.run(main())\n"
        "assert type(asyncio.get_event_loop_policy()) is before, asyncio.get_event_loop_policy()\n"
        "assert 'uvloop' not in type(asyncio.get_event_loop_policy()).__module__\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
