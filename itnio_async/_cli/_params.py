"""click parameter types for the structured options: send limits, flow steps, enums, times."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .._models import Channel, ChannelCut, CodeType, FlowStep, FlowTrigger, PeriodUnit, SendLimit

__all__ = [
    "CODE_TYPE",
    "FLOW_STEP",
    "ISO_TIME",
    "MILLIS_TIME",
    "SEND_LIMIT",
    "parse_flow_step",
    "parse_pairs",
    "parse_send_limit",
]

E = TypeVar("E", bound=enum.Enum)

if TYPE_CHECKING:
    _ParamType = click.ParamType[Any]
else:  # click < 8.3 has no generic ParamType
    _ParamType = click.ParamType

_OFF = frozenset({"off", "false", "disabled", "no", "none", "0"})
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _key(text: str) -> str:
    """``waiting_time`` / ``waitingTime`` / ``waiting-time`` → ``waitingtime``."""
    return text.strip().lower().replace("_", "").replace("-", "")


def parse_pairs(text: str, allowed: dict[str, str]) -> dict[str, str]:
    """Parse ``a=1,b=2`` into ``{canonical_name: value}``; ``allowed`` maps keys to names."""
    result: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"expected key=value, got {part.strip()!r}")
        canonical = allowed.get(_key(name))
        if canonical is None:
            names = ", ".join(sorted(set(allowed.values())))
            raise ValueError(f"unknown key {name.strip()!r} (expected {names})")
        if canonical in result:
            raise ValueError(f"{canonical} given twice")
        result[canonical] = value.strip()
    return result


def enum_member(cls: type[E], text: str, what: str) -> E:
    """An enum member from its value (``2``, ``sms``) or its name (``hour``, ``NOT_VERIFIED``)."""
    raw = text.strip()
    try:
        number = int(raw)
    except ValueError:
        number = None
    if number is not None and number in cls._value2member_map_:
        return cls(number)
    if raw.lower() in cls._value2member_map_:
        return cls(raw.lower())
    name = raw.upper().replace("-", "_")
    if name in cls.__members__ and not name.startswith("UNKNOWN"):
        return cls[name]
    choices = ", ".join(f"{m.value}|{m.name.lower()}" for m in cls)
    raise ValueError(f"{what} must be one of {choices}; got {raw!r}")


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} must be an integer; got {text!r}") from None


def parse_send_limit(text: str) -> SendLimit:
    """``enabled=true,unit=1,period=1,limit=100`` or ``off`` → :class:`SendLimit`."""
    if text.strip().lower() in _OFF:
        return SendLimit(enabled=False)
    pairs = parse_pairs(text, _LIMIT_KEYS)
    enabled = pairs.get("enabled", "true").lower()
    if enabled not in _TRUE | _FALSE:
        raise ValueError(f"enabled must be true or false; got {enabled!r}")
    if enabled in _FALSE:
        return SendLimit(enabled=False)
    missing = [k for k in ("unit", "period", "limit") if k not in pairs]
    if missing:
        raise ValueError(f"{', '.join(missing)} required when the limit is enabled")
    return SendLimit(
        enabled=True,
        unit=enum_member(PeriodUnit, pairs["unit"], "unit"),
        period=_int(pairs["period"], "period"),
        limit=_int(pairs["limit"], "limit"),
    )


def parse_flow_step(text: str) -> FlowStep:
    """``waiting_time=30,status=1,channel=sms[,channel_cut=0]`` → :class:`FlowStep`."""
    pairs = parse_pairs(text, _STEP_KEYS)
    missing = [k for k in ("waiting_time", "status", "channel") if k not in pairs]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    return FlowStep(
        waiting_time=_int(pairs["waiting_time"], "waiting_time"),
        status=enum_member(FlowTrigger, pairs["status"], "status"),
        channel=enum_member(Channel, pairs["channel"], "channel"),
        channel_cut=enum_member(ChannelCut, pairs.get("channel_cut", "0"), "channel_cut"),
    )


_LIMIT_KEYS = {"enabled": "enabled", "unit": "unit", "period": "period", "limit": "limit"}
_STEP_KEYS = {
    "waitingtime": "waiting_time",
    "wait": "waiting_time",
    "status": "status",
    "trigger": "status",
    "channel": "channel",
    "channelcut": "channel_cut",
}


class SendLimitType(_ParamType):
    """``enabled=true,unit=1,period=1,limit=100`` (unit also a name: ``day``...) or ``off``."""

    name = "LIMIT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, SendLimit):
            return value
        try:
            return parse_send_limit(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class FlowStepType(_ParamType):
    """``waiting_time=30,status=1,channel=sms[,channel_cut=0]``."""

    name = "STEP"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, FlowStep):
            return value
        try:
            return parse_flow_step(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class CodeTypeType(_ParamType):
    """``1|numeric``, ``2|alpha``, ``3|alphanumeric``, ``4|hex``."""

    name = "CODE_TYPE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, CodeType):
            return value
        try:
            return enum_member(CodeType, str(value), "code type")
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class IsoTimeType(_ParamType):
    """An ISO-8601 time with an offset, or ``now`` (the local time with its offset)."""

    name = "ISO_TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        if text.lower() == "now":
            return datetime.now().astimezone().replace(microsecond=0)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"not an ISO-8601 time: {text!r}", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{text!r} has no UTC offset (write e.g. {text}+08:00)", param, ctx)
        return parsed


class MillisTimeType(IsoTimeType):
    """Epoch milliseconds, an ISO-8601 time with an offset, or ``now``."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = str(value).strip()
        if text.isascii() and text.isdigit():
            return text
        return super().convert(value, param, ctx)


SEND_LIMIT = SendLimitType()
FLOW_STEP = FlowStepType()
CODE_TYPE = CodeTypeType()
ISO_TIME = IsoTimeType()
MILLIS_TIME = MillisTimeType()
