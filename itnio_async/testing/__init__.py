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
"""

from ._asgi import FakeASGIApp, InjectedDisconnectError
from ._fake import FAKE_BASE_URL, FakeItnio
from ._records import Delivery, Fault, FaultKind, RequestLog
from ._seed import SeedData, seed
from ._transport import FakeTransport

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
