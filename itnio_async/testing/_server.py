"""Serving an ASGI app with uvicorn inside the running event loop (the TCP sandbox)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

__all__ = ["run_asgi", "serve_asgi"]

#: Seconds uvicorn waits for open requests when stopping before it cancels them.
GRACEFUL_SHUTDOWN = 5


@contextlib.asynccontextmanager
async def serve_asgi(app: Any, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn in this event loop; yield ``http://HOST:PORT``; stop on exit.

    The socket is bound here (``port=0`` picks a free port), so a busy port raises
    ``OSError`` instead of uvicorn exiting the process. uvicorn's own logging setup,
    ``Date``/``Server`` headers, websockets and lifespan are switched off.

    Raises:
        ImportError: uvicorn is not installed (``pip install 'itnio-async[cli]'``).
        OSError: the address cannot be bound.
    """
    server, task, sock, url = await _start(app, host, port)
    try:
        yield url
    finally:
        server.should_exit = True
        try:
            await task
        finally:
            sock.close()


async def run_asgi(
    app: Any, host: str, port: int, ready: Callable[[str], object] | None = None
) -> None:
    """Run ``app`` under uvicorn until the server stops (SIGINT/SIGTERM or cancellation).

    ``ready`` is called with ``http://HOST:PORT`` once the server accepts connections.
    A signal that stopped the server is re-raised by uvicorn after it has shut down
    (SIGINT becomes ``KeyboardInterrupt``).
    """
    server, task, sock, url = await _start(app, host, port)
    try:
        if ready is not None:
            ready(url)
        await asyncio.shield(task)
    finally:
        server.should_exit = True
        try:
            await task
        finally:
            sock.close()


async def _start(
    app: Any, host: str, port: int
) -> tuple[uvicorn.Server, asyncio.Future[None], socket.socket, str]:
    try:
        import uvicorn
    except ImportError as exc:
        raise ImportError(
            "serving the fake over TCP needs uvicorn: pip install 'itnio-async[cli]'"
        ) from exc

    _quiet_injected_drops()
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,
        lifespan="off",
        interface="asgi3",
        http="h11",
        ws="none",
        date_header=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
    )
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        await _wait_started(server, task)
    except BaseException:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()
        raise
    bound = server.servers[0].sockets[0].getsockname()
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    return server, task, sock, f"http://{shown}:{bound[1]}"


async def _wait_started(server: uvicorn.Server, task: asyncio.Future[None]) -> None:
    while not server.started:
        if task.done():
            task.result()  # raises what stopped the server
            raise RuntimeError("uvicorn stopped before it started serving")
        await asyncio.sleep(0.005)


class _InjectedDropFilter(logging.Filter):
    """Drops uvicorn's traceback for a ``drop`` fault: it is the fault working, not a bug."""

    def filter(self, record: logging.LogRecord) -> bool:
        from ._asgi import InjectedDisconnectError

        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedDisconnectError)


def _quiet_injected_drops() -> None:
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _InjectedDropFilter) for f in log.filters):
        log.addFilter(_InjectedDropFilter())


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
