"""The ``itnio_async`` logger and the helpers that keep people's data out of it.

Log records carry metadata only (method, path, status, attempt, elapsed): never a
secret, a ``Sign``, an OTP code, a request body or a full phone number. Response
excerpts kept on exceptions go through :func:`redact` first.

``ITNIO_LOG=debug`` (or ``info`` / ``warning``) attaches one stderr handler to the
``itnio_async`` logger when a client is created; applications that configure
logging themselves need not set it.
"""

from __future__ import annotations

import logging
import os
import re

__all__ = ["logger", "mask_digits", "mask_phone", "redact", "setup_logging_from_env"]

logger = logging.getLogger("itnio_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}

# JSON members whose values are phone numbers or codes, quoted or bare.
_SENSITIVE_MEMBER = re.compile(
    r'"(?P<key>to|oriReceiver|ori_receiver|number|code)"(?P<sep>\s*:\s*)'
    r'(?P<value>"(?:[^"\\]|\\.)*"?|-?\d+)'
)
_PHONE_KEYS = frozenset({"to", "oriReceiver", "ori_receiver", "number"})
# Digit runs long enough to be a phone number (ports, errnos and IP octets are shorter).
_DIGIT_RUN = re.compile(r"\d{7,}")


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``ITNIO_LOG`` attaches (a distinct type, so it is attached once)."""


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


def setup_logging_from_env() -> logging.Handler | None:
    """Honour ``ITNIO_LOG=debug|info|warning`` by attaching one stderr handler.

    Idempotent: a second call (another client) attaches nothing new. Returns the
    handler in place, or ``None`` when ``ITNIO_LOG`` is unset or unknown.
    """
    level = _LEVELS.get(os.environ.get("ITNIO_LOG", "").strip().lower())
    if level is None:
        return None
    logger.setLevel(level)
    for handler in logger.handlers:
        if isinstance(handler, _EnvHandler):
            return handler
    handler = _EnvHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return handler
