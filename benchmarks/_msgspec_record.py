"""A typed msgspec decoder of the record response, for comparison (``pip install msgspec``).

Same fields and types as the SDK's models (times as aware datetimes, money as
Decimal, absent lists as ``[]``). No ``from __future__ import annotations``: msgspec
resolves these annotations at class creation.
"""

import datetime as dt
import decimal
from typing import Any

import msgspec


class SmsAttempt(msgspec.Struct, rename="camel"):
    submit_tm: dt.datetime | None = None
    send_tm: dt.datetime | None = None
    done_tm: dt.datetime | None = None
    mcc: int | None = None
    mnc: int | None = None
    sender: str | None = None
    charge_cnt: int | None = None
    pay: decimal.Decimal | None = None
    status: int | None = None
    reason: str | None = None


class CallAttempt(msgspec.Struct, rename="camel"):
    termination_code: int | None = None
    termination_reason: str | None = None
    submit_time: dt.datetime | None = None
    call_time: dt.datetime | None = None
    ringing_time: dt.datetime | None = None
    answer_time: dt.datetime | None = None
    hangup_time: dt.datetime | None = None
    call_duration: int | None = None
    charged_duration: int | None = None
    display_num: str | None = None
    bill_periodstring: str | None = None
    code: str | None = None
    rate: decimal.Decimal | None = None
    cost: decimal.Decimal | None = None


class Verifications(msgspec.Struct, rename="camel"):
    matched: int | None = None
    verified_date: dt.datetime | None = None
    ori_receiver: str | None = None
    channel: str | None = None
    order_id: str | None = None


class Record(msgspec.Struct, rename="camel"):
    order_id: str | None = None
    flow_id: int | None = None
    verifications: Verifications | None = None
    sms: list[SmsAttempt] = []
    call: list[CallAttempt] = []
    sna: list[dict[str, Any]] = []


class Envelope(msgspec.Struct):
    status: str
    reason: str | None = None
    data: Record | None = None


DECODER = msgspec.json.Decoder(Envelope)
