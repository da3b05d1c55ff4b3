"""Fixtures for the tests of ``itnio_async.testing``: a fake on a frozen clock and ways into it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import httpx
import pytest

from itnio_async import AsyncItnio, make_sign
from itnio_async.testing import FakeItnio

pytest_plugins = ["pytester"]

#: 2022-06-05 14:43:05 +08:00: the fake's ids then look like the docs' "22206051443051000003".
T0 = 1654411385.0
KEY = "test-key"
SECRET = "test-secret"
PHONE = "8613512345678"
OTHER_PHONE = "91856321412"


class Raw(Protocol):
    """Send one signed request straight to the fake (no SDK-side validation)."""

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content: bytes | None = None,
        key: str = KEY,
        secret: str = SECRET,
        timestamp: str | None = None,
        sign: str | None = None,
    ) -> Awaitable[httpx.Response]: ...


@pytest.fixture
def fake() -> FakeItnio:
    """A fake with the default credentials, a frozen clock at T0 and a fixed random seed."""
    return FakeItnio(clock=lambda: T0, random_seed=7)


@pytest.fixture
async def api(fake: FakeItnio) -> AsyncIterator[AsyncItnio]:
    """The SDK client wired to ``fake`` in-process."""
    async with fake.client() as client:
        yield client


@pytest.fixture
async def raw(fake: FakeItnio) -> AsyncIterator[Raw]:
    """A raw signed-request sender over ``fake.transport`` (bypasses the SDK's checks)."""
    async with httpx.AsyncClient(
        transport=fake.transport, base_url="http://api.example.test/otp"
    ) as http:

        async def call(
            method: str,
            path: str,
            body: Any = None,
            *,
            content: bytes | None = None,
            key: str = KEY,
            secret: str = SECRET,
            timestamp: str | None = None,
            sign: str | None = None,
        ) -> httpx.Response:
            stamp = timestamp if timestamp is not None else str(int(fake.now()))
            headers = {
                "Content-Type": "application/json;charset=UTF-8",
                "Api-Key": key,
                "Timestamp": stamp,
                "Sign": sign if sign is not None else make_sign(key, secret, stamp),
            }
            if content is None and body is not None:
                content = json.dumps(body).encode()
            return await http.request(method, path.lstrip("/"), headers=headers, content=content)

        yield call


Setup = Callable[..., Awaitable[tuple[str, int]]]


@pytest.fixture
def setup_app(api: AsyncItnio) -> Setup:
    """Create an app and a template through the SDK; return ``(app_id, template_id)``."""

    async def make(
        *, code_type: int = 1, code_length: int | None = None, **app_options: Any
    ) -> tuple[str, int]:
        app = await api.apps.create(name="test-app", **app_options)
        template = await api.templates.create(
            app_id=app.app_id,
            name="test-template",
            text="Your code is ##code##",
            code_type=code_type,
            code_length=code_length,
        )
        return app.app_id, template.template_id

    return make
