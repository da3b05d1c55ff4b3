"""Bulk machinery: a lazy id source, a start-rate limiter, a pool of workers, and
the rule that ends a run early.

``run_bulk`` knows nothing of HTTP or of the API: it pulls ids lazily, runs at most
``concurrency`` lookups at once through the function it is given, and yields
``(input index, result)`` pairs as they complete; a ``stop`` function may end the
run at any completed result. ``records.iter_by_order_ids`` and
``get_many_by_order_ids`` are built on it, with :class:`StopRule` as ``stop``:

* an error about the account, not the id (status -1, -2 or -10), ends the run at once;
* :data:`MAX_TRANSPORT_FAILURES` lookups in a row that end in a ``TransportError``
  (each after its own retries), with no answer from the server in between, end it too.

Then no new id is taken, the lookups in flight are cancelled (and not reported),
the results completed before are delivered, and the stopping error is raised:
as itself by :func:`in_completion_order`, inside a ``BulkAbortedError`` that
carries the completed results by :func:`in_input_order`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from typing import Any, Final, Generic, TypeVar

from ._exceptions import (
    APIError,
    BulkAbortedError,
    DecodeError,
    HTTPStatusError,
    ItnioError,
    TransportError,
    ValidationError,
)
from ._models import RecordLookup

__all__ = [
    "ACCOUNT_STATUSES",
    "MAX_TRANSPORT_FAILURES",
    "RateLimiter",
    "RunStoppedError",
    "StopRule",
    "in_completion_order",
    "in_input_order",
    "run_bulk",
]

R = TypeVar("R")

#: API statuses that concern the account, not one id: -1 (``AuthenticationError``),
#: -2 (``IPNotAllowedError``) and -10 (``InsufficientBalanceError``). The first lookup
#: that gets one ends the run: every other id would get it too.
ACCOUNT_STATUSES: Final = frozenset({-1, -2, -10})
#: Lookups in a row (in completion order) that end in a ``TransportError``, each after
#: its own retries, with no answer from the server in between, after which a run
#: ends: the API is unreachable.
MAX_TRANSPORT_FAILURES: Final = 10

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

    @property
    def is_sync(self) -> bool:
        """Whether ids come from a plain iterable (:meth:`take` then needs no ``await``)."""
        return self._iter is not None

    def take(self) -> tuple[int, Any] | None:
        """:meth:`next` for a plain iterable, without a coroutine per id."""
        if self._exhausted or self._iter is None:
            return None
        try:
            item = next(self._iter, _DONE)
        except BaseException:
            self._exhausted = True
            raise
        return self._numbered(item)

    async def next(self) -> tuple[int, Any] | None:
        """The next ``(index, id)``, or ``None`` once the input is exhausted.

        An exception from the input marks it exhausted (so the other workers stop
        pulling) and propagates.
        """
        if self._iter is not None:
            return self.take()
        if self._exhausted or self._aiter is None:
            return None
        try:
            async with self._lock:
                if self._exhausted:
                    return None
                item = await anext(self._aiter, _DONE)
        except BaseException:
            self._exhausted = True
            raise
        return self._numbered(item)

    def _numbered(self, item: Any) -> tuple[int, Any] | None:
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


class RunStoppedError(Exception):
    """Raised by :func:`run_bulk` when its ``stop`` function ended the run (internal)."""

    def __init__(self, error: ItnioError) -> None:
        self.error = error
        super().__init__(f"bulk run stopped by {type(error).__name__}")


class StopRule:
    """Decides, result by result in completion order, whether a bulk run must end.

    Call it with each completed lookup: it returns the error that ends the run, or
    ``None``. An error carrying an :data:`ACCOUNT_STATUSES` status (an ``APIError``,
    or an ``HTTPStatusError`` whose body had that envelope status) ends it at once.
    A ``TransportError`` ends it when it is the ``max_transport_failures``-th in a row;
    a record or any other answer from the server resets the count (a
    ``ValidationError``, which sent nothing, neither counts nor resets).
    """

    __slots__ = ("_failures", "_max")

    def __init__(self, max_transport_failures: int = MAX_TRANSPORT_FAILURES) -> None:
        self._max = max_transport_failures
        self._failures = 0

    def __call__(self, lookup: RecordLookup) -> ItnioError | None:
        """The error that ends the run with this result, or ``None``."""
        error = lookup.error
        if error is None:
            self._failures = 0
            return None
        if isinstance(error, (APIError, HTTPStatusError)) and error.status in ACCOUNT_STATUSES:
            return error
        if isinstance(error, TransportError):
            self._failures += 1
            return error if self._failures >= self._max else None
        if isinstance(error, (APIError, HTTPStatusError, DecodeError)):
            self._failures = 0
        return None


async def in_completion_order(
    indexed: AsyncGenerator[tuple[int, R], None],
) -> AsyncGenerator[R, None]:
    """Yield the results of ``indexed`` (:func:`run_bulk`'s output) without their index.

    When the run was stopped, the error that stopped it is raised itself, after every
    result that completed before it. Closing this generator closes ``indexed``.
    """
    async with contextlib.aclosing(indexed):
        try:
            async for _, result in indexed:
                yield result
        except RunStoppedError as stopped:
            error = stopped.error
        else:
            return
    raise error


async def in_input_order(
    indexed: AsyncGenerator[tuple[int, RecordLookup], None],
) -> list[RecordLookup]:
    """Every result of ``indexed`` (:func:`run_bulk`'s output), in input order.

    Raises:
        BulkAbortedError: the run was stopped; it carries the stopping error and
            the results that completed, in input order.
    """
    results: dict[int, RecordLookup] = {}
    async with contextlib.aclosing(indexed):
        try:
            async for index, result in indexed:
                results[index] = result
        except RunStoppedError as stopped:
            error = stopped.error
        else:
            return [results[i] for i in range(len(results))]
    raise BulkAbortedError(error, [results[i] for i in sorted(results)]) from error


async def run_bulk(
    order_ids: Iterable[Any] | AsyncIterable[Any],
    lookup_one: Callable[[Any], Awaitable[R]],
    *,
    concurrency: int,
    max_per_second: float | None,
    stop: Callable[[R], ItnioError | None] | None = None,
) -> AsyncGenerator[tuple[int, R], None]:
    """Yield ``(input index, lookup_one(id))`` as lookups complete, from a pool of workers.

    At most ``concurrency`` ids are taken and not yet yielded at any moment: a worker
    takes an id only while fewer are out, so the requests in flight and how far the
    input is read ahead of the consumer are both bounded; a worker that would exceed
    it waits until the consumer takes a result. Workers are started on demand, so a
    short input starts few tasks. Closing the generator (or cancelling its consumer)
    cancels the workers and waits for them.

    ``stop(result)``, called as each lookup completes, may return an error to end
    the run: the other workers are cancelled at once (their lookups are not
    reported), the results that completed before are still yielded, then
    :class:`RunStoppedError` carrying the error is raised. The stopping result
    itself is not yielded.
    """
    run = _Run(order_ids, lookup_one, concurrency, max_per_second, stop)
    try:
        while True:
            got = await run.next_result()
            if got is None:
                return
            yield got
    finally:
        await run.close()


class _Run(Generic[R]):
    """The shared state of one :func:`run_bulk`: workers produce, the consumer takes.

    ``out`` counts ids taken whose results the consumer has not taken yet; it never
    exceeds ``concurrency``. No future is made while the consumer keeps up and no
    worker is held back: a result is a deque append, a wake-up only for a waiter.
    """

    __slots__ = (
        "_concurrency",
        "_consumer",
        "_ended",
        "_held",
        "_limiter",
        "_lookup",
        "_loop",
        "_out",
        "_ready",
        "_source",
        "_stop",
        "_sync",
        "_workers",
    )

    def __init__(
        self,
        order_ids: Iterable[Any] | AsyncIterable[Any],
        lookup_one: Callable[[Any], Awaitable[R]],
        concurrency: int,
        max_per_second: float | None,
        stop: Callable[[R], ItnioError | None] | None,
    ) -> None:
        self._source = _IdSource(order_ids)
        self._sync = self._source.is_sync
        self._lookup = lookup_one
        self._concurrency = concurrency
        self._limiter = RateLimiter(max_per_second) if max_per_second is not None else None
        self._stop = stop
        self._loop = asyncio.get_running_loop()
        #: Completed results (and what ends the run: an exception) not yet taken.
        self._ready: deque[tuple[int, R] | BaseException] = deque()
        self._out = 0
        self._ended = 0  # workers that have finished
        self._workers: list[asyncio.Task[None]] = []
        self._held: deque[asyncio.Future[None]] = deque()  # workers waiting for room
        self._consumer: asyncio.Future[None] | None = None
        self._start_worker()

    def _start_worker(self) -> None:
        self._workers.append(self._loop.create_task(self._worker()))

    async def next_result(self) -> tuple[int, R] | None:
        """The next completed ``(index, result)``, or ``None`` once every worker ended."""
        ready = self._ready
        while not ready:
            if self._ended == len(self._workers):
                return None
            waiter = self._consumer = self._loop.create_future()
            try:
                await waiter
            finally:
                self._consumer = None
        got = ready.popleft()
        if isinstance(got, BaseException):
            raise got
        self._out -= 1
        held = self._held
        while held:
            future = held.popleft()
            if not future.done():
                future.set_result(None)
                break
        return got

    def _deliver(self, item: tuple[int, R] | BaseException | None) -> None:
        """Hand ``item`` to the consumer (``None``: a worker has ended)."""
        if item is None:
            self._ended += 1
        else:
            self._ready.append(item)
        consumer = self._consumer
        if consumer is not None and not consumer.done():
            consumer.set_result(None)

    async def _room(self) -> None:
        """Wait until fewer than ``concurrency`` ids are out."""
        while self._out >= self._concurrency:
            future = self._loop.create_future()
            self._held.append(future)
            await future

    async def _worker(self) -> None:
        try:
            await self._drain()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it
            self._deliver(exc)
        else:
            self._deliver(None)

    async def _drain(self) -> None:
        source, limiter, stop = self._source, self._limiter, self._stop
        while True:
            if self._out >= self._concurrency:
                await self._room()
            item = source.take() if self._sync else await source.next()
            if item is None:
                return
            self._out += 1
            if len(self._workers) < self._concurrency:
                self._start_worker()
            if limiter is not None:
                await limiter.wait()
            result = await self._lookup(item[1])
            error = None if stop is None else stop(result)
            if error is not None:
                self._halt(error)
                return
            self._deliver((item[0], result))

    def _halt(self, error: ItnioError) -> None:
        # Synchronous: no other worker runs, so nothing completes after the stop.
        this = asyncio.current_task()
        for task in self._workers:
            if task is not this:
                task.cancel()
        self._deliver(RunStoppedError(error))

    async def close(self) -> None:
        """Cancel the workers and wait for them."""
        workers = self._workers
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)
