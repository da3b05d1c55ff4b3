"""``itnio records lookup``: reconcile many order ids, one JSON line per id.

Ids come from the arguments, from ``--file PATH`` (``-`` for stdin; one id per line,
blank lines skipped, whitespace stripped), or both, and are read lazily. Results
are written as they complete; a rich progress bar (rate, ETA) goes to stderr only
when stderr is a terminal; a one-line summary always ends the run on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

import click

from .._exceptions import APIError, HTTPStatusError, ItnioError
from .._models import RecordLookup
from ._output import EXIT_API, EXIT_FAILURE, EXIT_OK, is_terminal, to_json, to_jsonable
from ._runtime import api_command, fail, open_client, run_async, state_of

if TYPE_CHECKING:
    from rich.progress import Progress

    from .._client import AsyncItnio

__all__ = ["LookupStats", "lookup_line", "records_lookup", "run_lookups"]


def lookup_line(lookup: RecordLookup) -> dict[str, Any]:
    """The JSON object written for one looked-up order id."""
    if lookup.error is None:
        return {"orderId": lookup.order_id, "ok": True, "record": to_jsonable(lookup.record)}
    error = lookup.error
    status: int | None = None
    message = " ".join(str(error).split())
    if isinstance(error, APIError):
        status = error.status
        message = error.reason or message
    elif isinstance(error, HTTPStatusError):
        status = error.status
    return {
        "orderId": lookup.order_id,
        "ok": False,
        "error": {"type": type(error).__name__, "status": status, "message": message},
    }


def _clean(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        text = line.strip()
        if text:
            yield text


def _is_regular(stream: IO[str]) -> bool:
    """True for a regular file (safe to read on the event loop; can be counted ahead)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return True  # an in-memory stream (tests): reading it never blocks


async def _read_in_thread(stream: IO[str]) -> AsyncIterator[str]:
    """Lines of a pipe or terminal, read by a daemon thread so a slow producer never
    blocks the event loop (and an abandoned read never blocks the exit)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
    room = threading.Semaphore(4096)  # backpressure: at most this many unread lines
    stop = threading.Event()

    def reader() -> None:
        try:
            for line in stream:
                while not room.acquire(timeout=0.5):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                loop.call_soon_threadsafe(queue.put_nowait, line)
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the loop closed under us: nobody is listening any more
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, exc)

    threading.Thread(target=reader, name="itnio-stdin", daemon=True).start()
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            room.release()
            text = item.strip()
            if text:
                yield text
    finally:
        stop.set()


class LookupStats:
    """Counts and timing of one bulk run."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.started = time.monotonic()

    @property
    def total(self) -> int:
        """Ids looked up so far."""
        return self.ok + self.failed

    def summary(self) -> str:
        """``records lookup: 298 ok, 3 failed (301 order ids) in 0.52s, 579/s``."""
        elapsed = time.monotonic() - self.started
        rate = self.total / elapsed if elapsed > 0 else 0.0
        return (
            f"records lookup: {self.ok} ok, {self.failed} failed "
            f"({self.total} order ids) in {elapsed:.2f}s, {rate:.0f}/s"
        )


def make_progress(total: int | None) -> Progress:
    """A rich progress bar on stderr: count, rate and ETA (ETA only with a known total)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-- ids/s" if speed is None else f"{speed:,.0f} ids/s", style="cyan")

    columns: list[ProgressColumn | str] = [SpinnerColumn(), TextColumn("lookup")]
    if total is None:
        columns += [TextColumn("{task.completed:,} ids"), RateColumn(), TimeElapsedColumn()]
    else:
        columns += [BarColumn(), MofNCompleteColumn(), RateColumn(), TimeRemainingColumn()]
    return Progress(
        *columns,
        console=Console(file=sys.stderr),
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    )


def _same_terminal() -> bool:
    """stdout and stderr are the same terminal (lines then print above the progress bar)."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return is_terminal(sys.stdout) and (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino)


async def run_lookups(
    client: AsyncItnio,
    order_ids: Iterable[str] | AsyncIterator[str],
    *,
    app_id: str | None,
    concurrency: int,
    max_per_second: float | None,
    total: int | None,
    show_progress: bool,
    on_result: Callable[[RecordLookup], None] | None = None,
) -> LookupStats:
    """Look up every id and count the outcomes; by default write one JSON line per id.

    ``on_result(lookup)`` replaces the writing when given; the progress bar is shown
    only when ``show_progress`` is true.
    """
    stats = LookupStats()
    progress = make_progress(total) if show_progress else None
    if on_result is None:
        out = sys.stdout
        console = progress.console if progress is not None and _same_terminal() else None

        def on_result(lookup: RecordLookup) -> None:
            line = to_json(lookup_line(lookup))
            if console is not None:
                console.out(line, highlight=False)
            else:
                out.write(line + "\n")

    task_id = progress.add_task("lookup", total=total) if progress is not None else None
    with progress if progress is not None else contextlib.nullcontext():
        # Typed as an AsyncIterator; it is an async generator, closed here on the way out.
        lookups: Any = client.records.iter_by_order_ids(
            order_ids,
            app_id=app_id,
            concurrency=concurrency,
            max_per_second=max_per_second,
        )
        async with contextlib.aclosing(lookups):
            async for lookup in lookups:
                if lookup.ok:
                    stats.ok += 1
                else:
                    stats.failed += 1
                on_result(lookup)
                if progress is not None and task_id is not None:
                    progress.advance(task_id)
    return stats


@api_command("lookup")
@click.argument("order_ids", nargs=-1)
@click.option(
    "--file",
    "-f",
    "file_",
    type=click.Path(dir_okay=False, allow_dash=True, exists=True),
    help="Read order ids from this file, one per line ('-' for stdin).",
)
@click.option("--app-id", help="Application id sent with every lookup.")
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(1, 1000),
    default=16,
    show_default=True,
    help="Lookups in flight at most.",
)
@click.option(
    "--max-per-second",
    type=click.FloatRange(min=0, min_open=True),
    metavar="RATE",
    help="Start at most RATE lookups per second.",
)
@click.pass_context
def records_lookup(
    ctx: click.Context,
    order_ids: tuple[str, ...],
    file_: str | None,
    app_id: str | None,
    concurrency: int,
    max_per_second: float | None,
) -> None:
    """Look up many order ids in bulk (JSON Lines out).

    Calls POST /verification/orderId/record for each of ORDER_IDS. Ids come from the
    arguments, --file PATH ('-' for stdin, one id per line), or both. Writes one JSON
    line per id as results arrive: {"orderId": ..., "ok": true, "record": {...}} or
    {"orderId": ..., "ok": false, "error": {"type": ..., "status": ..., "message":
    ...}}. A progress bar is shown on stderr when it is a terminal; a summary line ends
    the run. Exit code 0 when every lookup succeeded, 3 when some failed.

    \b
    Examples:
      itnio records lookup --app-id mRELxtHc order-1 order-2
      itnio records lookup --sandbox --file ids.txt > out.jsonl
      cut -d, -f1 orders.csv | itnio records lookup --file - -c 32 > out.jsonl
    """
    if not order_ids and file_ is None:
        raise click.UsageError("give order ids as arguments, or --file PATH ('-' for stdin)")
    state = state_of(ctx)
    show_progress = is_terminal(sys.stderr)

    async def main(stream: IO[str] | None) -> LookupStats:
        ids: Any = list(order_ids)
        total: int | None = len(order_ids)
        if stream is not None:
            if _is_regular(stream):
                if show_progress and stream is not sys.stdin:
                    total = len(order_ids) + _count_ids(file_)
                elif show_progress:
                    total = None
                ids = _chain(order_ids, _clean(stream))
            else:
                total = None
                ids = _achain(order_ids, _read_in_thread(stream))
        async with open_client(state) as client:
            return await run_lookups(
                client,
                ids,
                app_id=app_id,
                concurrency=concurrency,
                max_per_second=max_per_second,
                total=total,
                show_progress=show_progress,
            )

    try:
        if file_ is None:
            stats = run_async(main(None))
        elif file_ == "-":
            stats = run_async(main(sys.stdin))
        else:
            with open(file_, encoding="utf-8") as stream:
                stats = run_async(main(stream))
    except ItnioError as exc:
        sys.stdout.flush()
        fail(ctx, exc)
        return
    except BrokenPipeError:
        raise  # stdout was closed (`| head`): click exits quietly
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"error: cannot read order ids: {type(exc).__name__}: {exc}", err=True)
        ctx.exit(EXIT_FAILURE)
    sys.stdout.flush()
    click.echo(stats.summary(), err=True)
    ctx.exit(EXIT_OK if stats.failed == 0 else EXIT_API)


def _count_ids(path: str | None) -> int:
    if path is None:
        return 0
    with open(path, encoding="utf-8") as stream:
        return sum(1 for _ in _clean(stream))


def _chain(first: Iterable[str], rest: Iterable[str]) -> Iterator[str]:
    yield from first
    yield from rest


async def _achain(first: Iterable[str], rest: AsyncIterator[str]) -> AsyncIterator[str]:
    for item in first:
        yield item
    async for item in rest:
        yield item
