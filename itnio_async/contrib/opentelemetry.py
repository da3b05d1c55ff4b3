"""OpenTelemetry tracing for itnio_async, built on the SDK's event hooks.

Needs the OpenTelemetry API (``pip install "itnio-async[opentelemetry]"``); spans go
wherever your tracer provider sends them (``opentelemetry-sdk`` and an exporter).

One span per SDK call (``SpanKind.CLIENT``), named after the method and the path
*template* — ``GET /template/details/{templateId}``, never an id — with:

* ``http.request.method``, ``url.template``, ``server.address``;
* ``http.response.status_code`` of the final answer and ``itnio.status``, the
  envelope's status (``0`` on success, ``-24`` for not found, ...);
* ``itnio.attempts``, ``http.request.resend_count``, and ``itnio.retry_reasons``:
  why each retried attempt was retried (``"http 503"``, ``"status -18"``,
  ``"no answer (ReadTimeout)"``);
* ``itnio.to_masked``: the verification's phone number, masked to its last four
  digits — never the number itself, a code, the ``Sign`` or the key;
* on failure, the span's status is ERROR with ``error.type`` (the exception class;
  not its message); on success it stays UNSET, as OpenTelemetry asks of
  instrumentations.

How: every request of a call carries the call's :class:`itnio_async.CallInfo`
(``request.extensions["itnio.call"]``, the same object on each attempt). The request
hook opens the span on the call's first attempt; the ``"call"`` hook, which the SDK
runs once when the call has ended (after its retries, successful or not), sets what
the call came to and ends the span. A request the SDK makes on a call's behalf
(``verify`` reading the record after a lost answer) is a call of its own, with a
span of its own.

Usage::

    from opentelemetry import trace

    from itnio_async import AsyncItnio
    from itnio_async.contrib.opentelemetry import ItnioTracing

    tracing = ItnioTracing(trace.get_tracer("my-service"))
    async with AsyncItnio(event_hooks=tracing.event_hooks) as client:
        await client.verifications.send(app_id=..., template_id=..., to=...)
"""

from __future__ import annotations

import json
from typing import Any

import httpx

try:
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess by the test suite
    raise ImportError(
        "itnio_async.contrib.opentelemetry needs the OpenTelemetry API: "
        'pip install "itnio-async[opentelemetry]"',
        name=__name__,
    ) from _missing

from .. import CallInfo

__all__ = ["ItnioTracing", "mask_number"]


def mask_number(number: str) -> str:
    """A phone number with all but its last four digits hidden (``*********8000``)."""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


class ItnioTracing:
    """Event hooks that give every SDK call one OpenTelemetry span.

    Args:
        tracer: the tracer spans are made with (``trace.get_tracer(__name__)``).
    """

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        #: The open span of each call in progress, and whether it has the masked number.
        self._spans: dict[CallInfo, tuple[Span, bool]] = {}

    @property
    def event_hooks(self) -> dict[str, list[Any]]:
        """Pass as ``AsyncItnio(event_hooks=...)`` (or to ``with_options``)."""
        return {"request": [self.on_request], "call": [self.on_call_end]}

    def on_request(self, request: httpx.Request) -> None:
        """Request hook: the first attempt of a call opens its span."""
        info = request.extensions.get("itnio.call")
        if not isinstance(info, CallInfo) or info.attempt != 1:
            return
        span = self._tracer.start_span(
            f"{info.method} {info.route}",
            kind=SpanKind.CLIENT,
            attributes={
                "http.request.method": info.method,
                "url.template": info.route,
                "server.address": request.url.host,
            },
        )
        masked = _masked_number(request.content)
        if masked is not None:
            span.set_attribute("itnio.to_masked", masked)
        self._spans[info] = (span, masked is not None)

    def on_call_end(self, info: CallInfo) -> None:
        """Call hook: what the call came to, and the end of its span."""
        opened = self._spans.pop(info, None)
        if opened is None:
            return
        span, has_number = opened
        span.set_attribute("itnio.attempts", info.attempt)
        span.set_attribute("http.request.resend_count", max(info.attempt - 1, 0))
        if info.retry_reasons:
            span.set_attribute("itnio.retry_reasons", info.retry_reasons)
        response = info.response
        if response is not None:
            span.set_attribute("http.response.status_code", response.status_code)
            status = _envelope_status(response.content)
            if status is not None:
                span.set_attribute("itnio.status", status)
            if not has_number:
                masked = _masked_number(response.content)
                if masked is not None:
                    span.set_attribute("itnio.to_masked", masked)
        if info.error is not None:
            # The type only: the SDK's messages are scrubbed, but a hook's own may not be.
            name = type(info.error).__name__
            span.set_status(Status(StatusCode.ERROR, name))
            span.set_attribute("error.type", name)
            status = getattr(info.error, "status", None)
            if isinstance(status, int):
                span.set_attribute("itnio.error.status", status)
        span.end()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _envelope_status(body: bytes) -> int | None:
    """The envelope's status as an int, when the body is an envelope."""
    payload = _json(body)
    status = payload.get("status") if isinstance(payload, dict) else None
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    if isinstance(status, str) and status.lstrip("-").isdigit() and status.isascii():
        return int(status)
    return None


def _masked_number(body: bytes) -> str | None:
    """The masked ``to`` of a request body or of an answer's ``data``, if there is one."""
    payload = _json(body)
    if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
        payload = payload["data"]
    number = payload.get("to") if isinstance(payload, dict) else None
    return mask_number(number) if isinstance(number, str) and number else None
