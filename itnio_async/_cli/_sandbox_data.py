"""The sandbox's data: a seeded ``FakeItnio``, and the in-process client of ``--sandbox``.

Kept apart from the ``sandbox`` commands (``_sandbox.py``) so that the rest of the
command line can open a sandbox client without importing the commands.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
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
    "make_fake",
    "open_sandbox_client",
]


#: The in-process sandbox's clock starts at this instant (2025-01-01 09:00:00 +08:00)
#: and its random ids come from this seed, so every ``--sandbox`` run is seeded with
#: the same ids (``itnio sandbox ids``) and commands can refer to them.
SANDBOX_EPOCH = 1_735_693_200.0
SANDBOX_RANDOM_SEED = 20250101


def _pinned_clock() -> Callable[[], float]:
    """A clock that starts at :data:`SANDBOX_EPOCH` and then runs in real time."""
    started = time.monotonic()
    return lambda: SANDBOX_EPOCH + (time.monotonic() - started)


def make_fake(
    api_key: str | None = None,
    api_secret: str | None = None,
    *,
    seed: bool = True,
    pinned: bool = True,
    fixed_code: str | None = None,
) -> tuple[FakeItnio, dict[str, Any] | None]:
    """A fresh fake, seeded unless ``seed`` is false; returns it and the seeded ids.

    ``pinned`` starts its clock at :data:`SANDBOX_EPOCH` with a fixed random seed so the
    seeded ids (and codes) are the same on every run (in-process clients sign with the
    fake's clock); a served fake keeps the real clock, which outside clients sign with.
    ``fixed_code`` makes every code the fake generates that value.
    """
    from ..testing import FakeItnio

    kwargs: dict[str, Any] = {"random_seed": SANDBOX_RANDOM_SEED, "fixed_code": fixed_code}
    if api_key is not None:
        kwargs["api_key"] = api_key
    if api_secret is not None:
        kwargs["api_secret"] = api_secret
    if pinned:
        kwargs["clock"] = _pinned_clock()
    fake = FakeItnio(**kwargs)
    if not seed:
        return fake, None
    data = fake.seed()
    return fake, {
        camel(field.name): _plain(getattr(data, field.name)) for field in attrs.fields(type(data))
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def describe_ids(ids: dict[str, Any]) -> str:
    """One line naming the seeded ids, for hints on stderr."""
    parts = []
    for key, value in ids.items():
        shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        parts.append(f"{key}: {shown}")
    return "seeded " + "; ".join(parts)


@contextlib.asynccontextmanager
async def open_sandbox_client(state: State, **options: Any) -> AsyncIterator[AsyncItnio]:
    """A client wired in-process to a freshly seeded fake (no sockets, no credentials)."""
    fake, ids = make_fake()
    state.sandbox_ids = ids
    async with fake.client(**options) as client:
        yield client
