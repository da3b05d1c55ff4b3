"""Prototypes of changes to ``_client.py``, applied to the SDK inside a benchmark process only.

``apply("sharded,direct,prebuilt")`` patches :class:`itnio_async.AsyncItnio` so that
the benchmarks can measure a proposed change before it is made in the package:

* ``sharded``  — the pool the SDK creates is :class:`ShardedTransport`: several small
  httpcore pools (``per_shard`` connections each) with the requests queued *outside*
  them, so httpcore's per-event scan of its connections stays short whatever the
  concurrency (the cause of the cliff, see README).
* ``single``   — :class:`SingleConnectionPools`: one-connection httpcore pools, handed
  out one request at a time, the queue kept outside them (now the package's own
  ``itnio_async._pool.PooledTransport``, which this name points to).
* ``capped``   — one httpcore pool of ``DEFAULT_MAX_CONNECTIONS`` behind a semaphore
  of the same size (requests wait outside the pool, but the pool still grows).
* ``direct``   — the SDK's own pool is driven through the public
  ``transport.handle_async_request`` (signing with the same ``ItnioAuth``) instead of
  ``AsyncClient.send``: no auth-flow generator, redirect, cookie or hook machinery.
* ``prebuilt`` — the ``httpx.URL`` of each path and the constant headers are built
  once per client instead of on every call.
* ``proposed`` — ``single`` + ``direct`` + ``prebuilt``: the change proposed for the
  package (``proposals/``).

Nothing here is imported by the package or the tests.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from itnio_async._pool import PooledTransport, _ReleasingStream

DEFAULT_PER_SHARD = 10


class ShardedTransport(httpx.AsyncBaseTransport):
    """``max_connections`` spread over small httpcore pools; the queue lives outside them.

    httpcore rescans every connection of a pool (a ``poll()`` of each idle socket
    included) whenever a request starts or finishes, so a pool's CPU per request
    grows with its size. Each shard here holds at most ``per_shard`` connections and
    at most ``per_shard`` requests (a semaphore), so no request ever queues inside
    httpcore and each rescan stays short. A request goes to the least-loaded shard,
    so sequential calls reuse one keep-alive connection.
    """

    def __init__(
        self, max_connections: int = 100, per_shard: int = DEFAULT_PER_SHARD, **options: Any
    ) -> None:
        per_shard = max(1, min(per_shard, max_connections))
        shards = max(1, -(-max_connections // per_shard))
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits, **options) for _ in range(shards)]
        self._slots = [asyncio.Semaphore(per_shard) for _ in range(shards)]
        self._load = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        load = self._load
        index = load.index(min(load))
        slots = self._slots[index]
        load[index] += 1

        def release() -> None:
            load[index] -= 1
            slots.release()

        try:
            await slots.acquire()
        except BaseException:
            load[index] -= 1
            raise
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        response.stream = _ReleasingStream(response.stream, release)
        return response

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


#: The ``single`` prototype, since shipped as the package's default pool.
SingleConnectionPools = PooledTransport


class CappedTransport(httpx.AsyncBaseTransport):
    """One httpcore pool behind a semaphore of its own size."""

    def __init__(self, max_connections: int = 100, **options: Any) -> None:
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._pool = httpx.AsyncHTTPTransport(limits=limits, **options)
        self._slots = asyncio.Semaphore(max_connections)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._slots.acquire()
        try:
            response = await self._pool.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        response.stream = _ReleasingStream(response.stream, self._slots.release)
        return response

    async def aclose(self) -> None:
        await self._pool.aclose()


class DirectClient(httpx.AsyncClient):
    """An ``AsyncClient`` whose ``send`` goes straight to its transport (public API only).

    Only for the pool the SDK creates and only for what the SDK sends: no redirects,
    no cookies, no hooks; the ``ItnioAuth`` passed as ``auth`` signs the request.
    """

    def __init__(self, *, transport: httpx.AsyncBaseTransport, **options: Any) -> None:
        super().__init__(transport=transport, **options)
        self._direct = transport

    async def send(self, request: httpx.Request, **options: Any) -> httpx.Response:
        auth = options.get("auth")
        if auth is not None and hasattr(auth, "headers"):
            headers = request.headers
            for name, value in auth.headers().items():
                headers[name] = value
        response = await self._direct.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response


def apply(spec: str) -> None:
    """Patch the SDK with the comma-separated variants of ``spec`` (``""``: none)."""
    names = {s.strip() for s in spec.split(",") if s.strip()}
    if "proposed" in names:  # what benchmarks/README.md proposes for _client.py
        names = (names - {"proposed"}) | {"single", "direct", "prebuilt"}
    unknown = names - {"sharded", "single", "capped", "direct", "prebuilt"}
    if unknown:
        raise SystemExit(f"unknown variant(s): {', '.join(sorted(unknown))}")
    if not names:
        return
    from itnio_async import _client

    original_http = _client.AsyncItnio._http

    def _http(self: Any) -> httpx.AsyncClient:
        # The package's _http keeps its own bookkeeping (closed state, event loop);
        # the prototype only swaps the client it created for one built as proposed.
        http = original_http(self)
        shared = self._shared
        if shared.user_http is not None or getattr(http, "_variant", False):
            return http  # type: ignore[no-any-return]
        transport = shared.transport
        if transport is None and shared.backend == "aiohttp":
            from itnio_async._aiohttp import make_aiohttp_transport

            transport = make_aiohttp_transport(_client.DEFAULT_MAX_CONNECTIONS)
        if transport is None and "sharded" in names:
            transport = ShardedTransport(_client.DEFAULT_MAX_CONNECTIONS)
        elif transport is None and "single" in names:
            transport = SingleConnectionPools(_client.DEFAULT_MAX_CONNECTIONS)
        elif transport is None and "capped" in names:
            transport = CappedTransport(_client.DEFAULT_MAX_CONNECTIONS)
        elif transport is None:
            limits = httpx.Limits(
                max_connections=_client.DEFAULT_MAX_CONNECTIONS,
                max_keepalive_connections=_client.DEFAULT_MAX_CONNECTIONS,
            )
            transport = httpx.AsyncHTTPTransport(limits=limits)
        cls = DirectClient if "direct" in names else httpx.AsyncClient
        swapped = cls(timeout=self._timeout, transport=transport, follow_redirects=False)
        swapped._variant = True  # type: ignore[attr-defined]
        shared.http = swapped
        return swapped

    _client.AsyncItnio._http = _http  # type: ignore[method-assign]

    if "prebuilt" in names:
        _patch_prebuilt(_client)


def _patch_prebuilt(_client: Any) -> None:
    """``_request`` with the URL of each path and the constant headers built once."""
    base_headers = httpx.Headers(
        {
            "Content-Type": _client.CONTENT_TYPE,
            "Accept": "application/json",
            "User-Agent": _client.USER_AGENT,
        }
    )
    urls: dict[tuple[str, str], httpx.URL] = {}

    async def _request(
        self: Any,
        method: str,
        path: str,
        *,
        cast: Any,
        kind: Any,
        body: Any = None,
        many: bool = False,
        pool_timeout: Any = _client.NOT_GIVEN,
    ) -> Any:
        http = self._http()
        content = (
            None
            if body is None
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        )
        if http is self._shared.user_http:
            request = http.build_request(
                method, self._shared.base_url + path, headers=base_headers, content=content
            )
        else:
            key = (self._shared.base_url, path)
            url = urls.get(key)
            if url is None:
                url = urls[key] = httpx.URL(self._shared.base_url + path)
            request = httpx.Request(method, url, headers=base_headers, content=content)
        timeout = self._timeout.as_dict()
        if not isinstance(pool_timeout, _client._NotGiven):
            timeout["pool"] = pool_timeout
        with self._call_deadline() as deadline_at:
            data = await self._send_with_retries(http, request, timeout, kind, deadline_at, path)
        if cast is None:
            return None
        return self._decode(data, cast, many, method, path)

    _client.AsyncItnio._request = _request
