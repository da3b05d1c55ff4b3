"""What a :class:`~itnio_async.testing.FakeItnio` records and lets tests configure.

* :class:`Delivery` — one message the fake "delivered" to a phone (a code by SMS,
  call or SNA);
* :class:`RequestLog` — one HTTP request that reached the fake, with its outcome;
* :class:`Fault` — one injected failure (see :meth:`FakeItnio.fail_next`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._redact import mask_phone

if TYPE_CHECKING:
    from ._service import Response

__all__ = ["Delivery", "Dropped", "Fault", "FaultKind", "Hung", "RequestLog", "matches_path"]

#: The kinds of failure :meth:`FakeItnio.fail_next` can inject.
FaultKind = Literal["http", "api", "drop", "malformed", "timeout"]

FAULT_KINDS: tuple[FaultKind, ...] = ("http", "api", "drop", "malformed", "timeout")


def matches_path(pattern: str | None, path: str) -> bool:
    """Whether an API ``path`` is ``pattern`` or lies under it (``None`` matches all).

    ``"/verification"`` matches ``/verification/send`` and ``/verification/verify``;
    ``"/verification/send"`` matches only that endpoint.
    """
    if pattern is None:
        return True
    pattern = pattern.rstrip("/")
    return not pattern or path == pattern or path.startswith(pattern + "/")


@attrs.frozen(kw_only=True)
class Delivery:
    """One message the fake delivered.

    Attributes:
        to: the receiving number (shown masked in the repr).
        code: the OTP code the message carried (hidden from the repr).
        channel: ``"sms"``, ``"call"`` or ``"sna"``.
        text: the rendered template text (hidden from the repr; it contains the code).
        verification_id: the verification the message belongs to.
        app_id: the application that sent it.
        template_id: the template used, or ``None`` (``sendRule`` without a template).
        kind: what caused it: ``"send"``, ``"sendRule"``, ``"resend"`` or ``"flow"``
            (a task-flow fallback step fired).
        time: epoch seconds on the fake's clock.
    """

    to: str = attrs.field(repr=mask_phone)
    code: str = attrs.field(repr=False)
    channel: str
    text: str = attrs.field(repr=False)
    verification_id: str
    app_id: str
    template_id: int | None
    kind: str
    time: float


@attrs.frozen(kw_only=True)
class RequestLog:
    """One HTTP request that reached the fake (also the ones a fault answered).

    Attributes:
        method: HTTP method.
        path: the API path below ``/otp`` (``"/verification/send"``).
        time: epoch seconds on the fake's clock when the request arrived.
        http_status: the HTTP status answered, or ``None`` when no response was
            sent (dropped connection, timeout).
        status: the envelope ``status`` answered (``"0"``, ``"-22"``), or ``None``
            when the answer was not an envelope.
        fault: the kind of injected fault that answered, or ``None``.
        performed: whether the fake's API logic ran (``False`` when a fault struck
            before the request took effect).
        body: the parsed JSON body (``None`` for no or non-JSON body); hidden from the repr.
        headers: the request headers, lower-cased names; hidden from the repr.
    """

    method: str
    path: str
    time: float
    http_status: int | None
    status: str | None
    fault: FaultKind | None = None
    performed: bool = True
    body: Any = attrs.field(default=None, repr=False)
    headers: dict[str, str] = attrs.field(factory=dict, repr=False)

    @property
    def outcome(self) -> str:
        """``"ok"`` (status 0), ``"fault"`` (an injected fault answered) or ``"error"``."""
        if self.fault is not None:
            return "fault"
        return "ok" if self.status == "0" else "error"


@attrs.define(kw_only=True, eq=False)
class Fault:
    """An injected failure, armed by :meth:`FakeItnio.fail_next`.

    Attributes:
        kind: ``"http"``, ``"api"``, ``"drop"``, ``"malformed"`` or ``"timeout"``.
        status: the HTTP status (``"http"``) or the envelope status (``"api"``).
        reason: the envelope reason (``"api"``).
        retry_after: the ``Retry-After`` header value (``"http"``), if any.
        body: the body to answer (``"http"``, ``"malformed"``), if not the default.
        path: only requests to this API path or below it (``None``: any path).
        method: only requests with this HTTP method (``None``: any method).
        times: how many matching requests it strikes.
        after: strike after the request took effect (the send is made, the answer
            lost) instead of before.
        delay: seconds the ASGI app waits on a ``"timeout"`` before giving up on the
            client disconnecting (the in-process transport raises at once).
        hits: how many requests it struck so far.
    """

    kind: FaultKind
    status: int | None = None
    reason: str | None = None
    retry_after: str | None = None
    body: bytes | None = None
    path: str | None = None
    method: str | None = None
    times: int = 1
    after: bool = False
    delay: float = 300.0
    hits: int = 0

    @property
    def remaining(self) -> int:
        """Requests it will still strike."""
        return max(0, self.times - self.hits)

    def matches(self, method: str, path: str) -> bool:
        """Whether it strikes a request of ``method`` to ``path`` now.

        Args:
            method: the request's HTTP method (any case).
            path: the request's API path, without the ``/otp`` prefix (such as
                ``"/verification/send"``).

        Returns:
            True when the fault has strikes left and its ``method`` and ``path`` (when
            set) match: ``path`` is the fault's path or below it.
        """
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return matches_path(self.path, path)


@attrs.frozen
class Dropped:
    """The connection dies: no (complete) response reaches the client."""


@attrs.frozen
class Hung:
    """No response within the client's timeout.

    ``late`` is what the ASGI app answers if the client is still waiting after
    ``delay`` seconds.
    """

    delay: float
    late: Response
