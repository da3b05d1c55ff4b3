"""Bulk-lookup results type-check the way the README uses them, under mypy and pyright.

Each snippet is checked by running the real tool on it in a subprocess, against the
installed package (its ``py.typed`` marker included).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: The README's pattern: results through ``contextlib.aclosing`` (it needs an async
#: generator type, not an ``AsyncIterator``), and a result narrowed by ``lookup.ok``.
TRUTHINESS = """\
from __future__ import annotations

import contextlib

from itnio_async import AsyncItnio, ItnioError, Record, VerificationSummary


async def reconcile(client: AsyncItnio) -> None:
    async with contextlib.aclosing(
        client.records.iter_by_order_ids(["order-1001"], concurrency=4)
    ) as lookups:
        async for lookup in lookups:
            if lookup.ok:
                record: Record = lookup.record
                summary: VerificationSummary = lookup.record.verifications
                print(record.order_id, summary, lookup.record.verifications.matched)
            else:
                error: ItnioError = lookup.error
                print(lookup.order_id, type(error).__name__)
"""

#: The forms both checkers narrow on (pyright narrows a union on ``is`` / ``==`` of a
#: literal field, ``isinstance`` and ``match``, but by design not on a bare truth test).
EXPLICIT = """\
from __future__ import annotations

import contextlib

from itnio_async import (
    AsyncItnio,
    ItnioError,
    LookupFailed,
    Record,
    RecordFound,
    RecordLookup,
)


async def reconcile(client: AsyncItnio) -> None:
    async with contextlib.aclosing(
        client.records.iter_by_order_ids(["order-1001"], concurrency=4)
    ) as lookups:
        async for lookup in lookups:
            if lookup.ok is True:
                record: Record = lookup.record
                print(record.order_id)
            else:
                error: ItnioError = lookup.error
                print(error)
            if isinstance(lookup, RecordFound):
                print(lookup.record.sms)
            match lookup:
                case RecordFound(record=found):
                    print(found.call)
                case LookupFailed(error=failed):
                    print(failed.args)
    results: list[RecordLookup] = await client.records.get_many_by_order_ids(["a"])
    print([r.error for r in results if not r.ok])
"""


def _check(tool: list[str], tmp_path: Path, *sources: str) -> subprocess.CompletedProcess[str]:
    """Run a type checker on ``sources``, each written to a file in ``tmp_path``."""
    paths = []
    for number, source in enumerate(sources):
        path = tmp_path / f"snippet{number}.py"
        path.write_text(source, encoding="utf-8")
        paths.append(str(path))
    # The pyright package would otherwise ask PyPI whether a newer pyright exists.
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    return subprocess.run(
        [*tool, *paths],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


MYPY = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
PYRIGHT = [sys.executable, "-m", "pyright", "--pythonpath", sys.executable]


def test_mypy_strict_accepts_both_patterns(tmp_path: Path) -> None:
    """mypy --strict accepts `if lookup.ok: lookup.record...` in `aclosing`, and explicit forms."""
    result = _check(MYPY, tmp_path, TRUTHINESS, EXPLICIT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pyright_accepts_aclosing_and_explicit_narrowing(tmp_path: Path) -> None:
    """pyright accepts `aclosing(iter_by_order_ids(...))` and `ok is True` / isinstance / match."""
    result = _check(PYRIGHT, tmp_path, EXPLICIT)
    assert result.returncode == 0, result.stdout + result.stderr


#: modify takes typed keyword arguments: a misspelt name or a wrong type is an error for
#: the checkers, on the plain method and its with_raw_response form alike.
MODIFY = """\
from __future__ import annotations

from itnio_async import App, AsyncItnio, Template


async def change(client: AsyncItnio) -> None:
    app: App = await client.apps.modify("mRELxtHc", name="renamed", code_expiry=10)
    template: Template = await client.templates.modify(455, code_length=6)
    raw = await client.apps.with_raw_response.modify("mRELxtHc", name="x")
    print(app, template, raw.parse().name)
    await client.apps.modify("mRELxtHc", code_expiri=10)  # ERROR 1
    await client.templates.modify(455, code_length="6")  # ERROR 2
    await client.templates.with_raw_response.modify(455, lenght=6)  # ERROR 3
"""


def _error_lines(output: str, marker: str) -> set[int]:
    """The snippet lines (1-based) the checker's output reports errors on."""
    lines = set()
    for line in output.splitlines():
        if marker in line and "snippet0.py:" in line:
            lines.add(int(line.split("snippet0.py:", 1)[1].split(":", 1)[0]))
    return lines


def _marked_lines(source: str) -> set[int]:
    return {n for n, text in enumerate(source.splitlines(), start=1) if "# ERROR" in text}


def test_mypy_strict_flags_unknown_modify_arguments(tmp_path: Path) -> None:
    """mypy --strict reports exactly the misspelt or mistyped modify arguments."""
    result = _check(MYPY, tmp_path, MODIFY)
    assert _error_lines(result.stdout, ": error:") == _marked_lines(MODIFY), result.stdout


def test_pyright_flags_unknown_modify_arguments(tmp_path: Path) -> None:
    """pyright reports exactly the misspelt or mistyped modify arguments."""
    result = _check(PYRIGHT, tmp_path, MODIFY)
    assert _error_lines(result.stdout, " - error:") == _marked_lines(MODIFY), result.stdout
