"""Which forward proxy, if any, carries the calls to an API: :func:`proxy_for`.

The engine speaks to ``http://`` proxies only: absolute-form requests for an
``http://`` origin, a ``CONNECT`` tunnel (then TLS to the origin) for an ``https://``
one. Every other proxy scheme (``https://``: TLS to the proxy itself, ``socks5://``,
``ftp://``...) is refused with a ``ValueError`` naming it, never silently skipped.

The environment is read the way curl and httpx read it: ``https_proxy`` /
``HTTPS_PROXY`` for an https origin, ``http_proxy`` / ``HTTP_PROXY`` for an http one,
then ``all_proxy`` / ``ALL_PROXY`` (the lower-case name first); ``no_proxy`` /
``NO_PROXY`` lists the hosts reached directly: ``*`` (every host), host names,
domain suffixes (``example.com`` and ``.example.com`` both cover the domain and its
subdomains), IP addresses and CIDR ranges, each optionally with ``:port``. An
explicit proxy argument is used as given (``NO_PROXY`` does not apply to it).

Credentials (the proxy URL's userinfo, percent-decoded) become the
``Proxy-Authorization: Basic`` value, held only in :attr:`Proxy.authorization`:
they are in no ``repr``, no ``str`` and no exception message.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from typing import Final
from urllib.parse import unquote, urlsplit

import httpx

__all__ = ["Proxy", "no_proxy_covers", "parse_proxy", "proxy_for"]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class Proxy:
    """An ``http://`` forward proxy: where it listens, and the credentials it is sent.

    Hashable and comparable (it is part of the pool's connection key); its ``repr``
    shows the address and whether there are credentials, never them.
    """

    __slots__ = ("authorization", "host", "port")

    def __init__(self, host: str, port: int, authorization: bytes | None = None) -> None:
        self.host = host
        self.port = port
        #: The ``Proxy-Authorization`` value (``b"Basic ..."``), or None.
        self.authorization = authorization

    @property
    def url(self) -> str:
        """``http://host:port`` (no credentials)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        with_auth = " (with credentials)" if self.authorization else ""
        return f"<Proxy {self.url}{with_auth}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Proxy):
            return NotImplemented
        return (self.host, self.port, self.authorization) == (
            other.host,
            other.port,
            other.authorization,
        )

    def __hash__(self) -> int:
        return hash((self.host, self.port, self.authorization))

    def header_lines(self) -> bytes:
        """The header line(s) every request to this proxy carries (none without credentials)."""
        if self.authorization is None:
            return b""
        return b"Proxy-Authorization: " + self.authorization + b"\r\n"


def _basic(username: str, password: str) -> bytes:
    token = base64.b64encode(f"{username}:{password}".encode())
    return b"Basic " + token


def parse_proxy(proxy: str | httpx.Proxy | Proxy) -> Proxy:
    """A :class:`Proxy` from a URL (``http://user:pass@host:port``), an ``httpx.Proxy``
    or a :class:`Proxy`.

    Raises:
        ValueError: the scheme is not ``http``, the URL has no host, a bad port, or an
            ``httpx.Proxy`` with headers or an ``ssl_context`` (not supported).
    """
    if isinstance(proxy, Proxy):
        return proxy
    if isinstance(proxy, httpx.Proxy):
        if proxy.ssl_context is not None or any(
            name.lower() != "proxy-authorization" for name in proxy.headers
        ):
            raise ValueError("httpx.Proxy headers and ssl_context are not supported")
        url = proxy.url
        parsed = _parse_url(str(url))
        auth = proxy.auth
        if auth is not None:
            return Proxy(parsed.host, parsed.port, _basic(*auth))
        return parsed
    return _parse_url(proxy)


def _parse_url(text: str) -> Proxy:
    text = text.strip()
    if "://" not in text:
        text = "http://" + text  # what curl and httpx assume for "host:port"
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme != "http":
        raise ValueError(
            f"unsupported proxy scheme {scheme!r}: the SDK speaks to http:// proxies only"
        )
    try:
        port = parts.port or _DEFAULT_PORTS["http"]
    except ValueError:
        raise ValueError("the proxy URL has an invalid port") from None
    host = parts.hostname
    if not host:
        raise ValueError("the proxy URL has no host")
    authorization = None
    if parts.username is not None or parts.password is not None:
        authorization = _basic(unquote(parts.username or ""), unquote(parts.password or ""))
    return Proxy(host, port, authorization)


def _variable(environ: Mapping[str, str], name: str) -> str:
    """The value of ``name`` (lower case first, then upper case), stripped; "" if unset."""
    for key in (name.lower(), name.upper()):
        value = environ.get(key, "").strip()
        if value:
            return value
    return ""


def proxy_for(
    base_url: str, proxy: str | httpx.Proxy | Proxy | None, environ: Mapping[str, str]
) -> Proxy | None:
    """The proxy for calls to ``base_url``: ``proxy`` if given, else the environment's.

    Raises:
        ValueError: the proxy (given or from the environment) is not an ``http://`` one.
    """
    if proxy is not None:
        return parse_proxy(proxy)
    parts = urlsplit(base_url)
    scheme = parts.scheme.lower()
    value = _variable(environ, f"{scheme}_proxy") or _variable(environ, "all_proxy")
    if not value:
        return None
    host = parts.hostname or ""
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    if no_proxy_covers(host, port, _variable(environ, "no_proxy")):
        return None
    return _parse_url(value)


def no_proxy_covers(host: str, port: int, no_proxy: str) -> bool:
    """Whether the ``NO_PROXY`` list ``no_proxy`` names ``host`` (on ``port``)."""
    host = host.strip("[]").rstrip(".").lower()
    address = _address(host)
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if _entry_covers(name, host, address):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port`` / ``[v6]:port`` / a bare host, address or CIDR range."""
    if entry.startswith("["):
        inside, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return inside, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        if port.isdigit():
            return name, int(port)
    return entry, None


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _entry_covers(
    name: str, host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
) -> bool:
    if address is not None:
        try:
            network = ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
        return address.version == network.version and address in network
    name = name.lstrip(".").rstrip(".")
    if not name:
        return False
    return host == name or host.endswith("." + name)
