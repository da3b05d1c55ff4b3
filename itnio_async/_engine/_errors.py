"""The engine's own error classes (every other failure is an ``httpx`` exception).

Both are ``httpx`` exceptions, so a caller that knows only httpx still reads them as a
protocol error and a timeout. Their messages hold sizes and phases, never a header,
a body byte or a proxy's credentials.
"""

from __future__ import annotations

import httpx

__all__ = ["DeadlineExceeded", "ResponseTooLarge"]


class ResponseTooLarge(httpx.RemoteProtocolError):
    """A response exceeded a size limit (head, header count, or body, also once decoded)."""


class DeadlineExceeded(httpx.TimeoutException):
    """The request's ``deadline`` passed (waiting for a connection, connecting, writing or
    reading). Whether anything was sent is in the request's ``written``."""
