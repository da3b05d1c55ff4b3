"""OpenTelemetry tracing for itnio_async, built on the SDK's event hooks.

One span per SDK call (``SpanKind.CLIENT``), named after the method and the path
*template* — ``GET /template/details/{templateId}``, never an id — with:

* ``http.request.method``, ``url.template``, ``server.address``;
* ``http.response.status_code`` of the final answer and ``itnio.status``, the
  envelope's status (``0`` on success, ``-24`` for not found, ...);
* ``itnio.attempts``, ``http.request.resend_count``, and ``itnio.retry_reasons``:
  why each retried attempt was retried (``"http 503"``, ``"status -18"``, or
  ``"no answer"`` when the connection failed or timed out);
* ``itnio.to_masked``: the verification's phone number, masked to its last four
  digits — never the number itself, a code, the ``Sign`` or the key;
* on failure, the span's status is ERROR with ``error.type`` (the exception class);
  on success it stays UNSET, as OpenTelemetry asks of instrumentations.

Why a wrapper: event hooks run once per *attempt*, and nothing in an attempt's
request says which call it belongs to or whether another attempt will follow, so the
hooks alone cannot tell where a call ends (after a lost connection no response hook
runs at all). The span's life is therefore kept by ``tracing.traced(...)`` around the
call; the hooks run in the same task (the same ``contextvars`` context) and record
each attempt on that span. Without ``traced``, the hooks record nothing, unless the
SDK puts a call's identity on its requests (see ``on_call_end``).

Usage::

    from opentelemetry import trace
    from examples.opentelemetry_tracing import ItnioTracing

    tracing = ItnioTracing(trace.get_tracer("my-service"))
    async with AsyncItnio(event_hooks=tracing.event_hooks) as client:
        sent = await tracing.traced(client.verifications.send(app_id=..., template_id=..., to=...))

A bulk helper (``get_many_by_order_ids``) inside ``traced`` is one call: one span,
whose attempts count every request it made.
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Awaitable
from typing import Any, Final, TypeVar

import attrs
import httpx
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

__all__ = ["ItnioTracing", "mask_number", "route_of"]

T = TypeVar("T")

#: The API paths that carry an id, and the template each becomes.
_ID_ROUTES: Final = tuple(
    (re.compile(rf"{re.escape(prefix)}[^/]+$"), f"{prefix}{{{name}}}")
    for prefix, name in (
        ("/app/update/", "appId"),
        ("/app/details/", "appId"),
        ("/template/update/", "templateId"),
        ("/template/details/", "templateId"),
        ("/flow/update/", "flowId"),
        ("/flow/details/", "flowId"),
        ("/verification/record/", "verificationId"),
    )
)
#: The API paths without an id.
_FIXED_ROUTES: Final = (
    "/app/add",
    "/template/add",
    "/template/list",
    "/flow/add",
    "/flow/list",
    "/verification/send",
    "/verification/sendRule",
    "/verification/resend",
    "/verification/verify",
    "/verification/orderId/record",
    "/postback/backfill",
    "/backfillRate",
)


def route_of(request: httpx.Request) -> str:
    """The API path template of a request: ``/template/details/{templateId}``.

    Taken from ``request.extensions["itnio.route"]`` when the SDK provides it;
    otherwise derived from the URL path (whatever prefix the base URL adds). A path
    the table does not know becomes ``/{unknown}``, so no id can leak into a name.
    """
    given = request.extensions.get("itnio.route")
    if isinstance(given, str):
        return given
    path = request.url.path
    for fixed in _FIXED_ROUTES:
        if path.endswith(fixed):
            return fixed
    for pattern, template in _ID_ROUTES:
        if pattern.search(path):
            return template
    return "/{unknown}"


def mask_number(number: str) -> str:
    """A phone number with all but its last four digits hidden (``*********8000``)."""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]


@attrs.define(eq=False)
class _CallSpan:
    """What the hooks learn about one call, attempt by attempt."""

    span: Span
    route: str | None = None
    attempts: int = 0
    answered: bool = False  # the current attempt got a response
    reason: str = "no answer"  # why the current attempt would be retried
    retry_reasons: list[str] = attrs.field(factory=list)
    record_lookups: int = 0  # requests made to resolve the call (verify's record read)
    status_code: int | None = None
    status: int | None = None
    masked: str | None = None


_CURRENT: contextvars.ContextVar[_CallSpan | None] = contextvars.ContextVar(
    "itnio_call_span", default=None
)


class ItnioTracing:
    """Event hooks and a wrapper that give every SDK call one OpenTelemetry span.

    Args:
        tracer: the tracer spans are made with (``trace.get_tracer(__name__)``).
    """

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        # Spans opened by the hooks alone, by the SDK's per-call object (see on_call_end).
        self._by_call: dict[int, _CallSpan] = {}

    @property
    def event_hooks(self) -> dict[str, list[Any]]:
        """Pass as ``AsyncItnio(event_hooks=...)`` (or to ``with_options``)."""
        return {"request": [self.on_request], "response": [self.on_response]}

    async def traced(self, call: Awaitable[T]) -> T:
        """Await an SDK call inside its span: ``await tracing.traced(client.flows.get(1))``."""
        span = self._tracer.start_span("itnio", kind=SpanKind.CLIENT)
        state = _CallSpan(span)
        token = _CURRENT.set(state)
        try:
            # Exceptions are not recorded: a hook's own message might carry anything.
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                result = await call
        except BaseException as exc:
            _fail(span, exc)
            raise
        finally:
            _CURRENT.reset(token)
            _finish(state)
        # Success leaves the status UNSET, as OpenTelemetry asks of instrumentations.
        return result

    # -- the hooks ---------------------------------------------------------------------

    def on_request(self, request: httpx.Request) -> None:
        """Request hook: a new attempt (or a record read made on the call's behalf)."""
        state = self._state(request, starting=True)
        if state is None:
            return
        route = route_of(request)
        if state.route is None:
            state.route = route
            state.span.update_name(f"{request.method} {route}")
            state.span.set_attributes(
                {
                    "http.request.method": request.method,
                    "url.template": route,
                    "server.address": request.url.host,
                }
            )
            if route.startswith("/verification/"):
                state.masked = _number_in(request.content)
        elif route != state.route:
            state.record_lookups += 1  # verify reads the record when an answer is lost
            return
        if state.attempts:
            state.retry_reasons.append(state.reason if state.answered else "no answer")
        state.attempts += 1
        state.answered = False

    def on_response(self, response: httpx.Response) -> None:
        """Response hook: the answer to the current attempt (body already read)."""
        state = self._state(response.request, starting=False)
        if state is None or route_of(response.request) != state.route:
            return
        state.answered = True
        state.status_code = response.status_code
        state.status = _envelope_status(response.content)
        if not 200 <= response.status_code < 300:
            state.reason = f"http {response.status_code}"
        elif state.status not in (None, 0):
            state.reason = f"status {state.status}"
        else:
            state.reason = "answer rejected"  # e.g. the record of another id
        if state.masked is None and state.route and state.route.startswith("/verification/"):
            state.masked = _number_in(response.content)

    def on_call_end(self, info: Any) -> None:
        """End-of-call hook, for an SDK that reports call boundaries (a proposal).

        With ``request.extensions["itnio.call"]`` (one object per call, the same for
        each attempt) and an ``event_hooks={"call": [...]}`` list called once when a
        call ends (with that object, its ``error`` set on failure), the hooks alone
        give one span per call and ``traced`` is not needed::

            AsyncItnio(event_hooks={**tracing.event_hooks, "call": [tracing.on_call_end]})
        """
        state = self._by_call.pop(id(info), None)
        if state is None:
            return
        error = getattr(info, "error", None)
        if error is not None:
            _fail(state.span, error)
        _finish(state)

    def _state(self, request: httpx.Request, *, starting: bool) -> _CallSpan | None:
        state = _CURRENT.get()
        if state is not None:
            return state
        info = request.extensions.get("itnio.call")
        if info is None:
            return None  # neither traced() nor the SDK's call identity: nothing to attach to
        state = self._by_call.get(id(info))
        if state is None and starting:
            span = self._tracer.start_span("itnio", kind=SpanKind.CLIENT)
            state = self._by_call[id(info)] = _CallSpan(span)
        return state


def _fail(span: Span, error: BaseException) -> None:
    # The type only: a message is the SDK's (scrubbed), but a hook's own may not be.
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.set_attribute("error.type", type(error).__name__)
    status = getattr(error, "status", None)
    if isinstance(status, int):
        span.set_attribute("itnio.error.status", status)


def _finish(state: _CallSpan) -> None:
    span = state.span
    span.set_attribute("itnio.attempts", state.attempts)
    span.set_attribute("http.request.resend_count", max(state.attempts - 1, 0))
    if state.retry_reasons:
        span.set_attribute("itnio.retry_reasons", state.retry_reasons)
    if state.record_lookups:
        span.set_attribute("itnio.record_lookups", state.record_lookups)
    if state.status_code is not None:
        span.set_attribute("http.response.status_code", state.status_code)
    if state.status is not None:
        span.set_attribute("itnio.status", state.status)
    if state.masked is not None:
        span.set_attribute("itnio.to_masked", state.masked)
    span.end()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _envelope_status(body: bytes) -> int | None:
    """The envelope's status as an int, when the body is an envelope."""
    payload = _json(body)
    status = payload.get("status") if isinstance(payload, dict) else None
    try:
        return int(status) if isinstance(status, (int, str)) else None
    except ValueError:
        return None


def _number_in(body: bytes) -> str | None:
    """The masked ``to`` of a request body or of an answer's ``data``, if there is one."""
    payload = _json(body) if body else None
    if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
        payload = payload["data"]
    number = payload.get("to") if isinstance(payload, dict) else None
    return mask_number(number) if isinstance(number, str) and number else None
