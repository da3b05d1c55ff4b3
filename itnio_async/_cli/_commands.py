"""The command tree: the root group and one sub-command per API call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from .._models import CodeType, FlowStep, SendLimit
from .._version import __version__
from ._output import EXIT_CODES_HELP
from ._params import CODE_TYPE, FLOW_STEP, ISO_TIME, MILLIS_TIME, SEND_LIMIT
from ._runtime import CONTEXT_SETTINGS, Group, global_options, run_call

__all__ = ["cli"]

F = TypeVar("F", bound=Callable[..., Any])

ROOT_HELP = """Command line for the ITNIO OTP (verification code) API.

One sub-command per API call; results are JSON on stdout (pretty on a terminal, one
line when piped), errors one line on stderr.

\b
Try it without credentials or network:
  itnio demo                          walk the whole API against a sandbox
  itnio --sandbox templates list      any command against the seeded sandbox
  itnio sandbox ids                   the ids the sandbox is seeded with
  itnio sandbox serve --port 8080     the sandbox over HTTP for other programs

Credentials come from --api-key/--api-secret or ITNIO_API_KEY/ITNIO_API_SECRET;
the base URL from --base-url or ITNIO_BASE_URL. A plain http:// base URL to a host
that is not loopback (a sandbox container: http://sandbox:8080/otp) needs
--allow-insecure-http or ITNIO_ALLOW_INSECURE_HTTP=1.
"""


@click.group(
    cls=Group,
    help=ROOT_HELP,
    epilog=EXIT_CODES_HELP,
    context_settings=CONTEXT_SETTINGS,
)
@click.version_option(__version__, "-V", "--version", prog_name="itnio")
@global_options(hidden=False)
def cli() -> None:
    """Root group (help text above)."""


def _options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Stack option decorators; they show in ``--help`` in the order given."""

    def decorate(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return decorate


#: ``--app-id`` where the API requires it (every use makes its own click.Option).
_APP_ID = click.option("--app-id", required=True, help="Application id.")
_CODE_TYPE_HELP = "Code characters: 1|numeric 2|alpha 3|alphanumeric 4|hex."


# -- apps ------------------------------------------------------------------------


_app_options = _options(
    click.option("--name", required=True, help="App name, 4-32 characters, unique."),
    click.option(
        "--code-expiry",
        type=int,
        metavar="MINUTES",
        help="Minutes a sent code stays valid (1-60; server default 5).",
    ),
    click.option(
        "--total-limit",
        type=SEND_LIMIT,
        help="Send limit of the whole app: enabled=true,unit=1,period=1,limit=100 or 'off'.",
    ),
    click.option(
        "--phone-limit",
        type=SEND_LIMIT,
        help="Per-number send limit: enabled=true,unit=1,period=1,limit=5 "
        "(unit 1|day 2|hour 3|minute 4|second) or 'off'.",
    ),
)


@cli.group()
def apps() -> None:
    """Verification-code applications (/app/...)."""


@apps.command("create")
@_app_options
@click.pass_context
def apps_create(
    ctx: click.Context,
    name: str,
    code_expiry: int | None,
    total_limit: SendLimit | None,
    phone_limit: SendLimit | None,
) -> None:
    """Create an application (POST /app/add).

    \b
    Example:
      itnio apps create --name shop_login --code-expiry 5 \\
        --phone-limit enabled=true,unit=day,period=1,limit=10
    """
    run_call(
        ctx,
        lambda c: c.apps.create(
            name=name,
            code_expiry=code_expiry,
            period_total_send_limit=total_limit,
            period_phone_send_limit=phone_limit,
        ),
    )


@apps.command("update")
@click.argument("app_id")
@_app_options
@click.pass_context
def apps_update(
    ctx: click.Context,
    app_id: str,
    name: str,
    code_expiry: int | None,
    total_limit: SendLimit | None,
    phone_limit: SendLimit | None,
) -> None:
    """Update application APP_ID (PUT /app/update/{appId}).

    A limit given as 'off' is switched off. An option not given is not sent, and
    the API then resets that setting to its default (code expiry 5, limits off):
    give every setting to keep (see `itnio apps get APP_ID`).
    """
    run_call(
        ctx,
        lambda c: c.apps.update(
            app_id,
            name=name,
            code_expiry=code_expiry,
            period_total_send_limit=total_limit,
            period_phone_send_limit=phone_limit,
        ),
    )


@apps.command("get")
@click.argument("app_id")
@click.pass_context
def apps_get(ctx: click.Context, app_id: str) -> None:
    """Read application APP_ID (GET /app/details/{appId})."""
    run_call(ctx, lambda c: c.apps.get(app_id))


# -- templates -------------------------------------------------------------------


_template_options = _options(
    click.option("--name", required=True, help="Template name, 4-32 characters."),
    click.option(
        "--text",
        required=True,
        help="Message text, 1-256 characters, containing ##code##.",
    ),
    click.option("--code-length", type=int, help="Length of generated codes, 4-10 (default 4)."),
    click.option("--speech-rate", type=int, help="Voice speed 0-100 (default 50)."),
    click.option("--language", help="Voice language code such as EN, CN (default EN)."),
    click.option(
        "--max-duration",
        type=int,
        metavar="SECONDS",
        help="Maximum call length, 5-599 s (default 59).",
    ),
    click.option("--repeat-cnt", type=int, help="Times the voice message is played, 1-10."),
    click.option("--sender-id", help="Sender id."),
)


@cli.group()
def templates() -> None:
    """Message templates (/template/...)."""


@templates.command("create")
@click.option("--app-id", required=True, help="Owning application id.")
@_template_options
@click.option(
    "--code-type", type=CODE_TYPE, default="numeric", show_default=True, help=_CODE_TYPE_HELP
)
@click.pass_context
def templates_create(
    ctx: click.Context,
    /,
    app_id: str,
    code_type: CodeType,
    **fields: Any,
) -> None:
    """Create a template (POST /template/add).

    \b
    Example:
      itnio templates create --app-id mRELxtHc --name login_sms \\
        --text '##code## is your code, valid 5 minutes' --code-length 6
    """
    run_call(ctx, lambda c: c.templates.create(app_id=app_id, code_type=code_type, **fields))


@templates.command("update")
@click.argument("template_id")
@_template_options
@click.option("--code-type", type=CODE_TYPE, help=_CODE_TYPE_HELP)
@click.pass_context
def templates_update(
    ctx: click.Context, /, template_id: str, code_type: CodeType | None, **fields: Any
) -> None:
    """Update a template (PUT /template/update/{templateId}).

    Updates template TEMPLATE_ID; --name and --text are required by the API. An
    option not given is not sent, and the API then resets that setting to its
    default (code type numeric, length 4, speech rate 50, language EN, max
    duration 59, repeat count 1): give every setting to keep.
    """
    run_call(ctx, lambda c: c.templates.update(template_id, code_type=code_type, **fields))


@templates.command("get")
@click.argument("template_id")
@click.pass_context
def templates_get(ctx: click.Context, template_id: str) -> None:
    """Read a template (GET /template/details/{templateId})."""
    run_call(ctx, lambda c: c.templates.get(template_id))


@templates.command("list")
@click.pass_context
def templates_list(ctx: click.Context) -> None:
    """List all templates (GET /template/list).

    Prints a JSON array of every template of the account (no pagination).
    """
    run_call(ctx, lambda c: c.templates.list())


# -- flows -----------------------------------------------------------------------


_flow_options = _options(
    click.option("--name", required=True, help="Flow name, 4-32 characters, unique."),
    click.option(
        "--step",
        "steps",
        type=FLOW_STEP,
        multiple=True,
        required=True,
        help="A fallback step, repeatable, in order: "
        "waiting_time=30,status=1,channel=sms[,channel_cut=0] "
        "(waiting_time 30-120 s; status 1|send_failed 2|not_verified; channel sms|call; "
        "channel_cut 0|switch 1|no_switch).",
    ),
)


@cli.group()
def flows() -> None:
    """Task flows: ordered channel fallbacks (/flow/...)."""


@flows.command("create")
@_flow_options
@click.pass_context
def flows_create(ctx: click.Context, name: str, steps: tuple[FlowStep, ...]) -> None:
    """Create a task flow (POST /flow/add).

    \b
    Example:
      itnio flows create --name sms_then_call \\
        --step waiting_time=30,status=1,channel=sms \\
        --step waiting_time=60,status=not_verified,channel=call
    """
    run_call(ctx, lambda c: c.flows.create(name=name, steps=list(steps)))


@flows.command("update")
@click.argument("flow_id")
@_flow_options
@click.pass_context
def flows_update(ctx: click.Context, flow_id: str, name: str, steps: tuple[FlowStep, ...]) -> None:
    """Replace flow FLOW_ID (PUT /flow/update/{flowId}).

    The whole step list is replaced by the --step options given.
    """
    run_call(ctx, lambda c: c.flows.update(flow_id, name=name, steps=list(steps)))


@flows.command("get")
@click.argument("flow_id")
@click.pass_context
def flows_get(ctx: click.Context, flow_id: str) -> None:
    """Read task flow FLOW_ID (GET /flow/details/{flowId})."""
    run_call(ctx, lambda c: c.flows.get(flow_id))


@flows.command("list")
@click.pass_context
def flows_list(ctx: click.Context) -> None:
    """List all task flows (GET /flow/list).

    Prints a JSON array of every flow of the account (no pagination).
    """
    run_call(ctx, lambda c: c.flows.list())


# -- verifications ---------------------------------------------------------------

_CHANNEL = click.Choice(["sms", "call", "sna"], case_sensitive=False)


_send_options = _options(
    click.option(
        "--to",
        required=True,
        metavar="NUMBER",
        help="Destination with country code, as people write it: 8613512345678, "
        "'+86 135 1234 5678' (sent as its 10-14 digits).",
    ),
    click.option("--channel", type=_CHANNEL, help="Channel (server default sms)."),
    click.option("--flow-id", help="Task flow for fallbacks."),
    click.option("--order-id", help="Your own reference (at most 64 characters)."),
)


@cli.group(short_help="Send, resend and verify codes.")
def verifications() -> None:
    """Send codes, resend them and verify what users typed (/verification/...)."""


@verifications.command("send")
@_APP_ID
@click.option("--template-id", required=True, help="Template to render.")
@_send_options
@click.pass_context
def verifications_send(
    ctx: click.Context,
    app_id: str,
    template_id: str,
    to: str,
    channel: str | None,
    flow_id: str | None,
    order_id: str | None,
) -> None:
    """Send a platform-generated code (POST /verification/send).

    \b
    Example:
      itnio verifications send --app-id mRELxtHc --template-id 455 \\
        --to 8613512345678 --order-id order-1001
    """
    run_call(
        ctx,
        lambda c: c.verifications.send(
            app_id=app_id,
            template_id=template_id,
            to=to,
            channel=channel,
            flow_id=flow_id,
            order_id=order_id,
        ),
    )


@verifications.command("send-code")
@_APP_ID
@click.option("--code", required=True, help="The code you generated, 1-10 characters.")
@click.option("--template-id", help="Template to render (optional here).")
@_send_options
@click.pass_context
def verifications_send_code(
    ctx: click.Context,
    app_id: str,
    code: str,
    template_id: str | None,
    to: str,
    channel: str | None,
    flow_id: str | None,
    order_id: str | None,
) -> None:
    """Deliver your own code (POST /verification/sendRule)."""
    run_call(
        ctx,
        lambda c: c.verifications.send_code(
            app_id=app_id,
            code=code,
            template_id=template_id,
            to=to,
            channel=channel,
            flow_id=flow_id,
            order_id=order_id,
        ),
    )


@verifications.command("resend")
@click.argument("verification_id")
@click.option("--channel", type=_CHANNEL, help="Channel for the resend.")
@click.pass_context
def verifications_resend(ctx: click.Context, verification_id: str, channel: str | None) -> None:
    """Resend a code (POST /verification/resend).

    Resends the code of VERIFICATION_ID.

    The answer carries a new verificationId: use it from then on.
    """
    run_call(ctx, lambda c: c.verifications.resend(verification_id, channel=channel))


@verifications.command("verify")
@click.argument("verification_id")
@click.argument("code")
@click.pass_context
def verifications_verify(ctx: click.Context, verification_id: str, code: str) -> None:
    """Check a code (POST /verification/verify).

    Checks CODE against VERIFICATION_ID.

    A wrong, expired or used code is not an error: the call succeeds (exit 0) and
    "matched" says what happened: MATCHED, FAILED, ALREADY_USED, EXPIRED... on a
    terminal; 0, 2, 4, 5... in the JSON printed when piped or with --json.
    """
    run_call(ctx, lambda c: c.verifications.verify(verification_id, code))


# -- records ---------------------------------------------------------------------


@cli.group(short_help="Delivery records: one, or many in bulk.")
def records() -> None:
    """Delivery and verification records, one or many (/verification/...record)."""


@records.command("get")
@click.argument("verification_id")
@click.pass_context
def records_get(ctx: click.Context, verification_id: str) -> None:
    """Read a record (GET /verification/record/{id}).

    Prints the delivery and verification record of VERIFICATION_ID.
    """
    run_call(ctx, lambda c: c.records.get(verification_id))


@records.command("get-by-order-id")
@click.argument("order_id")
@click.option("--app-id", help="Application id (sent when given).")
@click.pass_context
def records_get_by_order_id(ctx: click.Context, order_id: str, app_id: str | None) -> None:
    """Read a record by order id (POST .../orderId/record).

    Prints the record sent with your ORDER_ID (POST /verification/orderId/record).
    """
    run_call(ctx, lambda c: c.records.get_by_order_id(order_id, app_id=app_id))


# -- backfill --------------------------------------------------------------------


@cli.group(short_help="Report conversions (backfill) to ITNIO.")
def backfill() -> None:
    """Report conversions to ITNIO (/postback/backfill, /backfillRate).

    Despite the vendor's word "callback", these are calls you make to ITNIO.
    """


@backfill.command("report")
@_APP_ID
@click.option("--verification-id", required=True, help="Id of the verification.")
@click.option(
    "--time",
    "time_",
    type=MILLIS_TIME,
    default="now",
    show_default=True,
    help="When the user entered the code: epoch milliseconds, ISO-8601 with offset, or now.",
)
@click.option("--number", metavar="NUMBER", help="The end user's number (10-14 digits).")
@click.pass_context
def backfill_report(
    ctx: click.Context, app_id: str, verification_id: str, time_: Any, number: str | None
) -> None:
    """Report that a user entered a code (POST /postback/backfill). Prints {"ok": true}."""
    run_call(
        ctx,
        lambda c: c.backfill.report(
            app_id=app_id, verification_id=verification_id, time=time_, number=number
        ),
    )


@backfill.command("report-rate")
@_APP_ID
@click.option("--mcc", required=True, help="Mobile country code, e.g. 460.")
@click.option(
    "--backfill-now", required=True, metavar="PERCENT", help="Rate in percent, 0-100, 2 decimals."
)
@click.option(
    "--callback-time",
    type=ISO_TIME,
    default="now",
    show_default=True,
    help="Time of the figure: ISO-8601 with offset, or now.",
)
@click.option("--backfill-number", metavar="N", help="Count of entered codes.")
@click.option("--backfill-cardinal-number", metavar="N", help="Count the rate is computed on.")
@click.pass_context
def backfill_report_rate(
    ctx: click.Context,
    app_id: str,
    mcc: str,
    backfill_now: str,
    callback_time: Any,
    backfill_number: str | None,
    backfill_cardinal_number: str | None,
) -> None:
    """Report an aggregate conversion rate (POST /backfillRate). Prints {"ok": true}."""
    run_call(
        ctx,
        lambda c: c.backfill.report_rate(
            app_id=app_id,
            mcc=mcc,
            backfill_now=backfill_now,
            callback_time=callback_time,
            backfill_number=backfill_number,
            backfill_cardinal_number=backfill_cardinal_number,
        ),
    )


def _register() -> None:
    """Attach the commands that live in their own modules."""
    from ._demo import demo
    from ._lookup import records_lookup
    from ._sandbox import sandbox

    records.add_command(records_lookup)
    cli.add_command(sandbox)
    cli.add_command(demo)


_register()
