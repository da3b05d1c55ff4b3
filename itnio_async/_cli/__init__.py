"""The ``itnio`` command line (needs the ``cli`` extra: click, rich, uvicorn).

Never imported by ``import itnio_async``; the console script ``itnio`` calls :func:`main`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["cli", "main"]

from ._commands import cli


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``itnio`` command line (exits the process with the command's exit code)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="itnio")
