"""The ``itnio`` entry point without the ``cli`` extra: one line saying how to install it."""

from __future__ import annotations

import subprocess
import sys

#: Runs the console script's entry point (``itnio_async._cli:main``) with ``click``
#: unimportable, as in an environment installed without the ``cli`` extra.
WITHOUT = """\
import sys
sys.modules[{module!r}] = None  # import {module} raises ModuleNotFoundError
sys.argv = ["itnio", "--help"]
from itnio_async._cli import main
sys.exit(main())
"""


def test_without_the_cli_extra_itnio_says_how_to_install_it() -> None:
    """No traceback: one line on stderr with the pip command, exit 2, nothing on stdout."""
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT.format(module="click")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "itnio: the command line needs the 'cli' extra (click is not installed): "
        "pip install 'itnio-async[cli]'\n"
    )


def test_an_unrelated_missing_module_is_not_hidden() -> None:
    """A missing module that is not the cli extra's still fails loudly (a real bug)."""
    source = WITHOUT.format(module="itnio_async._cli._commands")
    result = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "ModuleNotFoundError" in result.stderr
