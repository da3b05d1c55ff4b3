"""pytest plugin of itnio_async (registered through the ``pytest11`` entry point).

Fixtures:

* ``itnio_fake`` — a fresh :class:`~itnio_async.testing.FakeItnio` per test;
* ``itnio_client`` — an :class:`~itnio_async.AsyncItnio` wired to ``itnio_fake``
  in-process, closed after the test (an async fixture).

``itnio_client`` is declared with ``pytest_asyncio.fixture`` when pytest-asyncio is
installed, so it works in its ``auto`` and ``strict`` modes (function loop scope by
default, or ``asyncio_default_fixture_loop_scope``). pytest-asyncio is not a
dependency of itnio_async: without it the fixture is a plain async ``pytest.fixture``,
which the anyio pytest plugin runs for tests marked ``@pytest.mark.anyio`` (asyncio
backend). itnio_async itself is imported only when a fixture is used, so the plugin
costs nothing in test runs that do not use it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from itnio_async import AsyncItnio
    from itnio_async.testing import FakeItnio

__all__ = ["itnio_client", "itnio_fake"]

F = TypeVar("F", bound=Callable[..., Any])

_decorator: Any
try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised in a subprocess by the test suite
    _decorator = pytest.fixture
else:
    _decorator = pytest_asyncio.fixture


def _async_fixture(func: F) -> F:
    """Declare an async fixture the way the installed async plugin expects."""
    return cast("F", _decorator(func))


@pytest.fixture
def itnio_fake() -> FakeItnio:
    """A fresh in-memory fake of the ITNIO OTP API (see ``itnio_async.testing.FakeItnio``)."""
    from itnio_async.testing import FakeItnio

    return FakeItnio()


@_async_fixture
async def itnio_client(itnio_fake: FakeItnio) -> AsyncIterator[AsyncItnio]:
    """An ``AsyncItnio`` wired to ``itnio_fake`` in-process; closed after the test."""
    async with itnio_fake.client() as client:
        yield client
