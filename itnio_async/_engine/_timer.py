"""One timer per pool for every exchange waiting for its answer.

The read timeout ("nothing arrived for ``read`` seconds") and the request's
``deadline`` of every exchange in its read phase share one ``TimerHandle``: it is
armed at the earliest due time among the watched exchanges and re-armed only when a
newly watched exchange is due earlier than that, or when it fires. Bytes arriving
only move an exchange's due time later (:attr:`~._exchange.Exchange.last_read`), so
they never touch the timer: a timer that fires early for an exchange that has since
received bytes just finds it not due and re-arms for the next due time.

Lateness: none by construction beyond the event loop's own. ``loop.call_at`` may
fire up to the loop's ``clock_resolution`` early (then :meth:`Timer._fire` finds
nothing due and re-arms) and fires late by however long the loop is busy with other
callbacks; an exchange is failed in the first run of :meth:`Timer._fire` at or after
its due time. Watching and unwatching are O(1); a firing is O(watched exchanges).
"""

from __future__ import annotations

import asyncio
import math

from ._exchange import Exchange

__all__ = ["Timer"]


class Timer:
    """The shared timer of one pool (and one event loop)."""

    __slots__ = ("_handle", "_loop", "_watched", "_when")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._watched: set[Exchange] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._when = math.inf

    def watch(self, exchange: Exchange) -> None:
        """Enforce ``exchange``'s read timeout and deadline from now on."""
        due = exchange.due()
        if due == math.inf:
            return
        self._watched.add(exchange)
        if due < self._when:
            self._arm(due)

    def unwatch(self, exchange: Exchange) -> None:
        """Stop watching ``exchange`` (answered, failed or abandoned); no timer call."""
        self._watched.discard(exchange)

    def cancel(self) -> None:
        """Forget every exchange and the timer (the pool closes)."""
        self._watched.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._when = math.inf

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._when = when
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._when = math.inf
        now = self._loop.time()
        earliest = math.inf
        for exchange in list(self._watched):
            if exchange.waiter.done():
                self._watched.discard(exchange)
                continue
            due = exchange.due()
            if due <= now:
                self._watched.discard(exchange)
                exchange.expire(now)
            elif due < earliest:
                earliest = due
        if earliest < math.inf:
            self._arm(earliest)
