"""``client.verifications``: send codes, resend them, and verify what the user typed.

Send-safety: ``send``, ``send_code`` and ``resend`` cost money and reach a person,
so they are retried only when the request provably never left this process.
``verify`` consumes the code: after an ambiguous failure (the request may have
reached the server) the outcome is resolved by reading the record instead of
blindly re-verifying, so a right code is never reported as wrong or already used.
"""

from __future__ import annotations

from typing import Any

from .. import _validation as v
from .._call import REPEAT, Call, CallState, ClientPort, Repeat, Ticket, raw_of
from .._exceptions import DecodeError, ItnioError, OutcomeUnknownError
from .._logging import logger
from .._models import Channel, MatchStatus, Record, SendResult, VerificationSummary, VerifyResult
from .._redact import Secrets
from .._retry import CallKind
from ._base import RawView, Resource, compact
from .records import record_call

__all__ = ["Verifications", "VerificationsWithRawResponse"]

#: Seconds around the start of a verify (by the server's clock) within which a match
#: in the record cannot be told apart from an earlier one: ``Date`` and
#: ``verifiedDate`` have whole seconds, and the server's clock is learned from ``Date``.
_MARGIN = 2.0


def _channel(value: object) -> str | None:
    if value is None:
        return None
    return v.check_choice("channel", value, Channel, v.SEND_CHANNELS).value


def _order_id(value: object) -> str | None:
    return None if value is None else v.check_str("order_id", value, 0, 64)


def _send_body(
    *,
    app_id: object,
    template_id: object,
    to: object,
    channel: object,
    flow_id: object,
    order_id: object,
    secrets: Secrets,
    **checked: object,
) -> dict[str, Any]:
    """The body of ``send`` and ``sendRule`` (``checked``: fields validated by the caller)."""
    number = v.phone("to", to)
    secrets.add(number, phone=True)
    return compact(
        appId=v.check_app_id("app_id", app_id),
        templateId=None if template_id is None else v.int_id("template_id", template_id),
        flowId=None if flow_id is None else v.int_id("flow_id", flow_id),
        to=number,
        channel=_channel(channel),
        orderId=_order_id(order_id),
        **checked,
    )


class Verifications(Resource):
    """``client.verifications``: sending and checking verification codes (``/verification/...``).

    ``send``, ``send_code`` and ``resend`` cost money and reach a person's phone: they
    are retried only when the request provably never left. ``verify`` never reports
    a right code as wrong or used: after a lost answer it reads the record first.
    """

    __slots__ = ()

    async def send(
        self,
        *,
        app_id: str,
        template_id: int | str,
        to: str,
        channel: Channel | str | None = None,
        flow_id: int | str | None = None,
        order_id: str | None = None,
    ) -> SendResult:
        """Send a platform-generated code (``POST /verification/send``).

        Retried only when the request provably never left (connect error or timeout,
        pool timeout): never on a read timeout, a 5xx or -18.

        Args:
            app_id: application id (4–32 characters).
            template_id: template to render (sent as an integer).
            to: destination number with its country code, as people write it
                (``"+86 135 1234 5678"``, ``"0086-135-1234-5678"``, ``"8613512345678"``);
                sent as its 10–14 digits (the rules: :func:`~itnio_async._validation.phone`).
            channel: ``sms`` (server default), ``call`` or ``sna``.
            flow_id: task flow to apply for fallbacks.
            order_id: your own reference, at most 64 characters, globally unique.

        Returns:
            A :class:`SendResult` with the new ``verification_id``.

        Raises:
            ValidationError: a broken rule, such as a malformed number (nothing is sent).
            SendLimitError: the app's send limit is reached (-27 total, -28 per number).
            InsufficientBalanceError: the account's balance is too low (-10).
            APIError: any other rejection.
            TransportError: the request failed; ``sent`` is ``False`` only when it
                provably never left (then it was retried), otherwise the code may be
                on its way: look the send up by ``order_id`` before sending again.
        """
        secrets = Secrets()
        body = _send_body(
            app_id=app_id,
            template_id=v.int_id("template_id", template_id),  # required here
            to=to,
            channel=channel,
            flow_id=flow_id,
            order_id=order_id,
            secrets=secrets,
        )
        return await self._port.request(
            self._call(
                "POST",
                "/verification/send",
                body=body,
                secrets=secrets,
                cast=SendResult,
                kind=CallKind.UNSAFE,
            )
        )

    async def send_code(
        self,
        *,
        app_id: str,
        code: str,
        to: str,
        template_id: int | str | None = None,
        channel: Channel | str | None = None,
        flow_id: int | str | None = None,
        order_id: str | None = None,
    ) -> SendResult:
        """Deliver a code you generated (``POST /verification/sendRule``).

        Retried like :meth:`send`: only when the request provably never left.

        Args:
            app_id: application id (4–32 characters).
            code: the code to deliver, 1–10 printable ASCII characters (``verify``
                accepts only 4–10); surrounding whitespace is dropped and full-width
                digits are read as ASCII (``"４８２９１３ "`` → ``"482913"``).
            to: the destination number as people write it (``"+86 135 1234 5678"``);
                its 10–14 digits with the country code are sent.
            template_id: template to render the code into; optional here.
            channel: ``sms`` (server default), ``call`` or ``sna``.
            flow_id: task flow to apply for fallbacks.
            order_id: your own reference, at most 64 characters, globally unique.

        Returns:
            A :class:`SendResult` with the new ``verification_id``.

        Raises:
            ValidationError: a broken rule (nothing is sent).
            SendLimitError: the app's send limit is reached (-27 or -28).
            APIError: any other rejection.
            TransportError: as for :meth:`send`.
        """
        secrets = Secrets()
        code = v.code("code", code, 1, 10)
        secrets.add(code)
        body = _send_body(
            app_id=app_id,
            template_id=template_id,
            to=to,
            channel=channel,
            flow_id=flow_id,
            order_id=order_id,
            secrets=secrets,
            code=code,
        )
        return await self._port.request(
            self._call(
                "POST",
                "/verification/sendRule",
                body=body,
                secrets=secrets,
                cast=SendResult,
                kind=CallKind.UNSAFE,
            )
        )

    async def resend(
        self, verification_id: str, *, channel: Channel | str | None = None
    ) -> SendResult:
        """Resend an earlier code (``POST /verification/resend``).

        Retried like :meth:`send`: only when the request provably never left.

        Args:
            verification_id: the id of the verification whose code to send again.
            channel: ``sms``, ``call`` or ``sna``; the server picks when left ``None``.

        Returns:
            A :class:`SendResult` carrying a **new** ``verification_id``; use it from now on.

        Raises:
            ValidationError: an empty id or an unknown channel (nothing is sent).
            NotFoundError: no verification has that id (-24).
            APIError: any other rejection.
            TransportError: as for :meth:`send`.
        """
        body = compact(
            verificationId=v.verification_id("verification_id", verification_id),
            channel=_channel(channel),
        )
        return await self._port.request(
            self._call(
                "POST", "/verification/resend", body=body, cast=SendResult, kind=CallKind.UNSAFE
            )
        )

    async def verify(self, verification_id: str, code: str) -> VerifyResult:
        """Check the code a user typed (``POST /verification/verify``).

        A wrong, expired or already-used code is not an exception: inspect
        ``result.matched`` or ``result.ok``. If the answer is lost (read timeout,
        dropped connection, HTTP 408/429/5xx, -18, an unreadable or incomplete
        answer) the SDK reads the record before doing anything else: verifying again
        is safe only if the record shows no match. A match in the record is taken as
        this call's only when it is dated provably after this call began (by the
        server's clock, learned from its ``Date`` header) **and** no other verify of
        the same ``verification_id`` was in flight in this client (or its
        ``with_options`` copies) at any moment since this call began; otherwise
        :class:`OutcomeUnknownError` is raised, so a wrong code is never reported as
        right and a right one never as wrong or used. Verifies of the same id made
        by another client or process cannot be seen: verify each id from one place.
        The verifies and record reads of one call all count against
        ``1 + max_retries`` requests and the deadline.

        Args:
            verification_id: id from send / send_code / resend.
            code: what the user typed or pasted, 4–10 printable ASCII characters;
                surrounding whitespace is dropped and full-width digits are read as
                ASCII (``"482913 "`` and ``"４８２９１３"`` → ``"482913"``); whitespace
                inside the code, other non-ASCII and control characters are refused.

        Returns:
            A :class:`VerifyResult`; ``ok`` is true only for ``MatchStatus.MATCHED``.

        Raises:
            ValidationError: a malformed id or code (nothing is sent).
            OutcomeUnknownError: the record shows a match this call cannot prove is
                its own (an earlier or concurrent verify of the same id).
            TransportError, HTTPStatusError, ServerError, DecodeError: the outcome
                could not be learned (the first ambiguous error; what stopped the
                record read is its cause).
            APIError: any other rejection.
        """
        vid = v.verification_id("verification_id", verification_id)
        code = v.code("code", code, 4, 10)
        secrets = Secrets()
        secrets.add(code)
        with self._port.in_flight(("verify", vid)) as ticket:
            return await self._port.request(
                self._call(
                    "POST",
                    "/verification/verify",
                    body={"verificationId": vid, "code": code},
                    secrets=secrets,
                    cast=VerifyResult,
                    kind=CallKind.UNSAFE,
                    check=_has_match_status,
                    resolver=_VerifyResolver(self._port, vid, ticket),
                )
            )

    @property
    def with_raw_response(self) -> VerificationsWithRawResponse:
        """These methods, returning :class:`RawResponse` (the HTTP answer beside the model)."""
        return VerificationsWithRawResponse(Verifications(self._port.raw()))


class VerificationsWithRawResponse(RawView):
    """``client.verifications`` methods that return :class:`RawResponse`."""

    __slots__ = ()

    @raw_of(Verifications.send)
    def send(self) -> None:
        """:meth:`Verifications.send`, returning :class:`RawResponse`."""

    @raw_of(Verifications.send_code)
    def send_code(self) -> None:
        """:meth:`Verifications.send_code`, returning :class:`RawResponse`."""

    @raw_of(Verifications.resend)
    def resend(self) -> None:
        """:meth:`Verifications.resend`, returning :class:`RawResponse`."""

    @raw_of(Verifications.verify)
    def verify(self) -> None:
        """:meth:`Verifications.verify`, returning :class:`RawResponse`."""


def _has_match_status(result: VerifyResult) -> None:
    if result.matched is None:
        # status "0" without a verdict: the verify may or may not have been applied.
        raise DecodeError(
            "POST /verification/verify answered without a match status",
            method="POST",
            path="/verification/verify",
        )


class _VerifyResolver:
    """Learns from the record what became of a verify whose answer was lost."""

    __slots__ = ("_older_match", "_port", "_ticket", "_vid")

    def __init__(self, port: ClientPort, vid: str, ticket: Ticket) -> None:
        self._port = port
        self._vid = vid
        self._ticket = ticket
        #: The record showed a match made before this call began.
        self._older_match = False

    def lookup(self, state: CallState) -> Call[Record]:
        """The record read (``GET /verification/record/{id}``)."""
        why = type(state.unknown).__name__
        logger.info("verify: %s, resolving the outcome from the record", why)
        return record_call(self._vid)

    def recheck(self, result: VerifyResult) -> bool:
        """After a lost answer, ALREADY_USED may mean that the lost attempt used the code
        (unless the record already showed a match older than this call)."""
        return result.matched == MatchStatus.ALREADY_USED and not self._older_match

    def judge(
        self, found: Record, answered: VerifyResult | None, state: CallState
    ) -> VerifyResult | Repeat | ItnioError:
        """MATCHED if the record shows this call's match. After a lost answer, REPEAT
        if it shows no match this call could have made; when rechecking an
        ALREADY_USED answer, that answer if the match is older than the call.
        Else :class:`OutcomeUnknownError`."""
        unknown = state.unknown
        assert unknown is not None  # a lookup follows an unknown outcome
        summary = found.verifications
        if summary.matched == MatchStatus.MATCHED:
            when = self._when(summary, state)
            if when == "after" and self._ticket.alone():
                return self._matched(summary)
            if when == "before":
                # An earlier call used the code: this one cannot have matched it, and a
                # second verify is answered ALREADY_USED or FAILED, which is the truth.
                self._older_match = True
                return REPEAT if answered is None else answered
        elif answered is None:
            return REPEAT
        return _unknown(unknown, self._vid)

    def _when(self, summary: VerificationSummary, state: CallState) -> str:
        """``"after"`` / ``"before"`` this call began, by the server's clock, or ``""``.

        The server stamps whole seconds and its clock is known only to about a
        second, so a match within ``_MARGIN`` seconds of the start is neither.
        """
        verified = summary.verified_date
        if verified is None:
            return ""
        since = self._port.server_time(state.started)
        at = verified.timestamp()
        if at >= since + _MARGIN:
            return "after"
        if at < since - _MARGIN:
            return "before"
        return ""

    def _matched(self, summary: VerificationSummary) -> VerifyResult:
        return VerifyResult(
            verification_id=self._vid,
            to=summary.ori_receiver,
            channel=summary.channel,
            matched=MatchStatus.MATCHED,
        )


def _unknown(error: ItnioError, vid: str) -> OutcomeUnknownError:
    unknown = OutcomeUnknownError(
        "POST /verification/verify: the answer was lost and the record shows a match "
        "this call cannot prove is its own (an earlier or concurrent verify of the same "
        "verification may have made it, or the record cannot tell); ask the user for a "
        "new code",
        method="POST",
        path="/verification/verify",
    )
    unknown.__cause__ = error
    return unknown
