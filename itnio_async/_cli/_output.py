"""Everything the command line writes: JSON on stdout, one-line errors on stderr, exit codes.

Results are JSON made by the models' one serialiser (``Model.to_dict()``, the
converter's unstructure side). Piped, or with ``--json``, they are that JSON on one
line, equal to ``Model.to_json()``: enums as their integer values. On a terminal
(where a person reads) they are pretty-printed and highlighted by rich, and enum
values are shown by their names (``"matched": "FAILED"``). Errors are one line on
stderr naming the error class and, for API errors, the API status; they never carry
a secret.
"""

from __future__ import annotations

import enum
import os
import sys
from typing import IO, Any, Final

import attrs
import click

from .._converter import dumps, unstructure, wire_name
from .._exceptions import (
    APIError,
    DecodeError,
    HTTPStatusError,
    TransportError,
    ValidationError,
)

__all__ = [
    "EXIT_API",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_STOPPED",
    "EXIT_TRANSPORT",
    "EXIT_USAGE",
    "error_line",
    "exit_code_for",
    "is_terminal",
    "print_json",
    "with_enum_names",
]

EXIT_OK: Final = 0
#: Anything else, for example missing credentials.
EXIT_FAILURE: Final = 1
#: Usage errors (click) and ``ValidationError``.
EXIT_USAGE: Final = 2
#: ``APIError`` and its subclasses; ``records lookup``: some lookups failed.
EXIT_API: Final = 3
#: ``TransportError``, ``HTTPStatusError``, ``DecodeError``.
EXIT_TRANSPORT: Final = 4
#: ``records lookup`` stopped early by the SDK: an error about the account, or the
#: API unreachable (what completed was written).
EXIT_STOPPED: Final = 5
#: ``records lookup`` interrupted by SIGINT (Ctrl-C) or SIGTERM (128 + SIGINT, as shells do).
EXIT_INTERRUPTED: Final = 130

EXIT_CODES_HELP: Final = """\b
Exit codes:
  0    success
  1    any other failure (for example missing credentials)
  2    usage error, or an argument the SDK rejects (ValidationError)
  3    the API answered with an error status (APIError and subclasses);
       records lookup: at least one lookup failed
  4    transport failure: network, timeout, non-2xx HTTP answer, or an
       answer that is not the documented JSON (TransportError,
       HTTPStatusError, DecodeError)
  5    records lookup stopped early: an error about the account
       (AuthenticationError, IPNotAllowedError, InsufficientBalanceError)
       or the API unreachable (10 transport failures in a row)
  130  records lookup interrupted (Ctrl-C or SIGTERM)"""


def is_terminal(stream: IO[Any] | None) -> bool:
    """True when ``stream`` is an interactive terminal (False for pipes, files, test buffers)."""
    if stream is None:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def with_enum_names(value: Any, data: Any) -> Any:
    """``data`` (``value`` unstructured) with each integer enum shown by its name, for
    people: ``{"matched": 2}`` → ``{"matched": "FAILED"}`` (an unknown value keeps
    its pseudo-member's name, ``UNKNOWN_7``). Everything else is left as it is."""
    if isinstance(value, enum.IntEnum):
        return value.name
    if isinstance(value, list) and isinstance(data, list):
        return [with_enum_names(v, d) for v, d in zip(value, data, strict=True)]
    if attrs.has(type(value)) and isinstance(data, dict):
        shown = dict(data)
        for field in attrs.fields(type(value)):
            key = wire_name(type(value), field.name)
            if key in shown:
                shown[key] = with_enum_names(getattr(value, field.name), shown[key])
        return shown
    return data


def print_json(value: Any, *, machine: bool = False) -> None:
    """Write one result to stdout: on a terminal pretty and with enum names (unless
    ``machine``), else one line of JSON equal to ``to_json()``."""
    data = unstructure(value)
    if is_terminal(sys.stdout) and not machine:
        from rich.console import Console

        Console(file=sys.stdout).print_json(data=with_enum_names(value, data), indent=2)
    else:
        click.echo(dumps(data))


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an exception."""
    if isinstance(exc, ValidationError):
        return EXIT_USAGE
    # Before APIError: an HTTP 5xx is both an HTTPStatusError and a ServerError.
    if isinstance(exc, (TransportError, HTTPStatusError, DecodeError)):
        return EXIT_TRANSPORT
    if isinstance(exc, APIError):
        return EXIT_API
    return EXIT_FAILURE


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _redact(text: str, secrets: tuple[str | None, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def error_line(exc: BaseException, *, secrets: tuple[str | None, ...] = ()) -> str:
    """``error: PhoneSendLimitError (status -28): Period phone send limit`` and the like."""
    name = type(exc).__name__
    if isinstance(exc, HTTPStatusError):  # first: an HTTP 5xx is an APIError too
        head = f"{name} (HTTP {exc.status_code}" + (
            f", status {exc.status})" if exc.status is not None else ")"
        )
        detail = str(exc)
    elif isinstance(exc, APIError):
        head = f"{name} (status {exc.status})"
        detail = exc.reason or "(no reason given)"
        if exc.method:
            detail += f" [{exc.method} {exc.path}]"
    else:
        head = name
        detail = str(exc) or repr(exc)
    secrets = (*secrets, os.environ.get("ITNIO_API_SECRET"))
    return "error: " + _redact(_one_line(f"{head}: {detail}"), secrets)
