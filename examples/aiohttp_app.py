"""The same login-by-code service on aiohttp.web, with ``cleanup_ctx``.

``cleanup_ctx`` runs the code before ``yield`` at startup and the code after it at
shutdown, so the one AsyncItnio of the process is created inside the running loop
and closed before the loop goes away (no "Unclosed client session" warnings).

Run it:

    python -m aiohttp.web -P 8000 examples.aiohttp_app:init_app
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiohttp import web

from itnio_async import (
    AsyncItnio,
    InvalidParameterError,
    ItnioError,
    SendLimitError,
    ValidationError,
)

ITNIO: web.AppKey[AsyncItnio] = web.AppKey("itnio", AsyncItnio)


def error_response(exc: ItnioError) -> web.Response:
    """Map an SDK error to the HTTP answer this service gives its own callers."""
    if isinstance(exc, (ValidationError, InvalidParameterError)):
        return web.json_response({"error": "invalid_request", "detail": str(exc)}, status=400)
    if isinstance(exc, SendLimitError):
        return web.json_response({"error": "too_many_codes"}, status=429)
    return web.json_response(
        {"error": "upstream_unavailable", "kind": type(exc).__name__}, status=502
    )


@web.middleware
async def itnio_errors(
    request: web.Request, handler: Callable[[web.Request], Any]
) -> web.StreamResponse:
    """Turn SDK errors raised by any route into HTTP answers."""
    try:
        response: web.StreamResponse = await handler(request)
    except ItnioError as exc:
        return error_response(exc)
    return response


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return body


def create_app(
    client_factory: Callable[[], AsyncItnio] = AsyncItnio,
    *,
    app_id: str | None = None,
    template_id: str | None = None,
) -> web.Application:
    """Build the service; tests pass a factory wired to the SDK's sandbox."""
    app = web.Application(middlewares=[itnio_errors])
    otp_app_id = app_id or os.environ.get("OTP_APP_ID", "")
    otp_template_id = template_id or os.environ.get("OTP_TEMPLATE_ID", "")

    async def itnio_ctx(app: web.Application) -> AsyncGenerator[None, None]:
        async with client_factory() as client:
            app[ITNIO] = client
            yield

    app.cleanup_ctx.append(itnio_ctx)

    async def send(request: web.Request) -> web.Response:
        body = await _json(request)
        result = await request.app[ITNIO].verifications.send(
            app_id=otp_app_id,
            template_id=otp_template_id,
            to=body.get("phone", ""),  # the SDK validates it: a bad number is a 400
            order_id=body.get("order_id") or None,
        )
        return web.json_response({"verification_id": result.verification_id})

    async def verify(request: web.Request) -> web.Response:
        body = await _json(request)
        result = await request.app[ITNIO].verifications.verify(
            body.get("verification_id", ""),
            body.get("code", ""),
        )
        outcome = result.matched.name.lower() if result.matched is not None else "unknown"
        return web.json_response(
            {"verified": result.ok, "outcome": outcome}, status=200 if result.ok else 400
        )

    app.router.add_post("/otp/send", send)
    app.router.add_post("/otp/verify", verify)
    return app


def init_app(argv: list[str] | None = None) -> web.Application:
    """Entry point for ``python -m aiohttp.web``."""
    return create_app()
