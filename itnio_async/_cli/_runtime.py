"""Global options, the client a command runs against, and running a call to an exit code.

The global options (``--api-key``, ``--api-secret``, ``--base-url``, ``--timeout``,
``--max-retries``, ``--allow-insecure-http``, ``--sandbox``, ``--json``) are accepted
on the root group and, hidden, on every leaf command too (``itnio records lookup
--sandbox ...``); a value given after the command wins. Credentials, the base URL and
the plain-http opt-in not given as options are read from the environment by the SDK
itself (``ITNIO_API_KEY``, ``ITNIO_API_SECRET``, ``ITNIO_BASE_URL``,
``ITNIO_ALLOW_INSECURE_HTTP``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from .._client import AsyncItnio, _credentials
from .._exceptions import ItnioError, NotFoundError
from .._logging import logger, setup_logging_from_env
from ._output import error_line, exit_code_for, print_json

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CONTEXT_SETTINGS",
    "Group",
    "State",
    "api_command",
    "fail",
    "global_options",
    "open_client",
    "run_async",
    "run_call",
    "state_of",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@attrs.define
class State:
    """What the global options configured for this invocation.

    ``transport`` is a private test hook: ``CliRunner().invoke(cli, args,
    obj=State(transport=httpx.MockTransport(handler)))`` runs a command against it.
    """

    api_key: str | None = None
    api_secret: str | None = None
    base_url: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    #: ``--allow-insecure-http``; ``None``: the SDK reads ``ITNIO_ALLOW_INSECURE_HTTP``.
    allow_insecure_http: bool | None = None
    sandbox: bool = False
    #: ``--json``: one line of machine JSON (``to_json()``) also on a terminal.
    json_output: bool = False
    transport: httpx.AsyncBaseTransport | None = attrs.field(default=None, repr=False)
    #: Ids created by seeding the sandbox (filled when ``--sandbox`` is used).
    sandbox_ids: dict[str, Any] | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"State(base_url={self.base_url!r}, sandbox={self.sandbox})"


def state_of(ctx: click.Context) -> State:
    """The invocation's state (created on the root context on first use)."""
    return ctx.ensure_object(State)


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is None or value is False or param.name is None:
        return
    setattr(state_of(ctx), param.name, value)


def global_options(*, hidden: bool) -> Callable[[F], F]:
    """Add the global options to a command (hidden on leaf commands, shown on the root)."""

    def decorate(func: F) -> F:
        options = [
            click.option(
                "--api-key",
                metavar="KEY",
                help="API key [default: $ITNIO_API_KEY].",
            ),
            click.option(
                "--api-secret",
                metavar="SECRET",
                help="API secret [default: $ITNIO_API_SECRET]; never printed.",
            ),
            click.option(
                "--base-url",
                metavar="URL",
                help="API base URL [default: $ITNIO_BASE_URL or https://api.itniotech.com/otp].",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                metavar="SECONDS",
                help="Timeout of each attempt [default: 10, 5 to connect].",
            ),
            click.option(
                "--max-retries",
                type=click.IntRange(min=0),
                metavar="N",
                help="Extra attempts for retryable failures [default: 2].",
            ),
            click.option(
                "--allow-insecure-http",
                is_flag=True,
                default=False,
                help="Allow a plain http:// --base-url to a host that is not loopback, such "
                "as a sandbox container (http://sandbox:8080/otp); the key and a replayable "
                "Sign then travel in clear text [default: $ITNIO_ALLOW_INSECURE_HTTP=1].",
            ),
            click.option(
                "--sandbox",
                is_flag=True,
                default=False,
                help="Run against an in-process fake API seeded with sample data "
                "(no credentials, no network). See `itnio sandbox ids`.",
            ),
            click.option(
                "--json",
                "json_output",
                is_flag=True,
                default=False,
                help="Print results as one line of JSON, enums as integers (what "
                "Model.to_json() gives), also on a terminal; a terminal otherwise shows "
                "them pretty, enums by name (matched: FAILED). Piped output is always JSON.",
            ),
        ]
        for option in reversed(options):
            func = option(func)
        for param in func.__click_params__:  # type: ignore[attr-defined]
            if param.name in _GLOBAL_NAMES:
                param.expose_value = False
                param.callback = _store
                param.hidden = hidden
                param.is_eager = True
        return func

    return decorate


_GLOBAL_NAMES = frozenset(
    {
        "api_key",
        "api_secret",
        "base_url",
        "timeout",
        "max_retries",
        "allow_insecure_http",
        "sandbox",
        "json_output",
    }
)

CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100,
}

LEAF_EPILOG = (
    "The global options (--api-key, --api-secret, --base-url, --timeout, "
    "--max-retries, --allow-insecure-http, --sandbox, --json) may also be given after "
    "the command; "
    "see `itnio --help`."
)


def api_command(
    name: str | None = None, **kwargs: Any
) -> Callable[[Callable[..., Any]], click.Command]:
    """A leaf command that talks to the API: it also accepts the global options (hidden)."""
    kwargs.setdefault("epilog", LEAF_EPILOG)
    kwargs.setdefault("context_settings", CONTEXT_SETTINGS)

    def decorate(func: Callable[..., Any]) -> click.Command:
        return click.command(name, cls=click.Command, **kwargs)(global_options(hidden=True)(func))

    return decorate


class Group(click.Group):
    """A group of API commands: its sub-commands accept the global options too."""

    def command(  # type: ignore[override]
        self, name: str | None = None, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Command]:
        """Like ``click.Group.command``, adding the hidden global options."""
        make = api_command(name, **kwargs)

        def decorate(func: Callable[..., Any]) -> click.Command:
            command = make(func)
            self.add_command(command)
            return command

        return decorate

    def group(  # type: ignore[override]
        self, name: str | None = None, **kwargs: Any
    ) -> Callable[[Callable[..., Any]], click.Group]:
        """Like ``click.Group.group``, making another :class:`Group`."""
        kwargs.setdefault("context_settings", CONTEXT_SETTINGS)

        def decorate(func: Callable[..., Any]) -> click.Group:
            group = click.group(name, cls=Group, **kwargs)(func)
            self.add_command(group)
            return group

        return decorate


@contextlib.asynccontextmanager
async def open_client(state: State) -> AsyncIterator[AsyncItnio]:
    """The client for this invocation: the sandbox, or the real API with the given options."""
    options: dict[str, Any] = {}
    if state.timeout is not None:
        options["timeout"] = state.timeout
    if state.max_retries is not None:
        options["max_retries"] = state.max_retries
    if state.sandbox:
        from ._sandbox_data import open_sandbox_client

        async with open_sandbox_client(state, **options) as client:
            yield client
        return
    try:
        client = AsyncItnio(
            state.api_key,
            state.api_secret,
            base_url=state.base_url,
            allow_insecure_http=state.allow_insecure_http,
            transport=state.transport,
            **options,
        )
    except ItnioError as exc:
        raise ItnioError(f"{exc} ({_hint_for(state)})") from exc
    async with client:
        yield client


def _hint_for(state: State) -> str:
    """Where the setting that made the client fail comes from on the command line: the
    credentials when the client's own reading of them (arguments, then environment)
    refuses them, else the base URL (the other options are checked by click)."""
    try:
        _credentials(state.api_key, state.api_secret)
    except ItnioError:
        return (
            "on the command line: --api-key / --api-secret, "
            "or --sandbox to try it without credentials"
        )
    return "on the command line: --base-url URL, or the ITNIO_BASE_URL environment variable"


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when it is installed (the ``cli`` extra brings it), else asyncio's.

    ``ITNIO_EVENT_LOOP=asyncio`` keeps asyncio's loop. Only the command line chooses
    a loop: the library never sets an event-loop policy.
    """
    if os.environ.get("ITNIO_EVENT_LOOP", "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_async(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion on a fresh event loop (uvloop when installed)."""

    async def wrapper() -> T:
        setup_logging_from_env()
        logger.debug("event loop: %s", type(asyncio.get_running_loop()).__module__)
        return await coro

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(wrapper())


def fail(ctx: click.Context, exc: BaseException) -> None:
    """Print the one-line error for ``exc`` and exit with its code."""
    state = state_of(ctx)
    click.echo(error_line(exc, secrets=(state.api_secret,)), err=True)
    if state.sandbox and state.sandbox_ids and isinstance(exc, NotFoundError):
        from ._sandbox_data import describe_ids

        click.echo(f"sandbox: {describe_ids(state.sandbox_ids)}", err=True)
    ctx.exit(exit_code_for(exc))


def run_call(ctx: click.Context, call: Callable[[AsyncItnio], Awaitable[Any]]) -> None:
    """Open the client, make one call, print its result as JSON; map errors to exit codes."""
    state = state_of(ctx)

    async def main() -> Any:
        async with open_client(state) as client:
            return await call(client)

    try:
        result = run_async(main())
    except ItnioError as exc:
        fail(ctx, exc)
        return
    print_json({"ok": True} if result is None else result, machine=state.json_output)
    sys.stdout.flush()
