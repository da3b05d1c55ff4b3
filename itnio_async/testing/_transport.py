"""The in-process way in: an ``httpx.AsyncBaseTransport`` that hands requests to the fake."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ._records import Dropped, Hung

if TYPE_CHECKING:
    from ._fake import FakeItnio

__all__ = ["FakeTransport"]


class FakeTransport(httpx.AsyncBaseTransport):
    """Answers requests under ``/otp/`` (and ``/_sandbox/``) on any host from a :class:`FakeItnio`.

    Injected faults surface as httpx would report them from a real server: a
    dropped connection raises ``httpx.RemoteProtocolError``, a timeout fault raises
    ``httpx.ReadTimeout`` at once (no waiting). A latency longer than the request's
    read timeout waits the read timeout, then raises ``httpx.ReadTimeout`` (the
    request is not handled). Closing it is a no-op.

    Args:
        fake: the fake that answers (``FakeItnio.transport`` makes one for itself).
    """

    def __init__(self, fake: FakeItnio) -> None:
        self._fake = fake

    def __repr__(self) -> str:
        return f"<FakeTransport of {self._fake!r}>"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the fake and return its answer.

        Args:
            request: the request, on any host; its path starts with ``/otp/`` (or
                ``/_sandbox/``), and its ``read`` timeout bounds the fake's latency.

        Returns:
            The fake's answer, its body read.

        Raises:
            httpx.RemoteProtocolError: a ``"drop"`` fault struck the request.
            httpx.ReadTimeout: a ``"timeout"`` fault struck it, or its latency is
                longer than the request's read timeout.
        """
        body = await request.aread()
        page = self._fake._sandbox_answer(
            request.method, request.url.path, request.url.query.decode("ascii")
        )
        if page is not None:
            return httpx.Response(
                page.status_code, headers=page.headers, content=page.body, request=request
            )
        headers = {name.lower(): value for name, value in request.headers.items()}
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read") if isinstance(timeouts, dict) else None
        outcome = await self._fake.exchange(
            request.method, request.url.path, headers, body, read_timeout=read_timeout
        )
        if isinstance(outcome, Dropped):
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response (injected fault)",
                request=request,
            )
        if isinstance(outcome, Hung):
            raise httpx.ReadTimeout(
                "timed out waiting for the response (injected fault)", request=request
            )
        return httpx.Response(
            outcome.status_code, headers=outcome.headers, content=outcome.body, request=request
        )

    async def aclose(self) -> None:
        """Nothing to release; the transport stays usable by other clients."""
