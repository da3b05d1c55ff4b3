"""``FakeItnio``: a stateful, in-memory ITNIO OTP API for tests, demos and the sandbox.

It works at the HTTP level: it parses real requests (method, path under ``/otp/``
on any host, headers, JSON body), checks the signature and the timestamp, and
answers the documented envelopes. Three ways in share one state:

* :meth:`FakeItnio.client` / :attr:`FakeItnio.transport` — in-process through
  httpx, no sockets;
* :attr:`FakeItnio.asgi_app` — a plain ASGI 3 application;
* :meth:`FakeItnio.serve` — that ASGI app under uvicorn on a real TCP port.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from .._retry import RetryPolicy
from ._records import (
    FAULT_KINDS,
    Delivery,
    Dropped,
    Fault,
    FaultKind,
    Hung,
    RequestLog,
    matches_path,
)
from ._service import JSON_TYPE, STATUS_LABELS, Response, Service, iso

if TYPE_CHECKING:
    from .._client import AsyncItnio
    from ._asgi import FakeASGIApp
    from ._seed import SeedData
    from ._transport import FakeTransport

__all__ = ["FAKE_BASE_URL", "FakeItnio", "is_fixed_code"]

#: The base URL of clients made by :meth:`FakeItnio.client` (any host works).
FAKE_BASE_URL: Final = "http://itnio.fake/otp"
#: A code the fake's ``verify`` accepts: 4 to 10 characters (letters or digits here).
_CODE: Final = re.compile(r"[A-Za-z0-9]{4,10}")
#: What a ``"malformed"`` fault answers by default: a proxy's HTML page with HTTP 200.
DEFAULT_MALFORMED_BODY: Final = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


def is_fixed_code(code: str) -> bool:
    """Whether ``code`` can be the code of every send (``fixed_code``): 4 to 10 ASCII
    letters or digits."""
    return _CODE.fullmatch(code) is not None


Outcome = Response | Dropped | Hung


class FakeItnio:
    """An in-memory, stateful implementation of the ITNIO OTP API.

    Example::

        fake = FakeItnio()
        async with fake.client() as client:
            app = await client.apps.create(name="shop")
            template = await client.templates.create(
                app_id=app.app_id, name="login", text="Your code is ##code##"
            )
            sent = await client.verifications.send(
                app_id=app.app_id, template_id=template.template_id, to="8613512345678"
            )
            result = await client.verifications.verify(
                sent.verification_id, fake.last_code("8613512345678")
            )
            assert result.ok

    All 19 endpoints behave as documented: ``Api-Key``/``Sign`` checks (``-1``), a
    ``Timestamp`` window (``-16``; every answer carries a ``Date`` header from the
    fake's clock), parameter validation (``-22``), duplicate names and orderIds
    (``-20``), unknown ids (``-24``), app send limits (``-27``/``-28``), codes of
    the template's type and length, verify outcomes (``matched`` 0/2/3/4/5) and
    records that reflect what happened. The choices the reference leaves open are
    listed in the docstring of ``itnio_async.testing._service``.

    Args:
        api_key: the key clients must send.
        api_secret: the secret clients must sign with.
        clock: a function returning epoch seconds (default ``time.time``);
            :meth:`advance` moves the fake's clock forward on top of it.
        timestamp_tolerance: seconds a ``Timestamp`` may differ from the fake's clock
            before ``-16`` (default 300).
        random_seed: seed for ids and codes, for reproducible runs (default: random).
        fixed_code: a known code (4–10 letters or digits) for every ``send``
            instead of a random one: repeated or cut to the template's
            ``codeLength`` (``"1234"`` → ``"123412"`` for a 6-digit template); a
            template whose ``codeType`` cannot make its characters (letters for a
            numeric one) still gets a random code. ``sendRule`` delivers the code
            its caller chose.
        on_delivery: called with each :class:`Delivery` as it happens (see
            :attr:`on_delivery`).

    Besides the API under ``/otp/``, the ASGI app and the transport answer
    ``GET /_sandbox/deliveries`` (optionally ``?to=NUMBER``): every delivery so far as
    a JSON array, oldest first, codes and full numbers included (a developer's view
    of the phones; the SDK itself never shows either); and
    ``POST /_sandbox/advance?seconds=N``: :meth:`advance` for programs outside the
    process (N a positive finite number; anything else answers 400 with a JSON error).
    """

    def __init__(
        self,
        api_key: str = "test-key",
        api_secret: str = "test-secret",  # noqa: S107 - the fake's documented default
        *,
        clock: Callable[[], float] | None = None,
        timestamp_tolerance: float = 300.0,
        random_seed: int | None = None,
        fixed_code: str | None = None,
        on_delivery: Callable[[Delivery], object] | None = None,
    ) -> None:
        if fixed_code is not None and not is_fixed_code(fixed_code):
            raise ValueError("fixed_code must be 4 to 10 ASCII letters or digits")
        self.api_key = api_key
        self._secret = api_secret
        self._base_clock = clock or time.time
        self._offset = 0.0
        self._service = Service(
            api_key,
            api_secret,
            self.now,
            signing_clock=self._base_clock,
            timestamp_tolerance=timestamp_tolerance,
            rng=random.Random(random_seed),  # noqa: S311 - fake ids and codes
            fixed_code=fixed_code,
        )
        self._service.on_delivery = on_delivery
        self._faults: list[Fault] = []
        self._latency = 0.0
        self._path_latency: dict[str, float] = {}
        self.requests: list[RequestLog] = []
        """Every request that reached the fake, oldest first (also those a fault answered)."""
        self._transport: FakeTransport | None = None
        self._asgi: FakeASGIApp | None = None

    def __repr__(self) -> str:
        return (
            f"<FakeItnio api_key={self.api_key!r} apps={len(self._service.apps)} "
            f"verifications={len(self._service.verifications)} requests={len(self.requests)}>"
        )

    @property
    def api_secret(self) -> str:
        """The secret clients must sign with (never shown in the repr)."""
        return self._secret

    # -- clock -----------------------------------------------------------------------

    def now(self) -> float:
        """The fake's clock: epoch seconds (the base clock plus :meth:`advance` s)."""
        return self._base_clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward: codes expire, send-limit windows pass, flows fire.

        Clients made by :meth:`client` sign with the fake's clock, so they stay in
        its timestamp window; so do clients that cannot follow it (another process,
        signing with the real time): a ``Timestamp`` near the clock beneath the
        advance is accepted too. Over HTTP: ``POST /_sandbox/advance?seconds=N``.

        Args:
            seconds: how far to move the clock, in seconds (0 or more; a fraction is
                fine).

        Raises:
            ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        self._service.run_flows(self.now())

    # -- ways in ---------------------------------------------------------------------

    def client(self, **options: Any) -> AsyncItnio:
        """An :class:`~itnio_async.AsyncItnio` wired to this fake in-process (no sockets).

        Defaults: the fake's credentials, ``base_url`` ``http://itnio.fake/otp``,
        the fake's clock for signing, and a retry policy without backoff sleeps (tests
        stay fast; a ``Retry-After`` is still honoured). Any option of ``AsyncItnio``
        (including ``api_key``/``api_secret``) overrides them. Close it (``async with``).
        """
        from .._client import AsyncItnio

        api_key = options.pop("api_key", self.api_key)
        api_secret = options.pop("api_secret", self._secret)
        options.setdefault("base_url", FAKE_BASE_URL)
        # In-process: nothing travels over a network, so plain http:// is harmless here.
        options.setdefault("allow_insecure_http", True)
        options.setdefault("clock", self.now)
        options.setdefault("retry_policy", RetryPolicy(base_delay=0.0, max_delay=0.0))
        if options.get("http_client") is None and options.get("proxy") is None:
            options.setdefault("transport", self.transport)
        return AsyncItnio(api_key, api_secret, **options)

    @property
    def transport(self) -> FakeTransport:
        """An ``httpx.AsyncBaseTransport`` answering ``/otp/...`` on any host.

        Use it with your own ``httpx.AsyncClient(transport=fake.transport)``;
        closing it is a no-op, so it can serve many clients.
        """
        if self._transport is None:
            from ._transport import FakeTransport

            self._transport = FakeTransport(self)
        return self._transport

    @property
    def asgi_app(self) -> FakeASGIApp:
        """A plain ASGI 3 application of this fake (serve it with any ASGI server)."""
        if self._asgi is None:
            from ._asgi import FakeASGIApp

            self._asgi = FakeASGIApp(self)
        return self._asgi

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve this fake over TCP with uvicorn in the running event loop.

        ``async with fake.serve() as base_url:`` yields ``http://HOST:PORT/otp``
        and stops the server on exit. Needs uvicorn, which the ``testing`` extra
        installs (``pip install 'itnio-async[testing]'``; the ``cli`` extra brings it
        too).

        Args:
            host: the address to listen on (default ``127.0.0.1``, this machine only).
            port: the TCP port to listen on; ``0`` (the default) picks a free one.

        Yields:
            The base URL of the served API, ``http://HOST:PORT/otp``.
        """
        from ._server import serve_asgi

        async with serve_asgi(self.asgi_app, host, port) as base_url:
            yield base_url + "/otp"

    async def serve_forever(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        ready: Callable[[str], object] | None = None,
    ) -> None:
        """Serve this fake over TCP with uvicorn until the server is stopped.

        For a long-running sandbox (the ``itnio sandbox serve`` command): ``ready`` is
        called with ``http://HOST:PORT/otp`` once connections are accepted. SIGINT or
        SIGTERM stop the server gracefully; uvicorn then re-raises the signal (SIGINT
        becomes ``KeyboardInterrupt``). Cancelling the coroutine stops it too. Needs
        uvicorn, which the ``testing`` extra installs (the ``cli`` extra brings it too).

        Args:
            host: the address to listen on (default ``127.0.0.1``, this machine only;
                ``0.0.0.0`` for a sandbox in a container).
            port: the TCP port to listen on (default 8080; ``0`` picks a free one).
            ready: called once with the base URL, ``http://HOST:PORT/otp``, when
                connections are accepted (``None``: nobody is told).
        """
        from ._server import run_asgi

        def announce(url: str) -> None:
            if ready is not None:
                ready(url + "/otp")

        await run_asgi(self.asgi_app, host, port, announce)

    # -- deliveries and reports ------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Every message delivered so far, oldest first (a copy)."""
        self._service.run_flows(self.now())
        return list(self._service.deliveries)

    def sent_to(self, to: str) -> list[Delivery]:
        """The messages delivered to the number ``to``, oldest first.

        Args:
            to: the number as the API received it: country code and number, digits
                only (``"8613512345678"``).

        Returns:
            The deliveries to ``to`` (empty when there were none).
        """
        return self._service.sent_to(to)

    def last_code(self, to: str) -> str:
        """The code most recently delivered to the number ``to``.

        Args:
            to: the number as the API received it: country code and number, digits
                only (``"8613512345678"``).

        Returns:
            The code of the latest delivery to ``to``.

        Raises:
            LookupError: nothing was delivered to ``to``.
        """
        return self._service.last_code(to)

    @property
    def fixed_code(self) -> str | None:
        """The code ``send`` delivers (fitted to each template's length), or ``None``."""
        return self._service.fixed_code

    @property
    def on_delivery(self) -> Callable[[Delivery], object] | None:
        """Called with each :class:`Delivery` as it is made (settable; ``None``: nobody).

        It runs inside the request that caused the delivery (or, for a task-flow
        step, inside the request or :meth:`advance` that found it due), so keep it
        quick; an exception from it fails that request.
        """
        return self._service.on_delivery

    @on_delivery.setter
    def on_delivery(self, callback: Callable[[Delivery], object] | None) -> None:
        self._service.on_delivery = callback

    def _deliveries_json(self, to: str | None = None) -> list[dict[str, Any]]:
        """:attr:`deliveries` (only those to ``to`` when given) as JSON-ready dicts.

        What ``GET /_sandbox/deliveries`` answers: ``to``, ``code``, ``channel``,
        ``verificationId``, ``appId``, ``templateId``, ``kind`` and ``time`` (ISO 8601,
        +08:00 like the API), oldest first.
        """
        return [
            {
                "to": d.to,
                "code": d.code,
                "channel": d.channel,
                "verificationId": d.verification_id,
                "appId": d.app_id,
                "templateId": d.template_id,
                "kind": d.kind,
                "time": iso(d.time),
            }
            for d in self.deliveries
            if to is None or d.to == to
        ]

    def _sandbox_answer(self, method: str, path: str, query: str = "") -> Response | None:
        """The answer to a request for the sandbox's own pages, or ``None`` for other paths.

        ``path`` is the URL path (``/_sandbox/deliveries``), ``query`` the raw query
        string. Two pages exist: ``GET /_sandbox/deliveries[?to=NUMBER]`` and
        ``POST /_sandbox/advance?seconds=N``; other paths below ``/_sandbox/`` answer
        404, other methods 405.
        """
        if path != "/_sandbox" and not path.startswith("/_sandbox/"):
            return None
        page = _SANDBOX_PAGES.get(path.rstrip("/"))
        if page is None:
            return self._sandbox_error(404, "Not Found", f"No sandbox page {path}")
        allowed, answer = page
        if method.upper() != allowed:
            return self._sandbox_error(
                405, "Method Not Allowed", f"{allowed} {path} only", ("allow", allowed)
            )
        return answer(self, urllib.parse.parse_qs(query))

    def _sandbox_error(
        self, status: int, error: str, message: str, *extra: tuple[str, str]
    ) -> Response:
        headers = self._service.headers(JSON_TYPE, *extra)
        return Response(status, headers, json.dumps({"error": error, "message": message}).encode())

    def _deliveries_page(self, query: dict[str, list[str]]) -> Response:
        to = query.get("to", [None])[-1]
        payload = json.dumps(self._deliveries_json(to), ensure_ascii=False)
        return Response(200, self._service.headers(JSON_TYPE), payload.encode())

    def _advance_page(self, query: dict[str, list[str]]) -> Response:
        """``POST /_sandbox/advance?seconds=N``: :meth:`advance` over HTTP; answers the
        seconds moved and the clock's new time (ISO 8601, +08:00 like the API)."""
        given = query.get("seconds", [""])[-1]
        seconds = _positive_seconds(given)
        if seconds is None:
            return self._sandbox_error(
                400,
                "Bad Request",
                f"seconds must be a positive finite number, got {given[:40]!r}: "
                "POST /_sandbox/advance?seconds=N",
            )
        self.advance(seconds)
        payload = {"advanced": seconds, "now": iso(self.now())}
        return Response(200, self._service.headers(JSON_TYPE), json.dumps(payload).encode())

    @property
    def backfills(self) -> list[dict[str, Any]]:
        """Bodies of accepted ``/postback/backfill`` reports, oldest first."""
        return list(self._service.backfills)

    @property
    def backfill_rates(self) -> list[dict[str, Any]]:
        """Bodies of accepted ``/backfillRate`` reports, oldest first."""
        return list(self._service.backfill_rates)

    def requests_to(self, path: str, *, method: str | None = None) -> list[RequestLog]:
        """The logged requests to an API path (or below it), e.g. ``"/verification/send"``.

        Args:
            path: an API path, or the start of one (``"/verification"`` takes every
                verification endpoint); an ``/otp`` prefix is ignored.
            method: only requests with this HTTP method (any case); ``None``: any.

        Returns:
            The matching entries of :attr:`requests`, oldest first.
        """
        path = _api_path(path)
        return [
            r
            for r in self.requests
            if matches_path(path, r.path) and (method is None or r.method == method.upper())
        ]

    def seed(self) -> SeedData:
        """Create a small realistic data set; see :func:`itnio_async.testing.seed`."""
        from ._seed import seed

        return seed(self)

    # -- faults and latency ----------------------------------------------------------

    def fail_next(
        self,
        kind: FaultKind | int,
        *,
        status: int | None = None,
        reason: str | None = None,
        retry_after: float | str | None = None,
        body: bytes | str | None = None,
        path: str | None = None,
        method: str | None = None,
        times: int = 1,
        after: bool = False,
        delay: float = 300.0,
    ) -> Fault:
        """Make the next matching request(s) fail; return the armed :class:`Fault`.

        Kinds:

        * ``"http"`` — answer HTTP ``status`` (default 503) with an optional
          ``Retry-After`` header; the SDK raises ``HTTPStatusError``.
        * ``"api"`` — answer the envelope ``status`` (default -18) and ``reason``
          with HTTP 200; the SDK raises the matching ``APIError`` subclass.
        * ``"drop"`` — the connection dies mid-response (in-process:
          ``httpx.RemoteProtocolError``; over ASGI/TCP the response starts, then the
          connection is closed); the SDK raises ``TransportError``.
        * ``"malformed"`` — HTTP 200 with ``body`` (default an HTML error page); the
          SDK raises ``DecodeError``.
        * ``"timeout"`` — no answer in time (in-process: ``httpx.ReadTimeout`` at
          once; over ASGI the app waits until the client gives up, at most ``delay``
          seconds); the SDK raises ``RequestTimeoutError``.

        A plain number is a shortcut: ``fail_next(503)`` is an ``"http"`` fault and
        ``fail_next(-18)`` an ``"api"`` fault.

        Args:
            kind: ``"http"``, ``"api"``, ``"drop"``, ``"malformed"`` or ``"timeout"``
                (see above), or a status code: above 0 an ``"http"`` fault with that
                status, below 0 an ``"api"`` fault with that envelope status.
            status: the HTTP status of an ``"http"`` fault (100–599, default 503) or
                the envelope status of an ``"api"`` fault (not 0, default -18);
                unused by the other kinds.
            reason: the envelope ``reason`` of an ``"api"`` fault (default the status's
                label in the API reference, such as ``"Port program unusual"``).
            retry_after: the ``Retry-After`` header of an ``"http"`` fault: seconds (a
                number) or the header's text as is (an HTTP date); ``None``: no header.
            body: the body of a ``"malformed"`` fault (default an HTML error page) or of
                an ``"http"`` fault (default the status's reason phrase); text is sent
                as UTF-8.
            path: only requests to this API path or below it (``"/verification/send"``,
                ``"/verification"``; an ``/otp`` prefix is ignored).
            method: only requests with this HTTP method.
            times: how many matching requests fail.
            after: fail *after* the request took effect (the code is sent and
                recorded, then the answer is lost): the realistic ambiguous case.
                By default the request fails before it takes effect.
            delay: see ``"timeout"``.

        Every struck request is in :attr:`requests` with ``fault`` set.

        Returns:
            The armed fault (its ``hits`` count the requests it struck).

        Raises:
            ValueError: an unknown ``kind``, an HTTP status outside 100–599, an
                envelope status of 0, or ``times`` below 1.
        """
        if isinstance(kind, int) and not isinstance(kind, bool):
            status = kind
            kind = "http" if status > 0 else "api"
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)} or a status code")
        if kind == "http":
            status = 503 if status is None else status
            if not 100 <= status <= 599:
                raise ValueError(f"not an HTTP status: {status}")
        elif kind == "api":
            status = -18 if status is None else status
            if status == 0:
                raise ValueError("status 0 is success, not a fault")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = Fault(
            kind=kind,
            status=status,
            reason=reason,
            retry_after=None if retry_after is None else _retry_after(retry_after),
            body=body.encode() if isinstance(body, str) else body,
            path=None if path is None else _api_path(path),
            method=None if method is None else method.upper(),
            times=times,
            after=after,
            delay=delay,
        )
        self._faults.append(fault)
        return fault

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults that will still strike (a copy)."""
        return [f for f in self._faults if f.remaining > 0]

    def clear_faults(self) -> None:
        """Disarm every pending fault."""
        self._faults.clear()

    @property
    def latency(self) -> float:
        """Seconds every request waits before it is handled (default 0)."""
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        self._latency = float(seconds)

    def set_latency(self, seconds: float, *, path: str | None = None) -> None:
        """Set the latency of every request, or of one API path (and below it).

        The most specific matching path wins over the global :attr:`latency`.

        Args:
            seconds: how long each matching request waits before it is handled (0 or
                more; 0 takes the wait away).
            path: an API path, or the start of one, whose requests wait (an ``/otp``
                prefix is ignored); ``None``: every request (sets :attr:`latency`).

        Raises:
            ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError("latency cannot be negative")
        if path is None:
            self._latency = float(seconds)
        else:
            self._path_latency[_api_path(path)] = float(seconds)

    def latency_for(self, path: str) -> float:
        """The latency applied to requests to the API ``path``.

        Args:
            path: an API path without the ``/otp`` prefix, such as
                ``"/verification/send"``.

        Returns:
            The seconds a request to ``path`` waits: the latency of the longest path
            set by :meth:`set_latency` that covers it, else :attr:`latency`.
        """
        best: tuple[int, float] | None = None
        for pattern, seconds in self._path_latency.items():
            if matches_path(pattern, path) and (best is None or len(pattern) > best[0]):
                best = (len(pattern), seconds)
        return self._latency if best is None else best[1]

    # -- the request path (used by the transport and the ASGI app) -------------------

    async def exchange(
        self,
        method: str,
        url_path: str,
        headers: dict[str, str],
        body: bytes,
        *,
        read_timeout: float | None = None,
    ) -> Outcome:
        """Handle one request: latency, faults, API logic, log. ``url_path`` includes ``/otp``.

        The request path of :class:`FakeTransport` and :class:`FakeASGIApp`; call it to
        put the fake behind a server of your own (a gateway that adds headers, say).
        The request is logged in :attr:`requests` whatever the outcome.

        Args:
            method: the HTTP method (any case).
            url_path: the URL's path, such as ``"/otp/flow/details/1"`` (no query); a
                path outside ``/otp/`` is answered 404.
            headers: the request headers, names in lower case (``api-key``,
                ``timestamp``, ``sign``).
            body: the request body as sent (``b""`` for none).
            read_timeout: in-process only: when the latency exceeds it, wait that long
                and answer ``Hung`` without handling the request, as a client that
                gives up would see it. ``None``: wait the whole latency.

        Returns:
            What the client gets: a ``Response`` (``status_code``, ``headers`` as
            ``(name, value)`` pairs, ``body``), ``Dropped`` (the connection dies
            before a whole answer) or ``Hung`` (no answer within the client's
            timeout; ``late`` is answered after ``delay`` seconds to a client still
            waiting).
        """
        method = method.upper()
        path = url_path[4:] if url_path.startswith("/otp/") else None
        api_path = path if path is not None else url_path
        delay = self.latency_for(api_path)
        if read_timeout is not None and delay > read_timeout:
            await asyncio.sleep(read_timeout)
            self.requests.append(
                RequestLog(
                    method=method,
                    path=api_path,
                    time=self.now(),
                    http_status=None,
                    status=None,
                    performed=False,
                    body=_json_or_none(body),
                    headers=dict(headers),
                )
            )
            return Hung(0.0, self._gateway_timeout())
        if delay > 0:
            await asyncio.sleep(delay)
        fault = next((f for f in self._faults if f.matches(method, api_path)), None)
        if fault is not None:
            fault.hits += 1
        response: Response | None = None
        if fault is None or fault.after:
            if path is None:
                response = self._not_found(method, url_path)
            else:
                response = self._service.handle(method, path, headers, body)
        outcome: Outcome
        if fault is None:
            assert response is not None
            outcome = response
        else:
            outcome = self._fault_outcome(fault, response)
        self.requests.append(
            RequestLog(
                method=method,
                path=api_path,
                time=self.now(),
                http_status=outcome.status_code if isinstance(outcome, Response) else None,
                status=outcome.status if isinstance(outcome, Response) else None,
                fault=None if fault is None else fault.kind,
                performed=response is not None,
                body=_json_or_none(body),
                headers=dict(headers),
            )
        )
        return outcome

    def _not_found(self, method: str, url_path: str) -> Response:
        body = json.dumps({"error": "Not Found", "message": f"No endpoint {method} {url_path}"})
        return Response(404, self._service.headers(JSON_TYPE), body.encode())

    def _gateway_timeout(self) -> Response:
        headers = self._service.headers("text/plain; charset=utf-8")
        return Response(504, headers, b"Gateway Timeout")

    def _fault_outcome(self, fault: Fault, performed: Response | None) -> Outcome:
        service = self._service
        if fault.kind == "drop":
            return Dropped()
        if fault.kind == "timeout":
            return Hung(fault.delay, performed or self._gateway_timeout())
        if fault.kind == "malformed":
            body = DEFAULT_MALFORMED_BODY if fault.body is None else fault.body
            return Response(200, service.headers("text/html; charset=utf-8"), body)
        assert fault.status is not None
        if fault.kind == "api":
            reason = fault.reason or STATUS_LABELS.get(fault.status, "error")
            return service.envelope(str(fault.status), reason)
        phrase = _phrase(fault.status)
        extra = [] if fault.retry_after is None else [("retry-after", fault.retry_after)]
        body = phrase.encode() if fault.body is None else fault.body
        return Response(
            fault.status,
            service.headers("text/plain; charset=utf-8", *extra),
            body,
            _envelope_status(body),
        )


#: The sandbox's own pages: path → (method, answer).
_SANDBOX_PAGES: Final[
    dict[str, tuple[str, Callable[[FakeItnio, dict[str, list[str]]], Response]]]
] = {
    "/_sandbox/deliveries": ("GET", FakeItnio._deliveries_page),
    "/_sandbox/advance": ("POST", FakeItnio._advance_page),
}


def _positive_seconds(text: str) -> float | None:
    """``text`` as a positive finite number of seconds, or ``None``."""
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def _api_path(path: str) -> str:
    path = "/" + path.lstrip("/")
    return path[4:] if path == "/otp" or path.startswith("/otp/") else path


def _retry_after(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _envelope_status(body: bytes) -> str | None:
    data = _json_or_none(body)
    if isinstance(data, dict) and isinstance(data.get("status"), (str, int)):
        return str(data["status"])
    return None
