"""Bulk machinery: a lazy id source, a start-rate limiter, and a pool of workers.

``run_bulk`` knows nothing of HTTP or of the API: it pulls ids lazily, runs at most
``concurrency`` lookups at once through the function it is given, and yields
``(input index, result)`` pairs as they complete. ``records.iter_by_order_ids``
and ``get_many_by_order_ids`` are built on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from typing import Any, TypeVar

from ._exceptions import ValidationError

__all__ = ["RateLimiter", "run_bulk"]

R = TypeVar("R")

_DONE = object()


class _IdSource:
    """Pulls ids lazily from a sync or async iterable; safe for concurrent workers."""

    __slots__ = ("_aiter", "_exhausted", "_index", "_iter", "_lock")

    def __init__(self, order_ids: Iterable[Any] | AsyncIterable[Any]) -> None:
        self._index = 0
        self._exhausted = False
        # An async iterator cannot be advanced by two workers at once.
        self._lock = asyncio.Lock()
        self._aiter: AsyncIterator[Any] | None = None
        self._iter: Iterator[Any] | None = None
        if isinstance(order_ids, (str, bytes)):
            raise ValidationError(
                "order_ids", "an iterable of order ids, not a single string", repr(order_ids[:20])
            )
        if isinstance(order_ids, AsyncIterable):
            self._aiter = aiter(order_ids)
        elif isinstance(order_ids, Iterable):
            self._iter = iter(order_ids)
        else:
            raise ValidationError(
                "order_ids", "an iterable or async iterable", type(order_ids).__name__
            )

    async def next(self) -> tuple[int, Any] | None:
        """The next ``(index, id)``, or ``None`` once the input is exhausted.

        An exception from the input marks it exhausted (so the other workers stop
        pulling) and propagates.
        """
        if self._exhausted:
            return None
        try:
            if self._iter is not None:
                item = next(self._iter, _DONE)
            elif self._aiter is not None:
                async with self._lock:
                    if self._exhausted:
                        return None
                    item = await anext(self._aiter, _DONE)
            else:  # pragma: no cover - __init__ sets one of the two
                return None
        except BaseException:
            self._exhausted = True
            raise
        if item is _DONE:
            self._exhausted = True
            return None
        index = self._index
        self._index += 1
        return index, item


class RateLimiter:
    """Spaces starts ``1 / per_second`` apart, shared by all workers of one bulk run.

    Starts are never bunched up to catch up after a pause, so a window of ``t``
    seconds holds at most ``t * per_second`` of them, rounded up. ``clock`` and ``sleep`` are
    injectable for tests (default: the running loop's clock and ``asyncio.sleep``).
    """

    __slots__ = ("_clock", "_interval", "_next", "_sleep")

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock or asyncio.get_running_loop().time
        self._sleep = sleep
        self._next = float("-inf")

    async def wait(self) -> None:
        """Return at this caller's start slot (at once when none is pending)."""
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


async def run_bulk(
    order_ids: Iterable[Any] | AsyncIterable[Any],
    lookup_one: Callable[[Any], Awaitable[R]],
    *,
    concurrency: int,
    max_per_second: float | None,
) -> AsyncGenerator[tuple[int, R], None]:
    """Yield ``(input index, lookup_one(id))`` as lookups complete, from a pool of workers.

    A worker holds one of ``concurrency`` slots from the moment it takes an id
    until the consumer has taken that id's result, which bounds both the
    requests in flight and how far the input is read ahead of the consumer.
    Workers are started on demand, so a short input starts few tasks. Closing the
    generator (or cancelling its consumer) cancels the workers and waits for them.
    """
    source = _IdSource(order_ids)
    limiter = RateLimiter(max_per_second) if max_per_second is not None else None
    slots = asyncio.Semaphore(concurrency)
    # Never holds more than `concurrency` results (the slots bound it) plus one
    # end marker per worker.
    done: asyncio.Queue[tuple[int, R] | BaseException | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    workers: list[asyncio.Task[None]] = []

    async def worker() -> None:
        try:
            while True:
                await slots.acquire()
                item = await source.next()
                if item is None:
                    slots.release()
                    break
                if len(workers) < concurrency:
                    workers.append(loop.create_task(worker()))
                if limiter is not None:
                    await limiter.wait()
                done.put_nowait((item[0], await lookup_one(item[1])))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it
            done.put_nowait(exc)
        else:
            done.put_nowait(None)

    workers.append(loop.create_task(worker()))
    finished = 0
    try:
        while finished < len(workers):
            got = await done.get()
            if got is None:
                finished += 1
            elif isinstance(got, BaseException):
                raise got
            else:
                slots.release()
                yield got
    finally:
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)
