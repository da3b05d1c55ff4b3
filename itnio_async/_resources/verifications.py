"""``client.verifications``: send codes, resend them, and verify what the user typed.

Send-safety: ``send``, ``send_code`` and ``resend`` cost money and reach a person,
so they are retried only when the request provably never left this process.
``verify`` consumes the code: after an ambiguous failure (the request may have
reached the server) the outcome is resolved by reading the record instead of
blindly re-verifying, so a right code is never reported as wrong or already used.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .. import _validation as v
from .._exceptions import ItnioError
from .._logging import logger
from .._models import Channel, MatchStatus, SendResult, VerifyResult
from .._retry import CallKind, outcome_unknown
from ._base import Resource, compact

__all__ = ["Verifications"]

#: Seconds of ``Date`` / ``verifiedDate`` rounding allowed when telling this call's
#: match from an earlier one.
_SLACK = 5.0


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
    **checked: object,
) -> dict[str, Any]:
    """The body of ``send`` and ``sendRule`` (``checked``: fields validated by the caller)."""
    return compact(
        appId=v.check_app_id("app_id", app_id),
        templateId=None if template_id is None else v.int_id("template_id", template_id),
        flowId=None if flow_id is None else v.int_id("flow_id", flow_id),
        to=v.phone("to", to),
        channel=_channel(channel),
        orderId=_order_id(order_id),
        **checked,
    )


class Verifications(Resource):
    """Sending and checking verification codes (``/verification/...``)."""

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
            to: destination, 10–14 digits with country code, no ``+``.
            channel: ``sms`` (server default), ``call`` or ``sna``.
            flow_id: task flow to apply for fallbacks.
            order_id: your own reference, at most 64 characters, globally unique.

        Returns:
            A :class:`SendResult` with the new ``verification_id``.

        Raises:
            ValidationError, SendLimitError, InsufficientBalanceError, APIError, TransportError.
        """
        body = _send_body(
            app_id=app_id,
            template_id=v.int_id("template_id", template_id),  # required here
            to=to,
            channel=channel,
            flow_id=flow_id,
            order_id=order_id,
        )
        return await self._client._request(
            "POST", "/verification/send", body=body, cast=SendResult, kind=CallKind.UNSAFE
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

        Args:
            code: the code to deliver, 1–10 characters (``verify`` accepts only 4–10).
            other arguments: as :meth:`send` (``template_id`` is optional here).

        Returns:
            A :class:`SendResult`.
        """
        body = _send_body(
            app_id=app_id,
            template_id=template_id,
            to=to,
            channel=channel,
            flow_id=flow_id,
            order_id=order_id,
            code=v.code("code", code, 1, 10),
        )
        return await self._client._request(
            "POST", "/verification/sendRule", body=body, cast=SendResult, kind=CallKind.UNSAFE
        )

    async def resend(
        self, verification_id: str, *, channel: Channel | str | None = None
    ) -> SendResult:
        """Resend an earlier code (``POST /verification/resend``).

        Returns:
            A :class:`SendResult` carrying a **new** ``verification_id``; use it from now on.
        """
        body = compact(
            verificationId=v.verification_id("verification_id", verification_id),
            channel=_channel(channel),
        )
        return await self._client._request(
            "POST", "/verification/resend", body=body, cast=SendResult, kind=CallKind.UNSAFE
        )

    async def verify(self, verification_id: str, code: str) -> VerifyResult:
        """Check the code a user typed (``POST /verification/verify``).

        A wrong, expired or already-used code is not an exception: inspect
        ``result.matched`` or ``result.ok``. If the answer is lost (read timeout,
        dropped connection, HTTP 408/429/5xx, -18) the SDK reads the record to learn
        whether the code matched before trying again, so a right code is never
        reported as wrong or already used. Verify is sent at most ``1 + max_retries``
        times, all within the client's deadline.

        Args:
            verification_id: id from send / send_code / resend.
            code: what the user typed, 4–10 characters.

        Returns:
            A :class:`VerifyResult`; ``ok`` is true only for ``MatchStatus.MATCHED``.

        Raises:
            ValidationError: a malformed id or code (nothing is sent).
            TransportError, HTTPStatusError, ServerError: the outcome could not be
                learned (the first ambiguous error; a failed record lookup is its cause).
            APIError: any other rejection.
        """
        vid = v.verification_id("verification_id", verification_id)
        body = {"verificationId": vid, "code": v.code("code", code, 4, 10)}
        client = self._client
        first_error: ItnioError | None = None
        reverifies = 0
        with client._call_deadline() as deadline_at:
            started = asyncio.get_running_loop().time()
            while True:
                try:
                    result = await client._request(
                        "POST",
                        "/verification/verify",
                        body=body,
                        cast=VerifyResult,
                        kind=CallKind.UNSAFE,
                    )
                except ItnioError as exc:
                    if not outcome_unknown(exc):
                        raise
                    first_error = first_error or exc
                    logger.info(
                        "verify: %s, resolving the outcome from the record", type(exc).__name__
                    )
                    matched = await self._recorded_match(vid, first_error, started)
                    if matched is not None:
                        return matched
                    # The record says this code has not matched: verifying again is safe.
                    reverifies += 1
                    if reverifies > client.max_retries or not await client._sleep_before_retry(
                        exc, reverifies, deadline_at, "POST", "/verification/verify"
                    ):
                        raise first_error from first_error.__cause__
                    continue
                if first_error is not None and result.matched == MatchStatus.ALREADY_USED:
                    # The attempt whose answer was lost may have consumed the code.
                    matched = await self._recorded_match(vid, first_error, started)
                    if matched is not None:
                        return matched
                return result

    async def _recorded_match(
        self, vid: str, error: ItnioError, started: float
    ) -> VerifyResult | None:
        """A MATCHED result if the record says this call's code matched, else ``None``.

        Args:
            vid: the verification id.
            error: the ambiguous error being resolved; raised (with the lookup failure
                as its cause) when the record cannot be read.
            started: loop time when this verify started. A match the record dates
                clearly before that moment (by the server's clock, learned from the
                ``Date`` headers, else by the signing clock) belongs to an earlier
                call, not this one.
        """
        try:
            record = await self._client.records.get(vid)
        except ItnioError as lookup_error:
            raise error from lookup_error
        summary = record.verifications
        if summary is None or summary.matched != MatchStatus.MATCHED:
            return None
        verified = summary.verified_date
        # A match from before this call (the code was used earlier, and this call may
        # carry any code) must never turn an unknown outcome into success.
        since = self._client._server_time(started)
        if verified is not None and verified.timestamp() < since - _SLACK:
            return None
        return VerifyResult(
            verification_id=record.verification_id or vid,
            to=summary.ori_receiver,
            channel=summary.channel,
            matched=MatchStatus.MATCHED,
        )
