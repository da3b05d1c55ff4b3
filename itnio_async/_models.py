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

    Attributes:
        enabled: Whether the limit applies (wire ``enabled``); off by default on the API.
        unit: The unit of ``period``: day, hour, minute or second (wire ``unit``, 1–4).
            ``None`` when the limit is off.
        period: How many units one period lasts, 1–90 (wire ``period``). ``None`` when
            the limit is off.
        limit: Sends allowed per period, 1 to ten billion (wire ``limit``; more than a
            32-bit int holds). ``None`` when the limit is off.
    """

    enabled: bool
    unit: PeriodUnit | None = None
    period: int | None = None
    limit: int | None = None


@attrs.frozen(kw_only=True)
class App(_Model):
    """A verification-code application.

    Attributes:
        app_id: The application's id, such as ``"mRELxtHc"`` (wire ``appId``).
        name: The application's name, 4–32 characters, unique per account (wire
            ``name``). ``None`` when the answer leaves it out.
        code_expiry: How long a sent code stays valid, in minutes, 1–60 (wire
            ``codeExpiry``). ``None`` when the answer leaves it out.
        create_time: When the application was created, an aware ``datetime`` (wire
            ``createTime``; a time sent without an offset is China time, +08:00).
            ``None`` when the answer leaves it out.
        period_total_send_limit: The cap on all sends of the application per period
            (wire ``periodTotalSendLimit``; reaching it is status -27). ``None`` when
            the answer leaves it out.
        period_phone_send_limit: The cap on sends to one phone number per period (wire
            ``periodPhoneSendLimit``; reaching it is status -28). ``None`` when the
            answer leaves it out.
    """

    app_id: str
    name: str | None = None
    code_expiry: int | None = None
    create_time: datetime | None = None
    period_total_send_limit: SendLimit | None = None
    period_phone_send_limit: SendLimit | None = None


@attrs.frozen(kw_only=True)
class Template(_Model):
    """A message template (text with ``##code##``) and its code settings.

    Every attribute but ``template_id`` is ``None`` when the answer leaves it out.

    Attributes:
        template_id: The template's id (wire ``templateId``).
        app_id: The application the template belongs to (wire ``appId``).
        name: The template's name, 4–32 characters, unique (wire ``name``).
        text: The message, 1–256 characters, with the placeholder ``##code##`` where
            the code goes (wire ``text``).
        code_type: The characters of generated codes: numeric, alphabetic,
            alphanumeric or hexadecimal (wire ``codeType``, 1–4).
        code_length: How many characters a generated code has, 4–10 (wire
            ``codeLength``).
        speech_rate: How fast a voice call reads the message, 0–100 (wire
            ``speechRate``).
        language: The language code of voice calls, such as ``"EN"`` or ``"CN"`` (wire
            ``language``; kept as sent, not checked against a list).
        max_duration: The longest a voice call may last, in seconds, 5–599 (wire
            ``maxDuration``).
        repeat_cnt: How many times a voice call plays the message, 1–10 (wire
            ``repeatCnt``).
        sender_id: The sender id messages go out with (wire ``senderId``).
    """

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
    """One fallback step of a task flow.

    Attributes:
        waiting_time: How long to wait before the step fires, in seconds, 30–120 (wire
            ``waitingTime``).
        status: What makes the step fire: the send failed, or the code was not verified
            (wire ``status``, 1 or 2).
        channel: The channel the step sends on: SMS or call, never SNA (wire
            ``channel``).
        channel_cut: Whether the step switches channel (wire ``channelCut``); the API's
            default, ``SWITCH``, when the answer leaves it out.
    """

    waiting_time: int
    status: FlowTrigger
    channel: Channel
    channel_cut: ChannelCut = ChannelCut.SWITCH


@attrs.frozen(kw_only=True)
class Flow(_Model):
    """A task flow: ordered fallback steps (wire name ``flow``).

    Attributes:
        flow_id: The flow's id (wire ``flowId``).
        name: The flow's name, 4–32 characters, unique per account (wire ``name``).
            ``None`` when the answer leaves it out.
        steps: The fallback steps, in the order they fire (wire ``flow``, not
            ``steps``). An empty list when the answer leaves it out.
    """

    flow_id: int
    name: str | None = None
    steps: list[FlowStep] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class SendResult(_Model):
    """The answer to send / send_code / resend.

    Attributes:
        verification_id: The id of this send, a 20-digit string (wire
            ``verificationId``); verify, resend and the record take it. A resend's is
            a new id.
        to: The number the code went to: country code and number, digits only (wire
            ``to``; masked to its last four digits in ``repr``). ``None`` when the
            answer leaves it out.
        channel: The channel the code went out on: SMS, call or SNA (wire ``channel``).
            ``None`` when the answer leaves it out.
        sna_url: The URL of a silent network authentication (wire ``snaUrl``); ``None``
            on any other channel, or when the answer leaves it out.
    """

    verification_id: str
    to: str | None = attrs.field(default=None, repr=mask_phone)
    channel: Channel | None = None
    sna_url: str | None = None


@attrs.frozen(kw_only=True)
class VerifyResult(_Model):
    """The answer to verify. A wrong or expired code is data here, not an exception.

    Every attribute is ``None`` when the answer leaves it out.

    Attributes:
        verification_id: The id of the verification checked (wire ``verificationId``).
        to: The number the code went to (wire ``to``; masked to its last four digits
            in ``repr``).
        channel: The channel the code went out on (wire ``channel``).
        matched: The outcome (wire ``matched``): ``MATCHED`` (0) is the only success;
            a wrong code is ``FAILED``, an expired one ``EXPIRED``, a verification
            already used ``ALREADY_USED``.
    """

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
    """The verification summary inside a record (``Record.verifications``).

    Every attribute is ``None`` when the answer leaves it out.

    Attributes:
        matched: Where the verification stands (wire ``matched``): ``NOT_VERIFIED``
            (-1), ``MATCHED`` (0), ``SENDING`` (1), ``FAILED`` (2), ``NOT_FOUND`` (3)...
        verified_date: When it was verified, an aware ``datetime`` (wire
            ``verifiedDate``; China time, +08:00, when sent without an offset; ``""``
            reads as ``None``).
        ori_receiver: The number the code went to (wire ``oriReceiver``; masked to its
            last four digits in ``repr``).
        channel: The channel the code went out on: SMS, call or SNA (wire ``channel``).
        order_id: The caller's reference given at send time (wire ``orderId``).
    """

    matched: MatchStatus | None = None
    verified_date: datetime | None = None
    ori_receiver: str | None = attrs.field(default=None, repr=mask_phone)
    channel: Channel | None = None
    order_id: str | None = None


@attrs.frozen(kw_only=True)
class SmsAttempt(_Model):
    """One SMS delivery attempt of a record.

    Every attribute is ``None`` when the answer leaves it out. Times are aware
    ``datetime`` objects (China time, +08:00, when sent without an offset).

    Attributes:
        submit_tm: When the SMS was submitted (wire ``submitTm``).
        send_tm: When it was sent (wire ``sendTm``).
        done_tm: When its delivery completed (wire ``doneTm``).
        mcc: The mobile country code of the network (wire ``mcc``).
        mnc: The mobile network code (wire ``mnc``).
        sender: The sender id used (wire ``sender``).
        charge_cnt: How many SMS parts were billed (wire ``chargeCnt``).
        pay: What the SMS cost, a ``Decimal`` (wire ``pay``, a decimal string; USD per
            the vendor's order-id record page).
        status: The delivery state: -1 sending, 0 delivered, 1 failed (wire
            ``status``, not the envelope's).
        reason: The delivery report's text, such as why it failed (wire ``reason``).
    """

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
    """One voice-call attempt of a record. ``code`` is the supplier's code, not the OTP.

    Every attribute is ``None`` when the answer leaves it out. Times are aware
    ``datetime`` objects (China time, +08:00, when sent without an offset).

    Attributes:
        termination_code: How the call ended: 0 success, anything else a failure (wire
            ``terminationCode``).
        termination_reason: The text of ``termination_code`` (wire
            ``terminationReason``).
        submit_time: When the call was submitted (wire ``submitTime``).
        call_time: When it was placed (wire ``callTime``).
        ringing_time: When it started ringing (wire ``ringingTime``).
        answer_time: When it was answered (wire ``answerTime``).
        hangup_time: When it was hung up (wire ``hangupTime``).
        call_duration: How long the call lasted, in seconds (wire ``callDuration``;
            the vendor does not state the unit).
        charged_duration: How long was billed, in seconds (wire ``chargedDuration``).
        display_num: The caller id shown to the person called (wire ``displayNum``).
        bill_periodstring: The billing increments, such as ``"20+20"`` (wire
            ``billPeriodstring``: the vendor's name ends in ``string``).
        code: The regional supplier's code, unrelated to the OTP (wire ``code``).
        rate: The rate per billing unit, a ``Decimal`` (wire ``rate``, a decimal
            string; USD per the vendor's order-id record page).
        cost: What the call cost, a ``Decimal`` (wire ``cost``, a decimal string; USD
            per the vendor's order-id record page).
    """

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
    """One silent-network-auth attempt of a record.

    Every attribute is ``None`` when the answer leaves it out. Times are aware
    ``datetime`` objects (China time, +08:00, when sent without an offset).

    Attributes:
        post_verification_time: When the verification was requested (wire
            ``postVerificationTime``).
        verification_back_time: When its result came back (wire
            ``verificationBackTime``).
        mcc: The mobile country code of the network (wire ``mcc``).
        mnc: The mobile network code (wire ``mnc``).
        status: The outcome: -1 not verified, 0 success, 1 failure (wire ``status``).
        reason: The explanation of ``status`` (wire ``reason``).
    """

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

    Attributes:
        verification_id: The verification's id (wire ``verificationId``). ``None``
            when the answer leaves it out, as a lookup by order id's does.
        order_id: The caller's reference given at send time (wire ``orderId``).
            ``None`` when the answer leaves it out, as a lookup by verification id's
            does (its summary may carry it: ``verifications.order_id``).
        flow_id: The task flow the send used (wire ``flowId``). ``None`` when the
            answer leaves it out or the send used none.
        verifications: The verification summary (wire ``verifications``): whether and
            when the code was verified.
        sms: The SMS attempts, in the order sent (wire ``sms``); empty when none.
        call: The voice-call attempts (wire ``call``); empty when none.
        sna: The silent-network-auth attempts (wire ``sna``); empty when none.
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

    Attributes:
        order_id: The order id looked up, as given.
        record: The record found.
        ok: Always ``True``.
        error: Always ``None``.
    """

    order_id: str
    record: Record
    ok: Literal[True] = attrs.field(default=True, init=False)
    error: None = attrs.field(default=None, init=False)


@attrs.frozen(kw_only=True)
class LookupFailed(_Model):
    """A bulk lookup that failed (one arm of :data:`RecordLookup`).

    ``ok`` is always ``False`` and ``record`` always ``None``; neither is an argument.

    Attributes:
        order_id: The order id looked up, as given (for a line of an id file that is
            not UTF-8, that line with the bad bytes replaced by U+FFFD).
        error: Why it failed: the error the lookup raised (an :class:`ItnioError`;
            a ``ValidationError`` for an id that cannot be one).
        ok: Always ``False``.
        record: Always ``None``.
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
