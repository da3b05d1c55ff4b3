"""Signature, timestamp window, Date header and routing of the fake, on the wire."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from itnio_async import AuthenticationError, make_sign
from itnio_async.testing import FakeItnio

from .conftest import KEY, SECRET, T0, Raw


async def test_envelope_status_is_a_string_and_date_comes_from_the_fake_clock(raw: Raw) -> None:
    """A success answers HTTP 200, JSON content type, status "0" and the fake's Date."""
    response = await raw("GET", "/flow/list")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.json() == {"status": "0", "reason": "success", "data": []}
    assert parsedate_to_datetime(response.headers["date"]).timestamp() == T0


@pytest.mark.parametrize(
    ("key", "secret", "sign"),
    [
        (KEY, "wrong-secret", None),
        ("wrong-key", SECRET, None),
        (KEY, SECRET, ""),
        (KEY, SECRET, "0" * 32),
    ],
)
async def test_bad_key_or_sign_is_minus_1(
    raw: Raw, fake: FakeItnio, key: str, secret: str, sign: str | None
) -> None:
    """A wrong Api-Key, secret or Sign answers "-1" and the request has no effect."""
    response = await raw(
        "POST", "/app/add", {"name": "shop-app"}, key=key, secret=secret, sign=sign
    )
    assert response.json() == {"status": "-1", "reason": "Authentication error"}
    assert "date" in response.headers
    assert fake.requests[-1].status == "-1"
    assert (await raw("GET", "/flow/list")).json()["status"] == "0"


async def test_sign_is_case_insensitive(raw: Raw) -> None:
    """The docs call the md5 hex case-insensitive: an upper-case Sign is accepted."""
    stamp = str(int(T0))
    sign = make_sign(KEY, SECRET, stamp).upper()
    response = await raw("GET", "/flow/list", timestamp=stamp, sign=sign)
    assert response.json()["status"] == "0"


@pytest.mark.parametrize(
    ("timestamp", "status"),
    [
        (str(int(T0) - 300), "0"),
        (str(int(T0) + 300), "0"),
        (str(int(T0) - 301), "-16"),
        (str(int(T0) + 301), "-16"),
        (str(int(T0) * 1000), "-16"),
        ("yesterday", "-16"),
    ],
)
async def test_timestamp_window(raw: Raw, timestamp: str, status: str) -> None:
    """The Timestamp (signed correctly) must be within ±300 s of the fake's clock."""
    response = await raw("GET", "/flow/list", timestamp=timestamp)
    assert response.json()["status"] == status
    assert parsedate_to_datetime(response.headers["date"]).timestamp() == T0


async def _signed_bytes(fake: FakeItnio, timestamp: str, sign: str | None = None) -> str:
    """GET /flow/list with UTF-8 header bytes (httpx refuses non-ASCII str); the status."""
    headers = {
        b"Api-Key": KEY.encode(),
        b"Timestamp": timestamp.encode(),
        b"Sign": (sign if sign is not None else make_sign(KEY, SECRET, timestamp)).encode(),
    }
    async with httpx.AsyncClient(transport=fake.transport) as http:
        response = await http.get("http://api.example.test/otp/flow/list", headers=headers)
    status: str = response.json()["status"]
    return status


T0_TEXT = str(int(T0))


@pytest.mark.parametrize(
    "timestamp",
    [
        "1_654_411_385",
        "+" + T0_TEXT,
        T0_TEXT.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        T0_TEXT.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        T0_TEXT[:-1] + "٥",
        T0_TEXT + ".0",
        T0_TEXT + "\u00a0",
        "\u3000" + T0_TEXT,
        T0_TEXT + "\x0b",
        "-" + T0_TEXT,
        "1654411385e0",
        "9" * 20,
        "1" * 5000,
        "",
    ],
)
async def test_timestamp_takes_ascii_digits_only(fake: FakeItnio, timestamp: str) -> None:
    """A correctly signed Timestamp that int() would stretch to T0 is still -16, not accepted."""
    assert await _signed_bytes(fake, timestamp) == "-16"
    assert fake.requests[-1].status == "-16"


async def test_ascii_timestamp_with_leading_zero_is_read(fake: FakeItnio) -> None:
    """ASCII digits are read as the number they spell, leading zeros included."""
    assert await _signed_bytes(fake, "0" + T0_TEXT) == "0"
    assert await _signed_bytes(fake, "0" * 5000 + T0_TEXT) == "0"
    assert await _signed_bytes(fake, T0_TEXT) == "0"


@pytest.mark.parametrize(
    "decorate",
    [
        lambda s: s + "\u00a0",
        lambda s: "\u3000" + s,
        lambda s: s + "\x0b",
        lambda s: s[:-1],
        lambda s: s + "0",
        lambda s: s[:-1] + "ａ",
        lambda s: s[:-1] + "g",
    ],
)
async def test_sign_takes_32_ascii_hex_digits_only(fake: FakeItnio, decorate: Any) -> None:
    """A Sign with non-HTTP whitespace, a wrong length or a non-hex digit is -1."""
    good = make_sign(KEY, SECRET, T0_TEXT)
    assert await _signed_bytes(fake, T0_TEXT, good) == "0"
    assert await _signed_bytes(fake, T0_TEXT, decorate(good)) == "-1"


async def test_http_whitespace_around_sign_and_timestamp_is_ignored(fake: FakeItnio) -> None:
    """Spaces and tabs around a header value are HTTP's, not part of the value."""
    sign = make_sign(KEY, SECRET, T0_TEXT)
    headers = {"Api-Key": KEY, "Timestamp": f"{T0_TEXT}\t", "Sign": f" {sign.upper()} "}
    async with httpx.AsyncClient(transport=fake.transport) as http:
        response = await http.get("http://api.example.test/otp/flow/list", headers=headers)
    assert response.json()["status"] == "0"


async def test_sdk_learns_clock_offset_from_date_on_minus_16(fake: FakeItnio) -> None:
    """A client whose clock is 1000 s slow gets -16, adopts the Date offset and succeeds."""
    async with fake.client(clock=lambda: T0 - 1000) as client:
        assert await client.flows.list() == []
        assert client.clock_offset == 1000
        assert [r.status for r in fake.requests] == ["-16", "0"]
        assert fake.requests[1].headers["timestamp"] == str(int(T0))
        assert await client.flows.list() == []
    assert [r.status for r in fake.requests] == ["-16", "0", "0"]


async def test_sdk_wrong_secret_raises_authentication_error(fake: FakeItnio) -> None:
    """The SDK maps the fake's -1 to AuthenticationError (and does not retry it)."""
    async with fake.client(api_secret="not-the-secret") as client:
        with pytest.raises(AuthenticationError) as info:
            await client.flows.list()
    assert info.value.status == -1
    assert "not-the-secret" not in str(info.value)
    assert len(fake.requests) == 1


async def test_custom_tolerance_and_clock() -> None:
    """timestamp_tolerance and clock are honoured; advance() moves the clock."""
    now = [1_000_000.0]
    fake = FakeItnio(clock=lambda: now[0], timestamp_tolerance=10)
    assert fake.now() == 1_000_000.0
    fake.advance(5)
    now[0] += 1
    assert fake.now() == 1_000_006.0
    async with fake.client(clock=lambda: 1_000_015.0) as client:
        await client.flows.list()
    async with fake.client(clock=lambda: 1_000_017.0) as client:
        await client.flows.list()
    assert [r.status for r in fake.requests] == ["0", "-16", "0"]
    async with fake.client() as client:
        fake.advance(3600)
        assert await client.flows.list() == []  # fake.client() signs with the fake's clock
    assert fake.requests[-1].status == "0"
    with pytest.raises(ValueError, match="forward"):
        fake.advance(-1)


async def test_any_host_is_answered(fake: FakeItnio) -> None:
    """The transport answers /otp/... on any host."""
    async with fake.client(base_url="https://api.itniotech.com/otp") as client:
        assert await client.templates.list() == []
    async with fake.client(base_url="http://10.1.2.3:9999/otp") as client:
        assert await client.flows.list() == []


async def test_unknown_path_is_404_and_wrong_method_405(fake: FakeItnio) -> None:
    """Unknown endpoints answer HTTP 404, known ones with another method 405 + Allow."""
    async with httpx.AsyncClient(transport=fake.transport) as http:
        missing = await http.get("http://x/otp/app/list")
        wrong = await http.get("http://x/otp/flow/update/1")
        outside = await http.get("http://x/flow/list")
    assert missing.status_code == 404
    assert missing.json()["error"] == "Not Found"
    assert "status" not in missing.json()
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST, PUT"
    assert outside.status_code == 404
    assert [(r.path, r.http_status, r.status) for r in fake.requests] == [
        ("/app/list", 404, None),
        ("/flow/update/1", 405, None),
        ("/flow/list", 404, None),
    ]


async def test_repr_hides_the_secret() -> None:
    """The fake's repr shows the key, never the secret."""
    fake = FakeItnio("my-key", "my-very-secret")
    assert "my-very-secret" not in repr(fake)
    assert "my-key" in repr(fake)
    assert fake.api_secret == "my-very-secret"
