"""Every Python block of README.md and of docs/ type-checks and runs, so the docs cannot rot.

Which blocks: every fenced ``python`` block of ``README.md`` and ``docs/**/*.md``.

* Every block is type-checked as a module of its own, under ``mypy --strict`` and
  pyright in strict mode, the way a user's editor would see it.
* Every block runs, against the SDK's sandbox (``FakeItnio`` served over TCP on
  127.0.0.1, with ``ITNIO_API_KEY`` / ``ITNIO_API_SECRET`` / ``ITNIO_BASE_URL``
  pointing at it), except a **fragment**: a block that cannot run alone (it needs a
  file, a network or a test framework this harness does not provide) says so with
  ``<!-- docs: fragment -->`` on the line right before it, and is only type-checked.
* A block that is only a snippet include (``--8<--``, ``examples/x.py``, ``--8<--`` on
  three lines: the whole file shown in the site) is neither: the included file is a
  module of its own, tested by ``tests/examples``.

How a block runs: a whole program (no top-level ``await``) runs as is, in a thread
with no event loop. A snippet that uses top-level ``await`` runs inside a coroutine
with the names the docs say snippets assume: ``client`` (an open ``AsyncItnio``),
``app_id``, ``template_id``, ``verification_id`` and ``order_id`` (from the seeded
data). Test functions a block defines (``async def test_...(itnio_client, itnio_fake)``)
are then called with fresh fixtures, as the pytest plugin would.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from itnio_async import AsyncItnio
from itnio_async._cli._sandbox_data import SANDBOX_RANDOM_SEED
from itnio_async.testing import FakeItnio

from ._sandbox import ThreadedSandbox

ROOT = Path(__file__).resolve().parents[1]
#: The Markdown files whose Python blocks are checked: the README and every docs page.
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^(?P<indent>[ ]*)```python\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)
#: A marker is an HTML comment alone on its line (one quoted in a sentence is not one).
_MARKER = re.compile(r"^<!-- docs: (?P<name>[^>]*?) -->$", re.M)
#: A snippet include in pymdownx's block form (the line form, ``--8<-- "file"``, parses as
#: Python, so ``ruff format`` would rewrite it; the block form does not parse and is left).
_INCLUDE = re.compile(r"^--8<--\n(?P<path>[^\n]+)\n--8<--$")
#: The only marker a block may carry.
FRAGMENT = "fragment"


@dataclass(frozen=True)
class Block:
    """One fenced Python block: where it is, its source, and what is done with it."""

    where: str  # "docs/guides/errors.md:42"
    source: str
    fragment: bool
    include: str | None  # the file a snippet-include block shows


def _blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        marker = _MARKER.fullmatch(before)
        source = textwrap.dedent(match.group("body"))
        include = _INCLUDE.fullmatch(source.strip())
        blocks.append(
            Block(
                where=f"{path.relative_to(ROOT).as_posix()}:{line}",
                source=source,
                fragment=marker is not None and marker.group("name") == FRAGMENT,
                include=include.group("path") if include else None,
            )
        )
    return blocks


BLOCKS = [block for path in FILES for block in _blocks(path)]
CODE = [block for block in BLOCKS if block.include is None]
RUNNABLE = [block for block in CODE if not block.fragment]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ThreadedSandbox]:
    """One TCP sandbox for all blocks: the one `itnio sandbox serve --fixed-code 482913`
    serves (the same seeded ids, every code 482913), as the Quickstart runs it."""
    with ThreadedSandbox(random_seed=SANDBOX_RANDOM_SEED, fixed_code="482913") as box:
        yield box


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """A block may configure logging as an application would (``basicConfig``, a level on
    the ``itnio_async`` logger); put both loggers back as they were afterwards."""
    loggers = [logging.getLogger(), logging.getLogger("itnio_async")]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    yield
    for lg, level, handlers, propagate in saved:
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate = propagate


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
    assert not thread.is_alive(), "the block did not finish in 60 s"
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


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize("block", RUNNABLE, ids=[block.where for block in RUNNABLE])
def test_block_runs(
    block: Block, sandbox: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python block at this place of the docs runs without error against the sandbox."""
    monkeypatch.setenv("ITNIO_API_KEY", sandbox.fake.api_key)
    monkeypatch.setenv("ITNIO_API_SECRET", sandbox.fake.api_secret)
    monkeypatch.setenv("ITNIO_BASE_URL", sandbox.url)
    code = compile(block.source, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    ids = sandbox.ids
    namespace: dict[str, Any] = {"__name__": "__docs__"}

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
                await eval(code, namespace)  # noqa: S307 - running our own docs
                await _call_defined_tests(namespace)

        _run_in_thread(lambda: asyncio.run(snippet()))
    else:

        def program() -> None:
            exec(code, namespace)  # noqa: S102 - running our own docs
            asyncio.run(_call_defined_tests(namespace))

        _run_in_thread(program)


def test_blocks_are_found_in_every_part_of_the_docs() -> None:
    """The extractor finds the blocks (a broken one would silently test nothing): the
    README's, and those of the getting-started pages and of every guide."""
    assert len(CODE) >= 25
    places = {block.where.rsplit(":", 1)[0] for block in CODE}
    assert "README.md" in places
    assert "docs/index.md" in places
    guides = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "guides").glob("*.md")}
    # The command line guide is shell only; every other guide shows Python.
    assert guides - {"docs/guides/cli.md"} <= places
    assert any("AsyncItnio" in block.source for block in RUNNABLE)
    assert any(block.fragment for block in CODE)


def test_every_marker_is_known_and_marks_a_block() -> None:
    """``<!-- docs: ... -->`` says ``fragment`` and stands right before a Python block:
    a misspelt or misplaced marker would leave a block run, or not run, by surprise."""
    marked = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        for match in _MARKER.finditer(text):
            where = (
                f"{path.relative_to(ROOT).as_posix()}:{text.count(chr(10), 0, match.start()) + 1}"
            )
            assert match.group("name") == FRAGMENT, where
            after = text[match.end() :].lstrip(" ")
            assert after.startswith("\n```python\n"), where
            marked += 1
    assert marked == sum(block.fragment for block in BLOCKS)


def test_included_files_are_examples_with_tests() -> None:
    """A block that shows a whole file shows one of ``examples/``, which has its own tests."""
    included = [block for block in BLOCKS if block.include is not None]
    assert included
    for block in included:
        assert block.include is not None
        path = ROOT / block.include
        assert path.is_file(), block.where
        assert block.include.startswith("examples/"), block.where
        tested = ROOT / "tests" / "examples" / f"test_{path.stem}.py"
        assert tested.is_file(), f"{block.where}: no {tested.relative_to(ROOT)}"


def _as_module(source: str) -> str:
    """A block as a checkable module: snippets (top-level ``await``) are wrapped in a
    coroutine that receives the names the docs say snippets assume."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    if not compile(source, "<docs>", "exec", flags=flags).co_flags & inspect.CO_COROUTINE:
        return source
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    body = "\n".join(line for line in source.splitlines() if line not in imports)
    return (
        "from itnio_async import AsyncItnio\n"
        + "\n".join(imports)
        + "\n\n\nasync def snippet(\n"
        + "    client: AsyncItnio, app_id: str, template_id: int, verification_id: str,"
        + " order_id: str\n) -> None:\n"
        + textwrap.indent(body, "    ")
        + "\n"
    )


@pytest.fixture(scope="module")
def block_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every Python block written out as a module of its own, named after its place."""
    folder = tmp_path_factory.mktemp("docs_blocks")
    for block in CODE:
        name = re.sub(r"\W", "_", block.where.replace(".md:", "_"))
        (folder / f"{name}.py").write_text(_as_module(block.source), encoding="utf-8")
    (folder / "pyrightconfig.json").write_text(
        json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.11"}), encoding="utf-8"
    )
    return folder


def _check(command: list[str], folder: Path) -> None:
    done = subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_blocks_pass_mypy_strict(block_modules: Path) -> None:
    """mypy --strict finds nothing to say about any block."""
    _check(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--python-version",
            "3.11",
            "--explicit-package-bases",
            ".",
        ],
        block_modules,
    )


def test_blocks_pass_pyright_strict(block_modules: Path) -> None:
    """pyright in strict mode (this environment's packages) finds nothing either."""
    _check([sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "."], block_modules)
