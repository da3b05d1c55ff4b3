"""Forward proxies (issue 20): configuration, and calls through tinyproxy and scripted proxies.

Through a proxy the engine keeps every promise it keeps without one: "was it sent"
exact (a refused tunnel is never sent), cancellation at any loop step leaves the pool
whole, ``aclose()`` ends calls in flight and calls still opening their tunnel, the
size caps hold, and the proxy's credentials appear in no log record, repr or message.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from itnio_async._engine import (
    WRITTEN,
    HTTP11Transport,
    Proxy,
    ProxyRefused,
    ResponseTooLarge,
    proxy_for,
)

from .._loopback import response
from ..test_proxy import ForwardProxy
from .conftest import (
    NEVER_SENT,
    Peer,
    RawServer,
    answered,
    echo,
    fails_after_sending,
    fails_before_sending,
    held,
    make_request,
)
from .proxies import PASSWORD, USER, tinyproxy

pytest.importorskip("trustme")
import trustme  # after the skip: without trustme the module is skipped, not failed

from .test_tls import server_context, trusting

# -- configuration ----------------------------------------------------------------------

API = "https://api.example.com/otp"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"HTTPS_PROXY": "http://p:1"}, "http://p:1"),
        ({"https_proxy": "http://low:1", "HTTPS_PROXY": "http://up:1"}, "http://low:1"),
        ({"HTTP_PROXY": "http://p:1"}, None),  # another scheme's proxy
        ({"ALL_PROXY": "http://all:1"}, "http://all:1"),
        ({"all_proxy": "all:3128"}, "http://all:3128"),  # no scheme: http
        ({"HTTPS_PROXY": "http://p:1", "ALL_PROXY": "http://all:1"}, "http://p:1"),
        ({"HTTPS_PROXY": " "}, None),
    ],
)
def test_proxy_from_the_environment(environ: dict[str, str], expected: str | None) -> None:
    """HTTPS_PROXY (lower case first), then ALL_PROXY, for an https API."""
    found = proxy_for(API, None, environ)
    assert (found.url if found else None) == expected


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("*", API, True),
        ("api.example.com", API, True),
        ("example.com", API, True),
        (".example.com", API, True),
        ("xample.com", API, False),
        ("other.com, .example.com", API, True),
        ("example.com:443", API, True),
        ("example.com:8443", API, False),
        ("API.EXAMPLE.COM", API, True),
        ("127.0.0.1", "http://127.0.0.1:8080/otp", True),
        ("127.0.0.0/8", "http://127.0.0.1:8080/otp", True),
        ("10.0.0.0/8", "http://127.0.0.1:8080/otp", False),
        ("127.0.0.1:8080", "http://127.0.0.1:8080/otp", True),
        ("127.0.0.1:80", "http://127.0.0.1:8080/otp", False),
        ("::1", "http://[::1]:8080/otp", True),
        ("[::1]:8080", "http://[::1]:8080/otp", True),
        ("fe80::/10", "http://[::1]:8080/otp", False),
        ("localhost", "http://127.0.0.1/otp", False),
        ("", API, False),
    ],
)
def test_no_proxy(no_proxy: str, url: str, bypassed: bool) -> None:
    """NO_PROXY: *, names, suffixes with or without a dot, addresses, CIDR ranges, ports."""
    environ = {"ALL_PROXY": "http://proxy:3128", "NO_PROXY": no_proxy}
    assert (proxy_for(url, None, environ) is None) is bypassed
    assert (proxy_for(url, None, {**environ, "no_proxy": no_proxy, "NO_PROXY": ""}) is None) is (
        bypassed
    )


def test_an_explicit_proxy_ignores_no_proxy() -> None:
    environ = {"NO_PROXY": "*"}
    assert proxy_for(API, "http://p:8", environ) == Proxy("p", 8)
    assert proxy_for(API, httpx.Proxy("http://p:8"), environ) == Proxy("p", 8)


@pytest.mark.parametrize(
    "url", ["socks5://p:1080", "socks5h://p:1", "ftp://p:21", "https://p:443", "SOCKS4://p:1"]
)
def test_unsupported_proxy_schemes_are_refused(url: str) -> None:
    """Only http:// proxies: any other scheme is a ValueError naming it."""
    scheme = url.split(":", 1)[0].lower()
    with pytest.raises(ValueError, match=f"'{scheme}'"):
        proxy_for(API, url, {})
    with pytest.raises(ValueError, match=f"'{scheme}'"):
        proxy_for(API, None, {"HTTPS_PROXY": url})
    with pytest.raises(ValueError, match=f"'{scheme}'"):
        HTTP11Transport(proxy=url)


def test_credentials_are_percent_decoded_and_never_shown() -> None:
    """user:p%40ss@ becomes Basic base64("user:p@ss"); no repr or str shows them."""
    proxy = proxy_for(API, "http://us%65r:p%40ss%3Aw@proxy.local:3128", {})
    assert proxy is not None
    assert proxy.authorization == b"Basic " + base64.b64encode(b"user:p@ss:w")
    assert proxy_for(API, httpx.Proxy("http://us%65r:p%40ss%3Aw@proxy.local:3128"), {}) == proxy
    pool = HTTP11Transport(proxy=proxy)
    for shown in (repr(proxy), str(proxy), proxy.url, repr(pool)):
        assert "p@ss" not in shown
        assert "p%40ss" not in shown
        assert base64.b64encode(b"user:p@ss:w").decode() not in shown
    assert "proxy.local:3128" in repr(pool)


# -- tinyproxy --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tinyproxy with Basic authentication: its URL with the credentials."""
    with tinyproxy(tmp_path_factory.mktemp("tiny"), auth=True) as url:
        yield url.replace("http://", f"http://{USER}:{PASSWORD}@")


@pytest.fixture(scope="module")
def tiny_no_auth_url(tiny: str) -> str:
    """The same tinyproxy without credentials (it answers 407)."""
    return tiny.replace(f"{USER}:{PASSWORD}@", "")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls(ca: trustme.CA) -> AsyncIterator[RawServer]:
    server = RawServer(tls=server_context(ca.issue_cert("127.0.0.1")))
    await server.start()
    yield server
    await server.stop()
    server.check()


async def test_http_origin_through_tinyproxy(raw: RawServer, tiny: str) -> None:
    """An http:// API through tinyproxy (absolute-form): answered, written, reused."""
    pool = HTTP11Transport(proxy=tiny)
    try:
        for method in ("GET", "POST", "GET"):
            await answered(pool, raw.url, method)
        assert sum(raw.arrivals.values()) == 3
        assert pool.stats().connections == 1
    finally:
        await pool.aclose()


async def test_https_origin_through_a_tinyproxy_tunnel(
    tls: RawServer, tiny: str, ca: trustme.CA
) -> None:
    """An https:// API through a CONNECT tunnel, TLS with the origin (trustme CA,
    127.0.0.1 checked): answered, the tunnel reused."""
    pool = HTTP11Transport(proxy=tiny, ssl_context=trusting(ca))
    try:
        for method in ("GET", "POST", "PUT"):
            await answered(pool, tls.url, method)
        assert len(tls.peers) == 1
    finally:
        await pool.aclose()


async def test_a_wrong_certificate_through_the_tunnel_is_never_sent(
    tiny: str, ca: trustme.CA
) -> None:
    """The origin's certificate is checked inside the tunnel: another name is refused
    before sending."""
    server = RawServer(tls=server_context(ca.issue_cert("other.example")))
    await server.start()
    pool = HTTP11Transport(proxy=tiny, ssl_context=trusting(ca))
    try:
        error = await fails_before_sending(pool, server.url)
        assert "CERTIFICATE_VERIFY_FAILED" in str(error)
        assert server.arrivals == {}
        assert (pool.stats(), pool._slots) == ((0, 0, 0, 0), 0)
    finally:
        await pool.aclose()
        await server.stop()


@pytest.mark.parametrize("which", ["407", "403"])
async def test_a_refused_tunnel_is_never_sent(
    tls: RawServer, tiny_no_auth_url: str, tiny: str, tmp_path: Path, which: str
) -> None:
    """tinyproxy refusing CONNECT (407 without credentials, 403 for a port it does not
    allow): ProxyRefused, a ConnectError, not written; the API saw nothing."""
    if which == "407":
        pool = HTTP11Transport(proxy=tiny_no_auth_url)
        error = await fails_before_sending(pool, tls.url)
    else:
        with tinyproxy(tmp_path, connect_ports="1") as url:
            pool = HTTP11Transport(proxy=url)
            error = await fails_before_sending(pool, tls.url)
    try:
        assert isinstance(error, ProxyRefused)
        assert isinstance(error, httpx.ProxyError)
        assert which in str(error)
        assert tls.peers == []
        assert (pool.stats(), pool._slots) == ((0, 0, 0, 0), 0)
    finally:
        await pool.aclose()


async def test_caps_hold_through_the_proxy(raw: RawServer, tiny: str) -> None:
    """A body over max_response_size relayed by tinyproxy: ResponseTooLarge, sent."""
    raw.handler = lambda peer: _answer_big(peer)
    pool = HTTP11Transport(proxy=tiny, max_response_size=1000)
    try:
        error = await fails_after_sending(pool, raw.url)
        assert isinstance(error, ResponseTooLarge)
    finally:
        await pool.aclose()


async def _answer_big(peer: Peer) -> None:
    await peer.request()
    peer.send(response(b"x" * 5000))
    await peer.eof()


def _answering_once(peer: Peer) -> object:
    async def script() -> None:
        request = await peer.request()
        if request is not None:
            peer.send(response(f"{request.id} GET ".encode(), 200, "Connection: close"))

    return script()


async def test_cancel_at_every_step_of_a_call_through_a_tunnel(
    tls: RawServer, tiny: str, ca: trustme.CA
) -> None:
    """Cancel a fresh https call through tinyproxy after 0..59 loop steps (connect to the
    proxy, CONNECT, its answer, TLS, write, read): the pool stays whole every time."""
    tls.handler = _answering_once  # type: ignore[assignment]
    pool = HTTP11Transport(max_connections=1, proxy=tiny, ssl_context=trusting(ca))
    limits = httpx.Timeout(10.0, pool=2.0)
    written: list[bool] = []
    try:
        for steps in range(60):
            request = make_request(tls.url, timeout=limits)
            task = asyncio.ensure_future(pool.handle_async_request(request))
            for _ in range(steps):
                await asyncio.sleep(0)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                written.append(request.extensions.get(WRITTEN, False))
            await answered(pool, tls.url, limits=limits)
            stats = pool.stats()
            assert (stats.busy, stats.waiting) == (0, 0)
            assert pool._slots == stats.connections <= 1
        assert written.count(False) >= 5  # cancelled while opening the tunnel
        assert True in written
    finally:
        await pool.aclose()


async def test_aclose_during_proxied_calls(tls: RawServer, tiny: str, ca: trustme.CA) -> None:
    """aclose() with calls in flight through the tunnel and calls still opening theirs:
    the first fail as sent (ReadError), the others as never sent (ConnectError)."""
    tls.handler = held(asyncio.Event())  # never answers
    pool = HTTP11Transport(max_connections=10, proxy=tiny, ssl_context=trusting(ca))
    flying = [make_request(tls.url) for _ in range(3)]
    tasks = [asyncio.ensure_future(pool.handle_async_request(r)) for r in flying]
    await tls.requests_seen(3)
    opening = [make_request(tls.url) for _ in range(3)]
    tasks += [asyncio.ensure_future(pool.handle_async_request(r)) for r in opening]
    for _ in range(2):
        await asyncio.sleep(0)
    await pool.aclose()
    for _ in range(5):
        await asyncio.sleep(0)
    assert all(task.done() for task in tasks)
    for task, request in zip(tasks, flying + opening, strict=True):
        with pytest.raises(httpx.TransportError) as caught:
            await task
        if request in flying:
            assert isinstance(caught.value, httpx.ReadError)
            assert request.extensions[WRITTEN] is True
        else:
            assert isinstance(caught.value, NEVER_SENT)
            assert WRITTEN not in request.extensions
    assert (pool.stats(), pool._slots) == ((0, 0, 0, 0), 0)


async def test_no_secret_in_logs_or_errors_through_the_proxy(
    raw: RawServer,
    tls: RawServer,
    tiny: str,
    tiny_no_auth_url: str,
    ca: trustme.CA,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The proxy password, a Sign header and a code echoed back by the server appear in no
    log record (any logger, DEBUG), no exception message and no repr."""
    secret_sign, code = "SIGN-0123456789abcdef", "code-482913"

    async def echo_secrets(peer: Peer) -> None:
        while (request := await peer.request()) is not None:
            peer.send(response(f"{request.headers.get('sign')} {code}".encode()))

    raw.handler = echo_secrets
    caplog.set_level(logging.DEBUG)
    pool = HTTP11Transport(proxy=tiny, ssl_context=trusting(ca))
    refused = HTTP11Transport(proxy=tiny_no_auth_url.replace("http://", "http://u:wrong-pass@"))
    try:
        async with httpx.AsyncClient(transport=pool) as client:
            reply = await client.get(raw.url, headers={"Sign": secret_sign})
            assert reply.text == f"{secret_sign} {code}"
        error = await fails_before_sending(refused, tls.url)
    finally:
        await pool.aclose()
        await refused.aclose()
    shown = caplog.text + str(error) + repr(error) + repr(pool) + repr(refused)
    for secret in (
        PASSWORD,
        secret_sign,
        code,
        "wrong-pass",
        base64.b64encode(b"u:wrong-pass").decode(),
    ):
        assert secret not in shown


# -- scripted proxies (recording) -------------------------------------------------------


@pytest.fixture
async def fake_proxy() -> AsyncIterator[RawServer]:
    """A raw server standing in for a proxy: it records what it is sent."""
    server = RawServer()
    await server.start()
    yield server
    await server.stop()


async def test_absolute_form_and_credentials_reach_the_proxy(
    raw: RawServer, clean_env: None
) -> None:
    """Through the project's forward proxy: absolute-form request lines, the Host of the
    API, and Proxy-Authorization: Basic with the percent-decoded credentials."""
    async with ForwardProxy() as proxy:
        pool = HTTP11Transport(proxy=proxy.url.replace("http://", "http://me:s%40fe@"))
        try:
            await answered(pool, raw.url + "/otp/x?a=1", "POST")
        finally:
            await pool.aclose()
    (forwarded,) = proxy.forwarded
    assert forwarded.target == f"{raw.url}/otp/x?a=1"
    assert forwarded.headers["host"] == f"127.0.0.1:{raw.port}"
    assert (
        forwarded.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"me:s@fe").decode()
    )
    assert sum(raw.arrivals.values()) == 1


@pytest.fixture
def clean_env() -> None:
    """(The engine reads no environment variable: only proxy_for does.)"""


@pytest.mark.parametrize("status", [407, 403, 502])
async def test_connect_answers_other_than_2xx(fake_proxy: RawServer, status: int) -> None:
    """A scripted proxy answering CONNECT with 407/403/502 (and a body): ProxyRefused,
    never sent; it saw CONNECT to the API's authority with the credentials."""
    seen: list[bytes] = []

    async def script(peer: Peer) -> None:
        head = await peer.head()
        assert head is not None
        seen.append(head)
        peer.send(response(b"refused " * 100, status, reason="No"))
        await peer.eof()

    fake_proxy.handler = script
    pool = HTTP11Transport(proxy=fake_proxy.url.replace("http://", "http://a:b%3Ac@"))
    try:
        error = await fails_before_sending(pool, "https://api.example.com:8443")
        assert isinstance(error, ProxyRefused)
        assert f"{status} No" in str(error)
        assert (pool.stats(), pool._slots) == ((0, 0, 0, 0), 0)
    finally:
        await pool.aclose()
    (head,) = seen
    assert head.startswith(b"CONNECT api.example.com:8443 HTTP/1.1\r\n")
    assert b"Proxy-Authorization: Basic " + base64.b64encode(b"a:b:c") + b"\r\n" in head


async def test_a_tunnel_that_sends_bytes_before_tls_is_never_sent(fake_proxy: RawServer) -> None:
    """A proxy that closes right after ``200`` (or sends bytes behind it): ConnectError."""

    async def script(peer: Peer) -> None:
        await peer.head()
        peer.send(b"HTTP/1.1 200 Connection established\r\n\r\nJUNK")
        await peer.close()

    fake_proxy.handler = script
    pool = HTTP11Transport(proxy=fake_proxy.url)
    try:
        await fails_before_sending(pool, "https://api.example.com")
        assert (pool.stats(), pool._slots) == ((0, 0, 0, 0), 0)
    finally:
        await pool.aclose()


async def test_the_pool_key_includes_the_proxy(raw: RawServer, fake_proxy: RawServer) -> None:
    """Connections through a proxy are never used without it, nor the reverse."""
    fake_proxy.handler = echo
    direct = HTTP11Transport()
    proxied = HTTP11Transport(proxy=fake_proxy.url)
    try:
        await answered(direct, raw.url)
        await answered(proxied, raw.url)
        ((key,),) = [list(direct._idle)]
        ((proxied_key,),) = [list(proxied._idle)]
        assert key[:3] == proxied_key[:3]
        assert key != proxied_key
        assert proxied_key[3] == Proxy("127.0.0.1", fake_proxy.port)
    finally:
        await direct.aclose()
        await proxied.aclose()
