"""The signer: ``Sign = md5(Api-Key + secret + Timestamp)`` on every request, fresh each time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from itnio_async import AsyncItnio, make_sign
from itnio_async._auth import Clock, ItnioAuth

from .conftest import API_KEY, API_SECRET, BASE_URL, FIXED_SIGN, FIXED_TIME, envelope

FLOW = {"flowId": 1, "name": "name", "flow": []}
HEX32 = re.compile(r"[0-9a-f]{32}")


class StepClock:
    """A settable clock: tests advance it instead of sleeping."""

    def __init__(self, now: float = FIXED_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recorder:
    """An httpx handler that records every request and answers with a Flow envelope."""

    def __init__(self, respond: Callable[[int], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        # Snapshots: the client re-signs the same Request object on every retry.
        self.headers: list[httpx.Headers] = []
        self._respond = respond

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.headers.append(httpx.Headers(request.headers))
        if self._respond is not None:
            return self._respond(len(self.requests))
        return httpx.Response(200, json=envelope(FLOW))


def test_make_sign_vendor_known_answer() -> None:
    """The vendor's worked example signs to the documented lowercase md5."""
    assert make_sign("bDqJFiq9", "7bz1lzh9", "1630468800") == "05d7a50893e22a5c4bb3216ae3396c7c"


def test_make_sign_depends_on_every_part() -> None:
    """Changing key, secret or timestamp changes the Sign (nothing is ignored)."""
    signs = {
        make_sign(API_KEY, API_SECRET, "1630468800"),
        make_sign(API_KEY + "x", API_SECRET, "1630468800"),
        make_sign(API_KEY, API_SECRET + "x", "1630468800"),
        make_sign(API_KEY, API_SECRET, "1630468801"),
    }
    assert len(signs) == 4
    assert all(HEX32.fullmatch(s) for s in signs)


def test_auth_headers_use_injected_clock() -> None:
    """ItnioAuth takes its Timestamp from the injected clock, as epoch seconds."""
    auth = ItnioAuth(API_KEY, API_SECRET, Clock(lambda: FIXED_TIME))
    assert auth.headers() == {"Api-Key": API_KEY, "Timestamp": "1630468800", "Sign": FIXED_SIGN}


def test_auth_timestamp_truncates_fractional_seconds() -> None:
    """A fractional clock reading is sent as whole seconds, and signed as sent."""
    auth = ItnioAuth(API_KEY, API_SECRET, Clock(lambda: FIXED_TIME + 0.999))
    headers = auth.headers()
    assert headers["Timestamp"] == "1630468800"
    assert headers["Sign"] == FIXED_SIGN


def test_sign_request_gives_the_three_headers_and_the_sign_to_hide() -> None:
    """The signer gives the request path Api-Key, Timestamp and Sign as header lines, and
    the Sign among the values never to show; it is not an httpx.Auth (nothing drives one)."""
    auth = ItnioAuth(API_KEY, API_SECRET, Clock(lambda: FIXED_TIME))
    signature = auth.sign_request()
    assert signature.lines == (
        b"Api-Key: %s\r\nTimestamp: 1630468800\r\nSign: %s\r\n"
        % (API_KEY.encode(), FIXED_SIGN.encode())
    )
    assert signature.secrets == (FIXED_SIGN,)
    assert not isinstance(auth, httpx.Auth)


def test_the_base_client_names_no_itnio_header() -> None:
    """The generic request path leaves the signature headers to the signer it is given."""
    from itnio_async import _base_client, _call, _failures, _options, _routes, _wire

    for module in (_base_client, _call, _failures, _options, _routes, _wire):
        source = Path(module.__file__ or "").read_text()
        for name in ("Api-Key", "api-key", "Timestamp", "ItnioAuth", "_auth"):
            assert name not in source, (module.__name__, name)


def test_auth_repr_hides_secret() -> None:
    """repr/str of the signer show the key but never the secret."""
    auth = ItnioAuth(API_KEY, API_SECRET, Clock(lambda: FIXED_TIME))
    assert API_SECRET not in repr(auth)
    assert API_SECRET not in str(auth)
    assert API_KEY in repr(auth)


async def test_request_carries_documented_headers_on_get(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """A real GET through the client carries the four documented headers and the known Sign."""
    recorder = Recorder()
    async with make_client(recorder) as client:
        await client.flows.get(1)
    (request,) = recorder.requests
    assert request.method == "GET"
    assert str(request.url) == f"{BASE_URL}/flow/details/1"
    assert request.headers["Api-Key"] == "bDqJFiq9"
    assert request.headers["Timestamp"] == "1630468800"
    assert request.headers["Sign"] == "05d7a50893e22a5c4bb3216ae3396c7c"
    assert request.headers["Content-Type"] == "application/json;charset=UTF-8"


async def test_post_is_signed_the_same_way(make_client: Callable[..., AsyncItnio]) -> None:
    """A POST with a JSON body is signed with the same body-independent Sign."""
    recorder = Recorder(
        lambda _: httpx.Response(
            200, json=envelope({"orderId": "1234566", "flowId": 1, "sms": [], "call": []})
        )
    )
    async with make_client(recorder) as client:
        await client.records.get_by_order_id("1234566", app_id="mRELxtHc")
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.headers["Sign"] == FIXED_SIGN
    assert request.headers["Timestamp"] == str(FIXED_TIME)
    assert request.headers["Content-Type"] == "application/json;charset=UTF-8"


async def test_fresh_timestamp_and_sign_per_request(
    make_client: Callable[..., AsyncItnio],
) -> None:
    """Two calls with the clock advanced in between carry different Timestamp and Sign."""
    clock = StepClock()
    recorder = Recorder()
    async with make_client(recorder, clock=clock) as client:
        await client.flows.get(1)
        clock.now += 61
        await client.flows.get(1)
    first, second = recorder.requests
    assert first.headers["Timestamp"] == "1630468800"
    assert second.headers["Timestamp"] == "1630468861"
    assert first.headers["Sign"] == FIXED_SIGN
    assert second.headers["Sign"] == make_sign(API_KEY, API_SECRET, "1630468861")
    assert second.headers["Sign"] != first.headers["Sign"]


async def test_every_retry_is_signed_afresh(make_client: Callable[..., AsyncItnio]) -> None:
    """A retried call re-signs each attempt with the clock reading of that attempt."""
    clock = StepClock()

    def respond(n: int) -> httpx.Response:
        clock.now += 10  # time passes while the server answers
        if n < 3:
            return httpx.Response(503)
        return httpx.Response(200, json=envelope(FLOW))

    recorder = Recorder(respond)
    async with make_client(recorder, clock=clock, max_retries=2) as client:
        await client.flows.get(1)
    stamps = [h["Timestamp"] for h in recorder.headers]
    assert stamps == ["1630468800", "1630468810", "1630468820"]
    for headers in recorder.headers:
        assert headers["Sign"] == make_sign(API_KEY, API_SECRET, headers["Timestamp"])


async def test_user_http_client_is_signed() -> None:
    """Requests sent through a user-supplied httpx.AsyncClient are signed per request."""
    recorder = Recorder()
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        client = AsyncItnio(
            API_KEY, API_SECRET, base_url=BASE_URL, http_client=http, clock=lambda: FIXED_TIME
        )
        async with client:
            await client.flows.get(1)
    (request,) = recorder.requests
    assert request.headers["Api-Key"] == API_KEY
    assert request.headers["Timestamp"] == "1630468800"
    assert request.headers["Sign"] == FIXED_SIGN
    assert request.headers["Content-Type"] == "application/json;charset=UTF-8"


async def test_user_http_client_headers_do_not_override_signature() -> None:
    """Stale auth headers set on a user's client are replaced by the fresh signature."""
    recorder = Recorder()
    stale = {"Api-Key": "other", "Timestamp": "1", "Sign": "0" * 32}
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(recorder), headers=stale) as http,
        AsyncItnio(
            API_KEY, API_SECRET, base_url=BASE_URL, http_client=http, clock=lambda: FIXED_TIME
        ) as client,
    ):
        await client.flows.get(1)
    (request,) = recorder.requests
    assert request.headers.get_list("Sign") == [FIXED_SIGN]
    assert request.headers.get_list("Timestamp") == ["1630468800"]
    assert request.headers.get_list("Api-Key") == [API_KEY]


async def test_default_clock_is_wall_time() -> None:
    """Without an injected clock the Timestamp is the current epoch second."""
    recorder = Recorder()
    before = int(time.time())
    client = AsyncItnio(
        API_KEY, API_SECRET, base_url=BASE_URL, transport=httpx.MockTransport(recorder)
    )
    async with client:
        await client.flows.get(1)
    after = int(time.time())
    (request,) = recorder.requests
    stamp = request.headers["Timestamp"]
    assert stamp.isdigit()
    assert before <= int(stamp) <= after
    assert request.headers["Sign"] == make_sign(API_KEY, API_SECRET, stamp)
