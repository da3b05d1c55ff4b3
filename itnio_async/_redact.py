"""Masking of people's data: phone numbers to their last four digits, codes to ``***``.

Used wherever text the SDK does not control (a server's ``reason``, an error page,
a response excerpt) or an argument (a phone number in a ``ValidationError``) is
shown to a person: exception messages, reprs and log lines.
"""

from __future__ import annotations

import re

__all__ = ["mask_digits", "mask_phone", "redact"]

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
