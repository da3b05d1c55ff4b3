"""Enums and frozen attrs models for every shape of the OTP API.

Models hold data only; decoding and encoding live in ``_converter.py``, which binds
every model's ``to_dict()`` / ``to_json()`` (one pair, on their one base class). Attribute
names are the snake_case of the wire names (``billPeriodstring`` →
``bill_periodstring``), except ``Flow.steps`` (wire name ``flow``).

Enums are *open*: a value the server sends that this SDK does not know becomes a
pseudo-member (``CodeType(7)`` → ``<CodeType.UNKNOWN_7: 7>``) instead of failing.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from ._ints import parse_int_text
from ._redact import mask_phone

if TYPE_CHECKING:
    from ._exceptions import ItnioError

__all__ = [
    "App",
    "CallAttempt",
    "Channel",
    "ChannelCut",
    "CodeType",
    "Flow",
    "FlowStep",
    "FlowTrigger",
    "LookupFailed",
    "MatchStatus",
    "PeriodUnit",
    "Record",
    "RecordFound",
    "RecordLookup",
    "SendLimit",
    "SendResult",
    "SmsAttempt",
    "SnaAttempt",
    "Template",
    "VerificationSummary",
    "VerifyResult",
]


def _unknown_name(value: object) -> str:
    return "UNKNOWN_" + str(value).replace("-", "MINUS_").upper()


class _OpenIntEnum(enum.IntEnum):
    """An IntEnum that keeps values it does not know instead of raising."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        # Reached only for values not found by equality. Booleans and floats equal to a
        # member (False == 0, 2.0 == 2) never get here: the converter refuses them first.
        if isinstance(value, str):
            number = parse_int_text(value)
            if number is None:
                return None
            if number in cls._value2member_map_:
                return cls._value2member_map_[number]
            value = number
        if type(value) is not int:
            return None
        member = int.__new__(cls, value)
        member._name_ = _unknown_name(value)
        member._value_ = value
        return member


class _OpenStrEnum(enum.StrEnum):
    """A str Enum that matches case-insensitively and keeps unknown values."""

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        lowered = value.lower()
        if lowered in cls._value2member_map_:
            return cls._value2member_map_[lowered]
        member = str.__new__(cls, value)
        member._name_ = _unknown_name(value)
        member._value_ = value
        return member


class Channel(_OpenStrEnum):
    """Delivery channel."""

    SMS = "sms"
    CALL = "call"
    SNA = "sna"


class CodeType(_OpenIntEnum):
    """Character set of generated codes."""

    NUMERIC = 1
    ALPHA = 2
    ALPHANUMERIC = 3
    HEX = 4


class MatchStatus(_OpenIntEnum):
    """Outcome of a verification (``matched`` on the wire)."""

    NOT_VERIFIED = -1
    MATCHED = 0
    SENDING = 1
    FAILED = 2
    NOT_FOUND = 3
    ALREADY_USED = 4
    EXPIRED = 5


class FlowTrigger(_OpenIntEnum):
    """When a flow step fires (``status`` of a flow node)."""

    SEND_FAILED = 1
    NOT_VERIFIED = 2


class ChannelCut(_OpenIntEnum):
    """Whether a flow step switches channel."""

    SWITCH = 0
    NO_SWITCH = 1


class PeriodUnit(_OpenIntEnum):
    """Unit of a send-limit period."""

    DAY = 1
    HOUR = 2
    MINUTE = 3
    SECOND = 4


class _Model:
    """The base of every model: ``to_dict()`` and ``to_json()``, the same for all.

    Their one implementation is the converter's unstructure side, bound onto this
    class by ``_converter`` when it is imported (``import itnio_async`` does): the
    converter imports the models, so the models never import it.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def to_dict(self) -> dict[str, Any]:
            """This model as JSON data (see ``_converter.model_to_dict``)."""
            ...

        def to_json(self) -> str:
            """This model as one line of JSON (see ``_converter.model_to_json``)."""
            ...


@attrs.frozen(kw_only=True)
class SendLimit(_Model):
    """A send limit of an app: at most ``limit`` sends per ``period`` ``unit``s.

    ``SendLimit(enabled=False)`` switches the limit off (sent with null fields).
    """

    enabled: bool
    unit: PeriodUnit | None = None
    period: int | None = None
    limit: int | None = None


@attrs.frozen(kw_only=True)
class App(_Model):
    """A verification-code application."""

    app_id: str
    name: str | None = None
    code_expiry: int | None = None
    create_time: datetime | None = None
    period_total_send_limit: SendLimit | None = None
    period_phone_send_limit: SendLimit | None = None


@attrs.frozen(kw_only=True)
class Template(_Model):
    """A message template (text with ``##code##``) and its code settings."""

    template_id: int
    app_id: str | None = None
    name: str | None = None
    text: str | None = None
    code_type: CodeType | None = None
    code_length: int | None = None
    speech_rate: int | None = None
    language: str | None = None
    max_duration: int | None = None
    repeat_cnt: int | None = None
    sender_id: str | None = None


@attrs.frozen(kw_only=True)
class FlowStep(_Model):
    """One fallback step of a task flow."""

    waiting_time: int
    status: FlowTrigger
    channel: Channel
    channel_cut: ChannelCut = ChannelCut.SWITCH


@attrs.frozen(kw_only=True)
class Flow(_Model):
    """A task flow: ordered fallback steps (wire name ``flow``)."""

    flow_id: int
    name: str | None = None
    steps: list[FlowStep] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class SendResult(_Model):
    """The answer to send / send_code / resend."""

    verification_id: str
    to: str | None = attrs.field(default=None, repr=mask_phone)
    channel: Channel | None = None
    sna_url: str | None = None


@attrs.frozen(kw_only=True)
class VerifyResult(_Model):
    """The answer to verify. A wrong or expired code is data here, not an exception."""

    verification_id: str | None = None
    to: str | None = attrs.field(default=None, repr=mask_phone)
    channel: Channel | None = None
    matched: MatchStatus | None = None

    @property
    def ok(self) -> bool:
        """True only when the code matched."""
        return self.matched == MatchStatus.MATCHED


@attrs.frozen(kw_only=True)
class VerificationSummary(_Model):
    """The verification summary inside a record (``Record.verifications``)."""

    matched: MatchStatus | None = None
    verified_date: datetime | None = None
    ori_receiver: str | None = attrs.field(default=None, repr=mask_phone)
    channel: Channel | None = None
    order_id: str | None = None


@attrs.frozen(kw_only=True)
class SmsAttempt(_Model):
    """One SMS delivery attempt of a record."""

    submit_tm: datetime | None = None
    send_tm: datetime | None = None
    done_tm: datetime | None = None
    mcc: int | None = None
    mnc: int | None = None
    sender: str | None = None
    charge_cnt: int | None = None
    pay: Decimal | None = None
    status: int | None = None
    reason: str | None = None


@attrs.frozen(kw_only=True)
class CallAttempt(_Model):
    """One voice-call attempt of a record. ``code`` is the supplier's code, not the OTP."""

    termination_code: int | None = None
    termination_reason: str | None = None
    submit_time: datetime | None = None
    call_time: datetime | None = None
    ringing_time: datetime | None = None
    answer_time: datetime | None = None
    hangup_time: datetime | None = None
    call_duration: int | None = None
    charged_duration: int | None = None
    display_num: str | None = None
    bill_periodstring: str | None = None
    code: str | None = None
    rate: Decimal | None = None
    cost: Decimal | None = None


@attrs.frozen(kw_only=True)
class SnaAttempt(_Model):
    """One silent-network-auth attempt of a record."""

    post_verification_time: datetime | None = None
    verification_back_time: datetime | None = None
    mcc: int | None = None
    mnc: int | None = None
    status: int | None = None
    reason: str | None = None


@attrs.frozen(kw_only=True)
class Record(_Model):
    """Delivery and verification record of one verification.

    ``sms``, ``call`` and ``sna`` are always lists (the API sends objects or arrays);
    ``verifications`` is always a summary (all ``None`` when the API sends none), so
    ``record.verifications.matched`` needs no ``None`` check.
    """

    verification_id: str | None = None
    order_id: str | None = None
    flow_id: int | None = None
    verifications: VerificationSummary = attrs.Factory(VerificationSummary)
    sms: list[SmsAttempt] = attrs.Factory(list)
    call: list[CallAttempt] = attrs.Factory(list)
    sna: list[SnaAttempt] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class RecordFound(_Model):
    """A bulk lookup that returned a record (one arm of :data:`RecordLookup`).

    ``ok`` is always ``True`` and ``error`` always ``None``; neither is an argument.
    """

    order_id: str
    record: Record
    ok: Literal[True] = attrs.field(default=True, init=False)
    error: None = attrs.field(default=None, init=False)


@attrs.frozen(kw_only=True)
class LookupFailed(_Model):
    """A bulk lookup that failed (one arm of :data:`RecordLookup`).

    ``ok`` is always ``False`` and ``record`` always ``None``; neither is an argument.
    """

    order_id: str
    error: ItnioError
    ok: Literal[False] = attrs.field(default=False, init=False)
    record: None = attrs.field(default=None, init=False)


#: One result of a bulk lookup: a :class:`RecordFound` (``ok`` true, ``record`` set)
#: or a :class:`LookupFailed` (``ok`` false, ``error`` set). Both have ``order_id``,
#: ``ok``, ``record`` and ``error``; ``isinstance(x, RecordLookup)`` works. ``ok``
#: discriminates the two for type checkers: after ``if lookup.ok:`` mypy knows
#: ``lookup.record`` is a :class:`Record` (pyright narrows on ``lookup.ok is True``,
#: ``isinstance(lookup, RecordFound)`` or ``match``, not on a bare truth test).
RecordLookup: TypeAlias = RecordFound | LookupFailed
