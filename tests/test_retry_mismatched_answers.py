"""A read answered with another id's record is retried (it is SAFE); a call that keeps
getting someone else's record ends in MismatchedAnswerError after its retries."""

from __future__ import annotations

import httpx
import pytest

from itnio_async import MismatchedAnswerError

from .conftest import envelope, mock_client

VID = "22206051443051000003"
OTHER = "22206051443051000099"


def record(vid: str) -> httpx.Response:
    return httpx.Response(
        200, json=envelope({"verificationId": vid, "verifications": {"matched": -1}})
    )


async def test_a_record_of_another_id_is_read_again() -> None:
    answers = [record(OTHER), record(VID)]
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return answers.pop(0)

    async with mock_client(handler) as client:
        found = await client.records.get(VID)
    assert found.verification_id == VID
    assert paths == [f"/otp/verification/record/{VID}"] * 2


async def test_a_record_of_another_id_every_time_ends_after_the_retries() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return record(OTHER)

    async with mock_client(handler, max_retries=1) as client:
        with pytest.raises(MismatchedAnswerError):
            await client.records.get(VID)
    assert len(paths) == 2
