"""Client-side checks of every documented constraint, run before anything is sent.

Each check raises :class:`ValidationError` naming the argument, the rule and the
value (phone numbers masked, codes shown by length only).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from ._exceptions import ItnioError, ValidationError
from ._models import Channel, ChannelCut, FlowStep, FlowTrigger, PeriodUnit, SendLimit
from ._redact import mask_phone

__all__ = [
    "check_app_id",
    "check_choice",
    "check_int",
    "check_name",
    "check_str",
    "check_text",
    "int_id",
    "path_id",
]

E = TypeVar("E", bound=enum.Enum)

LIMIT_MAX = 10_000_000_000
SEND_CHANNELS = frozenset({Channel.SMS, Channel.CALL, Channel.SNA})
FLOW_CHANNELS = frozenset({Channel.SMS, Channel.CALL})


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_str(argument: str, value: object, lo: int, hi: int, *, shown: str | None = None) -> str:
    """A string of ``lo``–``hi`` characters."""
    if not isinstance(value, str):
        raise ValidationError(argument, "a string", shown or type(value).__name__)
    if not lo <= len(value) <= hi:
        rule = f"at most {hi} characters" if lo == 0 else f"between {lo} and {hi} characters"
        raise ValidationError(argument, rule, shown or f"{_show(value)} ({len(value)} characters)")
    return value


def check_name(argument: str, value: object) -> str:
    """A name: 4–32 characters."""
    return check_str(argument, value, 4, 32)


def check_app_id(argument: str, value: object) -> str:
    """An app id: 4–32 characters, not all blank."""
    text = check_str(argument, value, 4, 32)
    if not text.strip():
        raise ValidationError(argument, "a non-blank id of 4 to 32 characters", _show(value))
    return text


def check_text(argument: str, value: object) -> str:
    """A non-empty string (for fields whose format the API does not document)."""
    if not isinstance(value, str):
        raise ValidationError(argument, "a string", type(value).__name__)
    if not value.strip():
        raise ValidationError(argument, "a non-empty string", _show(value))
    return value


def check_int(argument: str, value: object, lo: int, hi: int) -> int:
    """An integer in ``lo``–``hi`` (booleans are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(argument, f"an integer between {lo} and {hi}", _show(value))
    if not lo <= value <= hi:
        raise ValidationError(argument, f"between {lo} and {hi}", _show(value))
    return value


def check_choice(argument: str, value: object, cls: type[E], allowed: Iterable[E]) -> E:
    """A member of ``allowed`` given as the enum or its raw value."""
    allowed = tuple(allowed)
    names = ", ".join(repr(a.value) for a in allowed)
    if isinstance(value, bool):
        raise ValidationError(argument, f"one of {names}", _show(value))
    try:
        member = cls(value)
    except (ValueError, TypeError):
        raise ValidationError(argument, f"one of {names}", _show(value)) from None
    if member not in allowed:
        raise ValidationError(argument, f"one of {names}", _show(value))
    return member


def path_id(argument: str, value: object) -> str:
    """An id for a URL path: non-empty ``int | str``, percent-encoded."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError(argument, "an int or a non-empty string", _show(value))
    text = str(value)
    if not text.strip():
        raise ValidationError(argument, "a non-empty id", _show(value))
    return quote(text, safe="")


def int_id(argument: str, value: object) -> int:
    """An id sent as a JSON integer: a non-negative ``int`` or a string of ASCII digits."""
    rule = "a non-negative integer id (or a string of digits)"
    if isinstance(value, bool):
        raise ValidationError(argument, rule, _show(value))
    if isinstance(value, int):
        if value < 0:
            raise ValidationError(argument, rule, _show(value))
        return value
    if isinstance(value, str):
        text = value.strip()
        # isascii: "²" and "١٢" pass str.isdigit() but are not ids.
        if text.isascii() and text.isdigit():
            return int(text)
    raise ValidationError(argument, rule, _show(value))


def verification_id(argument: str, value: object) -> str:
    """A verificationId: a non-empty string (ints are turned into their digits)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError(argument, "a non-empty string", _show(value))
    text = str(value)
    if not text.strip():
        raise ValidationError(argument, "a non-empty string", _show(value))
    return text


def phone(argument: str, value: object) -> str:
    """A destination number: 10–14 digits, country code first, no ``+``."""
    if not isinstance(value, str):
        raise ValidationError(argument, "a string of 10 to 14 digits", type(value).__name__)
    if not (value.isascii() and value.isdigit() and 10 <= len(value) <= 14):
        raise ValidationError(
            argument,
            "10 to 14 digits (country code and number, no '+')",
            f"{mask_phone(value)!r} ({len(value)} characters)",
        )
    return value


def code(argument: str, value: object, lo: int, hi: int) -> str:
    """An OTP code of ``lo``–``hi`` characters; the code itself is never shown."""
    if not isinstance(value, str):
        raise ValidationError(
            argument, f"a string of {lo} to {hi} characters", type(value).__name__
        )
    if not lo <= len(value) <= hi or not value.strip():
        raise ValidationError(
            argument, f"between {lo} and {hi} characters", f"a code of {len(value)} characters"
        )
    return value


def lookup_order_id(argument: str, value: object) -> str:
    """An order id to look a record up by: 1–64 characters, not all blank."""
    text = check_str(argument, value, 1, 64)
    if not text.strip():
        raise ValidationError(argument, "a non-blank order id of 1 to 64 characters", _show(value))
    return text


def template_text(argument: str, value: object) -> str:
    """Template text: 1–256 characters containing ``##code##``."""
    text = check_str(argument, value, 1, 256)
    if "##code##" not in text:
        raise ValidationError(argument, "text containing the placeholder '##code##'", _show(text))
    return text


def send_limit(argument: str, value: object) -> dict[str, Any]:
    """A :class:`SendLimit`, encoded for the wire (nulls when disabled)."""
    if not isinstance(value, SendLimit):
        raise ValidationError(argument, "a SendLimit", _show(value))
    if not isinstance(value.enabled, bool):
        raise ValidationError(f"{argument}.enabled", "a boolean", _show(value.enabled))
    if not value.enabled:
        return {"enabled": False, "unit": None, "period": None, "limit": None}
    for name in ("unit", "period", "limit"):
        if getattr(value, name) is None:
            raise ValidationError(f"{argument}.{name}", "set when the limit is enabled", "None")
    unit = check_choice(f"{argument}.unit", value.unit, PeriodUnit, list(PeriodUnit))
    return {
        "enabled": True,
        "unit": unit.value,
        "period": check_int(f"{argument}.period", value.period, 1, 90),
        "limit": check_int(f"{argument}.limit", value.limit, 1, LIMIT_MAX),
    }


def flow_steps(argument: str, value: object) -> list[dict[str, Any]]:
    """A non-empty sequence of :class:`FlowStep`, encoded for the wire."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValidationError(argument, "a sequence of FlowStep", _show(value))
    if not value:
        raise ValidationError(argument, "at least one step", "[]")
    encoded = []
    for i, step in enumerate(value):
        where = f"{argument}[{i}]"
        if not isinstance(step, FlowStep):
            raise ValidationError(where, "a FlowStep", _show(step))
        encoded.append(
            {
                "waitingTime": check_int(f"{where}.waiting_time", step.waiting_time, 30, 120),
                "status": check_choice(
                    f"{where}.status", step.status, FlowTrigger, list(FlowTrigger)
                ).value,
                "channel": check_choice(
                    f"{where}.channel", step.channel, Channel, FLOW_CHANNELS
                ).value,
                "channelCut": check_choice(
                    f"{where}.channel_cut", step.channel_cut, ChannelCut, list(ChannelCut)
                ).value,
            }
        )
    return encoded


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def epoch_millis(argument: str, value: object) -> str:
    """A time as an epoch-milliseconds string (from an aware ``datetime``, int or digits)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(argument, "a timezone-aware datetime", _show(value))
        # Integer arithmetic: no float rounding of the milliseconds.
        millis = (value - _EPOCH) // _MILLISECOND
        if millis < 0:
            raise ValidationError(argument, "a time after 1970-01-01", _show(value))
        return str(millis)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise ValidationError(
        argument, "a datetime or epoch milliseconds (int or digits)", _show(value)
    )


def iso_time(argument: str, value: object) -> str:
    """An ISO-8601 time with an offset (from an aware ``datetime`` or a string)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(argument, "a timezone-aware datetime", _show(value))
        return value.isoformat(timespec="seconds")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return value
    raise ValidationError(argument, "an ISO-8601 time with an offset", _show(value))


def numeric_string(
    argument: str,
    value: object,
    *,
    lo: Decimal | None = None,
    hi: Decimal | None = None,
    places: int | None = None,
    integer: bool = False,
) -> str:
    """A number (``int``, ``Decimal`` or numeric ``str``) sent as a string."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise ValidationError(argument, f"{kind} (int, Decimal or str)", _show(value))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(argument, kind, _show(value)) from None
    if not number.is_finite():
        raise ValidationError(argument, f"a finite {kind[2:]}", _show(value))
    if integer and number != number.to_integral_value():
        raise ValidationError(argument, kind, _show(value))
    if lo is not None and number < lo:
        rule = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
        raise ValidationError(argument, rule, _show(value))
    if hi is not None and number > hi:
        rule = f"at most {hi}" if lo is None else f"between {lo} and {hi}"
        raise ValidationError(argument, rule, _show(value))
    exponent = number.as_tuple().exponent
    if places is not None and isinstance(exponent, int) and -exponent > places:
        raise ValidationError(argument, f"a number with at most {places} decimals", _show(value))
    text = str(value).strip()
    if (_PLAIN_INTEGER if integer else _PLAIN_NUMBER).fullmatch(text):
        return text
    # "1E+1", "١٢", "460.0" for an integer, "-0": send the plain ASCII form instead.
    number = abs(number) if number == 0 else number
    return str(int(number)) if integer else format(number, "f")


_PLAIN_INTEGER = re.compile(r"[0-9]+")
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")


# -- provisional: replaced by the full checks when the validation branch lands ----------


def check_credentials(api_key: object, api_secret: object) -> tuple[str, str]:
    """Both credentials: non-empty printable ASCII without whitespace."""
    for name, value in (("api_key", api_key), ("api_secret", api_secret)):
        if not isinstance(value, str) or not value:
            raise ItnioError(f"{name} is empty")
        if not (value.isascii() and value.isprintable()) or any(c.isspace() for c in value):
            raise ItnioError(f"{name} must be printable ASCII without whitespace")
    return str(api_key), str(api_secret)


def check_base_url(url: object, *, allow_insecure_http: bool) -> str:
    """A base URL: http(s), a host, no userinfo, query or fragment."""
    text = str(url).strip().rstrip("/")
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL:
        raise ItnioError("base_url must be an http(s) URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ItnioError("base_url must be an http(s) URL")
    if parsed.userinfo or parsed.query or parsed.fragment:
        raise ItnioError("base_url must have no user name, password, query or fragment")
    loopback = parsed.host in ("localhost", "::1") or parsed.host.startswith("127.")
    if parsed.scheme == "http" and not loopback and not allow_insecure_http:
        raise ItnioError(
            "base_url uses plain http:// to a host that is not loopback: the key and a "
            "replayable Sign would travel in clear text (pass allow_insecure_http=True)"
        )
    return text
