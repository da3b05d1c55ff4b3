"""``itnio records lookup``: reconcile many order ids, one JSON line per id.

Ids come from the arguments, from ``--file PATH`` (``-`` for stdin; one id per line,
blank lines skipped, whitespace stripped), or both, and are read lazily. Each line
is decoded on its own: a line that is not UTF-8 becomes a failed result naming its
line number, and the run goes on. Results are written as they complete; a rich
progress bar (rate, ETA) goes to stderr only when stderr is a terminal; a summary
always ends the run on stderr.

A run ends early in two ways, always after writing every line that completed:

* the SDK stops it (an error about the account, or the API unreachable): the error
  and the summary go to stderr, exit code :data:`EXIT_STOPPED`;
* SIGINT (Ctrl-C) or SIGTERM: the lookups in flight are cancelled, the summary says
  how to resume, exit code :data:`EXIT_INTERRUPTED`.

``--resume FILE`` skips the ids that already have a *final* result line in FILE (an
earlier run's output), see :func:`is_answered`. When stdout is FILE itself (``>>
FILE``) and FILE ends in a line cut off by a killed run, a newline ends that line
before anything is appended, so the next line is not glued onto it.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Set,
)
from typing import IO, TYPE_CHECKING, Any, Final

import click

from .._bulk import RunStoppedError
from .._exceptions import ItnioError, ValidationError
from .._models import LookupFailed, RecordLookup
from ._output import (
    EXIT_API,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STOPPED,
    error_line,
    is_terminal,
)
from ._runtime import State, api_command, fail, open_client, run_async, state_of

if TYPE_CHECKING:
    from rich.progress import Progress

    from .._client import AsyncItnio

__all__ = [
    "IdLines",
    "InterruptedRunError",
    "LookupStats",
    "answered_ids",
    "is_answered",
    "records_lookup",
    "run_lookups",
]

#: API statuses that answer an order id for good: -24, no record has this order id.
#: Every other status may come out differently on another run: -22 (for example no
#: --app-id where the API wants one), -18 and the other server, account, clock and
#: limit statuses. ``--resume`` looks those ids up again.
FINAL_STATUSES: Final = frozenset({-24})
#: Error types that never answer an id, whatever status they carry: the request did
#: not get through, or the HTTP answer was not a success (a 404 page, a 429, a 5xx).
UNANSWERED_TYPES: Final = frozenset(
    {"TransportError", "RequestTimeoutError", "HTTPStatusError", "DecodeError"}
)

#: What an id source yields: an id to look up, or a line that already failed.
IdItem = str | LookupFailed


def is_answered(line: object) -> bool:
    """Whether a result line (parsed JSON) answers its id for good, so ``--resume``
    skips the id.

    Final: a record (``"ok": true``); a ``ValidationError`` (the id itself is
    malformed, and stays so); status -24 from the API (no record has this order id,
    :data:`FINAL_STATUSES`). Everything else is looked up again, as another run may
    answer it differently: transport failures and timeouts, any non-2xx HTTP answer
    (rate limits, 5xx), undecodable answers, and every other API status (-22 such as
    a missing ``--app-id``, -18, -1, -2, -10, -16, -27, -28...).
    """
    if not isinstance(line, dict):
        return False
    if line.get("ok") is True:
        return True
    error = line.get("error")
    if not isinstance(error, dict):
        return False
    kind, status = error.get("type"), error.get("status")
    if kind == "ValidationError":
        return True
    return kind not in UNANSWERED_TYPES and type(status) is int and status in FINAL_STATUSES


def answered_ids(path: str) -> set[str]:
    """The order ids that have an answered result line in the JSON Lines file ``path``.

    Lines that are not JSON (such as a line cut off by a killed run) are ignored.
    """
    answered: set[str] = set()
    with open(path, "rb") as stream:
        for raw in stream:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if is_answered(line) and isinstance(line.get("orderId"), str):
                answered.add(line["orderId"])
    return answered


class IdLines:
    """Turns the raw lines of an id source into ids.

    Whitespace is stripped, blank lines are skipped, and so are ids in ``answered``
    (counted in :attr:`skipped`). A line that is not UTF-8 becomes a
    :class:`LookupFailed` with a ``ValidationError`` naming ``source`` and the line
    number (its ``order_id`` is the line with the bad bytes replaced by U+FFFD); the
    lines after it are read as usual.
    """

    def __init__(self, source: str, answered: Set[str] = frozenset()) -> None:
        self.source = source
        self.answered = answered
        self.skipped = 0

    def take(self, number: int, raw: bytes) -> IdItem | None:
        """The id (or failed line) that line ``number`` (1-based) gives, or ``None``."""
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            shown = raw.decode("utf-8", "replace").strip()
            if shown in self.answered:
                self.skipped += 1
                return None
            error = ValidationError(
                f"{self.source} line {number}",
                "UTF-8 text",
                f"byte 0x{raw[exc.start]:02x} at position {exc.start + 1}",
            )
            return LookupFailed(order_id=shown, error=error)
        if not text:
            return None
        if text in self.answered:
            self.skipped += 1
            return None
        return text

    def ids(self, lines: Iterable[bytes]) -> Iterator[IdItem]:
        """The ids of ``lines``, lazily."""
        for number, raw in enumerate(lines, start=1):
            item = self.take(number, raw)
            if item is not None:
                yield item

    async def aids(self, lines: AsyncIterable[bytes]) -> AsyncIterator[IdItem]:
        """The ids of ``lines`` (read by another thread), lazily."""
        number = 0
        async for raw in lines:
            number += 1
            item = self.take(number, raw)
            if item is not None:
                yield item


def _is_regular(stream: IO[bytes]) -> bool:
    """True for a regular file (safe to read on the event loop; can be counted ahead)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return True  # an in-memory stream (tests): reading it never blocks


class _ThreadedLines:
    """The lines of a file descriptor, read by a daemon thread and handed to the event loop.

    At most 4096 lines wait unread (backpressure); once the consumer stops
    (:attr:`stop`), the thread hands nothing more over and ends.
    """

    def __init__(self, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self.fd = fd
        self.loop = loop
        self.queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self.room = threading.Semaphore(4096)
        self.stop = threading.Event()

    def _put(self, item: bytes | BaseException | None) -> None:
        """Queue ``item`` for the consumer (from the reading thread)."""
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def _hand_over(self, line: bytes) -> bool:
        """Queue ``line`` once there is room; False when the consumer has stopped."""
        while not self.room.acquire(timeout=0.5):
            if self.stop.is_set():
                return False
        if self.stop.is_set():
            return False
        self._put(line)
        return True

    def _read_all(self) -> None:
        """Read to the end of the file, handing over each line, then the end (``None``)."""
        pending = b""
        while chunk := os.read(self.fd, 65536):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                if not self._hand_over(line + b"\n"):
                    return
        if pending and not self._hand_over(pending):
            return
        self._put(None)

    def read(self) -> None:
        """The thread's work: every line, or the exception that stopped the reading."""
        try:
            self._read_all()
        except RuntimeError:  # the loop closed under us: nobody is listening any more
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            with contextlib.suppress(RuntimeError):
                self._put(exc)

    async def lines(self) -> AsyncIterator[bytes]:
        """Start the thread and yield the lines it reads; stop it when closed."""
        threading.Thread(target=self.read, name="itnio-stdin", daemon=True).start()
        try:
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                self.room.release()
                yield item
        finally:
            self.stop.set()


def _read_in_thread(stream: IO[bytes]) -> AsyncIterator[bytes]:
    """Lines of a pipe or terminal, read by a daemon thread so a slow producer never
    blocks the event loop (and an abandoned read never blocks the exit).

    The thread reads the file descriptor with ``os.read``, never the buffered
    ``stream`` itself: a daemon thread blocked inside a buffered read holds its lock,
    and the interpreter aborts when it cannot take that lock at exit. Called in the
    running event loop; the thread starts with the first line asked for.
    """
    return _ThreadedLines(stream.fileno(), asyncio.get_running_loop()).lines()


class LookupStats:
    """Counts and timing of one bulk run."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.skipped = 0
        self.resumed_from: str | None = None
        self.started = time.monotonic()

    @property
    def total(self) -> int:
        """Ids looked up so far."""
        return self.ok + self.failed

    def summary(self, outcome: str = "") -> str:
        """``records lookup: 298 ok, 3 failed (301 order ids) in 0.52s, 579/s``.

        ``outcome`` (such as ``"interrupted by SIGINT"``) comes first; ids skipped
        by ``--resume`` are counted after the total.
        """
        elapsed = time.monotonic() - self.started
        rate = self.total / elapsed if elapsed > 0 else 0.0
        head = f"records lookup: {outcome}: " if outcome else "records lookup: "
        skipped = (
            f", {self.skipped} skipped as answered in {self.resumed_from}"
            if self.resumed_from is not None
            else ""
        )
        return (
            f"{head}{self.ok} ok, {self.failed} failed "
            f"({self.total} order ids){skipped} in {elapsed:.2f}s, {rate:.0f}/s"
        )


class InterruptedRunError(Exception):
    """SIGINT or SIGTERM ended the run; ``signum`` is the signal."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


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
    order_ids: Iterable[IdItem] | AsyncIterator[IdItem],
    *,
    app_id: str | None,
    concurrency: int,
    max_per_second: float | None,
    total: int | None,
    show_progress: bool,
    on_result: Callable[[RecordLookup], None] | None = None,
    stats: LookupStats | None = None,
) -> LookupStats:
    """Look up every id and count the outcomes; by default write one JSON line per id.

    ``order_ids`` may also yield :class:`LookupFailed` items (lines that could not be
    read): they are reported like results, without a request. ``on_result(lookup)``
    replaces the writing when given; the progress bar is shown only when
    ``show_progress`` is true. ``stats`` (default: a new one) is updated as results
    arrive, so it holds the counts also when the run ends with an exception.

    Raises:
        RunStoppedError: the SDK stopped the run (an error about the account, or the
            API unreachable); every result that completed was reported first.
    """
    stats = stats if stats is not None else LookupStats()
    progress = make_progress(total) if show_progress else None
    if on_result is None:
        out = sys.stdout
        console = progress.console if progress is not None and _same_terminal() else None

        def write_line(lookup: RecordLookup) -> None:
            line = lookup.to_json()
            if console is not None:
                console.out(line, highlight=False)
            else:
                out.write(line + "\n")

        on_result = write_line

    write = on_result
    task_id = progress.add_task("lookup", total=total) if progress is not None else None

    def report(lookup: RecordLookup) -> None:
        if lookup.ok:
            stats.ok += 1
        else:
            stats.failed += 1
        write(lookup)
        if progress is not None and task_id is not None:
            progress.advance(task_id)

    ids: Iterable[str] | AsyncIterator[str]
    if isinstance(order_ids, AsyncIterator):
        ids = _aids_only(order_ids, report)
    else:
        ids = _ids_only(order_ids, report)
    with progress if progress is not None else contextlib.nullcontext():
        lookups = client.records.iter_by_order_ids(
            ids, app_id=app_id, concurrency=concurrency, max_per_second=max_per_second
        )
        async with contextlib.aclosing(lookups):
            try:
                async for lookup in lookups:
                    report(lookup)
            except ValidationError:
                raise  # the options, not the run
            except ItnioError as exc:
                raise RunStoppedError(exc) from exc
    return stats


def _ids_only(items: Iterable[IdItem], report: Callable[[RecordLookup], None]) -> Iterator[str]:
    """The ids of ``items``; the failed lines among them are reported as they are read."""
    for item in items:
        if isinstance(item, str):
            yield item
        else:
            report(item)


async def _aids_only(
    items: AsyncIterator[IdItem], report: Callable[[RecordLookup], None]
) -> AsyncIterator[str]:
    """As :func:`_ids_only`, for an async source."""
    async for item in items:
        if isinstance(item, str):
            yield item
        else:
            report(item)


@contextlib.contextmanager
def _signals_cancel(task: asyncio.Task[Any]) -> Iterator[list[int]]:
    """While active, SIGINT and SIGTERM cancel ``task``; yields the signals received.

    Handled by the event loop, so a signal never lands in the middle of writing a
    line. Later signals, while the run winds down, are ignored.
    """
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        if not received:
            received.append(signum)
            task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            continue
        installed.append(signum)
    try:
        yield received
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _output_name() -> str | None:
    """The path stdout writes to when it is a regular file (for the resume hint)."""
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.path.relpath(os.readlink(f"/proc/self/fd/{fd}"))
    except (AttributeError, OSError, ValueError):
        return None


def _resume_hint() -> str:
    """How to continue a run that ended early."""
    name = _output_name()
    if name is not None:
        target = click.format_filename(name)
        return (
            f"records lookup: to resume, run the same command with "
            f"--resume {target} >> {target} (ids answered there are skipped)"
        )
    return (
        "records lookup: to resume, run the same command with --resume OUT >> OUT, "
        "OUT being the file this run's output went to (ids answered there are skipped)"
    )


def _output_is(path: str) -> bool:
    """Whether stdout writes to ``path``; refuse ``--resume FILE > FILE`` (the shell
    emptied FILE before the run started)."""
    try:
        import fcntl

        fd = sys.stdout.fileno()
        out, resumed = os.fstat(fd), os.stat(path)
        appending = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND
    except (AttributeError, ImportError, OSError, ValueError):
        return False
    if (out.st_dev, out.st_ino) != (resumed.st_dev, resumed.st_ino):
        return False
    if not appending:
        raise click.UsageError(
            f"stdout is {click.format_filename(path)} itself, opened with '>', which empties "
            f"it: continue it with '>> {click.format_filename(path)}'"
        )
    return True


def _ends_cut_off(path: str) -> bool:
    """Whether ``path`` ends in a line without its newline (a run killed mid-line)."""
    with open(path, "rb") as stream:
        if stream.seek(0, os.SEEK_END) == 0:
            return False
        stream.seek(-1, os.SEEK_END)
        return stream.read(1) != b"\n"


def _end_cut_off_line(path: str) -> None:
    """Before ``--resume FILE`` appends, end a cut-off last line of FILE: with a newline
    when stdout is FILE (``>> FILE``), else with a warning for whoever appends."""
    is_output = _output_is(path)
    if not _ends_cut_off(path):
        return
    name = click.format_filename(path)
    if is_output:
        sys.stdout.write("\n")
        sys.stdout.flush()
        click.echo(
            f"records lookup: {name} ended in a cut-off line: ended it with a newline "
            "(its id is looked up again)",
            err=True,
        )
        return
    click.echo(
        f"records lookup: warning: {name} ends in a cut-off line (its id is looked up "
        f"again); before appending this output to it, end that line: echo >> {name}",
        err=True,
    )


def _quiet_stdout() -> None:
    """stdout was closed by its reader (``| head``): point it at /dev/null so nothing
    complains when Python flushes it on the way out."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


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
@click.option(
    "--resume",
    type=click.Path(dir_okay=False, exists=True),
    metavar="FILE",
    help="Skip the ids that already have a final result line in FILE (an earlier run's "
    "output; append to it with >> FILE): a record, -24 (not found) or an invalid id. "
    "Any other error is looked up again. A cut-off last line (a killed run) is ended "
    "with a newline first when the output is FILE.",
)
@click.pass_context
def records_lookup(
    ctx: click.Context,
    order_ids: tuple[str, ...],
    file_: str | None,
    app_id: str | None,
    concurrency: int,
    max_per_second: float | None,
    resume: str | None,
) -> None:
    """Look up many order ids in bulk (JSON Lines out).

    Calls POST /verification/orderId/record for each of ORDER_IDS. Ids come from the
    arguments, --file PATH ('-' for stdin, one id per line), or both. Writes one JSON
    line per id as results arrive: {"orderId": ..., "ok": true, "record": {...}} or
    {"orderId": ..., "ok": false, "error": {"type": ..., "status": ..., "message":
    ...}}; a line of the file that is not UTF-8 gets such an error line naming its
    line number. A progress bar is shown on stderr when it is a terminal; a summary
    line ends the run.

    \b
    Exit codes:
      0    every lookup found a record
      3    some lookups failed (each has its error line)
      5    stopped early: an error about the account (AuthenticationError,
           IPNotAllowedError, InsufficientBalanceError) or the API unreachable
           (10 transport failures in a row); what completed was written
      130  interrupted by Ctrl-C (SIGINT) or SIGTERM; what completed was written

    A run that ended early continues with --resume OUT >> OUT: ids with a final
    line in OUT are skipped: a record, status -24 (no record has this order id), or
    an invalid id. Every other error may come out differently on another run and is
    looked up again: transport failures and timeouts, non-2xx answers (rate limits,
    5xx), undecodable answers, and every other status (-22 such as a missing
    --app-id, -18, -1, -2, -10, -16, -27, -28...). If OUT ends in a line cut off by a
    killed run (kill -9, a full disk), a newline ends it before anything is appended.

    \b
    Examples:
      itnio records lookup --app-id mRELxtHc order-1 order-2
      itnio records lookup --sandbox --file ids.txt > out.jsonl
      itnio records lookup --sandbox --file ids.txt --resume out.jsonl >> out.jsonl
      cut -d, -f1 orders.csv | itnio records lookup --file - -c 32 > out.jsonl
    """
    if not order_ids and file_ is None:
        raise click.UsageError("give order ids as arguments, or --file PATH ('-' for stdin)")
    state = state_of(ctx)
    show_progress = is_terminal(sys.stderr)
    stats = LookupStats()
    answered = _resume_from(resume, stats)
    given = [text for text in order_ids if text not in answered]
    source = IdLines("stdin" if file_ == "-" else click.format_filename(file_ or ""), answered)
    run = _LookupRun(
        state,
        given=given,
        source=source,
        file_=file_,
        app_id=app_id,
        concurrency=concurrency,
        max_per_second=max_per_second,
        show_progress=show_progress,
        stats=stats,
    )
    ended = _run_to_its_end(ctx, run)
    stats.skipped = len(order_ids) - len(given) + source.skipped
    _finish(ctx, state.api_secret, stats, ended)


def _resume_from(resume: str | None, stats: LookupStats) -> Set[str]:
    """The ids answered in ``--resume FILE`` (none without it), after ending a cut-off
    last line of FILE; ``stats`` learns where they come from."""
    if resume is None:
        return frozenset()
    try:
        _end_cut_off_line(resume)
        answered = answered_ids(resume)
    except OSError as exc:
        raise click.BadParameter(str(exc), param_hint="--resume") from exc
    stats.resumed_from = click.format_filename(resume)
    return answered


class _LookupRun:
    """One ``records lookup`` run: where its ids come from and how they are looked up."""

    def __init__(
        self,
        state: State,
        *,
        given: list[str],
        source: IdLines,
        file_: str | None,
        app_id: str | None,
        concurrency: int,
        max_per_second: float | None,
        show_progress: bool,
        stats: LookupStats,
    ) -> None:
        self.state = state
        self.given = given
        self.source = source
        self.file_ = file_
        self.app_id = app_id
        self.concurrency = concurrency
        self.max_per_second = max_per_second
        self.show_progress = show_progress
        self.stats = stats

    def run(self) -> None:
        """Look up the ids of the arguments, then those of ``--file`` (or stdin)."""
        if self.file_ is None:
            run_async(self._main(None))
        elif self.file_ == "-":
            run_async(self._main(sys.stdin.buffer))
        else:
            with open(self.file_, "rb") as stream:
                run_async(self._main(stream))

    def _ids(self, stream: IO[bytes] | None) -> tuple[Any, int | None]:
        """The ids to look up (the arguments', then ``stream``'s) and how many result lines
        they give, for the progress bar (``None``: not known ahead)."""
        given = self.given
        if stream is None:
            return list(given), len(given)
        if not _is_regular(stream):
            return _achain(given, self.source.aids(_read_in_thread(stream))), None
        total: int | None = len(given)
        if self.show_progress and stream is not sys.stdin.buffer:
            total = len(given) + _count_ids(self.file_, self.source.answered)
        elif self.show_progress:
            total = None
        return _chain(given, self.source.ids(stream)), total

    async def _main(self, stream: IO[bytes] | None) -> LookupStats:
        """The run in the event loop; SIGINT or SIGTERM end it with InterruptedRunError."""
        ids, total = self._ids(stream)
        task = asyncio.current_task()
        assert task is not None
        with _signals_cancel(task) as received:
            try:
                async with open_client(self.state) as client:
                    return await run_lookups(
                        client,
                        ids,
                        app_id=self.app_id,
                        concurrency=self.concurrency,
                        max_per_second=self.max_per_second,
                        total=total,
                        show_progress=self.show_progress,
                        stats=self.stats,
                    )
            except asyncio.CancelledError:
                if not received:
                    raise
                task.uncancel()
                raise InterruptedRunError(received[0]) from None


def _run_to_its_end(
    ctx: click.Context, run: _LookupRun
) -> RunStoppedError | InterruptedRunError | None:
    """Make the run; how it ended early (``None``: it did not).

    A closed stdout (``| head``), an error of the whole run (such as missing
    credentials) and ids that cannot be read exit at once.
    """
    try:
        run.run()
    except BrokenPipeError:
        _quiet_stdout()  # stdout was closed (`| head`): its reader has all it wanted
        ctx.exit(EXIT_OK)
    except (RunStoppedError, InterruptedRunError) as exc:
        return exc
    except ItnioError as exc:
        sys.stdout.flush()
        fail(ctx, exc)
    except OSError as exc:
        click.echo(f"error: cannot read order ids: {type(exc).__name__}: {exc}", err=True)
        ctx.exit(EXIT_FAILURE)
    return None


def _finish(
    ctx: click.Context,
    api_secret: str | None,
    stats: LookupStats,
    ended: RunStoppedError | InterruptedRunError | None,
) -> None:
    """Once every line is written: the summary (and how to resume a run that ended early)
    on stderr, and the exit code."""
    try:
        sys.stdout.flush()  # every line is whole before the summary
    except BrokenPipeError:
        _quiet_stdout()
        ctx.exit(EXIT_OK)
    if isinstance(ended, RunStoppedError):
        click.echo(error_line(ended.error, secrets=(api_secret,)), err=True)
        click.echo(stats.summary(f"stopped by {type(ended.error).__name__}"), err=True)
        click.echo(_resume_hint(), err=True)
        ctx.exit(EXIT_STOPPED)
    if isinstance(ended, InterruptedRunError):
        click.echo(stats.summary(f"interrupted by {ended}"), err=True)
        click.echo(_resume_hint(), err=True)
        ctx.exit(EXIT_INTERRUPTED)
    click.echo(stats.summary(), err=True)
    ctx.exit(EXIT_OK if stats.failed == 0 else EXIT_API)


def _count_ids(path: str | None, answered: Set[str]) -> int:
    """Result lines a file will give (ids and unreadable lines), for the progress bar."""
    if path is None:
        return 0
    with open(path, "rb") as stream:
        return sum(1 for _ in IdLines(path, answered).ids(stream))


def _chain(first: Iterable[str], rest: Iterable[IdItem]) -> Iterator[IdItem]:
    yield from first
    yield from rest


async def _achain(first: Iterable[str], rest: AsyncIterator[IdItem]) -> AsyncIterator[IdItem]:
    for order_id in first:
        yield order_id
    async for item in rest:
        yield item
