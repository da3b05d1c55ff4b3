"""``client.records``: delivery and verification records, one at a time or in bulk."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Iterable
from typing import Any

from .. import _validation as v
from .._bulk import StopRule, in_completion_order, in_input_order, run_bulk
from .._call import Call, raw_of
from .._exceptions import ItnioError, MismatchedAnswerError, ValidationError
from .._models import LookupFailed, Record, RecordFound, RecordLookup
from .._redact import scrub_traceback
from .._retry import CallKind
from ._base import RawView, Resource, compact

__all__ = ["Records", "RecordsWithRawResponse", "record_call"]


def record_call(verification_id: object) -> Call[Record]:
    """The call that reads a record by verificationId (also used by ``verify``)."""
    vid = v.verification_id("verification_id", verification_id)
    call: Call[Record] = Resource._call(
        "GET",
        "/verification/record/{verificationId}",
        ids={"verificationId": v.path_id("verification_id", vid)},
        cast=Record,
        kind=CallKind.SAFE,
    )

    def check(record: Record) -> None:
        if record.verification_id != vid:
            raise MismatchedAnswerError(
                f"GET {call.path}: the answer is the record of another verification",
                method="GET",
                path=call.path,
            )

    call.check = check
    return call


class Records(Resource):
    """``client.records``: delivery and verification records, by verificationId or by
    your order id, one at a time or in bulk.

    A :class:`Record` tells whether and when the code was verified
    (``record.verifications``) and what each channel did (``sms``, ``call``, ``sna``).
    Every lookup is a read: it is retried on any transport failure, HTTP
    408/429/5xx and -18.
    """

    __slots__ = ()

    async def get(self, verification_id: str) -> Record:
        """Read the record of one verification (``GET /verification/record/{verificationId}``).

        ``sms``, ``call`` and ``sna`` are always lists, whatever shape the API sends.

        Args:
            verification_id: the id a send, send_code or resend returned.

        Returns:
            The :class:`Record`.

        Raises:
            ValidationError: an empty or blank id (nothing is sent).
            NotFoundError: no verification has that id (-24).
            MismatchedAnswerError: the answer is the record of another id (retried first).
        """
        return await self._port.request(record_call(verification_id))

    async def get_by_order_id(self, order_id: str, *, app_id: str | None = None) -> Record:
        """Read a record by your own ``order_id`` (``POST /verification/orderId/record``).

        Args:
            order_id: the reference given at send time, 1–64 characters.
            app_id: application id (4–32 characters); sent only when given.

        Returns:
            The :class:`Record`.

        Raises:
            ValidationError: a malformed order id or app id (nothing is sent).
            NotFoundError: no verification has that order id (-24).
            MismatchedAnswerError: the answer is the record of another order id
                (retried first).
        """
        return await self._lookup(order_id, app_id, bulk=False)

    def _lookup(self, order_id: object, app_id: object, *, bulk: bool) -> Awaitable[Record]:
        """The request path's coroutine for one lookup (returned, not awaited here: one
        coroutine less per lookup in a bulk run)."""
        return self._port.request(_lookup_call(order_id, app_id, bulk=bulk))

    @property
    def with_raw_response(self) -> RecordsWithRawResponse:
        """``get`` and ``get_by_order_id``, returning :class:`RawResponse`.

        The bulk helpers have no raw form: each of their lookups is a call of its own.
        """
        return RecordsWithRawResponse(Records(self._port.raw()))

    async def iter_by_order_ids(
        self,
        order_ids: Iterable[str] | AsyncIterable[str],
        *,
        app_id: str | None = None,
        concurrency: int = 16,
        max_per_second: float | None = None,
    ) -> AsyncGenerator[RecordLookup, None]:
        """Look up many order ids concurrently, yielding results as they complete.

        ``order_ids`` is read lazily: an id is taken from it only when a request slot
        is free, and no more than ``concurrency`` ids are ever taken but not yet
        yielded, so a generator of millions of ids runs in constant memory, and a
        consumer that stops reading stops the lookups. Every id yields exactly one
        :class:`RecordLookup` (duplicates each get their own): a :class:`RecordFound`
        (``ok`` true, ``record`` set) on success, a :class:`LookupFailed` (``ok``
        false, ``error`` set) on failure — a :class:`ValidationError` for a malformed
        id, an :class:`APIError`, :class:`HTTPStatusError`, :class:`TransportError` or
        :class:`DecodeError` otherwise. One failing id never stops the others; each
        lookup has the client's retries and deadline.

        Two kinds of error end the run instead, because every other id would fail
        the same way: an error about the account, not the id
        (:class:`AuthenticationError` -1, :class:`IPNotAllowedError` -2,
        :class:`InsufficientBalanceError` -10, or an :class:`HTTPStatusError` whose
        body carried one of those statuses), and an unreachable API: 10 lookups in a
        row (in completion order) that ended in a :class:`TransportError`, each after
        its own retries, with no answer from the server in between. Then no new id is
        read, the lookups in flight are cancelled (they yield nothing), the lookups
        that completed before are yielded, and the stopping error itself is raised
        (``except AuthenticationError:`` works). The lookup that got it is not yielded.

        At most ``concurrency`` requests are in flight, and never more than the
        connection pool holds: with the pool the SDK creates (100 connections), a
        larger ``concurrency`` runs 100 at a time. With your own ``http_client`` or
        ``transport``, keep ``concurrency`` at or below its ``max_connections``
        (httpx's default is 100): lookups wait for a free connection without a pool
        timeout (only the call's deadline bounds that wait), so a larger value never
        fails, it only queues inside the pool, which costs CPU per request there.

        Breaking out of the loop, an exception in it, or cancelling the task cancels
        the in-flight requests and leaves no task behind. After a plain ``break``,
        that happens when the generator is finalised (at once in CPython); wrap it in
        ``contextlib.aclosing`` to make it happen at the ``break`` on every Python.
        An exception raised by ``order_ids`` itself ends the iteration with it.

        Args:
            order_ids: any iterable or async iterable of order ids (1–64 characters).
            app_id: application id sent with every lookup.
            concurrency: requests in flight at most (1–1000).
            max_per_second: optional cap on lookups started per second (retries
                are not counted); starts are spaced ``1 / max_per_second`` apart.

        Yields:
            One :class:`RecordLookup` per input id, in completion order.

        Raises:
            ValidationError: ``concurrency``, ``max_per_second``, ``app_id`` or the
                type of ``order_ids`` is invalid (before any request is sent).
            ItnioError: the client is closed.
            AuthenticationError: (or ``IPNotAllowedError``, ``InsufficientBalanceError``,
                ``HTTPStatusError``, ``TransportError``) the run was stopped, see above.
        """
        # aclosing: closing this generator must close the inner one now, not at its GC.
        async with contextlib.aclosing(
            in_completion_order(self._iter_indexed(order_ids, app_id, concurrency, max_per_second))
        ) as lookups:
            async for lookup in lookups:
                yield lookup

    async def get_many_by_order_ids(
        self,
        order_ids: Iterable[str] | AsyncIterable[str],
        *,
        app_id: str | None = None,
        concurrency: int = 16,
        max_per_second: float | None = None,
    ) -> builtins.list[RecordLookup]:
        """As :meth:`iter_by_order_ids`, but return every result at once, in input order.

        The results are held in memory until the last one arrives; for very large
        inputs prefer :meth:`iter_by_order_ids`.

        Args:
            order_ids: any iterable or async iterable of order ids (1–64 characters).
            app_id: application id sent with every lookup.
            concurrency: requests in flight at most (1–1000).
            max_per_second: optional cap on lookups started per second.

        Returns:
            One :class:`RecordLookup` per input id (duplicates included), in input order.

        Raises:
            BulkAbortedError: the run was stopped by an error about the account or by
                an unreachable API (see :meth:`iter_by_order_ids`); its ``error`` is
                the stopping error (also its ``__cause__``), its ``completed`` the
                lookups that completed, in input order.
            ValidationError: as for :meth:`iter_by_order_ids`.
        """
        return await in_input_order(
            self._iter_indexed(order_ids, app_id, concurrency, max_per_second)
        )

    def _iter_indexed(
        self,
        order_ids: Iterable[Any] | AsyncIterable[Any],
        app_id: str | None,
        concurrency: int,
        max_per_second: float | None,
    ) -> AsyncGenerator[tuple[int, RecordLookup], None]:
        """Check the options; the run, yielding ``(input index, lookup)`` as lookups complete."""
        v.check_int("concurrency", concurrency, 1, 1000)
        if max_per_second is not None and not v.is_positive_number(max_per_second):
            raise ValidationError(
                "max_per_second", "a positive number or None", repr(max_per_second)
            )
        if app_id is not None:
            v.check_app_id("app_id", app_id)
        self._port.check_open()
        pool_size = self._port.pool_size()
        if pool_size is not None:
            # The pool the SDK creates serves pool_size requests at once; more would
            # only queue inside it, where waiting costs CPU per request.
            concurrency = min(concurrency, pool_size)

        async def lookup_one(order_id: object) -> RecordLookup:
            try:
                record = await self._lookup(order_id, app_id, bulk=True)
            except ItnioError as exc:
                scrub_traceback(exc)
                return LookupFailed(order_id=_as_text(order_id), error=exc)
            return RecordFound(order_id=_as_text(order_id), record=record)

        return run_bulk(
            order_ids,
            lookup_one,
            concurrency=concurrency,
            max_per_second=max_per_second,
            stop=StopRule(),
        )


def _lookup_call(order_id: object, app_id: object, *, bulk: bool) -> Call[Record]:
    """The call that reads a record by order id (validated; answered only by that id's)."""
    wanted = v.lookup_order_id("order_id", order_id)
    body = compact(
        appId=None if app_id is None else v.check_app_id("app_id", app_id),
        orderId=wanted,
    )

    def check(record: Record) -> None:
        if record.order_id != wanted:
            raise MismatchedAnswerError(
                "POST /verification/orderId/record: the answer is the record of another order id",
                method="POST",
                path="/verification/orderId/record",
            )

    return Resource._call(
        "POST",
        "/verification/orderId/record",
        body=body,
        cast=Record,
        kind=CallKind.SAFE,
        check=check,
        # Bulk lookups queue for a connection by design; the deadline bounds that wait.
        queue=bulk,
    )


class RecordsWithRawResponse(RawView):
    """``client.records`` methods that return :class:`RawResponse`."""

    __slots__ = ()

    @raw_of(Records.get)
    def get(self) -> None:
        """:meth:`Records.get`, returning :class:`RawResponse`."""

    @raw_of(Records.get_by_order_id)
    def get_by_order_id(self) -> None:
        """:meth:`Records.get_by_order_id`, returning :class:`RawResponse`."""


def _as_text(order_id: object) -> str:
    """The order id as given, as text (``RecordLookup.order_id`` is always a string)."""
    return order_id if isinstance(order_id, str) else str(order_id)
