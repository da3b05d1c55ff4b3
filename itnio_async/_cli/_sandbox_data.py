"""The sandbox's data: a seeded ``FakeItnio``, and the in-process client of ``--sandbox``.

Kept apart from the ``sandbox`` commands (``_sandbox.py``) so that the rest of the
command line can open a sandbox client without importing the commands.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import attrs

from .._converter import camel

if TYPE_CHECKING:
    from .._client import AsyncItnio
    from ..testing import FakeItnio
    from ._runtime import State

__all__ = [
    "SANDBOX_EPOCH",
    "SANDBOX_RANDOM_SEED",
    "describe_ids",
    "describe_limits",
    "make_fake",
    "open_sandbox_client",
]


#: The in-process sandbox's clock starts at this instant (2025-01-01 09:00:00 +08:00)
#: and its random ids come from this seed, so every ``--sandbox`` run is seeded with
#: the same ids (``itnio sandbox ids``) and commands can refer to them.
SANDBOX_EPOCH = 1_735_693_200.0
SANDBOX_RANDOM_SEED = 20250101


class _SandboxClock:
    """Starts at :data:`SANDBOX_EPOCH` and runs in real time, so seeding gives the same
    ids on every run; :meth:`follow_real_time` then makes it the real clock (a served
    sandbox: clients in other processes sign with the real time)."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._real = False

    def __call__(self) -> float:
        if self._real:
            return time.time()
        return SANDBOX_EPOCH + (time.monotonic() - self._started)

    def follow_real_time(self) -> None:
        """From now on, the real time."""
        self._real = True


def make_fake(
    api_key: str | None = None,
    api_secret: str | None = None,
    *,
    seed: bool = True,
    pinned: bool = True,
    fixed_code: str | None = None,
) -> tuple[FakeItnio, dict[str, Any] | None]:
    """A fresh fake, seeded unless ``seed`` is false; returns it and the seeded ids.

    The one source of the sandbox's data: ``--sandbox``, ``itnio sandbox ids`` and
    ``itnio sandbox serve`` all call it, so the same options give the same ids. It is
    always seeded at :data:`SANDBOX_EPOCH` with a fixed random seed, so the seeded ids
    (and codes) are the same on every run. ``pinned`` keeps that clock running (an
    in-process client signs with the fake's clock); otherwise the clock follows the
    real time once seeded, which outside clients sign with (the seeded codes, sent at
    the epoch, have then expired). ``fixed_code`` is the fake's ``fixed_code``. The
    ids include the seeded app's two send limits, as the API writes them.
    """
    from ..testing import FakeItnio

    clock = _SandboxClock()
    kwargs: dict[str, Any] = {
        "random_seed": SANDBOX_RANDOM_SEED,
        "fixed_code": fixed_code,
        "clock": clock,
    }
    if api_key is not None:
        kwargs["api_key"] = api_key
    if api_secret is not None:
        kwargs["api_secret"] = api_secret
    fake = FakeItnio(**kwargs)
    ids = _seed(fake) if seed else None
    if not pinned:
        clock.follow_real_time()
    return fake, ids


def _seed(fake: FakeItnio) -> dict[str, Any]:
    """Seed ``fake``; its ids (camelCase) and the seeded app's send limits."""
    data = fake.seed()
    ids = {
        camel(field.name): _plain(getattr(data, field.name)) for field in attrs.fields(type(data))
    }
    app = fake._service.apps[data.app_id].wire()
    for limit in ("periodTotalSendLimit", "periodPhoneSendLimit"):
        ids[limit] = app[limit]
    return ids


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


_UNITS = {1: "day", 2: "hour", 3: "minute", 4: "second"}


def describe_ids(ids: dict[str, Any]) -> str:
    """One line naming the seeded ids, for hints on stderr."""
    parts = []
    for key, value in ids.items():
        if isinstance(value, dict):
            continue  # the send limits: see describe_limits
        shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        parts.append(f"{key}: {shown}")
    return "seeded " + "; ".join(parts)


def describe_limits(ids: dict[str, Any]) -> str:
    """The seeded app's send limits in words, and what happens past them."""
    total, phone = ids["periodTotalSendLimit"], ids["periodPhoneSendLimit"]
    return (
        f"send limits of app {ids['appId']}: {_per(total)} in all (then -27), "
        f"{_per(phone)} per number (then -28); seeding used 4. A window passes with "
        "`itnio sandbox advance SECONDS` or a restart"
    )


def _per(limit: dict[str, Any]) -> str:
    if not limit.get("enabled"):
        return "no limit"
    period, unit = limit["period"], _UNITS.get(limit["unit"], f"unit {limit['unit']}")
    span = unit if period == 1 else f"{period} {unit}s"
    return f"{limit['limit']:,} sends per {span}"


@contextlib.asynccontextmanager
async def open_sandbox_client(state: State, **options: Any) -> AsyncIterator[AsyncItnio]:
    """A client wired in-process to a freshly seeded fake (no sockets, no credentials)."""
    fake, ids = make_fake()
    state.sandbox_ids = ids
    async with fake.client(**options) as client:
        yield client
