"""Proxies: ``AsyncItnio(proxy=...)`` and the proxy environment variables.

A small forward proxy on 127.0.0.1 (absolute-URI ``GET``/``POST``/``PUT`` requests
forwarded to the target, the answer piped back) sits between the SDK and the
stateful fake behind a real socket (:class:`~tests.test_raw_response.FakeGateway`).
The proxy counts what passes through it, so each test can tell whether a call
went through it or straight to the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
import pytest

from itnio_async import AsyncItnio, HTTPStatusError, ItnioError
from itnio_async._engine import HTTP11Transport
from itnio_async.testing import FakeItnio, SeedData

from ._loopback import LoopbackServer, Request, response
from .test_raw_response import NO_SLEEP, FakeGateway

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)
NUMBER = "8613800138000"
#: Stands for the forward proxy's URL in the variables given to :func:`exercise_under`.
PROXY_URL = "<the proxy's URL>"


class ForwardProxy(LoopbackServer):
    """A forward HTTP proxy on 127.0.0.1 that records every request it forwards.

    Each request (absolute URI, ``http://`` only) goes to its target on a fresh
    connection. An answer with a ``Content-Length`` is relayed and the client's
    connection kept alive; any other answer (chunked, or delimited by the close) is
    piped through until the target closes, then the client's connection is closed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.forwarded: list[Request] = []
        self.relayed_bytes = 0

    async def respond(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Forward one request; False when the client's connection must close."""
        self.forwarded.append(request)
        url = urlsplit(request.target)
        if url.scheme != "http" or url.hostname is None:
            writer.write(response(b"", 501, reason="Not Implemented"))
            await writer.drain()
            return True
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
        try:
            path = (url.path or "/") + (f"?{url.query}" if url.query else "")
            out = [f"{request.method} {path} HTTP/1.1"]
            out += [
                f"{name}: {value}"
                for name, value in request.fields
                if name.lower() not in ("proxy-connection", "proxy-authorization")
            ]
            up_writer.write("\r\n".join(out).encode("latin-1") + b"\r\n\r\n" + request.body)
            await up_writer.drain()
            answer = await up_reader.readuntil(b"\r\n\r\n")
            length = None
            for line in answer.decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            writer.write(answer)
            if length is not None:
                while length:  # relayed piece by piece: a huge body never sits here whole
                    piece = await up_reader.readexactly(min(length, 65536))
                    length -= len(piece)
                    self.relayed_bytes += len(piece)
                    writer.write(piece)
                    await writer.drain()
                return True
            while chunk := await up_reader.read(65536):
                self.relayed_bytes += len(chunk)
                writer.write(chunk)
                await writer.drain()
            return False
        finally:
            up_writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await up_writer.wait_closed()


@contextlib.asynccontextmanager
async def proxied_world() -> AsyncIterator[tuple[World, FakeGateway, ForwardProxy]]:
    """A seeded fake behind a real socket, and a forward proxy in front of it."""
    fake = FakeItnio(random_seed=3)
    world = World(fake, fake.seed())
    async with FakeGateway(fake) as gateway, ForwardProxy() as proxy:
        yield world, gateway, proxy


@attrs.frozen
class World:
    """The fake and the ids of its seeded data."""

    fake: FakeItnio
    seed: SeedData


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable set, whatever the machine running the tests has."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def client_for(world: World | FakeItnio, gateway: FakeGateway, **options: Any) -> AsyncItnio:
    """A client of the fake behind ``gateway`` (caller closes it)."""
    fake = world.fake if isinstance(world, World) else world
    return AsyncItnio(
        fake.api_key,
        fake.api_secret,
        base_url=gateway.base_url,
        clock=fake.now,
        retry_policy=NO_SLEEP,
        **options,
    )


async def exercise(client: AsyncItnio, world: World) -> None:
    """A read, a list and a send: three requests, each checked against the fake's state."""
    fake, seed = world.fake, world.seed
    template = await client.templates.get(seed.template_id)
    assert template.template_id == seed.template_id
    assert seed.template_id in {t.template_id for t in await client.templates.list()}
    sent = await client.verifications.send(
        app_id=seed.app_id, template_id=seed.template_id, to=NUMBER
    )
    assert fake.last_code(NUMBER)
    assert sent.to == NUMBER


def assert_went_through(proxy: ForwardProxy, gateway: FakeGateway) -> None:
    """The three requests of :func:`exercise` reached the server through the proxy, signed."""
    origin = gateway.base_url
    targets = [(f.method, f.target) for f in proxy.forwarded]
    assert targets[0] == ("GET", f"{origin}/template/details/{targets[0][1].rsplit('/', 1)[1]}")
    assert targets[1:] == [
        ("GET", f"{origin}/template/list"),
        ("POST", f"{origin}/verification/send"),
    ]
    for forwarded in proxy.forwarded:
        assert {"sign", "timestamp", "api-key"} <= set(forwarded.headers)
    assert json.loads(proxy.forwarded[2].body)["to"] == NUMBER
    assert gateway.requests == 3


async def test_proxy_argument_sends_every_call_through_the_proxy(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """AsyncItnio(proxy=...) sends each call to the proxy (absolute URI), which reaches
    the server; the answers decode."""
    async with proxied_world() as (world, gateway, proxy):
        async with client_for(world, gateway, proxy=proxy.url) as client:
            await exercise(client, world)
            own = client._network().own
            assert isinstance(own, HTTP11Transport)  # the SDK's engine speaks to the proxy
            assert own.proxy is not None
        assert_went_through(proxy, gateway)


async def test_proxy_argument_accepts_an_httpx_proxy(clean_env: pytest.MonkeyPatch) -> None:
    """An httpx.Proxy object works as the proxy argument too."""
    async with proxied_world() as (world, gateway, proxy):
        async with client_for(world, gateway, proxy=httpx.Proxy(proxy.url)) as client:
            await exercise(client, world)
        assert_went_through(proxy, gateway)


async def exercise_under(
    env: pytest.MonkeyPatch, **variables: str
) -> tuple[ForwardProxy, FakeGateway, object]:
    """:func:`exercise` on a client made with the proxy ``variables`` set (a value of
    ``PROXY_URL`` is the proxy's URL): the proxy, the server and the client's transport."""
    async with proxied_world() as (world, gateway, proxy):
        for name, value in variables.items():
            env.setenv(name, proxy.url if value == PROXY_URL else value)
        async with client_for(world, gateway) as client:
            await exercise(client, world)
            transport = client._network().own
    return proxy, gateway, transport


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_proxy_environment_variable_is_honoured(
    clean_env: pytest.MonkeyPatch, variable: str
) -> None:
    """With HTTP_PROXY (either case) or ALL_PROXY set, calls go through that proxy."""
    proxy, gateway, _ = await exercise_under(clean_env, **{variable: PROXY_URL})
    assert_went_through(proxy, gateway)


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
async def test_no_proxy_covering_the_host_bypasses_the_proxy(
    clean_env: pytest.MonkeyPatch, no_proxy: str
) -> None:
    """HTTP_PROXY with NO_PROXY naming the API host: calls go straight to the server."""
    proxy, gateway, _ = await exercise_under(clean_env, HTTP_PROXY=PROXY_URL, NO_PROXY=no_proxy)
    assert proxy.forwarded == []
    assert proxy.connections == 0
    assert gateway.requests == 3


async def test_a_proxy_for_another_scheme_is_not_used(clean_env: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY does not apply to an http:// base_url: the SDK's own engine serves it."""
    proxy, gateway, transport = await exercise_under(clean_env, HTTPS_PROXY=PROXY_URL)
    assert isinstance(transport, HTTP11Transport)
    assert proxy.connections == 0
    assert gateway.requests == 3


async def test_the_proxy_is_not_asked_to_follow_redirects(clean_env: pytest.MonkeyPatch) -> None:
    """A redirect coming back through the proxy is an HTTPStatusError, never followed (the
    signed headers would go to the Location's host)."""
    fake = FakeItnio()
    async with ForwardProxy() as proxy, FakeGateway(fake) as elsewhere:

        def redirect(target: str, headers: dict[str, str], body: bytes) -> bytes:
            location = f"{elsewhere.base_url}/template/list"
            return (
                f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()

        async with (
            FakeGateway(fake, raw_reply=redirect) as gateway,
            client_for(fake, gateway, proxy=proxy.url, max_retries=0) as client,
        ):
            with pytest.raises(HTTPStatusError) as info:
                await client.templates.list()
    assert info.value.status_code == 307
    assert len(proxy.forwarded) == 1
    assert elsewhere.requests == 0


@pytest.mark.parametrize("other", ["http_client", "transport"])
def test_proxy_with_another_engine_is_refused(other: str) -> None:
    """proxy= together with http_client= (or transport=) is refused at construction."""
    engine: Any = httpx.AsyncClient() if other == "http_client" else httpx.AsyncHTTPTransport()
    with pytest.raises(ItnioError, match="at most one of http_client, transport and proxy"):
        AsyncItnio("key-1234", "secret-1234", proxy="http://127.0.0.1:3128", **{other: engine})


@pytest.mark.parametrize(
    ("where", "url", "scheme"),
    [
        ("argument", "socks5://127.0.0.1:1080", "socks5"),
        ("argument", "https://proxy.example:3128", "https"),
        ("ALL_PROXY", "socks5h://127.0.0.1:1080", "socks5h"),
        ("HTTPS_PROXY", "ftp://proxy.example:21", "ftp"),
    ],
)
def test_a_proxy_scheme_the_engine_does_not_speak_is_refused_when_the_client_is_made(
    clean_env: pytest.MonkeyPatch, where: str, url: str, scheme: str
) -> None:
    """A proxy URL the engine cannot use, given or from the environment, is an ItnioError
    naming its scheme when the client is created (not an error on every call later)."""
    from itnio_async import ItnioError

    options: dict[str, Any] = {}
    if where == "argument":
        options["proxy"] = url
    else:
        clean_env.setenv(where, url)
    with pytest.raises(ItnioError, match=scheme) as info:
        AsyncItnio("key-1234", "secret-1234", **options)
    assert str(info.value).startswith("proxy: ")
