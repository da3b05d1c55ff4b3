"""``client.records``: delivery and verification records, one at a time or in bulk."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

from .. import _validation as v
from .._client import NOT_GIVEN
from .._exceptions import ItnioError, ValidationError
from .._models import Record, RecordLookup
from .._retry import CallKind
from ._base import Resource, compact

__all__ = ["Records"]

_DONE = object()


class _IdSource:
    """Pulls ids lazily from a sync or async iterable; safe for concurrent workers."""

    def __init__(self, order_ids: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._lock = asyncio.Lock()
        self._index = 0
        self._exhausted = False
        if isinstance(order_ids, (str, bytes)):
            raise ValidationError(
                "order_ids", "an iterable of order ids, not a single string", repr(order_ids[:20])
            )
        if hasattr(order_ids, "__aiter__"):
            self._aiter: AsyncIterator[Any] | None = aiter(order_ids)  # type: ignore[arg-type]
            self._iter = None
        elif hasattr(order_ids, "__iter__"):
            self._aiter = None
            self._iter = iter(order_ids)
        else:
            raise ValidationError(
                "order_ids", "an iterable or async iterable", type(order_ids).__name__
            )

    async def next(self) -> tuple[int, Any] | None:
        """The next ``(index, id)``, or ``None`` when the input is exhausted."""
        if self._exhausted:
            return None
        if self._iter is not None:
            item = next(self._iter, _DONE)
        else:
            assert self._aiter is not None
            async with self._lock:  # an async generator cannot be advanced concurrently
                if self._exhausted:
                    return None
                item = await anext(self._aiter, _DONE)
        if item is _DONE:
            self._exhausted = True
            return None
        index = self._index
        self._index += 1
        return index, item


class _RateLimiter:
    """Spaces request starts ``1 / per_second`` apart (shared by all workers)."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


class Records(Resource):
    """Delivery and verification records, by verificationId or by your order id."""

    __slots__ = ()

    async def get(self, verification_id: str) -> Record:
        """Read the record of one verification (``GET /verification/record/{verificationId}``).

        ``sms``, ``call`` and ``sna`` are always lists, whatever shape the API sends.
        """
        vid = v.verification_id("verification_id", verification_id)
        return await self._client._request(
            "GET",
            f"/verification/record/{v.path_id('verification_id', vid)}",
            cast=Record,
            kind=CallKind.SAFE,
        )

    async def get_by_order_id(self, order_id: str, *, app_id: str | None = None) -> Record:
        """Read a record by your own ``order_id`` (``POST /verification/orderId/record``).

        Args:
            order_id: the reference given at send time, 1–64 characters.
            app_id: application id (4–32 characters); sent only when given.
        """
        return await self._lookup(order_id, app_id, bulk=False)

    async def _lookup(self, order_id: object, app_id: object, *, bulk: bool) -> Record:
        body = compact(
            appId=None if app_id is None else v.check_app_id("app_id", app_id),
            orderId=v.lookup_order_id("order_id", order_id),
        )
        return await self._client._request(
            "POST",
            "/verification/orderId/record",
            body=body,
            cast=Record,
            kind=CallKind.SAFE,
            # Bulk lookups queue for a connection by design; only the deadline bounds that wait.
            pool_timeout=None if bulk else NOT_GIVEN,
        )

    async def iter_by_order_ids(
        self,
        order_ids: Iterable[str] | AsyncIterable[str],
        *,
        app_id: str | None = None,
        concurrency: int = 16,
        max_per_second: float | None = None,
    ) -> AsyncIterator[RecordLookup]:
        """Look up many order ids concurrently, yielding results as they complete.

        ``order_ids`` is read lazily (a generator of millions of ids runs in constant
        memory); at most ``concurrency`` requests are in flight. Every id yields
        exactly one :class:`RecordLookup` (duplicates each get their own): ``record``
        on success, ``error`` (an :class:`ItnioError`, including ``ValidationError``
        for a malformed id) on failure. Each lookup has the client's retries.

        ``concurrency`` should stay at or below the connection pool size (100 for the
        pool the SDK creates; ``max_connections`` of your own ``http_client``). Lookups
        wait for a free connection without a pool timeout, so a larger value only queues.

        Breaking out of the loop or cancelling the task cancels the in-flight requests;
        use ``contextlib.aclosing`` to make that happen at the ``break``.

        Args:
            order_ids: any iterable or async iterable of order ids.
            app_id: application id sent with every lookup.
            concurrency: requests in flight at most (1–1000).
            max_per_second: optional cap on lookups started per second.
        """
        async for _, lookup in self._iter_indexed(order_ids, app_id, concurrency, max_per_second):
            yield lookup

    async def get_many_by_order_ids(
        self,
        order_ids: Iterable[str] | AsyncIterable[str],
        *,
        app_id: str | None = None,
        concurrency: int = 16,
        max_per_second: float | None = None,
    ) -> builtins.list[RecordLookup]:
        """As :meth:`iter_by_order_ids`, but return every result in input order."""
        results: dict[int, RecordLookup] = {}
        async for index, lookup in self._iter_indexed(
            order_ids, app_id, concurrency, max_per_second
        ):
            results[index] = lookup
        return [results[i] for i in range(len(results))]

    async def _iter_indexed(
        self,
        order_ids: Iterable[Any] | AsyncIterable[Any],
        app_id: str | None,
        concurrency: int,
        max_per_second: float | None,
    ) -> AsyncIterator[tuple[int, RecordLookup]]:
        v.check_int("concurrency", concurrency, 1, 1000)
        if max_per_second is not None and (
            isinstance(max_per_second, bool)
            or not isinstance(max_per_second, (int, float))
            or max_per_second <= 0
        ):
            raise ValidationError(
                "max_per_second", "a positive number or None", repr(max_per_second)
            )
        if app_id is not None:
            v.check_app_id("app_id", app_id)
        self._client._check_open()
        source = _IdSource(order_ids)
        limiter = _RateLimiter(max_per_second) if max_per_second else None
        # Bounded: workers stop pulling ids while the consumer is not reading.
        results: asyncio.Queue[tuple[int, RecordLookup] | BaseException | None] = asyncio.Queue(
            maxsize=concurrency
        )

        async def worker() -> None:
            try:
                while (item := await source.next()) is not None:
                    index, order_id = item
                    if limiter is not None:
                        await limiter.wait()
                    try:
                        record = await self._lookup(order_id, app_id, bulk=True)
                        lookup = RecordLookup(order_id=_as_text(order_id), record=record)
                    except ItnioError as exc:
                        lookup = RecordLookup(order_id=_as_text(order_id), error=exc)
                    await results.put((index, lookup))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # noqa: BLE001 - a failing input iterable ends the run
                await results.put(exc)
                return
            await results.put(None)

        workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
        running = len(workers)
        try:
            while running:
                got = await results.get()
                if got is None:
                    running -= 1
                elif isinstance(got, BaseException):
                    raise got
                else:
                    yield got
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)


def _as_text(order_id: object) -> str:
    return order_id if isinstance(order_id, str) else str(order_id)
