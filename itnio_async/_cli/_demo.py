"""``itnio demo``: the whole API, end to end, against the in-process sandbox.

No credentials, no network, a few seconds. Every step checks that the sandbox
behaved as documented; the demo exits 0 only if every step did.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from .._exceptions import AlreadyExistsError, ItnioError, NotFoundError, SendLimitError
from .._models import (
    Channel,
    FlowStep,
    FlowTrigger,
    MatchStatus,
    PeriodUnit,
    RecordLookup,
    SendLimit,
)
from ._lookup import run_lookups
from ._output import EXIT_FAILURE, is_terminal
from ._runtime import CONTEXT_SETTINGS, run_async

if TYPE_CHECKING:
    from .._client import AsyncItnio
    from ..testing import FakeItnio

__all__ = ["demo"]

PHONE = "8613512345678"
PHONE_LIMIT = 5


class StepFailedError(Exception):
    """A step did not behave as expected."""


def expect(condition: bool, message: str) -> None:
    """Fail the current step with ``message`` unless ``condition`` holds."""
    if not condition:
        raise StepFailedError(message)


class Reporter:
    """Prints each step: rich on a terminal, plain lines when piped."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.rich = is_terminal(sys.stdout)
        if self.rich:
            from rich.console import Console

            self.console: Any = Console(file=sys.stdout, highlight=False)

    def _print(self, markup: str, plain: str) -> None:
        if self.rich:
            self.console.print(markup)
        else:
            click.echo(plain)

    def title(self, text: str) -> None:
        """The demo's heading."""
        self._print(f"[bold]{text}[/]", text)

    def passed(self, number: int, title: str, detail: str) -> None:
        """A step that behaved as expected."""
        self._print(
            f"[green]✔[/] [dim]{number:2d}/{self.total}[/] [bold]{title}[/]  [cyan]{detail}[/]",
            f"ok {number}/{self.total} {title}: {detail}",
        )

    def failed(self, number: int, title: str, reason: str) -> None:
        """A step that did not."""
        self._print(
            f"[red]✘[/] [dim]{number:2d}/{self.total}[/] [bold]{title}[/]  [red]{reason}[/]",
            f"FAILED {number}/{self.total} {title}: {reason}",
        )

    def done(self, text: str) -> None:
        """The closing line."""
        self._print(f"[bold green]{text}[/]", text)


class Demo:
    """The steps, sharing what earlier steps created."""

    def __init__(self, fake: FakeItnio, client: AsyncItnio, bulk: int) -> None:
        self.fake = fake
        self.client = client
        self.bulk = bulk
        self.suffix = f"{int(time.time() * 1000) % 100000:05d}"
        self.app_id = ""
        self.template_id = 0
        self.flow_id = 0
        self.verification_id = ""
        self.order_id = f"demo-order-{self.suffix}"

    def steps(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        """The steps in order: (title, coroutine function returning a detail line)."""
        return [
            ("create an app", self.create_app),
            ("update the app", self.update_app),
            ("read the app", self.read_app),
            ("refuse a duplicate app name", self.duplicate_app),
            ("create a template", self.create_template),
            ("update, read and list templates", self.update_templates),
            ("create a flow (sms, then call)", self.create_flow),
            ("update, read and list flows", self.update_flows),
            ("send a code", self.send),
            ("fail a verify with a wrong code", self.verify_wrong),
            ("pass the verify with the right code", self.verify_right),
            ("look the record up by verificationId", self.record_by_id),
            ("look the record up by orderId", self.record_by_order_id),
            ("send a code you generated, then resend it", self.send_code_and_resend),
            ("report a backfill and a backfill rate", self.backfill),
            ("stop at the per-number send limit", self.phone_limit),
            (f"send {self.bulk} codes with order ids", self.bulk_send),
            (f"bulk-look-up {self.bulk} + 5 unknown order ids", self.bulk_lookup),
        ]

    async def create_app(self) -> str:
        app = await self.client.apps.create(
            name=f"demo_shop_{self.suffix}",
            code_expiry=5,
            period_total_send_limit=SendLimit(
                enabled=True, unit=PeriodUnit.DAY, period=1, limit=100_000
            ),
        )
        expect(bool(app.app_id), "no appId in the answer")
        self.app_id = app.app_id
        return f"appId={app.app_id} name={app.name}"

    async def update_app(self) -> str:
        app = await self.client.apps.update(
            self.app_id,
            name=f"demo_login_{self.suffix}",
            code_expiry=10,
            period_phone_send_limit=SendLimit(
                enabled=True, unit=PeriodUnit.DAY, period=1, limit=PHONE_LIMIT
            ),
        )
        expect(app.code_expiry == 10, f"codeExpiry is {app.code_expiry}, expected 10")
        return f"codeExpiry=10, at most {PHONE_LIMIT} sends per number per day"

    async def read_app(self) -> str:
        app = await self.client.apps.get(self.app_id)
        expect(app.name == f"demo_login_{self.suffix}", f"name is {app.name!r}")
        limit = app.period_phone_send_limit
        expect(limit is not None and limit.limit == PHONE_LIMIT, f"phone limit is {limit}")
        return f"name={app.name} codeExpiry={app.code_expiry}"

    async def duplicate_app(self) -> str:
        try:
            await self.client.apps.create(name=f"demo_login_{self.suffix}")
        except AlreadyExistsError as exc:
            return f"{type(exc).__name__} (status {exc.status}) as documented"
        raise StepFailedError("a second app with the same name was created")

    async def create_template(self) -> str:
        template = await self.client.templates.create(
            app_id=self.app_id,
            name=f"demo_sms_{self.suffix}",
            text="##code## is your demo code, valid 10 minutes",
            code_length=6,
        )
        self.template_id = template.template_id
        return f"templateId={template.template_id} codeLength={template.code_length}"

    async def update_templates(self) -> str:
        await self.client.templates.update(
            self.template_id,
            name=f"demo_sms_{self.suffix}",
            text="Your demo code is ##code##",
            code_length=6,
        )
        template = await self.client.templates.get(self.template_id)
        expect(template.text == "Your demo code is ##code##", f"text is {template.text!r}")
        listed = await self.client.templates.list()
        expect(
            any(t.template_id == self.template_id for t in listed),
            "the template is missing from the list",
        )
        return f"text updated; {len(listed)} template(s) listed"

    async def create_flow(self) -> str:
        flow = await self.client.flows.create(
            name=f"demo_flow_{self.suffix}",
            steps=[
                FlowStep(waiting_time=30, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS),
                FlowStep(waiting_time=60, status=FlowTrigger.NOT_VERIFIED, channel=Channel.CALL),
            ],
        )
        self.flow_id = flow.flow_id
        return f"flowId={flow.flow_id} with {len(flow.steps)} steps"

    async def update_flows(self) -> str:
        await self.client.flows.update(
            self.flow_id,
            name=f"demo_flow_{self.suffix}",
            steps=[
                FlowStep(waiting_time=45, status=FlowTrigger.SEND_FAILED, channel=Channel.SMS),
                FlowStep(waiting_time=90, status=FlowTrigger.NOT_VERIFIED, channel=Channel.CALL),
            ],
        )
        flow = await self.client.flows.get(self.flow_id)
        expect(
            [s.waiting_time for s in flow.steps] == [45, 90],
            f"steps are {[s.waiting_time for s in flow.steps]}",
        )
        listed = await self.client.flows.list()
        expect(any(f.flow_id == self.flow_id for f in listed), "the flow is missing from the list")
        return f"waiting times now 45 s and 90 s; {len(listed)} flow(s) listed"

    async def send(self) -> str:
        sent = await self.client.verifications.send(
            app_id=self.app_id,
            template_id=self.template_id,
            flow_id=self.flow_id,
            to=PHONE,
            order_id=self.order_id,
        )
        self.verification_id = sent.verification_id
        return f"verificationId={sent.verification_id} orderId={self.order_id} to=*********5678"

    async def verify_wrong(self) -> str:
        right = self.fake.last_code(PHONE)
        wrong = "0" * len(right) if right != "0" * len(right) else "1" * len(right)
        result = await self.client.verifications.verify(self.verification_id, wrong)
        expect(not result.ok, "a wrong code was accepted")
        return f"matched={_name(result.matched)} (not an error: the call succeeds)"

    async def verify_right(self) -> str:
        result = await self.client.verifications.verify(
            self.verification_id, self.fake.last_code(PHONE)
        )
        expect(result.ok, f"the right code was refused (matched={_name(result.matched)})")
        return f"matched={_name(result.matched)}"

    async def record_by_id(self) -> str:
        record = await self.client.records.get(self.verification_id)
        summary = record.verifications
        expect(
            summary is not None and summary.matched == MatchStatus.MATCHED,
            f"record says {summary}",
        )
        return f"matched=MATCHED, {len(record.sms)} sms attempt(s)"

    async def record_by_order_id(self) -> str:
        record = await self.client.records.get_by_order_id(self.order_id, app_id=self.app_id)
        summary = record.verifications
        expect(
            summary is not None and summary.matched == MatchStatus.MATCHED,
            f"record says {summary}",
        )
        return f"orderId={self.order_id} matched=MATCHED"

    async def send_code_and_resend(self) -> str:
        sent = await self.client.verifications.send_code(
            app_id=self.app_id, code="482913", to=PHONE, template_id=self.template_id
        )
        again = await self.client.verifications.resend(sent.verification_id)
        expect(bool(again.verification_id), "no verificationId from resend")
        return f"verificationId={sent.verification_id}, resent as {again.verification_id}"

    async def backfill(self) -> str:
        await self.client.backfill.report(
            app_id=self.app_id,
            verification_id=self.verification_id,
            time=datetime.now(UTC),
            number=PHONE,
        )
        await self.client.backfill.report_rate(
            app_id=self.app_id,
            mcc="460",
            backfill_now="87.5",
            backfill_number=7,
            backfill_cardinal_number=8,
            callback_time=datetime.now(UTC).replace(microsecond=0),
        )
        return "both accepted"

    async def phone_limit(self) -> str:
        number = "8613500000000"
        for attempt in range(1, PHONE_LIMIT + 2):
            try:
                await self.client.verifications.send(
                    app_id=self.app_id, template_id=self.template_id, to=number
                )
            except SendLimitError as exc:
                expect(attempt == PHONE_LIMIT + 1, f"refused already at send {attempt}")
                return f"send {attempt}: {type(exc).__name__} (status {exc.status})"
        raise StepFailedError(f"{PHONE_LIMIT + 1} sends to one number all passed")

    async def bulk_send(self) -> str:
        gate = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            async with gate:
                await self.client.verifications.send(
                    app_id=self.app_id,
                    template_id=self.template_id,
                    to=f"8613{i:09d}",
                    order_id=self._bulk_order(i),
                )

        await asyncio.gather(*(one(i) for i in range(self.bulk)))
        return f"orderIds {self._bulk_order(0)} … {self._bulk_order(self.bulk - 1)}"

    async def bulk_lookup(self) -> str:
        unknown = [f"unknown-{self.suffix}-{i}" for i in range(5)]
        ids = [self._bulk_order(i) for i in range(self.bulk)] + unknown
        failed: list[RecordLookup] = []

        def collect(lookup: RecordLookup) -> None:
            if not lookup.ok:
                failed.append(lookup)

        stats = await run_lookups(
            self.client,
            ids,
            app_id=self.app_id,
            concurrency=16,
            max_per_second=None,
            total=len(ids),
            show_progress=is_terminal(sys.stderr),
            on_result=collect,
        )
        expect(stats.ok == self.bulk, f"{stats.ok} of {self.bulk} known ids found")
        expect(
            sorted(f.order_id for f in failed) == sorted(unknown)
            and all(isinstance(f.error, NotFoundError) for f in failed),
            "unexpected failures: "
            + ", ".join(f"{f.order_id}: {type(f.error).__name__}" for f in failed[:5]),
        )
        return f"{stats.ok} found, {stats.failed} NotFoundError (the unknown ids)"

    def _bulk_order(self, i: int) -> str:
        return f"demo-{self.suffix}-{i:05d}"


def _name(value: object) -> str:
    return getattr(value, "name", str(value))


async def run_demo(bulk: int, fake: FakeItnio | None = None) -> tuple[bool, int, float]:
    """Run every step against ``fake`` (default: a fresh, empty sandbox).

    Returns:
        (every step behaved, number of steps that did, seconds taken).
    """
    from ._sandbox_data import make_fake

    started = time.monotonic()
    if fake is None:
        fake, _ = make_fake(seed=False, pinned=False)
    async with fake.client() as client:
        demo_run = Demo(fake, client, bulk)
        steps = demo_run.steps()
        reporter = Reporter(len(steps))
        reporter.title("itnio demo: the whole API against the in-process sandbox")
        for number, (title, step) in enumerate(steps, 1):
            try:
                detail = await step()
            except StepFailedError as exc:
                reporter.failed(number, title, str(exc))
                return False, number - 1, time.monotonic() - started
            except ItnioError as exc:
                reporter.failed(number, title, f"unexpected {type(exc).__name__}: {exc}")
                return False, number - 1, time.monotonic() - started
            reporter.passed(number, title, detail)
        elapsed = time.monotonic() - started
        reporter.done(f"demo: all {len(steps)} steps behaved as expected in {elapsed:.2f}s")
        return True, len(steps), elapsed


@click.command(
    "demo", context_settings=CONTEXT_SETTINGS, short_help="Walk the whole API against the sandbox."
)
@click.option(
    "--bulk",
    type=click.IntRange(1, 100_000),
    default=300,
    show_default=True,
    help="Order ids to create and look up in bulk.",
)
def demo(bulk: int) -> None:
    """Walk the whole API against the in-process sandbox (no credentials, no network).

    Creates an app, a template and a flow, sends a code, fails a verify with a wrong
    code and passes it with the right one, reads the record by verificationId and
    by orderId, reports backfills, hits a send limit, then bulk-looks-up a few hundred
    order ids (with a progress bar on a terminal). Exit code 0 only if every step
    behaved as expected; otherwise the failing step is printed and the exit code is 1.
    """
    ok, _, _ = run_async(run_demo(bulk))
    if not ok:
        click.echo("demo failed (see the step marked FAILED above)", err=True)
        sys.exit(EXIT_FAILURE)
