"""The fake's API logic, sans I/O: state, the 19 endpoints, and signature checks.

:class:`Service` answers ``(method, api path, headers, body)`` with a
:class:`Response`; the httpx transport and the ASGI app only move bytes. Nothing
here sleeps or touches a socket, so every endpoint is atomic under asyncio.

Behaviour beyond the reference (documented choices of the fake):

* ids: app ids are 8 random letters/digits; template ids count up from 455 and flow
  ids from 90 (the ids of the vendor's examples); verification ids are 20-digit
  strings ``"2" + yyMMddHHmmss + 7-digit counter`` (UTC+8), like the docs' example;
* names of apps, templates and flows are unique per kind across the account → ``-20``;
* an ``orderId`` may be used by one send only → ``-20`` on reuse; a resend keeps it
  and the orderId record then shows the newest verification;
* unknown app/template/flow/verification/orderId → ``-24``; a template of another
  app → ``-24``; ``verify`` with an unknown id answers ``matched: 3``;
* a resend re-delivers the same code under a new verificationId; all ids of one
  code share its outcome (once matched, every id answers ``4``, already used);
* with a fixed code (``FakeItnio(fixed_code=...)``) a ``send`` still delivers a code
  of the template's type and length, so it verifies as a real one would: the fixed
  code repeated or cut to the template's ``codeLength`` (``1234`` → ``123412``), or a
  random code when the template's ``codeType`` cannot make its characters (letters
  for a numeric template); ``sendRule`` delivers the code its caller chose;
* a code expires ``codeExpiry`` minutes after its (re)send → ``matched: 5``;
* a ``Timestamp`` is accepted within ``timestamp_tolerance`` of the fake's clock or,
  after ``advance``, of the clock beneath it (programs outside the process sign with
  the real time and cannot follow the advance);
* a record's ``matched`` is ``-1`` (not verified), ``2`` after a wrong code, ``0`` once
  matched; records by id carry ``sms``/``call`` as an object when there is one
  attempt (as documented) and as an array when a flow added more;
* send limits are rolling windows over the fake's clock; ``send``, ``sendRule`` and
  ``resend`` count, flow fallbacks do not;
* task flows run on the fake's clock: a step with trigger ``2`` (not verified)
  delivers the code again on its channel ``waitingTime`` seconds after the previous
  step while the code is neither matched nor expired; deliveries never fail, so
  trigger ``1`` (sending failed) steps never fire;
* updates are ``PUT``s of the whole object, read the way the vendor documents the
  fields: an optional field that is not sent takes its documented default
  (``codeExpiry`` 5, send limits off; ``codeType`` 1, ``codeLength`` 4,
  ``speechRate`` 50, ``language`` EN, ``maxDuration`` 59, ``repeatCnt`` 1, no
  ``senderId``), it does not keep its current value;
* unknown paths answer HTTP 404 and known paths with another method HTTP 405, with a
  Spring-style JSON error body (no envelope).
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import string
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final

import attrs

from .._auth import make_sign
from .._redact import mask_phone
from ._checks import LANGUAGES, UNIT_SECONDS, Body, Reject, invalid
from ._records import Delivery

__all__ = ["Response", "Service"]

#: Every documented time carries +08:00; the fake answers in that offset too.
WIRE_TZ: Final = timezone(timedelta(hours=8))
JSON_TYPE: Final = "application/json;charset=UTF-8"
SEND_CHANNELS: Final = ("sms", "call", "sna")
DEFAULT_RULE_TEXT: Final = "Your verification code is ##code##"
#: Vendor labels of the global status table, used as default reasons.
STATUS_LABELS: Final = {
    -1: "Authentication error",
    -2: "Restricted IP access",
    -10: "The customer's balance is insufficient",
    -16: "Timestamp expires",
    -18: "Port program unusual",
    -20: "Data existing",
    -21: "Data validation exception",
    -22: "Parameter exception",
    -23: "Data caps",
    -24: "Data unexisting",
    -25: "Out of time range",
    -26: "Getting fee fail",
    -27: "Period total send limit",
    -28: "Period phone send limit",
    -29: "SMS content has sensitive words",
}
_MCC: Final = {
    "1": 310,
    "7": 250,
    "33": 208,
    "34": 214,
    "39": 222,
    "44": 234,
    "49": 262,
    "55": 724,
    "62": 510,
    "81": 440,
    "82": 450,
    "84": 452,
    "86": 460,
    "91": 404,
    "880": 470,
    "966": 420,
}
_CODE_ALPHABETS: Final = {
    1: string.digits,
    2: string.ascii_uppercase,
    3: string.ascii_uppercase + string.digits,
    4: "0123456789ABCDEF",
}


def iso(epoch: float) -> str:
    """Epoch seconds as the API writes times: ISO-8601 with ``+08:00``."""
    return datetime.fromtimestamp(epoch, WIRE_TZ).isoformat(timespec="seconds")


def http_date(epoch: float) -> str:
    """Epoch seconds as an HTTP ``Date`` header value."""
    return email.utils.formatdate(epoch, usegmt=True)


def _mcc(number: str) -> int:
    for size in (3, 2, 1):
        if number[:size] in _MCC:
            return _MCC[number[:size]]
    return 0


@attrs.frozen
class Response:
    """A complete HTTP answer of the fake."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes
    #: The envelope status, when the body is an envelope.
    status: str | None = None


@attrs.define
class _App:
    app_id: str
    name: str
    code_expiry: int
    create_time: float
    total_limit: dict[str, Any]
    phone_limit: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {
            "appId": self.app_id,
            "name": self.name,
            "codeExpiry": self.code_expiry,
            "createTime": iso(self.create_time),
            "periodTotalSendLimit": dict(self.total_limit),
            "periodPhoneSendLimit": dict(self.phone_limit),
        }


@attrs.define
class _Template:
    template_id: int
    app_id: str
    fields: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"templateId": self.template_id, "appId": self.app_id, **self.fields}


@attrs.define
class _Flow:
    flow_id: int
    name: str
    steps: list[dict[str, Any]]

    def wire(self) -> dict[str, Any]:
        return {"flowId": self.flow_id, "name": self.name, "flow": [dict(s) for s in self.steps]}


@attrs.define(eq=False)
class _Code:
    """One code and its outcome, shared by a verification and its resends."""

    code: str
    to: str
    matched: int = -1
    verified_at: float | None = None


@attrs.define(eq=False)
class _Verification:
    verification_id: str
    app_id: str
    template_id: int | None
    flow_id: int | None
    order_id: str | None
    channel: str
    created: float
    expires_at: float
    code: _Code
    text: str
    sender: str
    sms: list[dict[str, Any]] = attrs.Factory(list)
    call: list[dict[str, Any]] = attrs.Factory(list)
    sna: list[dict[str, Any]] = attrs.Factory(list)
    steps: list[dict[str, Any]] = attrs.Factory(list)
    next_step: int = 0
    step_anchor: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "matched": self.code.matched,
            "verifiedDate": None if self.code.verified_at is None else iso(self.code.verified_at),
            "oriReceiver": self.code.to,
            "channel": self.channel,
            "orderId": self.order_id,
        }


Handler = Callable[["Service", tuple[str, ...], Any], Any]
_NO_DATA: Final = object()


class Service:
    """State and endpoint logic of the fake ITNIO OTP API."""

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        clock: Callable[[], float],
        *,
        signing_clock: Callable[[], float] | None = None,
        timestamp_tolerance: float = 300.0,
        rng: random.Random | None = None,
        fixed_code: str | None = None,
    ) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self.now = clock
        #: A second clock whose time a ``Timestamp`` may be near (the real time beneath
        #: a clock moved by ``advance``, which clients in other processes sign with).
        self.signing_clock = signing_clock
        self.timestamp_tolerance = timestamp_tolerance
        self._rng = rng or random.Random()  # noqa: S311 - fake codes, not security
        #: Delivered instead of a random code by ``send`` (``sendRule`` delivers its own).
        self.fixed_code = fixed_code
        #: Called with every :class:`Delivery` as it is recorded.
        self.on_delivery: Callable[[Delivery], object] | None = None
        self.apps: dict[str, _App] = {}
        self.templates: dict[int, _Template] = {}
        self.flows: dict[int, _Flow] = {}
        self.verifications: dict[str, _Verification] = {}
        self.orders: dict[str, str] = {}
        self.deliveries: list[Delivery] = []
        self.backfills: list[dict[str, Any]] = []
        self.backfill_rates: list[dict[str, Any]] = []
        self._sends: list[tuple[float, str, str]] = []
        self._pending_flows: list[_Verification] = []
        self._next_template = 455
        self._next_flow = 90
        self._next_verification = 1_000_001

    # -- entry points ----------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one request (``path`` is below ``/otp``; header names lower-case)."""
        now = self.now()
        self.run_flows(now)
        found = self._route(method, path)
        if isinstance(found, Response):
            return found
        handler, args = found
        try:
            self._authenticate(headers, now)
            parsed = None
            if method in ("POST", "PUT"):
                try:
                    data = json.loads(body) if body.strip() else None
                except (ValueError, RecursionError):
                    raise invalid("the body is not valid JSON") from None
                if data is None:
                    raise invalid("a JSON body is required")
                parsed = data
            result = handler(self, args, parsed)
        except Reject as reject:
            return self.envelope(str(reject.status), reject.reason)
        return self.envelope("0", "success", result)

    def invoke(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Run an endpoint directly (no HTTP, no signature); raise ``RuntimeError`` on an error."""
        self.run_flows(self.now())
        found = self._route(method, path)
        if isinstance(found, Response):
            raise LookupError(f"no endpoint {method} {path}")  # noqa: TRY004 - not a type check
        handler, args = found
        try:
            result = handler(self, args, body)
        except Reject as reject:
            raise RuntimeError(
                f"{method} {path} failed with {reject.status}: {reject.reason}"
            ) from reject
        return None if result is _NO_DATA else result

    def envelope(self, status: str, reason: str, data: Any = _NO_DATA) -> Response:
        """An HTTP 200 answer carrying the documented envelope."""
        payload: dict[str, Any] = {"status": status, "reason": reason}
        if data is not _NO_DATA:
            payload["data"] = data
        return Response(200, self.headers(JSON_TYPE), _dump(payload), status)

    def headers(self, content_type: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
        """Response headers: content type and ``Date`` from the fake's clock."""
        return [("content-type", content_type), ("date", http_date(self.now())), *extra]

    def _route(self, method: str, path: str) -> tuple[Handler, tuple[str, ...]] | Response:
        allowed: list[str] = []
        for methods, pattern, handler in _ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method in methods:
                return handler, match.groups()
            allowed.extend(methods)
        code, error = (405, "Method Not Allowed") if allowed else (404, "Not Found")
        body = {
            "timestamp": iso(self.now()),
            "error": error,
            "message": f"No endpoint {method} /otp{path}",
            "path": f"/otp{path}",
        }
        extra = [("allow", ", ".join(sorted(set(allowed))))] if allowed else []
        return Response(code, self.headers(JSON_TYPE, *extra), _dump(body))

    def _authenticate(self, headers: dict[str, str], now: float) -> None:
        # Only HTTP's own optional whitespace (space, tab) is stripped: str.strip() would
        # also drop a no-break space or U+3000 that the client signed.
        key = headers.get("api-key", "")
        sign = headers.get("sign", "").strip(" \t")
        timestamp = headers.get("timestamp", "").strip(" \t")
        # Sign: either case (the docs call it case-insensitive). Equal to the md5 after
        # lower() means 32 ASCII hex digits: no other character lower-cases to one.
        if key != self.api_key or sign.lower() != make_sign(key, self._secret, timestamp):
            raise Reject(-1, STATUS_LABELS[-1])
        # Timestamp: ASCII digits only. int() alone would also read "1_700_000_000",
        # "+1700000000" and "١٧٠٠٠٠٠٠٠٠". Past 19 significant digits it is far outside
        # any window (and int() of thousands of digits is slow, past 4300 refused).
        digits = timestamp.lstrip("0")
        if not (timestamp.isascii() and timestamp.isdigit() and len(digits) <= 19):
            raise Reject(-16, STATUS_LABELS[-16])
        stamp = int(digits or "0")
        clocks = (now,) if self.signing_clock is None else (now, self.signing_clock())
        if all(abs(at - stamp) > self.timestamp_tolerance for at in clocks):
            raise Reject(-16, STATUS_LABELS[-16])

    # -- helpers -------------------------------------------------------------------

    def _app(self, app_id: str) -> _App:
        app = self.apps.get(app_id)
        if app is None:
            raise Reject(-24, "Data unexisting: no such app")
        return app

    def _path_int(self, text: str, what: str) -> int:
        if not (text.isascii() and text.isdigit()):
            raise invalid(f"{what} must be an integer id")
        return int(text)

    def _unique(self, names: Iterable[str], name: str, what: str) -> None:
        if name in names:
            raise Reject(-20, f"Data existing: {what} name already exists")

    def _new_app_id(self) -> str:
        alphabet = string.ascii_letters + string.digits
        while True:
            app_id = "".join(self._rng.choice(alphabet) for _ in range(8))
            if app_id not in self.apps:
                return app_id

    def _new_verification_id(self, now: float) -> str:
        stamp = datetime.fromtimestamp(now, WIRE_TZ).strftime("%y%m%d%H%M%S")
        while True:
            counter = self._next_verification
            self._next_verification = 1_000_001 if counter >= 9_999_999 else counter + 1
            vid = f"2{stamp}{counter:07d}"
            if vid not in self.verifications:
                return vid

    def new_code(self, code_type: int, length: int) -> str:
        """A random code of the template's type and length."""
        alphabet = _CODE_ALPHABETS.get(code_type, string.digits)
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def template_code(self, code_type: int, length: int) -> str:
        """The code a ``send`` delivers for a template: always of its type and length.

        The fixed code, when there is one whose characters the type makes, repeated or
        cut to the length (``1234`` → ``123412`` for six digits, ``246810`` → ``2468``
        for four); otherwise a random code.
        """
        fixed = self.fixed_code
        if fixed and set(fixed) <= set(_CODE_ALPHABETS.get(code_type, string.digits)):
            return (fixed * length)[:length]
        return self.new_code(code_type, length)

    def _check_limits(self, app: _App, to: str, now: float) -> None:
        checks = ((app.total_limit, -27, False), (app.phone_limit, -28, True))
        for limit, status, same_phone in checks:
            if not limit.get("enabled"):
                continue
            since = now - limit["period"] * UNIT_SECONDS[limit["unit"]]
            used = sum(
                1
                for t, app_id, number in self._sends
                if t > since and app_id == app.app_id and (not same_phone or number == to)
            )
            if used >= limit["limit"]:
                raise Reject(status, STATUS_LABELS[status])

    def _attempt(self, verification: _Verification, channel: str, at: float) -> None:
        number = verification.code.to
        if channel == "sms":
            verification.sms.append(
                {
                    "submitTm": iso(at),
                    "sendTm": iso(at),
                    "doneTm": iso(at + 2),
                    "mcc": _mcc(number),
                    "mnc": 1,
                    "sender": verification.sender,
                    "chargeCnt": 1,
                    "pay": "0.0050",
                    "status": 0,
                    "reason": "success",
                }
            )
        elif channel == "call":
            verification.call.append(
                {
                    "terminationCode": 0,
                    "terminationReason": "Normal Clearing",
                    "submitTime": iso(at),
                    "callTime": iso(at + 1),
                    "ringingTime": iso(at + 2),
                    "answerTime": iso(at + 5),
                    "hangupTime": iso(at + 17),
                    "callDuration": 12,
                    "chargedDuration": 20,
                    "displayNum": None,
                    "billPeriodstring": "20+20",
                    "code": "661",
                    "rate": "0.1380",
                    "cost": "0.0460",
                }
            )
        else:
            verification.sna.append(
                {
                    "postVerificationTime": iso(at),
                    "verificationBackTime": iso(at + 1),
                    "mcc": _mcc(number),
                    "mnc": 1,
                    "status": 0,
                    "reason": "success",
                }
            )

    def _deliver(self, verification: _Verification, channel: str, kind: str, at: float) -> None:
        verification.channel = channel
        self._attempt(verification, channel, at)
        delivery = Delivery(
            to=verification.code.to,
            code=verification.code.code,
            channel=channel,
            text=verification.text.replace("##code##", verification.code.code),
            verification_id=verification.verification_id,
            app_id=verification.app_id,
            template_id=verification.template_id,
            kind=kind,
            time=at,
        )
        self.deliveries.append(delivery)
        if self.on_delivery is not None:
            self.on_delivery(delivery)

    def _start(
        self,
        *,
        app: _App,
        template: _Template | None,
        flow: _Flow | None,
        code: _Code,
        channel: str,
        order_id: str | None,
        kind: str,
        run_flow: bool = True,
    ) -> dict[str, Any]:
        now = self.now()
        self._check_limits(app, code.to, now)
        vid = self._new_verification_id(now)
        verification = _Verification(
            verification_id=vid,
            app_id=app.app_id,
            template_id=None if template is None else template.template_id,
            flow_id=None if flow is None else flow.flow_id,
            order_id=order_id,
            channel=channel,
            created=now,
            expires_at=now + app.code_expiry * 60,
            code=code,
            text=DEFAULT_RULE_TEXT if template is None else template.fields["text"],
            sender="" if template is None else (template.fields.get("senderId") or ""),
            steps=[] if flow is None or not run_flow else [dict(s) for s in flow.steps],
            step_anchor=now,
        )
        self.verifications[vid] = verification
        if order_id:
            self.orders[order_id] = vid
        self._sends.append((now, app.app_id, code.to))
        self._deliver(verification, channel, kind, now)
        if verification.steps:
            self._pending_flows.append(verification)
        return {
            "verificationId": vid,
            "to": code.to,
            "channel": channel,
            "snaUrl": f"http://itnio.fake/sna/{vid}" if channel == "sna" else None,
        }

    def run_flows(self, now: float) -> None:
        """Fire the task-flow fallback steps that are due at ``now``."""
        still: list[_Verification] = []
        for verification in self._pending_flows:
            steps = verification.steps
            while verification.next_step < len(steps):
                step = steps[verification.next_step]
                due = verification.step_anchor + step["waitingTime"]
                if due > now:
                    break
                verification.next_step += 1
                verification.step_anchor = due
                if verification.code.matched == 0 or due >= verification.expires_at:
                    verification.next_step = len(steps)
                    break
                if step["status"] == 2:
                    self._deliver(verification, step["channel"], "flow", due)
            if verification.next_step < len(steps):
                still.append(verification)
        self._pending_flows = still

    def _verification(self, vid: object) -> _Verification:
        found = self.verifications.get(vid) if isinstance(vid, str) else None
        if found is None:
            raise Reject(-24, "Data unexisting: no such verification")
        return found

    # -- apps ------------------------------------------------------------------------

    @staticmethod
    def _app_settings(body: Body) -> tuple[str, int, dict[str, Any], dict[str, Any]]:
        """Name, code expiry and the two send limits of an add or update body; an
        optional field not sent takes its documented default (5 minutes, limits off)."""
        off = {"enabled": False, "unit": None, "period": None, "limit": None}
        return (
            body.required_string("name", 4, 32),
            body.integer("codeExpiry", 1, 60, default=5) or 5,
            body.send_limit("periodTotalSendLimit") or dict(off),
            body.send_limit("periodPhoneSendLimit") or dict(off),
        )

    def app_add(self, _: tuple[str, ...], data: Any) -> Any:
        body = Body(data, ("name", "codeExpiry", "periodTotalSendLimit", "periodPhoneSendLimit"))
        name, expiry, total, phone = self._app_settings(body)
        self._unique((a.name for a in self.apps.values()), name, "app")
        app = _App(self._new_app_id(), name, expiry, self.now(), total, phone)
        self.apps[app.app_id] = app
        return app.wire()

    def app_update(self, args: tuple[str, ...], data: Any) -> Any:
        body = Body(
            data, ("appId", "name", "codeExpiry", "periodTotalSendLimit", "periodPhoneSendLimit")
        )
        app_id = args[0]
        if body.has("appId") and body.raw("appId") != app_id:
            raise invalid("appId in the body differs from the path")
        name, expiry, total, phone = self._app_settings(body)
        app = self._app(app_id)
        self._unique((a.name for a in self.apps.values() if a is not app), name, "app")
        app.name, app.code_expiry, app.total_limit, app.phone_limit = name, expiry, total, phone
        return app.wire()

    def app_details(self, args: tuple[str, ...], _: Any) -> Any:
        return self._app(args[0]).wire()

    # -- templates -------------------------------------------------------------------

    def _template_fields(self, body: Body) -> dict[str, Any]:
        """The fields of an add or update body; an optional field not sent takes its
        documented default."""
        fields: dict[str, Any] = {
            "codeType": 1,
            "codeLength": 4,
            "speechRate": 50,
            "language": "EN",
            "maxDuration": 59,
            "repeatCnt": 1,
            "senderId": None,
        }
        fields["name"] = body.required_string("name", 4, 32)
        fields["text"] = body.template_text("text", required=True)
        for name, lo, hi in (
            ("codeType", 1, 4),
            ("codeLength", 4, 10),
            ("speechRate", 0, 100),
            ("maxDuration", 5, 599),
            ("repeatCnt", 1, 10),
        ):
            value = body.integer(name, lo, hi)
            if value is not None:
                fields[name] = value
        language = body.choice("language", LANGUAGES)
        if language is not None:
            fields["language"] = language
        sender = body.string("senderId", 0, 64)
        if sender is not None:
            fields["senderId"] = sender
        return {key: fields[key] for key in self._TEMPLATE_FIELDS}

    _TEMPLATE_FIELDS: Final = (
        "name",
        "text",
        "codeType",
        "codeLength",
        "speechRate",
        "language",
        "maxDuration",
        "repeatCnt",
        "senderId",
    )

    def template_add(self, _: tuple[str, ...], data: Any) -> Any:
        body = Body(data, ("appId", *self._TEMPLATE_FIELDS))
        app_id = body.required_string("appId", 4, 32)
        fields = self._template_fields(body)
        self._app(app_id)
        self._unique(
            (t.fields["name"] for t in self.templates.values()), fields["name"], "template"
        )
        template = _Template(self._next_template, app_id, fields)
        self._next_template += 1
        self.templates[template.template_id] = template
        return template.wire()

    def template_update(self, args: tuple[str, ...], data: Any) -> Any:
        if isinstance(data, dict) and "appId" in data:
            raise invalid("appId cannot be changed")
        body = Body(data, self._TEMPLATE_FIELDS)
        template_id = self._path_int(args[0], "templateId")
        template = self.templates.get(template_id)
        fields = self._template_fields(body)
        if template is None:
            raise Reject(-24, "Data unexisting: no such template")
        self._unique(
            (t.fields["name"] for t in self.templates.values() if t is not template),
            fields["name"],
            "template",
        )
        template.fields = fields
        return template.wire()

    def template_details(self, args: tuple[str, ...], _: Any) -> Any:
        template = self.templates.get(self._path_int(args[0], "templateId"))
        if template is None:
            raise Reject(-24, "Data unexisting: no such template")
        return template.wire()

    def template_list(self, _: tuple[str, ...], __: Any) -> Any:
        return [t.wire() for _, t in sorted(self.templates.items())]

    # -- flows -----------------------------------------------------------------------

    def flow_add(self, _: tuple[str, ...], data: Any) -> Any:
        body = Body(data, ("name", "flow"))
        name = body.required_string("name", 4, 32)
        steps = body.flow_steps("flow")
        self._unique((f.name for f in self.flows.values()), name, "flow")
        flow = _Flow(self._next_flow, name, steps)
        self._next_flow += 1
        self.flows[flow.flow_id] = flow
        return flow.wire()

    def flow_update(self, args: tuple[str, ...], data: Any) -> Any:
        body = Body(data, ("name", "flow"))
        flow_id = self._path_int(args[0], "flowId")
        name = body.required_string("name", 4, 32)
        steps = body.flow_steps("flow")
        flow = self.flows.get(flow_id)
        if flow is None:
            raise Reject(-24, "Data unexisting: no such flow")
        self._unique((f.name for f in self.flows.values() if f is not flow), name, "flow")
        flow.name = name
        flow.steps = steps
        return flow.wire()

    def flow_details(self, args: tuple[str, ...], _: Any) -> Any:
        flow = self.flows.get(self._path_int(args[0], "flowId"))
        if flow is None:
            raise Reject(-24, "Data unexisting: no such flow")
        return flow.wire()

    def flow_list(self, _: tuple[str, ...], __: Any) -> Any:
        return [f.wire() for _, f in sorted(self.flows.items())]

    # -- verifications ---------------------------------------------------------------

    def _send(self, body: Body, *, rule: bool) -> dict[str, Any]:
        app_id = body.required_string("appId", 4, 32)
        template_id = body.identifier("templateId", required=not rule)
        flow_id = body.identifier("flowId")
        code = body.required_string("code", 1, 10) if rule else None
        to = body.phone("to", required=True)
        assert to is not None
        channel = body.choice("channel", SEND_CHANNELS, default="sms") or "sms"
        order_id = body.string("orderId", 0, 64) or None
        app = self._app(app_id)
        template = None
        if template_id is not None:
            template = self.templates.get(template_id)
            if template is None or template.app_id != app.app_id:
                raise Reject(-24, "Data unexisting: no such template in this app")
        flow = None
        if flow_id is not None:
            flow = self.flows.get(flow_id)
            if flow is None:
                raise Reject(-24, "Data unexisting: no such flow")
        if order_id is not None and order_id in self.orders:
            raise Reject(-20, "Data existing: orderId already used")
        if code is None:
            assert template is not None
            code = self.template_code(template.fields["codeType"], template.fields["codeLength"])
        return self._start(
            app=app,
            template=template,
            flow=flow,
            code=_Code(code, to),
            channel=channel,
            order_id=order_id,
            kind="sendRule" if rule else "send",
        )

    def send(self, _: tuple[str, ...], data: Any) -> Any:
        fields = ("appId", "templateId", "flowId", "to", "channel", "orderId")
        return self._send(Body(data, fields), rule=False)

    def send_rule(self, _: tuple[str, ...], data: Any) -> Any:
        fields = ("appId", "templateId", "code", "flowId", "to", "channel", "orderId")
        return self._send(Body(data, fields), rule=True)

    def resend(self, _: tuple[str, ...], data: Any) -> Any:
        body = Body(data, ("verificationId", "channel"))
        vid = body.required_string("verificationId", 1, 64)
        channel = body.choice("channel", SEND_CHANNELS, default="sms") or "sms"
        old = self._verification(vid)
        app = self._app(old.app_id)
        old.next_step = len(old.steps)  # superseded: its flow stops
        template = None if old.template_id is None else self.templates.get(old.template_id)
        flow = None if old.flow_id is None else self.flows.get(old.flow_id)
        return self._start(
            app=app,
            template=template,
            flow=flow,
            code=old.code,
            channel=channel,
            order_id=old.order_id,
            kind="resend",
            run_flow=False,
        )

    def verify(self, _: tuple[str, ...], data: Any) -> Any:
        body = Body(data, ("verificationId", "code"))
        vid = body.required_string("verificationId", 1, 64)
        code = body.required_string("code", 4, 10)
        verification = self.verifications.get(vid)
        if verification is None:
            return {"verificationId": vid, "to": None, "channel": None, "matched": 3}
        shared = verification.code
        now = self.now()
        if shared.matched == 0:
            matched = 4
        elif now >= verification.expires_at:
            matched = 5
        elif code != shared.code:
            matched = shared.matched = 2
        else:
            matched = shared.matched = 0
            shared.verified_at = now
        return {
            "verificationId": vid,
            "to": shared.to,
            "channel": verification.channel,
            "matched": matched,
        }

    def record(self, args: tuple[str, ...], _: Any) -> Any:
        verification = self._verification(args[0])
        data: dict[str, Any] = {
            "verificationId": verification.verification_id,
            "verifications": verification.summary(),
        }
        for channel, attempts in (("sms", verification.sms), ("call", verification.call)):
            if attempts:
                # Documented as an object; several attempts (a flow) only fit an array.
                data[channel] = dict(attempts[0]) if len(attempts) == 1 else list(attempts)
        if verification.sna:
            data["sna"] = list(verification.sna)
        return data

    def record_by_order_id(self, _: tuple[str, ...], data: Any) -> Any:
        body = Body(data, ("appId", "orderId"))
        app_id = body.string("appId", 4, 32)
        order_id = body.required_string("orderId", 1, 64)
        vid = self.orders.get(order_id)
        verification = None if vid is None else self.verifications.get(vid)
        if verification is None or (app_id is not None and verification.app_id != app_id):
            raise Reject(-24, "Data unexisting: no such orderId")
        return {
            "orderId": order_id,
            "flowId": verification.flow_id,
            "verifications": verification.summary(),
            "sms": list(verification.sms),
            "call": list(verification.call),
            "sna": list(verification.sna),
        }

    # -- backfill --------------------------------------------------------------------

    def backfill(self, _: tuple[str, ...], data: Any) -> Any:
        body = Body(data, ("appId", "verificationId", "number", "time"))
        app_id = body.required_string("appId", 4, 32)
        vid = body.required_string("verificationId", 1, 64)
        number = body.phone("number")
        when = body.raw("time")
        if when is None:
            raise invalid("time is required")
        if isinstance(when, bool) or not isinstance(when, (str, int)) or not str(when).strip():
            raise invalid("time must be a non-empty string")
        self._app(app_id)
        if self._verification(vid).app_id != app_id:
            raise Reject(-24, "Data unexisting: no such verification in this app")
        self.backfills.append(
            {"appId": app_id, "verificationId": vid, "number": number, "time": str(when)}
        )
        return _NO_DATA

    def backfill_rate(self, _: tuple[str, ...], data: Any) -> Any:
        body = Body(
            data,
            (
                "appId",
                "mcc",
                "backfillNumber",
                "backfillCardinalNumber",
                "backfillNow",
                "callbackTime",
            ),
        )
        app_id = body.required_string("appId", 4, 32)
        report = {
            "appId": app_id,
            "mcc": body.numeric("mcc", lo=Decimal(0), hi=Decimal(999), integer=True, required=True),
            "backfillNumber": body.numeric("backfillNumber", lo=Decimal(0), integer=True),
            "backfillCardinalNumber": body.numeric(
                "backfillCardinalNumber", lo=Decimal(0), integer=True
            ),
            "backfillNow": body.numeric(
                "backfillNow", lo=Decimal(0), hi=Decimal(100), places=2, required=True
            ),
            "callbackTime": body.iso_time("callbackTime"),
        }
        self._app(app_id)
        self.backfill_rates.append(report)
        return _NO_DATA

    # -- inspection ------------------------------------------------------------------

    def sent_to(self, to: str) -> list[Delivery]:
        """Deliveries to ``to``, oldest first."""
        self.run_flows(self.now())
        return [d for d in self.deliveries if d.to == to]

    def last_code(self, to: str) -> str:
        """The code most recently delivered to ``to``."""
        sent = self.sent_to(to)
        if not sent:
            raise LookupError(f"no code was delivered to {mask_phone(to)}")
        return sent[-1].code


def _dump(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace("{id}", "([^/]+)"))


_ROUTES: Final[tuple[tuple[tuple[str, ...], re.Pattern[str], Handler], ...]] = (
    (("POST",), _r("/app/add"), Service.app_add),
    (("PUT",), _r("/app/update/{id}"), Service.app_update),
    (("GET",), _r("/app/details/{id}"), Service.app_details),
    (("POST",), _r("/template/add"), Service.template_add),
    (("PUT",), _r("/template/update/{id}"), Service.template_update),
    (("GET",), _r("/template/details/{id}"), Service.template_details),
    (("GET",), _r("/template/list"), Service.template_list),
    (("POST",), _r("/flow/add"), Service.flow_add),
    # The docs' text says POST, their code samples PUT: both are answered.
    (("PUT", "POST"), _r("/flow/update/{id}"), Service.flow_update),
    (("GET",), _r("/flow/details/{id}"), Service.flow_details),
    (("GET",), _r("/flow/list"), Service.flow_list),
    (("POST",), _r("/verification/send"), Service.send),
    (("POST",), _r("/verification/sendRule"), Service.send_rule),
    (("POST",), _r("/verification/resend"), Service.resend),
    (("POST",), _r("/verification/verify"), Service.verify),
    (("GET",), _r("/verification/record/{id}"), Service.record),
    (("POST",), _r("/verification/orderId/record"), Service.record_by_order_id),
    (("POST",), _r("/postback/backfill"), Service.backfill),
    (("POST",), _r("/backfillRate"), Service.backfill_rate),
)
