"""Masking of people's data: phone numbers to their last four digits, codes to ``***``.

Used wherever text the SDK does not control (a server's ``reason``, an error page,
a response excerpt) or an argument (a phone number in a ``ValidationError``) is
shown to a person: exception messages, reprs and log lines.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

__all__ = [
    "Secrets",
    "mask_digits",
    "mask_phone",
    "redact",
    "scrub_traceback",
]

# JSON members whose values are phone numbers or codes, quoted or bare.
_SENSITIVE_MEMBER = re.compile(
    r'"(?P<key>to|oriReceiver|ori_receiver|number|code)"(?P<sep>\s*:\s*)'
    r'(?P<value>"(?:[^"\\]|\\.)*"?|-?\d+)'
)
_PHONE_KEYS = frozenset({"to", "oriReceiver", "ori_receiver", "number"})
# Digit runs long enough to be a phone number (ports, errnos and IP octets are shorter).
_DIGIT_RUN = re.compile(r"\d{7,}")


def mask_phone(number: object) -> str:
    """Mask a phone number to its last 4 digits (``"*******1412"``); ``None`` stays ``"None"``."""
    if number is None:
        return "None"
    text = str(number)
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


def _mask_member(match: re.Match[str]) -> str:
    key, sep, value = match.group("key", "sep", "value")
    quoted = value.startswith('"')
    inner = value.strip('"') if quoted else value
    shown = mask_phone(inner) if key in _PHONE_KEYS else "***"
    return f'"{key}"{sep}"{shown}"' if quoted else f'"{key}"{sep}{shown}'


def redact(text: str) -> str:
    """Mask phone numbers (last 4 digits kept) and codes in a JSON-ish response text."""
    return _SENSITIVE_MEMBER.sub(_mask_member, text)


def mask_digits(text: str) -> str:
    """Mask every run of 7+ digits in free text (an error detail) to its last 4."""
    return _DIGIT_RUN.sub(lambda m: mask_phone(m.group()), text)


#: Secrets shorter than this are not searched for in text (a 1–3 character code
#: would match everywhere and tell nothing).
_MIN_SECRET = 4


class Secrets:
    """What one call sent that must never be shown again: codes, numbers, ``Sign`` values.

    The SDK knows these values; when a server or proxy echoes them (in a ``reason``,
    an error page, a header), :meth:`scrub` removes them from the text before it
    reaches an exception, a log line or a repr. Phone numbers are replaced by their
    masked form, everything else by ``***``; then :func:`redact` and
    :func:`mask_digits` mask what the SDK did not send but a server may quote.
    """

    __slots__ = ("_pairs",)

    def __init__(self) -> None:
        self._pairs: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"<Secrets: {len(self._pairs)} value(s)>"

    def add(self, value: object, *, phone: bool = False) -> None:
        """Remember ``value`` (a code, ``Sign`` or secret; ``phone=True`` for a number)."""
        if isinstance(value, str) and len(value) >= _MIN_SECRET:
            self._pairs.append((value, mask_phone(value) if phone else "***"))

    def scrub(self, text: str) -> str:
        """``text`` without this call's secrets, with numbers and codes masked."""
        for value, shown in self._pairs:
            if value in text:
                text = text.replace(value, shown)
        return mask_digits(redact(text))

    def scrub_headers(self, headers: Any) -> Any:
        """A copy of ``headers`` (an ``httpx.Headers``) with every value scrubbed."""
        return type(headers)([(name, self.scrub(value)) for name, value in headers.multi_items()])


#: Modules whose frames may hold what a call sent or received: cleared from the
#: traceback of an error before it leaves the SDK. A caller's own frames are kept.
_SCRUBBED_MODULES = (
    "itnio_async",
    "httpx",
    "httpcore",
    "h11",
    "anyio",
    "asyncio",
    "json",
    "cattrs",
    "attr",
    "ssl",
    "socket",
    "contextlib",
    "httptools",
    "aiohttp",
)


def scrub_traceback(error: BaseException) -> None:
    """Clear the local variables of the SDK's (and its HTTP stack's) finished frames.

    Applied to ``error`` and every exception chained to it (``__cause__``,
    ``__context__``, exception groups), so a traceback printed with its locals
    (``capture_locals=True``, ``pytest --showlocals``, rich, Sentry) shows where the
    error passed, but not the codes, numbers, bodies or ``Sign`` those frames held.
    Frames still running (the caller's) cannot be cleared and are left alone.
    """
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        exc = todo.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            module = frame.f_globals.get("__name__")
            if not isinstance(module, str) or module.startswith(_SCRUBBED_MODULES):
                with contextlib.suppress(RuntimeError):  # a frame still executing
                    frame.clear()
            tb = tb.tb_next
        for linked in (exc.__cause__, exc.__context__):
            if linked is not None:
                todo.append(linked)
        if isinstance(exc, BaseExceptionGroup):
            todo.extend(exc.exceptions)
