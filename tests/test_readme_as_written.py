"""The README as a newcomer uses it: its Quickstart's two shells run as written.

(``test_docs_blocks.py`` type-checks and runs every Python block of the README and
of the docs; ``test_docs_site.py`` checks the README is a front page.)
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
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
