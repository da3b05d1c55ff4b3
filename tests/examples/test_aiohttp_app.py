"""The aiohttp recipe on aiohttp's test server (real sockets), against the SDK's TCP sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp.test_utils import TestClient, TestServer

from examples.aiohttp_app import create_app
from itnio_async import AsyncItnio
from itnio_async.testing import FakeItnio, SeedData

from .conftest import assert_no_resource_warnings


def _server(factory: Callable[[], AsyncItnio], seeded: SeedData) -> TestServer:
    app = create_app(factory, app_id=seeded.app_id, template_id=str(seeded.template_id))
    return TestServer(app, host="127.0.0.1")


async def test_send_then_verify(
    fake: FakeItnio, seeded: SeedData, client_factory: Callable[[], AsyncItnio]
) -> None:
    """A code is sent, a wrong one is refused with 400, the right one logs in."""
    async with TestClient(_server(client_factory, seeded)) as http:
        sent = await http.post("/otp/send", json={"phone": "8613700000001", "order_id": "a-1"})
        assert sent.status == 200
        vid = (await sent.json())["verification_id"]
        code = fake.last_code("8613700000001")
        wrong = ("1" if code[0] != "1" else "2") + code[1:]
        bad = await http.post("/otp/verify", json={"verification_id": vid, "code": wrong})
        assert bad.status == 400
        assert await bad.json() == {"verified": False, "outcome": "failed"}
        good = await http.post("/otp/verify", json={"verification_id": vid, "code": code})
        assert good.status == 200
        assert await good.json() == {"verified": True, "outcome": "matched"}


async def test_concurrent_requests(
    fake: FakeItnio, seeded: SeedData, client_factory: Callable[[], AsyncItnio]
) -> None:
    """Twenty concurrent sends succeed through one shared client."""
    numbers = [f"86137100{i:05d}" for i in range(20)]
    async with TestClient(_server(client_factory, seeded)) as http:
        answers = await asyncio.gather(
            *(http.post("/otp/send", json={"phone": n}) for n in numbers)
        )
        assert [a.status for a in answers] == [200] * len(numbers)
    assert len(client_factory.created) == 1  # type: ignore[attr-defined]
    assert all(len(fake.sent_to(n)) == 1 for n in numbers)


async def test_errors_map_to_http_answers(
    fake: FakeItnio, seeded: SeedData, client_factory: Callable[[], AsyncItnio]
) -> None:
    """Bad input is 400, a send limit 429, a dropped upstream connection 502."""
    async with TestClient(_server(client_factory, seeded)) as http:
        assert (await http.post("/otp/send", json={"phone": "12"})).status == 400
        assert (await http.post("/otp/send", data=b"not json")).status == 400
        fake.fail_next("api", status=-27, path="/verification/send")
        assert (await http.post("/otp/send", json={"phone": "8613700000002"})).status == 429
        fake.fail_next("drop", path="/verification/send")
        dropped = await http.post("/otp/send", json={"phone": "8613700000003"})
        assert dropped.status == 502
        assert (await dropped.json())["kind"] == "TransportError"


async def test_cleanup_ctx_closes_the_client(
    seeded: SeedData, client_factory: Callable[[], AsyncItnio]
) -> None:
    """Shutting the app down closes the client it created, with no unclosed-resource warnings."""
    async with TestClient(_server(client_factory, seeded)) as http:
        assert (await http.post("/otp/send", json={"phone": "8613700000004"})).status == 200
        (client,) = client_factory.created  # type: ignore[attr-defined]
        assert not client.is_closed
    assert client.is_closed
    assert_no_resource_warnings()
