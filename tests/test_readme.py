"""Every Python block of README.md runs, so the README cannot rot.

Blocks run against the SDK's sandbox (``FakeItnio`` served over TCP on 127.0.0.1),
with ``ITNIO_API_KEY`` / ``ITNIO_API_SECRET`` / ``ITNIO_BASE_URL`` pointing at it.
A block that is a whole program (it calls ``asyncio.run``) runs as is, in a thread
with no event loop. A snippet that uses top-level ``await`` runs inside a coroutine
with the names the README says snippets assume: ``client`` (an open ``AsyncItnio``),
``app_id``, ``template_id``, ``verification_id`` and ``order_id`` (from the seeded
data). Test functions a block defines (``async def test_...(itnio_client, itnio_fake)``)
are then called with fresh fixtures, as the pytest plugin would.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from itnio_async import AsyncItnio
from itnio_async._cli._sandbox_data import SANDBOX_RANDOM_SEED
from itnio_async.testing import FakeItnio

from ._sandbox import ThreadedSandbox

README = Path(__file__).resolve().parents[1] / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[int, str]]:
    text = README.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


BLOCKS = _blocks()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ThreadedSandbox]:
    """One TCP sandbox for all README blocks: the one `itnio sandbox serve --fixed-code 482913`
    serves (the same seeded ids, every code 482913), as the Quickstart runs it."""
    with ThreadedSandbox(random_seed=SANDBOX_RANDOM_SEED, fixed_code="482913") as box:
        yield box


def _run_in_thread(func: Any) -> Any:
    """Run ``func`` in a fresh thread (no running event loop there) and return its result."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = func()
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "README block did not finish in 60 s"
    if "error" in result:
        raise result["error"]
    return result.get("value")


async def _call_defined_tests(namespace: dict[str, Any]) -> int:
    """Call every ``test_*`` function the block defined with the plugin's fixtures."""
    called = 0
    for name, func in list(namespace.items()):
        if not (name.startswith("test_") and inspect.iscoroutinefunction(func)):
            continue
        fake = FakeItnio()
        async with fake.client() as client:
            fixtures = {"itnio_fake": fake, "itnio_client": client}
            params = inspect.signature(func).parameters
            await func(**{p: fixtures[p] for p in params})
        called += 1
    return called


@pytest.mark.parametrize(
    ("line", "source"), BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS]
)
def test_readme_block_runs(
    line: int, source: str, sandbox: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python block starting at this README line runs without error against the sandbox."""
    monkeypatch.setenv("ITNIO_API_KEY", sandbox.fake.api_key)
    monkeypatch.setenv("ITNIO_API_SECRET", sandbox.fake.api_secret)
    monkeypatch.setenv("ITNIO_BASE_URL", sandbox.url)
    code = compile(source, f"README.md:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    ids = sandbox.ids
    namespace: dict[str, Any] = {"__name__": "__readme__"}

    if code.co_flags & inspect.CO_COROUTINE:

        async def snippet() -> None:
            async with AsyncItnio() as client:
                namespace.update(
                    client=client,
                    app_id=ids.app_id,
                    template_id=ids.template_id,
                    verification_id=ids.verification_ids[0],
                    order_id=ids.order_id,
                )
                await eval(code, namespace)  # noqa: S307 - running our own README
                await _call_defined_tests(namespace)

        _run_in_thread(lambda: asyncio.run(snippet()))
    else:

        def program() -> None:
            exec(code, namespace)  # noqa: S102 - running our own README
            asyncio.run(_call_defined_tests(namespace))

        _run_in_thread(program)


def test_readme_has_python_blocks() -> None:
    """The README's examples are found (a broken extractor would silently test nothing)."""
    assert len(BLOCKS) >= 3
    assert any("AsyncItnio" in source for _, source in BLOCKS)
