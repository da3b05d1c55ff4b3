"""TLS: verification always on, refusal before any request byte, a private CA, TLS faults."""

from __future__ import annotations

import asyncio
import datetime
import gc
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from itnio_async._engine import WRITTEN, HTTP11Transport

from .._loopback import response
from .conftest import (
    Peer,
    RawServer,
    answered,
    echo,
    fails_after_sending,
    fails_before_sending,
    first_then,
    happened,
    idle_connections,
    make_client,
    make_request,
)

pytest.importorskip("trustme")
import trustme  # after the skip: without trustme the module is skipped, not failed


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A private certificate authority."""
    return trustme.CA()


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A verifying client context that trusts ``ca`` (by ``load_verify_locations``)."""
    context = ssl.create_default_context()
    context.load_verify_locations(cadata=ca.cert_pem.bytes().decode())
    return context


def self_signed_context(host: str) -> ssl.SSLContext:
    """A server context with a self-signed certificate for ``host``."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    blob = trustme.Blob(cert.public_bytes(serialization.Encoding.PEM) + pem_key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with blob.tempfile() as path:
        context.load_cert_chain(path)
    return context


@pytest.fixture
async def tls(ca: trustme.CA) -> AsyncIterator[RawServer]:
    """The raw server behind TLS, with a certificate for 127.0.0.1 issued by ``ca``."""
    async with serving(server_context(ca.issue_cert("127.0.0.1"))) as server:
        yield server


class serving:  # noqa: N801 - used as a context manager, like a function
    """Run a raw server with the TLS context given; check it afterwards."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.server = RawServer(tls=context)

    async def __aenter__(self) -> RawServer:
        await self.server.start()
        return self.server

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop()
        self.server.check()
        gc.collect()


async def refused(pool: HTTP11Transport, server: RawServer) -> httpx.HTTPError:
    """A request that fails its TLS handshake: ConnectError, unsent, no HTTP byte received."""
    error = await fails_before_sending(pool, server.url)
    assert isinstance(error, httpx.ConnectError)
    await server.peers[0].finished()
    assert server.peers[0].tls_error is not None  # the server saw the handshake fail
    assert server.arrivals == {}
    assert pool.stats() == (0, 0, 0, 0)
    assert pool._slots == 0
    return error


@pytest.mark.parametrize("kind", ["self-signed", "unknown-ca"])
async def test_untrusted_certificate_is_refused_before_sending(
    transport: HTTP11Transport, kind: str
) -> None:
    """A self-signed or unknown-CA certificate fails the handshake: ConnectError, nothing sent."""
    if kind == "self-signed":
        context = self_signed_context("127.0.0.1")
    else:
        context = server_context(trustme.CA().issue_cert("127.0.0.1"))
    async with serving(context) as server:
        error = await refused(transport, server)
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)


async def test_wrong_host_name_is_refused(ca: trustme.CA) -> None:
    """A certificate from a trusted CA but for another host name is refused before sending."""
    pool = HTTP11Transport(ssl_context=trusting(ca))
    try:
        async with serving(server_context(ca.issue_cert("other.example"))) as server:
            error = await refused(pool, server)
        assert "CERTIFICATE_VERIFY_FAILED" in str(error)
    finally:
        await pool.aclose()


async def test_private_ca_context_is_accepted(ca: trustme.CA, tls: RawServer) -> None:
    """An ``ssl_context`` trusting a private CA: requests work and the connection is reused."""
    pool = HTTP11Transport(ssl_context=trusting(ca))
    async with make_client(pool) as client:
        for method in ("GET", "POST", "PUT"):
            reply = await client.request(method, tls.url, content=b"secret")
            assert reply.text == f"{reply.request.headers['x-id']} {method} secret"
    assert len(tls.peers) == 1


def _no_hostname_check(c: ssl.SSLContext) -> None:
    c.check_hostname = False


def _cert_none(c: ssl.SSLContext) -> None:
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE


def _cert_optional(c: ssl.SSLContext) -> None:
    c.check_hostname = False
    c.verify_mode = ssl.CERT_OPTIONAL


@pytest.mark.parametrize(
    "weaken",
    [_no_hostname_check, _cert_none, _cert_optional],
    ids=["no-hostname-check", "cert-none", "cert-optional"],
)
def test_context_without_verification_is_refused(
    weaken: Callable[[ssl.SSLContext], None],
) -> None:
    """The constructor refuses a context that does not verify certificates and host names."""
    context = ssl.create_default_context()
    weaken(context)
    with pytest.raises(ValueError, match="verify"):
        HTTP11Transport(ssl_context=context)


@pytest.mark.parametrize("seen", [False, True], ids=["in-socket", "seen-by-loop"])
async def test_idle_tls_connection_closed_by_the_server(
    ca: trustme.CA, tls: RawServer, seen: bool
) -> None:
    """A TLS connection the server closed while idle is not reused; one copy of the request."""
    go, closed = asyncio.Event(), asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(response(b"first"))
        await go.wait()
        if seen:
            peer.writer.close()
            await peer.writer.wait_closed()
        else:  # a FIN at once, under the TLS layer (it would wait a step to close)
            peer.writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        closed.set()

    tls.handler = first_then(script)
    pool = HTTP11Transport(ssl_context=trusting(ca))
    try:
        assert (await pool.handle_async_request(make_request(tls.url))).content == b"first"
        (conn,) = idle_connections(pool)
        assert conn.fd >= 0
        go.set()
        await happened(closed)
        if seen:
            for _ in range(5):
                await asyncio.sleep(0)
        await answered(pool, tls.url)
        assert [len(peer.requests) for peer in tls.peers] == [1, 1]
    finally:
        await pool.aclose()


async def test_tls_eof_mid_response(ca: trustme.CA, tls: RawServer) -> None:
    """The server closing TLS mid-body: a sent error (RemoteProtocolError or ReadError)."""

    async def script(peer: Peer) -> None:
        await peer.request()
        peer.send(response(b"0123456789")[:-4])
        await peer.close()

    tls.handler = first_then(script)
    pool = HTTP11Transport(ssl_context=trusting(ca))
    try:
        error = await fails_after_sending(pool, tls.url)
        assert isinstance(error, httpx.RemoteProtocolError | httpx.ReadError)
        await answered(pool, tls.url)
    finally:
        await pool.aclose()


async def test_cancel_at_every_step_of_a_tls_request(ca: trustme.CA, tls: RawServer) -> None:
    """Cancel a fresh TLS request after 0..29 loop steps (handshake included): the pool is whole."""

    async def script(peer: Peer) -> None:
        request = await peer.request()
        if request is not None:
            peer.send(response(f"{request.id} GET ".encode(), 200, "Connection: close"))

    tls.handler = script
    pool = HTTP11Transport(max_connections=1, ssl_context=trusting(ca))
    limits = httpx.Timeout(10.0, pool=2.0)
    written: list[bool] = []
    try:
        for steps in range(30):
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
        # Cancelled while connecting or shaking hands (several steps), and after sending.
        assert written.count(False) >= 3
        assert True in written
    finally:
        await pool.aclose()
    gc.collect()


# -- ALPN (issue 20) ------------------------------------------------------------------


def preferring_h2(context: ssl.SSLContext) -> ssl.SSLContext:
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


async def test_server_selecting_h2_is_refused_before_sending(ca: trustme.CA) -> None:
    """A user context offering h2 to a server that prefers it: the server selects h2, the
    engine closes before writing and fails as never sent, saying why."""
    pool = HTTP11Transport(ssl_context=preferring_h2(trusting(ca)))
    try:
        async with serving(preferring_h2(server_context(ca.issue_cert("127.0.0.1")))) as server:
            error = await fails_before_sending(pool, server.url)
            assert isinstance(error, httpx.ConnectError)
            assert "'h2'" in str(error)
            assert "HTTP/1.1 only" in str(error)
            await server.peers[0].finished()
            assert server.arrivals == {}
            assert server.peers[0].partial == b""
        assert pool.stats() == (0, 0, 0, 0)
        assert pool._slots == 0
    finally:
        await pool.aclose()


async def test_own_context_offers_http_1_1(
    ca: trustme.CA, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's own context (here trusting the CA through SSL_CERT_FILE) offers
    http/1.1 by ALPN: a server preferring h2 selects http/1.1 and the call succeeds."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    selected: list[str | None] = []

    async def script(peer: Peer) -> None:
        selected.append(peer.writer.get_extra_info("ssl_object").selected_alpn_protocol())
        await echo(peer)

    pool = HTTP11Transport()
    try:
        async with serving(preferring_h2(server_context(ca.issue_cert("127.0.0.1")))) as server:
            server.handler = script
            await answered(pool, server.url)
        assert selected == ["http/1.1"]
    finally:
        await pool.aclose()
