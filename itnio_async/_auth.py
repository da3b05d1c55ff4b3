"""Request signing: ``Sign = md5(api_key + api_secret + Timestamp)``, fresh for every attempt.

:class:`ItnioAuth` is the client's signer (the ``_base_client.Signer`` the generic
request path asks for a :class:`~itnio_async._base_client.Signature` on each attempt);
it is the one place a ``Sign`` is made.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from ._base_client import Signature

__all__ = ["SIGNED_HEADERS", "Clock", "ItnioAuth", "make_sign"]

#: The headers the signer sets on every request (lowercase).
SIGNED_HEADERS = frozenset({"api-key", "timestamp", "sign"})


def make_sign(api_key: str, api_secret: str, timestamp: str) -> str:
    """The ``Sign`` of a request: the md5 of ``api_key + api_secret + timestamp``.

    Args:
        api_key: the API key.
        api_secret: the API secret.
        timestamp: the ``Timestamp`` header's value (epoch seconds, as text).

    Returns:
        32 lowercase hex characters.
    """
    return hashlib.md5(
        (api_key + api_secret + timestamp).encode(), usedforsecurity=False
    ).hexdigest()


class Clock:
    """Wall clock plus the server-clock offset learned from ``-16`` answers.

    One instance is shared by a client and every ``with_options`` copy of it.
    """

    __slots__ = ("_time", "offset")

    def __init__(self, time_func: Callable[[], float] | None = None) -> None:
        self._time = time_func or time.time
        self.offset = 0.0

    def now(self) -> float:
        """Current epoch seconds as the server would see them."""
        return self._time() + self.offset

    def local(self) -> float:
        """Current epoch seconds by this machine's clock (no offset)."""
        return self._time()

    def __repr__(self) -> str:
        return f"Clock(offset={self.offset:+.0f}s)"


class ItnioAuth:
    """Signs every request (and every retry) with a fresh ``Timestamp`` and ``Sign``.

    The secret is held privately and never shown; the repr shows the key only.
    """

    __slots__ = ("__secret", "_api_key", "_clock", "_key_bytes", "_last")

    def __init__(self, api_key: str, api_secret: str, clock: Clock | None = None) -> None:
        self._api_key = api_key
        self._key_bytes = api_key.encode("ascii")
        self.__secret = api_secret
        self._clock = clock or Clock()
        #: The latest signature and the second it is for (the same for the whole second).
        self._last: tuple[int, Signature] | None = None

    @property
    def clock(self) -> Clock:
        """The clock the ``Timestamp`` is read from (its offset is learned from ``-16``)."""
        return self._clock

    @property
    def api_key(self) -> str:
        """The Api-Key sent with every request."""
        return self._api_key

    def sign(self, timestamp: str) -> str:
        """The ``Sign`` value for a given ``Timestamp`` string."""
        return make_sign(self._api_key, self.__secret, timestamp)

    def headers(self) -> dict[str, str]:
        """A fresh set of authentication headers."""
        timestamp = str(int(self._clock.now()))
        return {"Api-Key": self._api_key, "Timestamp": timestamp, "Sign": self.sign(timestamp)}

    def sign_request(self) -> Signature:
        """The signature of a request sent now: ``Api-Key``, ``Timestamp``, ``Sign``.

        ``Timestamp`` has whole seconds, so every request of one second has the same
        signature: it is made once per second (a bulk run signs thousands a second).
        """
        second = int(self._clock.now())
        last = self._last
        if last is not None and last[0] == second:
            return last[1]
        timestamp = str(second)
        sign = self.sign(timestamp)
        lines = b"Api-Key: %s\r\nTimestamp: %s\r\nSign: %s\r\n" % (
            self._key_bytes,
            timestamp.encode(),
            sign.encode(),
        )
        signature = Signature(lines, (sign,))
        self._last = (second, signature)
        return signature

    def __repr__(self) -> str:
        return f"ItnioAuth(api_key={self._api_key!r})"
