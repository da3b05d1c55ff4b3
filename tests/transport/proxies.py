"""tinyproxy, a real forward proxy (CONNECT included), run on 127.0.0.1 for the proxy tests.

CI installs it (Debian's ``tinyproxy``, see ``.ci/run``); elsewhere the tests that need
it are skipped when it is missing, except under ``CI``, where that fails them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The credentials a proxy with authentication accepts (tinyproxy's config takes no '%').
USER, PASSWORD = "itnio-user", "pass-word-7"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def tinyproxy(directory: Path, *, auth: bool = False, connect_ports: str = "") -> Iterator[str]:
    """Run tinyproxy; yield its URL (``http://127.0.0.1:PORT``, no credentials).

    ``auth``: Basic authentication with :data:`USER` / :data:`PASSWORD` (407 without);
    ``connect_ports``: the only ports CONNECT may reach (403 for others; all if empty).
    """
    binary = shutil.which("tinyproxy") or (
        "/usr/bin/tinyproxy" if Path("/usr/bin/tinyproxy").exists() else None
    )
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("tinyproxy is not installed (.ci/run installs it)")
        pytest.skip("tinyproxy is not installed (apt-get install tinyproxy)")
    for _ in range(5):
        port = _free_port()
        lines = [
            f"Port {port}",
            "Listen 127.0.0.1",
            "Timeout 60",
            "MaxClients 64",
            "LogLevel Critical",
            f'LogFile "{directory / "tinyproxy.log"}"',
            "Allow 127.0.0.1",
            "DisableViaHeader Yes",
        ]
        if auth:
            lines.append(f"BasicAuth {USER} {PASSWORD}")
        lines += [f"ConnectPort {p}" for p in connect_ports.split()]
        config = directory / f"tinyproxy-{port}.conf"
        config.write_text("\n".join(lines) + "\n")
        process = subprocess.Popen(
            [binary, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if _ready(process, port):
            break
        process.kill()
        process.wait()
    else:
        pytest.fail("tinyproxy did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _ready(process: subprocess.Popen[bytes], port: int) -> bool:
    """Wait (10 s at most) until tinyproxy accepts connections; False if it exited."""
    for _ in range(200):
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return True
        time.sleep(0.05)
    return False
