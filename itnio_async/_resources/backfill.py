"""``client.backfill``: report conversions ("backfill") to ITNIO.

Despite the vendor's word "callback", these are ordinary signed calls from you to ITNIO.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .. import _validation as v
from .._call import raw_of
from .._redact import Secrets
from .._retry import CallKind
from ._base import RawView, Resource, compact

__all__ = ["Backfill", "BackfillWithRawResponse"]


class Backfill(Resource):
    """``client.backfill``: conversion reports (``/postback/backfill``, ``/backfillRate``).

    Tell ITNIO which codes your users entered, one by one or as a rate, so it can
    measure delivery per route. Both calls answer nothing but success, and both
    follow the send rule: retried only when the request provably never left.
    """

    __slots__ = ()

    async def report(
        self,
        *,
        app_id: str,
        verification_id: str,
        time: datetime | int | str,
        number: str | None = None,
    ) -> None:
        """Report that the end user entered a code (``POST /postback/backfill``).

        Args:
            app_id: application id (4–32 characters).
            verification_id: id of the verification.
            time: when it happened: an aware ``datetime`` or epoch milliseconds
                (``int`` or digits), sent as a millisecond string.
            number: the end user's number (10–14 digits with the country code, as
                written for ``to`` in a send); sent only when given.

        Raises:
            ValidationError: a broken rule, such as a naive ``datetime`` (nothing is sent).
            NotFoundError: no verification has that id in that app (-24).
            APIError: any other rejection.
        """
        secrets = Secrets()
        if number is not None:
            number = v.phone("number", number)
            secrets.add(number, phone=True)
        body = compact(
            appId=v.check_app_id("app_id", app_id),
            verificationId=v.verification_id("verification_id", verification_id),
            number=number,
            time=v.epoch_millis("time", time),
        )
        # Returned (None) so that with_raw_response gets its RawResponse.
        return await self._port.request(
            self._call(
                "POST", "/postback/backfill", body=body, secrets=secrets, kind=CallKind.UNSAFE
            )
        )

    async def report_rate(
        self,
        *,
        app_id: str,
        mcc: int | str,
        backfill_now: int | Decimal | str,
        callback_time: datetime | str,
        backfill_number: int | Decimal | str | None = None,
        backfill_cardinal_number: int | Decimal | str | None = None,
    ) -> None:
        """Report an aggregate conversion rate (``POST /backfillRate``).

        Args:
            app_id: application id (4–32 characters).
            mcc: mobile country code, 0–999 (``int`` or digits), sent as a string.
            backfill_now: rate in percent, 0–100 with at most two decimals.
            callback_time: an aware ``datetime`` or an ISO-8601 string with an offset.
            backfill_number: count of entered codes (integer ≥ 0), sent as a string.
            backfill_cardinal_number: count the rate is computed on (integer ≥ 0),
                sent as a string.

        Raises:
            ValidationError: a broken rule, such as a rate with three decimals
                (nothing is sent).
            APIError: the API rejected the report.
        """
        body = compact(
            appId=v.check_app_id("app_id", app_id),
            mcc=v.numeric_string("mcc", mcc, lo=Decimal(0), hi=Decimal(999), integer=True),
            backfillNumber=None
            if backfill_number is None
            else v.numeric_string("backfill_number", backfill_number, lo=Decimal(0), integer=True),
            backfillCardinalNumber=None
            if backfill_cardinal_number is None
            else v.numeric_string(
                "backfill_cardinal_number", backfill_cardinal_number, lo=Decimal(0), integer=True
            ),
            backfillNow=v.numeric_string(
                "backfill_now", backfill_now, lo=Decimal(0), hi=Decimal(100), places=2
            ),
            callbackTime=v.iso_time("callback_time", callback_time),
        )
        return await self._port.request(
            self._call("POST", "/backfillRate", body=body, kind=CallKind.UNSAFE)
        )

    @property
    def with_raw_response(self) -> BackfillWithRawResponse:
        """These methods, returning :class:`RawResponse` (the HTTP answer beside ``None``)."""
        return BackfillWithRawResponse(Backfill(self._port.raw()))


class BackfillWithRawResponse(RawView):
    """``client.backfill`` methods that return :class:`RawResponse`."""

    __slots__ = ()

    @raw_of(Backfill.report)
    def report(self) -> None:
        """:meth:`Backfill.report`, returning :class:`RawResponse`."""

    @raw_of(Backfill.report_rate)
    def report_rate(self) -> None:
        """:meth:`Backfill.report_rate`, returning :class:`RawResponse`."""
