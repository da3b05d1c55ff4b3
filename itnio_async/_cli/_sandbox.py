"""The sandbox: ``--sandbox`` (an in-process fake) and ``itnio sandbox serve`` (over HTTP).

Both run :class:`itnio_async.testing.FakeItnio`, seeded with a small realistic data
set (an app, templates, a flow and a few verifications with records, order ids and
codes). The sandbox is a developer's tool: unlike the SDK, it shows the codes it
delivers and the full numbers they went to (``sandbox ids``, the ``serve`` console,
``GET /_sandbox/deliveries``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
import sys
from typing import TYPE_CHECKING

import click
import httpx

from ._output import EXIT_FAILURE, EXIT_TRANSPORT, print_json
from ._runtime import CONTEXT_SETTINGS, run_async
from ._sandbox_data import describe_ids, describe_limits, make_fake

if TYPE_CHECKING:
    from ..testing import Delivery

__all__ = ["sandbox"]


class _SandboxGroup(click.Group):
    """Lists the seeded ids at the end of its help text."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_help_text(ctx, formatter)
        try:
            _, ids = make_fake()
        except Exception:  # noqa: BLE001 - help must render even if the fake cannot
            return
        if ids:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text("Every --sandbox run is seeded with:")
                formatter.write_dl(
                    [
                        (key, ", ".join(map(str, v)) if isinstance(v, list) else str(v))
                        for key, v in ids.items()
                    ]
                )


@click.group(
    cls=_SandboxGroup,
    context_settings=CONTEXT_SETTINGS,
    short_help="Serve or inspect the in-memory fake API.",
)
def sandbox() -> None:
    """The sandbox: a stateful in-memory fake of the whole API.

    `itnio --sandbox COMMAND` runs any command against a fresh, seeded sandbox in this
    process; `itnio sandbox serve` serves one over HTTP for other programs.
    """


def _check_code(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from ..testing._fake import is_fixed_code  # the fake's own rule (loaded only when used)

    if not is_fixed_code(value):
        raise click.BadParameter("a code is 4 to 10 letters or digits")
    return value


#: ``--fixed-code`` of ``serve`` and ``ids``: the same option gives the same ids.
_fixed_code_option = click.option(
    "--fixed-code",
    metavar="CODE",
    callback=_check_code,
    help="Deliver this code (4-10 letters or digits) for every send instead of a random "
    "one, fitted to the template: repeated or cut to its codeLength (1234 becomes 123412 "
    "for a 6-digit template), so it verifies; a template whose codeType cannot make its "
    "characters (letters for a numeric one) still gets a random code.",
)


@sandbox.command("ids", context_settings=CONTEXT_SETTINGS)
@_fixed_code_option
def sandbox_ids(fixed_code: str | None) -> None:
    """Print the seeded ids, codes and send limits.

    Every --sandbox run, and every `itnio sandbox serve` with the same --fixed-code,
    starts from the same seeded data; this prints its ids as JSON. codes[i] is the
    code delivered for verificationIds[i]: it verifies with `itnio --sandbox
    verifications verify VERIFICATION_ID CODE` (the first one was already used by the
    seed, so it answers ALREADY_USED; a served sandbox sent them at its epoch,
    2025-01-01 09:00 +08:00, so there they answer EXPIRED).

    periodTotalSendLimit and periodPhoneSendLimit are the seeded app's limits: past
    them sends answer -27 / -28 until the window passes (a restart, or `itnio
    sandbox advance SECONDS` on a served sandbox).
    """

    _, ids = make_fake(fixed_code=fixed_code)
    assert ids is not None
    print_json(ids)
    click.echo(describe_limits(ids), err=True)


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter("a positive finite number of seconds")
    return value


@sandbox.command("advance", context_settings=CONTEXT_SETTINGS)
@click.argument(
    "seconds", type=click.FloatRange(min=0, min_open=True), callback=_finite, metavar="SECONDS"
)
@click.option(
    "--base-url",
    envvar="ITNIO_BASE_URL",
    default="http://127.0.0.1:8080/otp",
    show_default=True,
    metavar="URL",
    help="The running sandbox's API base URL [default also from $ITNIO_BASE_URL].",
)
def sandbox_advance(seconds: float, base_url: str) -> None:
    """Move a running sandbox's clock forward SECONDS.

    Talks to a sandbox started with `itnio sandbox serve` (POST
    /_sandbox/advance?seconds=N next to its /otp base URL): codes expire, send-limit
    windows pass and task-flow steps fire as if that time had gone by, so a test in
    any language can see a code expire without sleeping. Prints the sandbox's answer
    ({"advanced": SECONDS, "now": ...}). Clients keep signing with the real time: the
    sandbox accepts it after an advance.

    \b
    Example:
      itnio sandbox advance 301    # past the seeded app's 5-minute code expiry
    """
    root = base_url.strip().rstrip("/").removesuffix("/otp")
    try:
        with httpx.Client(trust_env=False, timeout=10) as http:
            answer = http.post(f"{root}/_sandbox/advance", params={"seconds": repr(seconds)})
    except httpx.HTTPError as exc:
        click.echo(f"error: cannot reach the sandbox at {root}: {exc}", err=True)
        sys.exit(EXIT_TRANSPORT)
    if answer.status_code != 200:
        click.echo(
            f"error: {root}/_sandbox/advance answered HTTP {answer.status_code}: "
            f"{_message_of(answer)} (is {base_url} an `itnio sandbox serve`?)",
            err=True,
        )
        sys.exit(EXIT_TRANSPORT)
    print_json(answer.json())


def _message_of(answer: httpx.Response) -> str:
    """The ``message`` of a sandbox's JSON error, else the start of the body."""
    try:
        return str(answer.json()["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


def _print_delivery(delivery: Delivery) -> None:
    """One console line per delivery: the sandbox shows what a phone would receive."""
    with contextlib.suppress(OSError):  # a closed console must not fail the API call
        click.echo(
            f"delivered: to {delivery.to} code {delivery.code} "
            f"verificationId {delivery.verification_id} ({delivery.channel}, {delivery.kind})"
        )
        sys.stdout.flush()


@sandbox.command("serve", context_settings=CONTEXT_SETTINGS)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="TCP port (0 picks a free one).",
)
@click.option("--api-key", default="test-key", show_default=True, help="Key clients must use.")
@click.option(
    "--api-secret", default="test-secret", show_default=True, help="Secret clients must use."
)
@click.option(
    "--seed/--no-seed", default=True, show_default=True, help="Start with the sample data set."
)
@_fixed_code_option
def sandbox_serve(
    host: str, port: int, api_key: str, api_secret: str, seed: bool, fixed_code: str | None
) -> None:
    """Serve the sandbox over HTTP until Ctrl-C.

    Listens at http://HOST:PORT/otp until Ctrl-C or SIGTERM. Requests are signed
    and checked like the real API's. Point any client at it:

    \b
      export ITNIO_BASE_URL=http://127.0.0.1:8080/otp
      export ITNIO_API_KEY=test-key ITNIO_API_SECRET=test-secret
      itnio templates list

    Nothing reaches a phone: each code it delivers is printed here as it happens
    (number, code, verificationId), and GET http://HOST:PORT/_sandbox/deliveries
    (optionally ?to=NUMBER) answers them all as JSON. With --fixed-code every send
    delivers CODE fitted to the template's length (see the option; a send-code call
    delivers the code its caller chose).

    Its clock moves on with POST http://HOST:PORT/_sandbox/advance?seconds=N (or
    `itnio sandbox advance N`): codes expire and send-limit windows pass without
    waiting.
    """

    async def main() -> None:
        fake, ids = make_fake(api_key, api_secret, seed=seed, pinned=False, fixed_code=fixed_code)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop.set)
        try:
            served = fake.serve(host=host, port=port)
            base_url = await served.__aenter__()
        except OSError as exc:
            click.echo(f"error: cannot listen on {host}:{port}: {exc}", err=True)
            sys.exit(EXIT_FAILURE)
        try:
            click.echo(f"itnio sandbox serving at {base_url}")
            click.echo(f"  export ITNIO_BASE_URL={base_url}")
            click.echo(f"  export ITNIO_API_KEY={api_key}")
            click.echo(f"  export ITNIO_API_SECRET={api_secret}")
            if ids:
                click.echo(f"  {describe_ids(ids)}")
                click.echo(f"  {describe_limits(ids)}")
            root = base_url.removesuffix("/otp")
            click.echo(f"  deliveries: GET {root}/_sandbox/deliveries")
            click.echo(f"  clock: POST {root}/_sandbox/advance?seconds=N (itnio sandbox advance N)")
            if fixed_code is not None:
                click.echo(
                    f"  every send delivers the code {fixed_code}, repeated or cut to the "
                    "template's code length"
                )
            click.echo("Press Ctrl-C to stop.")
            sys.stdout.flush()
            fake.on_delivery = _print_delivery
            await stop.wait()
        finally:
            await served.__aexit__(None, None, None)
        click.echo("itnio sandbox stopped")

    run_async(main())
