"""A login-by-code service on FastAPI, holding one AsyncItnio for the whole process.

* the lifespan creates the client once and closes it at shutdown (no per-request
  clients: each one would build an SSL context and a pool, ~30x slower);
* a dependency hands the shared client to the routes;
* SDK errors become proper HTTP answers in one exception handler:
  400 for bad input, 429 for send limits, 502 for upstream failures.

Run it (credentials from ITNIO_API_KEY / ITNIO_API_SECRET, app and template ids
from OTP_APP_ID / OTP_TEMPLATE_ID):

    uvicorn examples.fastapi_app:app --port 8000
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from itnio_async import (
    AsyncItnio,
    InvalidParameterError,
    ItnioError,
    SendLimitError,
    ValidationError,
)


class SendIn(BaseModel):
    """Body of POST /otp/send."""

    phone: str
    order_id: str | None = None


class SendOut(BaseModel):
    """Answer of POST /otp/send."""

    verification_id: str


class VerifyIn(BaseModel):
    """Body of POST /otp/verify."""

    verification_id: str
    code: str


class VerifyOut(BaseModel):
    """Answer of POST /otp/verify."""

    verified: bool
    outcome: str


def error_response(exc: ItnioError) -> JSONResponse:
    """Map an SDK error to the HTTP answer this service gives its own callers."""
    if isinstance(exc, (ValidationError, InvalidParameterError)):
        return JSONResponse({"error": "invalid_request", "detail": str(exc)}, status_code=400)
    if isinstance(exc, SendLimitError):
        return JSONResponse({"error": "too_many_codes"}, status_code=429)
    # Transport failures, timeouts, HTTP errors, bad bodies and other API errors:
    # the upstream is at fault, not our caller. The SDK's messages carry no secrets.
    return JSONResponse(
        {"error": "upstream_unavailable", "kind": type(exc).__name__}, status_code=502
    )


def get_itnio(request: Request) -> AsyncItnio:
    """Dependency: the process-wide client created by the lifespan."""
    client: AsyncItnio = request.app.state.itnio
    return client


Itnio = Annotated[AsyncItnio, Depends(get_itnio)]


def create_app(
    client_factory: Callable[[], AsyncItnio] = AsyncItnio,
    *,
    app_id: str | None = None,
    template_id: str | None = None,
) -> FastAPI:
    """Build the service; tests pass a factory wired to the SDK's sandbox."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
        async with client_factory() as client:
            app.state.itnio = client
            yield

    app = FastAPI(title="login-by-code", lifespan=lifespan)
    otp_app_id = app_id or os.environ.get("OTP_APP_ID", "")
    otp_template_id = template_id or os.environ.get("OTP_TEMPLATE_ID", "")

    @app.exception_handler(ItnioError)
    async def on_itnio_error(request: Request, exc: ItnioError) -> JSONResponse:
        return error_response(exc)

    @app.post("/otp/send")
    async def send(body: SendIn, itnio: Itnio) -> SendOut:
        result = await itnio.verifications.send(
            app_id=otp_app_id, template_id=otp_template_id, to=body.phone, order_id=body.order_id
        )
        return SendOut(verification_id=result.verification_id)

    @app.post("/otp/verify")
    async def verify(body: VerifyIn, itnio: Itnio) -> JSONResponse:
        result = await itnio.verifications.verify(body.verification_id, body.code)
        outcome = result.matched.name.lower() if result.matched is not None else "unknown"
        answer = VerifyOut(verified=result.ok, outcome=outcome)
        return JSONResponse(answer.model_dump(), status_code=200 if result.ok else 400)

    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn examples.fastapi_app:app` builds the app on first access, not at import.
    if name == "app":
        return create_app()
    raise AttributeError(name)
