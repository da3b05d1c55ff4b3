"""Testing kit for code that uses itnio_async: a stateful fake of the ITNIO OTP API.

:class:`FakeItnio` implements every endpoint in memory at the HTTP level (signature
and timestamp checks, validation, duplicate names, send limits, codes, verify
outcomes, records) and lets tests read the codes it "delivered", move its clock and
inject failures::

    from itnio_async.testing import FakeItnio

    async def test_login() -> None:
        fake = FakeItnio()
        ids = fake.seed()
        async with fake.client() as client:
            sent = await client.verifications.send(
                app_id=ids.app_id, template_id=ids.template_id, to="8613512345678"
            )
            code = fake.last_code("8613512345678")
            assert (await client.verifications.verify(sent.verification_id, code)).ok

Ways in: :meth:`FakeItnio.client` (in-process, no sockets), :attr:`FakeItnio.transport`
(an httpx transport), :attr:`FakeItnio.asgi_app` (ASGI 3) and :meth:`FakeItnio.serve`
(uvicorn on a TCP port). The pytest plugin shipped with the package provides the
fixtures ``itnio_fake`` and ``itnio_client``.

The names here are loaded on first use (PEP 562), so the pytest plugin, which lives in
this package, loads nothing of the SDK in a test session that does not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._asgi import FakeASGIApp, InjectedDisconnectError
    from ._fake import FAKE_BASE_URL, FakeItnio
    from ._records import Delivery, Fault, FaultKind, RequestLog
    from ._seed import SeedData, seed
    from ._transport import FakeTransport

#: The module each public name is loaded from on first use (the imports above, for checkers).
_LAZY: dict[str, str] = {
    "FAKE_BASE_URL": "._fake",
    "Delivery": "._records",
    "FakeASGIApp": "._asgi",
    "FakeItnio": "._fake",
    "FakeTransport": "._transport",
    "Fault": "._records",
    "FaultKind": "._records",
    "InjectedDisconnectError": "._asgi",
    "RequestLog": "._records",
    "SeedData": "._seed",
    "seed": "._seed",
}

__all__ = [
    "FAKE_BASE_URL",
    "Delivery",
    "FakeASGIApp",
    "FakeItnio",
    "FakeTransport",
    "Fault",
    "FaultKind",
    "InjectedDisconnectError",
    "RequestLog",
    "SeedData",
    "seed",
]


# Hidden from type checkers: to them the module has the names imported above and no
# others, so a misspelt import is still an error.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY, __all__)
