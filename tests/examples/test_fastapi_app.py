"""The FastAPI recipe under uvicorn on 127.0.0.1, talking to the SDK's TCP sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx

from examples.fastapi_app import create_app
from itnio_async import AsyncItnio
from itnio_async.testing import FakeItnio, SeedData

from .conftest import assert_no_resource_warnings, run_uvicorn


def _app(factory: Callable[[], AsyncItnio], seeded: SeedData) -> object:
    return create_app(factory, app_id=seeded.app_id, template_id=str(seeded.template_id))


async def test_send_then_verify_wrong_and_right_code(
    fake: FakeItnio, seeded: SeedData, client_factory: Callable[[], AsyncItnio]
) -> None:
    """A user gets a code, fails with a wrong one (400) and logs in with the right one (200)."""
    async with (
        run_uvicorn(_app(client_factory, seeded)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        sent = await http.post("/otp/send", json={"phone": "8613800000001", "order_id": "o-1"})
        assert sent.status_code == 200
        vid = sent.json()["verification_id"]
        code = fake.last_code("8613800000001")
        wrong = "0000000" if code != "0000000" else "1111111"
        bad = await http.post(
            "/otp/verify", json={"verification_id": vid, "code": wrong[: len(code)]}
        )
        assert bad.status_code == 400
        assert bad.json() == {"verified": False, "outcome": "failed"}
        good = await http.post("/otp/verify", json={"verification_id": vid, "code": code})
        assert good.status_code == 200
        assert good.json() == {"verified": True, "outcome": "matched"}
        again = await http.post("/otp/verify", json={"verification_id": vid, "code": code})
        assert again.json() == {"verified": False, "outcome": "already_used"}
    assert len(fake.sent_to("8613800000001")) == 1


async def test_concurrent_requests_share_one_client(
    fake: FakeItnio, seeded: SeedData, client_factory: Callable[[], AsyncItnio]
) -> None:
    """Thirty concurrent logins all succeed through the one client the lifespan created."""
    numbers = [f"86139000{i:05d}" for i in range(30)]
    async with (
        run_uvicorn(_app(client_factory, seeded)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        sends = await asyncio.gather(*(http.post("/otp/send", json={"phone": n}) for n in numbers))
        assert [r.status_code for r in sends] == [200] * len(numbers)
        verifies = await asyncio.gather(
            *(
                http.post(
                    "/otp/verify",
                    json={
                        "verification_id": r.json()["verification_id"],
                        "code": fake.last_code(n),
                    },
                )
                for r, n in zip(sends, numbers, strict=True)
            )
        )
        assert all(r.json()["verified"] for r in verifies)
    assert len(client_factory.created) == 1  # type: ignore[attr-defined]
    assert {d.to for d in fake.deliveries} >= set(numbers)


async def test_errors_map_to_http_answers(
    fake: FakeItnio, seeded: SeedData, client_factory: Callable[[], AsyncItnio]
) -> None:
    """Bad input is 400, a send limit 429, an upstream failure 502 (and nothing is sent twice)."""
    async with (
        run_uvicorn(_app(client_factory, seeded)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        invalid = await http.post("/otp/send", json={"phone": "+44 7700 900123 x"})
        assert invalid.status_code == 400
        assert invalid.json()["error"] == "invalid_request"
        assert "7700 900123" not in invalid.text  # the number is masked in the message

        fake.fail_next("api", status=-28, path="/verification/send")
        limited = await http.post("/otp/send", json={"phone": "8613800000002"})
        assert limited.status_code == 429

        fake.fail_next("http", status=503, path="/verification/send")
        upstream = await http.post("/otp/send", json={"phone": "8613800000003"})
        assert upstream.status_code == 502
        assert upstream.json() == {"error": "upstream_unavailable", "kind": "HTTPServerError"}
    assert fake.sent_to("8613800000003") == []
    # The invalid number never left the service; the 503'd send was not retried.
    assert len(fake.requests_to("/verification/send")) == 2


async def test_shutdown_closes_the_client_without_warnings(
    seeded: SeedData, client_factory: Callable[[], AsyncItnio]
) -> None:
    """Stopping the server runs the lifespan exit: the client is closed, nothing is leaked."""
    async with (
        run_uvicorn(_app(client_factory, seeded)) as url,
        httpx.AsyncClient(base_url=url) as http,
    ):
        assert (await http.post("/otp/send", json={"phone": "8613800000004"})).status_code == 200
        (client,) = client_factory.created  # type: ignore[attr-defined]
        assert not client.is_closed
    assert client.is_closed
    assert_no_resource_warnings()
