"""The README as a newcomer uses it: its Quickstart shells run as written, and every
Python block type-checks under ``mypy --strict`` and pyright.

(``test_readme.py`` runs every block; this module runs the Quickstart's two shells
for real and type-checks the blocks the way a user's editor would.)
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import shlex
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent
ITNIO = BIN / "itnio"


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.skipif(not ITNIO.exists(), reason="the itnio console script is not installed")
def test_quickstart_runs_as_written_twice(tmp_path: Path) -> None:
    """Shell one serves the sandbox, shell two exports the settings and runs quickstart.py:
    it prints the template and `verified MATCHED`, and does so again on a second run."""
    quickstart = _section("Quickstart")
    serve, shell_two = (block.strip() for block in _blocks(quickstart, "bash"))
    export, run = shell_two.splitlines()
    (program,) = [b for b in _blocks(quickstart, "python") if b.startswith("# quickstart.py")]
    assert serve.startswith("itnio sandbox serve ")
    assert run == "python quickstart.py"
    port = _free_port()
    # As written, but on a free port instead of 8080.
    server = subprocess.Popen(
        [str(ITNIO), *shlex.split(serve)[1:], "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert "serving at" in server.stdout.readline()
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        for name, value in re.findall(r"(ITNIO_\w+)=(\S+)", export):
            env[name] = value.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        (tmp_path / "quickstart.py").write_text(program, encoding="utf-8")
        outputs = [
            subprocess.run(
                [sys.executable, "quickstart.py"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
            for _ in range(2)
        ]
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
    for output in outputs:
        assert "template 'login-sms'" in output
        assert "*********5678" in output
        assert "13512345678" not in output
        assert output.rstrip().endswith("verified MATCHED")


def _as_module(source: str) -> str:
    """A README block as a checkable module: snippets (top-level ``await``) are wrapped in a
    coroutine that receives the names the README says snippets assume."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    if not compile(source, "<readme>", "exec", flags=flags).co_flags & inspect.CO_COROUTINE:
        return source
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    body = "\n".join(line for line in source.splitlines() if line not in imports)
    return (
        "from itnio_async import AsyncItnio\n"
        + "\n".join(imports)
        + "\n\n\nasync def _snippet(\n"
        + "    client: AsyncItnio, app_id: str, template_id: int, verification_id: str,"
        + " order_id: str\n) -> None:\n"
        + textwrap.indent(body, "    ")
        + "\n"
    )


@pytest.fixture(scope="module")
def readme_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every Python block of the README written out as a module of its own."""
    folder = tmp_path_factory.mktemp("readme_blocks")
    blocks = _blocks(README, "python")
    assert len(blocks) >= 10
    for number, block in enumerate(blocks):
        (folder / f"block_{number:02d}.py").write_text(_as_module(block), encoding="utf-8")
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


def test_readme_blocks_pass_mypy_strict(readme_modules: Path) -> None:
    """mypy --strict finds nothing to say about any README block."""
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
        readme_modules,
    )


def test_readme_blocks_pass_pyright(readme_modules: Path) -> None:
    """pyright (basic mode, this environment's packages) finds nothing either."""
    _check([sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "."], readme_modules)
