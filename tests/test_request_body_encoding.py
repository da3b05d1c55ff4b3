"""Request bodies and ids on the wire: a body of strings is the compact UTF-8 JSON the
encoder writes (quotes and backslashes escaped, non-ASCII kept), and an id over 128
characters is a ValidationError before anything is sent."""

from __future__ import annotations

import json

import httpx
import pytest

from itnio_async import ValidationError

from .conftest import envelope, mock_client

ORDER = 'a"b\\c \xe9\u2028\U0001f600'
VID = "22206051443051000003"


def recording(seen: list[httpx.Request], data: object) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope(data))

    return httpx.MockTransport(handler)


async def test_a_body_of_strings_is_compact_escaped_utf8_json() -> None:
    seen: list[httpx.Request] = []
    record = {"orderId": ORDER, "verifications": {"matched": -1}}
    async with mock_client(recording(seen, record)) as client:
        found = await client.records.get_by_order_id(ORDER, app_id="mRELxtHc")
    assert found.order_id == ORDER
    body = seen[0].content
    expected = {"appId": "mRELxtHc", "orderId": ORDER}
    assert body == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()
    assert json.loads(body) == expected


@pytest.mark.parametrize("length", [128, 129])
async def test_verification_ids_up_to_128_characters(length: int) -> None:
    """verify and records.get take an id of 128 characters; 129 is refused unsent."""
    vid = "7" * length
    seen: list[httpx.Request] = []
    verified = {"verificationId": vid, "matched": 0}
    async with mock_client(recording(seen, verified)) as client:
        if length > 128:
            with pytest.raises(ValidationError, match="at most 128 characters"):
                await client.verifications.verify(vid, "4821")
            with pytest.raises(ValidationError, match="at most 128 characters"):
                await client.records.get(vid)
            assert seen == []
        else:
            assert (await client.verifications.verify(vid, "4821")).verification_id == vid
            assert json.loads(seen[0].content)["verificationId"] == vid


async def test_an_id_with_a_lone_surrogate_is_refused_unsent() -> None:
    seen: list[httpx.Request] = []
    async with mock_client(recording(seen, {})) as client:
        with pytest.raises(ValidationError, match="lone surrogates"):
            await client.records.get("12\udc8034")
        with pytest.raises(ValidationError, match="lone surrogates"):
            await client.verifications.verify("12\udc8034", "4821")
    assert seen == []
