"""A bulk run that is stopped stops at once: the lookups in flight are cancelled and no
worker reads another id, before the consumer has even taken the results that came first."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from itnio_async import AuthenticationError
from itnio_async._bulk import RunStoppedError, run_bulk


async def settle() -> None:
    """Let every task that can run, run (no timing: a fixed number of loop steps)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_stop_cancels_the_lookups_in_flight_and_reads_no_more_ids() -> None:
    gates = {name: asyncio.Event() for name in ("stopper", "late")}
    cancelled: list[str] = []
    looked_up: list[str] = []
    pulled: list[str] = []
    stop_error = AuthenticationError(-1, "Authentication error")

    async def lookup_one(order_id: str) -> str:
        looked_up.append(order_id)
        if order_id in gates:
            try:
                await gates[order_id].wait()
            except asyncio.CancelledError:
                cancelled.append(order_id)
                raise
        return order_id

    def source() -> Iterator[str]:
        for order_id in ("a", "b", "stopper", "late", "e", "f", "g", "h"):
            pulled.append(order_id)
            yield order_id

    results = run_bulk(
        source(),
        lookup_one,
        concurrency=4,
        max_per_second=None,
        stop=lambda result: stop_error if result == "stopper" else None,
    )
    assert await anext(results) == (0, "a")
    await settle()
    assert pulled == ["a", "b", "stopper", "late", "e"]
    gates["stopper"].set()
    await settle()
    # The stop has happened; the consumer has not looked yet.
    assert cancelled == ["late"]
    gates["late"].set()
    assert await anext(results) == (1, "b")  # frees a slot: nobody may take it
    await settle()
    assert pulled == ["a", "b", "stopper", "late", "e"]
    assert await anext(results) == (4, "e")
    with pytest.raises(RunStoppedError) as info:
        await anext(results)
    assert info.value.error is stop_error
    assert looked_up == ["a", "b", "stopper", "late", "e"]
    await results.aclose()


class Flaky:
    """An iterator that raises once, then would go on giving ids."""

    def __init__(self) -> None:
        self.pulled = 0

    def __iter__(self) -> Flaky:
        return self

    def __next__(self) -> str:
        self.pulled += 1
        if self.pulled == 3:
            raise OSError("the input broke")
        return f"id-{self.pulled}"


async def test_no_id_is_read_after_the_input_raised() -> None:
    """The input's error ends the run; no worker asks the broken input for more."""
    source = Flaky()

    async def lookup_one(order_id: str) -> str:
        await asyncio.sleep(0)
        return order_id

    results = run_bulk(source, lookup_one, concurrency=4, max_per_second=None)
    got: list[tuple[int, str]] = []

    async def drain() -> None:
        async for item in results:
            got.append(item)

    with pytest.raises(OSError, match="the input broke"):
        await drain()
    await settle()
    assert source.pulled == 3
    assert set(got) <= {(0, "id-1"), (1, "id-2")}  # the error may come before id-2's result
