"""The one route to the network, and the ways a user or a mock can take its place.

A client family's :class:`Network` (created in the event loop it serves) carries
every attempt:

* **the SDK's own engine** (``_engine.HTTP11Transport``, proxies included): the
  signed request bytes go straight to it and come back as an
  :class:`~itnio_async._wire.Answer`; no httpx object is built unless an event hook
  is set (it gets the ``httpx.Request`` and ``httpx.Response``, converted at the
  edge by ``_wire``);
* **a user's** ``transport=`` or ``http_client=``, driven with ``httpx`` objects;
* **respx or pytest-httpx**, while one of them is installed: recognised by what it
  installs in httpx and httpcore (:func:`mocked`, checked on every call for the
  price of three dictionary reads), whenever either library or the SDK was
  imported. The attempt then goes through a plain ``httpx.AsyncClient`` that keeps
  the client's TLS context and proxy, so the mock intercepts it (and a route the
  mock passes through reaches the network as the SDK would). When the mock ends,
  the next call is on the SDK's engine again. Anything else that wraps httpx (a
  tracing instrumentation) is not a mock and never moves a call off the engine.

Whatever the route, a body is read within the response size cap, decoded by the
engine's one decoder, and a failure of the HTTP layer reaches the request path as
:class:`Failed` (what an event hook raises passes unchanged).
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import httpx

from ._engine import WRITTEN, DeadlineExceeded, HTTP11Transport, WireRequest
from ._wire import Answer, http_request, http_response, read_capped, wire_request

if TYPE_CHECKING:
    import ssl

    from ._call import CallInfo
    from ._options import Hooks

__all__ = ["Failed", "Network", "mocked"]

#: Where pytest-httpx and respx install themselves: the class dictionaries (live views:
#: a later ``setattr`` on the class shows in them) and the attribute in each.
_TRANSPORT_DICT: Final = httpx.AsyncHTTPTransport.__dict__  # pytest-httpx
_CLIENT_DICT: Final = httpx.AsyncClient.__dict__  # respx(using="httpx")
#: httpcore's pool (respx's default target), once httpcore has been imported by anyone.
_POOL_MODULE: Final = "httpcore._async.connection_pool"
_pool_dict: list[Any] = [None]
#: Modules whose functions, installed at a mock point, intercept requests.
_MOCK_MODULES: Final = ("respx", "pytest_httpx")
#: The objects found at the mock points at the last check, and the verdict. Module state
#: on purpose: what it caches (what is installed in httpx's classes) is process-wide too.
_last_seen: list[Any] = [None, None, None, False]


def mocked() -> bool:
    """Whether respx, pytest-httpx or a ``unittest.mock`` is installed in httpx/httpcore now.

    Three dictionary reads and three identity checks while nothing changed; what is
    installed is looked at again only when one of the three objects differs.
    """
    pool = _pool_dict[0]
    if pool is None and _POOL_MODULE in sys.modules:
        pool = _pool_dict[0] = _pool_class_dict()
    a = _TRANSPORT_DICT.get("handle_async_request")
    b = _CLIENT_DICT.get("_transport_for_url")
    c = None if pool is None else pool.get("handle_async_request")
    seen = _last_seen
    if a is seen[0] and b is seen[1] and c is seen[2]:
        return bool(seen[3])
    verdict = _is_mock(a) or _is_mock(b) or (c is not None and _is_mock(c))
    _last_seen[:] = [a, b, c, verdict]
    return verdict


def _pool_class_dict() -> Any:
    """httpcore's pool class dictionary, ``None`` while httpcore is not imported."""
    module = sys.modules.get(_POOL_MODULE)
    cls = getattr(module, "AsyncConnectionPool", None)
    return None if cls is None else cls.__dict__


def _is_mock(item: Any) -> bool:
    module = getattr(item, "__module__", None)
    if isinstance(module, str) and module.startswith(_MOCK_MODULES):
        return True
    mock = sys.modules.get("unittest.mock")
    return mock is not None and isinstance(item, mock.NonCallableMock)


class Failed(Exception):  # noqa: N818 - a carrier, never seen outside the request path
    """An attempt failed in the HTTP layer; ``error`` is what it raised."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(type(error).__name__)
        self.error = error


class Network:
    """The way to the network of a client family, bound to the event loop it serves.

    Args:
        loop: the event loop it was created in (and the only one it serves).
        own: the SDK's engine; ``None`` when the user gave a transport or a client.
        transport / http: the user's ``transport=`` / ``http_client=``.
        max_body: the response size cap.
        ssl_context / proxy: what a mock's pass-through client must keep.

    A ``transport`` handed to the client is closed with the network (it was given as
    the client's pool); a user's ``http`` client never is.
    """

    __slots__ = (
        "_mock_client",
        "closed",
        "http",
        "loop",
        "max_body",
        "own",
        "proxy",
        "ssl_context",
        "transport",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        own: HTTP11Transport | None,
        transport: httpx.AsyncBaseTransport | None,
        http: httpx.AsyncClient | None,
        max_body: int,
        ssl_context: ssl.SSLContext | None,
        proxy: httpx.Proxy | None,
    ) -> None:
        self.loop = loop
        self.own = own
        self.transport = transport
        self.http = http
        self.max_body = max_body
        self.ssl_context = ssl_context
        self.proxy = proxy
        self.closed = False
        self._mock_client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        route = "own engine" if self.own else "transport" if self.transport else "http_client"
        return f"<Network {route}{' closed' if self.closed else ''}>"

    async def send(
        self, request: WireRequest, url: str, hooks: Hooks | None, info: CallInfo | None
    ) -> Answer:
        """One attempt: ``request`` sent to ``url``, its answer read within the cap.

        Raises:
            Failed: the HTTP layer failed (its error says how; ``request.written``
                whether anything may have been sent).
            BaseException: whatever an event hook raised, unchanged.
        """
        own = self.own
        if hooks is None and own is not None and not mocked():
            try:
                response = await own.exchange(request)
            except httpx.RequestError as exc:
                raise Failed(exc) from None
            return Answer.of(response, request, url)
        deadline = request.deadline
        if deadline is None:
            return await self._through_httpx(request, url, hooks, info)
        scope = asyncio.timeout_at(deadline)
        try:
            async with scope:
                return await self._through_httpx(request, url, hooks, info)
        except TimeoutError:
            if not scope.expired():
                raise  # an event hook's own TimeoutError
            raise Failed(DeadlineExceeded("the call's deadline passed")) from None

    async def _through_httpx(
        self, request: WireRequest, url: str, hooks: Hooks | None, info: CallInfo | None
    ) -> Answer:
        """An attempt with httpx objects: for event hooks, a user's transport or client,
        or a mock."""
        http_req = http_request(request, url, self.loop.time(), self.http)
        if info is not None:
            http_req.extensions["itnio.call"] = info
        if hooks is not None:
            await _run(hooks.request, http_req)
        try:
            response = await self._dispatch(http_req, request)
        except httpx.RequestError as exc:
            raise Failed(exc) from None
        except Exception as exc:
            if not self.closed:
                raise  # a user client's own hook, or a user transport's own exception
            raise Failed(exc) from None
        if hooks is not None:
            await _run(hooks.response, response)
        return Answer.of_http(response)

    async def _dispatch(self, http_req: httpx.Request, request: WireRequest) -> httpx.Response:
        own = self.own
        if own is not None and not mocked():
            wire = wire_request(http_req, request)
            try:
                response = await own.exchange(wire)
            finally:
                request.written = wire.written
                http_req.extensions[WRITTEN] = wire.written
            answer = Answer.of(response, wire, str(http_req.url))
            return http_response(answer, http_req)
        request.written = True  # not known on these routes: assume it may have left
        if self.http is not None:
            # A user's client: its defaults, hooks and transport apply. Never follow
            # a redirect: httpx would carry the signature headers elsewhere.
            sent = await self.http.send(http_req, stream=True, follow_redirects=False)
        elif self.transport is not None:
            sent = await self.transport.handle_async_request(http_req)
            sent.request = http_req
        else:
            sent = await self._mock().send(http_req, stream=True, follow_redirects=False)
        return await read_capped(sent, self.max_body)

    def _mock(self) -> httpx.AsyncClient:
        """The client a mock intercepts, with the client's TLS context and proxy."""
        if self._mock_client is None:
            transport = httpx.AsyncHTTPTransport(
                verify=self.ssl_context or True, proxy=self.proxy, trust_env=False
            )
            self._mock_client = httpx.AsyncClient(
                transport=transport, follow_redirects=False, trust_env=False
            )
        return self._mock_client

    async def aclose(self) -> None:
        """Close what the SDK owns: its engine (or the transport handed to it) and the
        mock client. A user's ``http_client`` stays open."""
        self.closed = True
        mock, self._mock_client = self._mock_client, None
        try:
            if self.own is not None:
                await self.own.aclose()
            elif self.transport is not None:
                await self.transport.aclose()
        finally:
            if mock is not None:
                await mock.aclose()

    def abort(self) -> None:
        """Close the engine's connections now, without the event loop (it may have ended)."""
        self.closed = True
        if self.own is not None:
            self.own.abort_all()


async def _run(hooks: tuple[Callable[[Any], Any], ...], subject: Any) -> None:
    for hook in hooks:
        result = hook(subject)
        if inspect.isawaitable(result):
            await result
