"""The ``itnio`` command line (needs the ``cli`` extra: click, rich, uvicorn).

Never imported by ``import itnio_async``; the console script ``itnio`` calls :func:`main`.
The commands are imported when first used, so that without the ``cli`` extra
:func:`main` can say how to install it instead of failing with an ``ImportError``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

__all__ = ["cli", "main"]

#: The ``cli`` extra's packages the command line imports (uvloop is optional).
CLI_EXTRA: Final = frozenset({"click", "rich", "uvicorn"})
INSTALL_HINT: Final = (
    "itnio: the command line needs the 'cli' extra ({missing} is not installed): "
    "pip install 'itnio-async[cli]'"
)
#: The exit code of a usage error: the command cannot run as installed.
EXIT_NO_EXTRA: Final = 2

if TYPE_CHECKING:
    from ._commands import cli
else:

    def __getattr__(name: str) -> Any:
        if name == "cli":
            from ._commands import cli

            return cli
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``itnio`` command line (exits the process with the command's exit code).

    Without the ``cli`` extra, one line on stderr says how to install it (exit 2).
    """
    try:
        from ._commands import cli
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in CLI_EXTRA:
            raise
        sys.stderr.write(INSTALL_HINT.format(missing=missing) + "\n")
        sys.exit(EXIT_NO_EXTRA)
    cli.main(args=list(argv) if argv is not None else None, prog_name="itnio")
