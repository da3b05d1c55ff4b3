"""Server-side parameter checks of the fake: every documented constraint → ``-22``.

The fake is deliberately strict: unknown fields, wrong JSON types and missing
required fields are rejected, so a client that drifts from the documented wire
format fails in tests instead of in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Body", "Reject", "is_phone"]

UNIT_SECONDS = {1: 86_400, 2: 3_600, 3: 60, 4: 1}
LIMIT_MAX = 10_000_000_000
INT64_MAX = 2**63 - 1
#: A number written as a string: plain ASCII decimal (no exponent, sign, "_" or spaces).
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
LANGUAGES = frozenset(
    {"CN", "EN", "VN", "JP", "ARB", "DE", "IN", "IT", "KR", "RU", "ES", "PT", "IDN", "BD"}
)


class Reject(Exception):  # noqa: N818 - an answer, not an error of the fake
    """Answer the request with a non-zero envelope ``status``."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{status}: {reason}")


def invalid(reason: str) -> Reject:
    """A ``-22`` (parameter exception) answer."""
    return Reject(-22, f"Parameter exception: {reason}")


def is_int(value: object) -> bool:
    """A JSON integer (booleans are not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_phone(value: object) -> bool:
    """10–14 ASCII digits: country code and number, no ``+``."""
    return isinstance(value, str) and value.isascii() and value.isdigit() and 10 <= len(value) <= 14


class Body:
    """A JSON object body, read field by field with the documented constraints."""

    def __init__(self, data: object, allowed: Iterable[str], *, where: str = "body") -> None:
        if not isinstance(data, dict):
            raise invalid(f"{where} must be a JSON object")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise invalid(f"unknown field {unknown[0]!r} in {where}")
        self._data: dict[str, Any] = data
        self._where = where

    def raw(self, name: str) -> Any:
        """The value of ``name``; ``None`` when absent or null."""
        return self._data.get(name)

    def has(self, name: str) -> bool:
        """Whether ``name`` is present and not null."""
        return self._data.get(name) is not None

    def _missing(self, name: str) -> Reject:
        return invalid(f"{name} is required")

    def string(self, name: str, lo: int, hi: int, *, required: bool = False) -> str | None:
        """A string of ``lo``–``hi`` characters."""
        value = self._data.get(name)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if not isinstance(value, str):
            raise invalid(f"{name} must be a string")
        if not lo <= len(value) <= hi:
            raise invalid(f"{name} must be {lo}-{hi} characters")
        return value

    def required_string(self, name: str, lo: int, hi: int) -> str:
        """A required string of ``lo``–``hi`` characters."""
        value = self.string(name, lo, hi, required=True)
        assert value is not None
        return value

    def integer(self, name: str, lo: int, hi: int, *, default: int | None = None) -> int | None:
        """A JSON integer in ``lo``–``hi`` (``default`` when absent)."""
        value = self._data.get(name)
        if value is None:
            return default
        if not is_int(value):
            raise invalid(f"{name} must be an integer")
        if not lo <= value <= hi:
            raise invalid(f"{name} must be between {lo} and {hi}")
        return int(value)

    def required_integer(self, name: str, lo: int, hi: int) -> int:
        """A required JSON integer in ``lo``–``hi``."""
        value = self.integer(name, lo, hi)
        if value is None:
            raise self._missing(name)
        return value

    def identifier(self, name: str, *, required: bool = False) -> int | None:
        """An integer id, at most a signed 64-bit integer (the server's ``long``).

        A string of ASCII digits is accepted too (the docs' types drift).
        """
        value = self._data.get(name)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if isinstance(value, str) and value.isascii() and value.isdigit():
            digits = value.lstrip("0")
            # Length first: int() of thousands of digits is slow, and refused past 4300.
            value = INT64_MAX + 1 if len(digits) > 19 else int(digits or "0")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= INT64_MAX:
            raise invalid(f"{name} must be an integer id")
        return value

    def choice(
        self, name: str, allowed: Iterable[str], *, default: str | None = None
    ) -> str | None:
        """One of the strings in ``allowed``."""
        value = self._data.get(name)
        if value is None:
            return default
        choices = sorted(allowed)
        if not isinstance(value, str) or value not in choices:
            raise invalid(f"{name} must be one of {', '.join(choices)}")
        return value

    def phone(self, name: str, *, required: bool = False) -> str | None:
        """A destination number: 10–14 digits."""
        value = self._data.get(name)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if not is_phone(value):
            raise invalid(f"{name} must be 10-14 digits (country code and number, no '+')")
        return str(value)

    def numeric(
        self,
        name: str,
        *,
        lo: Decimal,
        hi: Decimal | None = None,
        places: int | None = None,
        integer: bool = False,
        required: bool = False,
    ) -> str | None:
        """A number sent as a string (a JSON number is tolerated, see the docs' examples)."""
        value = self._data.get(name)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise invalid(f"{name} must be a numeric string")
        # Decimal() alone would also read "1_0", " 10", "+10", "1e1" and "١٠".
        if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value) is None:
            raise invalid(f"{name} must be a plain decimal string")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise invalid(f"{name} must be a numeric string") from None
        if not number.is_finite() or number < lo or (hi is not None and number > hi):
            raise invalid(f"{name} is out of range")
        if integer and number != number.to_integral_value():
            raise invalid(f"{name} must be an integer")
        exponent = number.as_tuple().exponent
        if places is not None and isinstance(exponent, int) and -exponent > places:
            raise invalid(f"{name} must have at most {places} decimals")
        return str(value)

    def iso_time(self, name: str) -> str:
        """A required ISO-8601 time with an offset."""
        value = self._data.get(name)
        if value is None:
            raise self._missing(name)
        if not isinstance(value, str):
            raise invalid(f"{name} must be an ISO-8601 string")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise invalid(f"{name} must be an ISO-8601 time with an offset") from None
        if parsed.tzinfo is None:
            raise invalid(f"{name} must be an ISO-8601 time with an offset")
        return value

    def send_limit(self, name: str) -> dict[str, Any] | None:
        """A send-limit object; its fields are required only when ``enabled`` is true."""
        value = self._data.get(name)
        if value is None:
            return None
        sub = Body(value, ("enabled", "unit", "period", "limit"), where=name)
        enabled = sub.raw("enabled")
        if enabled is None:
            enabled = False
        if not isinstance(enabled, bool):
            raise invalid(f"{name}.enabled must be a boolean")
        fields = {
            "unit": sub.integer("unit", 1, 4),
            "period": sub.integer("period", 1, 90),
            "limit": sub.integer("limit", 1, LIMIT_MAX),
        }
        if enabled:
            for field, field_value in fields.items():
                if field_value is None:
                    raise invalid(f"{name}.{field} is required when the limit is enabled")
        return {"enabled": enabled, **fields}

    def template_text(self, name: str, *, required: bool) -> str | None:
        """Template text: 1–256 characters containing ``##code##``."""
        text = self.string(name, 1, 256, required=required)
        if text is not None and "##code##" not in text:
            raise invalid(f"{name} must contain the placeholder ##code##")
        return text

    def flow_steps(self, name: str) -> list[dict[str, Any]]:
        """A non-empty array of flow nodes."""
        value = self._data.get(name)
        if value is None:
            raise self._missing(name)
        if not isinstance(value, list) or not value:
            raise invalid(f"{name} must be a non-empty array of nodes")
        steps = []
        for index, node in enumerate(value):
            where = f"{name}[{index}]"
            step = Body(node, ("waitingTime", "status", "channel", "channelCut"), where=where)
            waiting = step.integer("waitingTime", 30, 120)
            status = step.integer("status", 1, 2)
            channel = step.choice("channel", ("sms", "call"))
            for field, field_value in (
                ("waitingTime", waiting),
                ("status", status),
                ("channel", channel),
            ):
                if field_value is None:
                    raise invalid(f"{where}.{field} is required")
            steps.append(
                {
                    "waitingTime": waiting,
                    "status": status,
                    "channel": channel,
                    "channelCut": step.integer("channelCut", 0, 1, default=0),
                }
            )
        return steps
