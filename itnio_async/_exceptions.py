"""Every exception the SDK raises, and the one table from API status codes to classes.

The tree::

    ItnioError
    ├── ValidationError (also ValueError)      bad argument, raised before sending
    ├── BulkAbortedError                       a bulk lookup stopped early (.error, .completed)
    ├── TransportError                         request could not be completed
    │   └── RequestTimeoutError (also TimeoutError)
    ├── HTTPStatusError                        non-2xx HTTP answer
    │   └── HTTPServerError (also ServerError)  ... a 5xx one
    ├── OutcomeUnknownError                    verify's answer lost, the record cannot tell
    ├── DecodeError                            2xx answer that is not the documented JSON
    │   └── MismatchedAnswerError              ... or the answer to another request
    └── APIError                               envelope status != "0"
        ├── AuthenticationError          -1
        ├── IPNotAllowedError            -2
        ├── InsufficientBalanceError    -10
        ├── TimestampExpiredError       -16
        ├── ServerError                 -18, or HTTP 5xx (HTTPServerError)
        ├── AlreadyExistsError          -20
        ├── InvalidParameterError       -21, -22
        ├── NotFoundError               -24
        ├── PricingError                -26
        ├── SendLimitError
        │   ├── TotalSendLimitError     -27
        │   └── PhoneSendLimitError     -28
        └── SensitiveContentError       -29

Which envelope status becomes which class is the table ``STATUS_ERRORS`` in
``_envelope.py``. Every error of a call carries ``method`` and ``path`` (the API path,
relative to the base URL); errors built from an HTTP answer also carry its
``status_code`` and ``headers``.

Every error a call raises says whether the request may have reached the API:
``sent`` is ``False`` only when it provably never left this process (a
``ValidationError``, a refused connection, a wait for a free connection that timed
out, a closed client), and ``True`` once it may have arrived, which includes every
answer from the server. A server-side failure is a :class:`ServerError` however it
arrives: envelope ``-18``, or HTTP 5xx (:class:`HTTPServerError`, which is also an
:class:`HTTPStatusError`).

No exception here ever carries the API secret, a ``Sign`` value, an OTP code or a
full phone number in its message or attributes. The server's ``reason`` text is
untrusted (it may quote the number a request was about, or echo what was sent), so
it is scrubbed before it gets here (``_redact.Secrets``) and runs of 7+ digits in it
are masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._redact import mask_digits

if TYPE_CHECKING:
    import httpx

    from ._models import RecordLookup

__all__ = [
    "APIError",
    "AlreadyExistsError",
    "AuthenticationError",
    "BulkAbortedError",
    "DecodeError",
    "HTTPServerError",
    "HTTPStatusError",
    "IPNotAllowedError",
    "InsufficientBalanceError",
    "InvalidParameterError",
    "ItnioError",
    "MismatchedAnswerError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PhoneSendLimitError",
    "PricingError",
    "RequestTimeoutError",
    "SendLimitError",
    "SensitiveContentError",
    "ServerError",
    "TimestampExpiredError",
    "TotalSendLimitError",
    "TransportError",
    "ValidationError",
]

_EXCERPT = 200


def excerpt(body: bytes | str, limit: int = _EXCERPT) -> str:
    """Return a short, printable excerpt of a response body for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ItnioError(Exception):
    """Root of every exception raised by itnio_async.

    Attributes:
        method: HTTP method of the call that failed (``""`` when no call was made).
        path: API path of that call, relative to the base URL (``""`` likewise).
        sent: whether the request may have reached the API. ``False`` only when it
            provably never left this process; ``True`` once it may have arrived,
            including every answer from the server. For a call that made several
            attempts, ``True`` if any of them may have arrived.
    """

    method: str = ""
    path: str = ""
    sent: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclass constructors take the parts the message is built from, not the
        # message, so the default (cls(*args)) would garble or fail on copy/pickle.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[ItnioError], args: tuple[Any, ...]) -> ItnioError:
    """Recreate an exception from its message args (``__dict__`` is restored by pickle)."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error


class ValidationError(ItnioError, ValueError):
    """An argument breaks a documented constraint; raised before any request is sent.

    Attributes:
        argument: the name of the offending argument (``"to"``, ``"steps[0].waiting_time"``).
        rule: the constraint, in words (``"between 4 and 32 characters"``).
        shown: how the value is shown in the message (phone numbers and codes are masked).
    """

    def __init__(self, argument: str, rule: str, shown: str) -> None:
        self.argument = argument
        self.rule = rule
        self.shown = shown
        super().__init__(f"{argument} must be {rule}; got {shown}")


class TransportError(ItnioError):
    """The HTTP request could not be completed (connect, read, write or protocol failure).

    Attributes:
        method: HTTP method of the failed call.
        path: API path of the failed call (relative to the base URL).
        sent: ``False`` only when the request provably never left this process
            (connect error, connect timeout, pool timeout, a proxy that refused the
            tunnel).
    """

    def __init__(
        self, message: str, *, method: str = "", path: str = "", sent: bool = True
    ) -> None:
        self.method = method
        self.path = path
        self.sent = sent
        super().__init__(message)


class RequestTimeoutError(TransportError, TimeoutError):
    """A timeout: connect, read, write, pool, or the call's overall deadline."""


class HTTPStatusError(ItnioError):
    """The server answered with a non-2xx HTTP status (a 5xx is an :class:`HTTPServerError`).

    Attributes:
        status_code: the HTTP status code.
        status / reason: the envelope's status and reason when the body carried one
            (digit runs in the reason masked, as in :class:`APIError`).
        retry_after: seconds from a ``Retry-After`` header, if any.
        body: a short excerpt of the response body.
        headers: the response's headers (an ``httpx.Headers``; values scrubbed of
            anything the call sent that must stay private).
        sent: always ``True`` (the server answered).
    """

    sent = True
    status: int | None
    reason: str | None

    def __init__(
        self,
        status_code: int,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
        body: str = "",
        headers: httpx.Headers | None = None,
        url: str = "",
        hint: str = "",
    ) -> None:
        self.status_code = status_code
        self.method = method
        self.path = path
        self.status = status
        self.reason = None if reason is None else mask_digits(reason)
        self.retry_after = retry_after
        self.body = body
        self.headers = headers
        detail = f" (status {status}: {self.reason or ''})" if status is not None else ""
        message = f"HTTP {status_code} from {method} {url or path}{detail}"
        if hint:
            message += f"; {hint}"
        # Not super(): in HTTPServerError the next class is APIError, whose
        # constructor takes an envelope status, not a message.
        ItnioError.__init__(self, message.replace("  ", " "))


class DecodeError(ItnioError):
    """A 2xx response whose body is not the documented JSON.

    Attributes:
        body: a short excerpt of the offending body.
        sent: always ``True`` (the server answered).
    """

    sent = True

    def __init__(self, message: str, *, body: str = "", method: str = "", path: str = "") -> None:
        self.body = body
        self.method = method
        self.path = path
        super().__init__(f"{message}: {body!r}" if body else message)


class APIError(ItnioError):
    """The envelope's ``status`` is not ``"0"`` (and, as :class:`ServerError`, an HTTP 5xx).

    Attributes:
        status: the API status code as an int (``-22``); ``None`` only on an
            :class:`HTTPServerError` whose body carried no envelope.
        reason: the server's reason text (digit runs that could be a phone number masked).
        status_code: the HTTP status of the answer (usually 200), when known.
        headers: the answer's headers (an ``httpx.Headers``), when known.
        sent: always ``True`` (the server answered).
    """

    sent = True
    status: int | None
    reason: str | None

    def __init__(
        self,
        status: int,
        reason: str = "",
        *,
        method: str = "",
        path: str = "",
        status_code: int | None = None,
        headers: httpx.Headers | None = None,
    ) -> None:
        self.status = status
        self.reason = mask_digits(reason)
        self.method = method
        self.path = path
        self.status_code = status_code
        self.headers = headers
        where = f" ({method} {path})" if method else ""
        super().__init__(f"API status {status}: {self.reason}{where}")


class AuthenticationError(APIError):
    """-1: the Api-Key or Sign was rejected."""


class IPNotAllowedError(APIError):
    """-2: the caller's IP address is not on the account's allow-list."""


class InsufficientBalanceError(APIError):
    """-10: the account balance cannot pay for the send."""


class TimestampExpiredError(APIError):
    """-16: the Timestamp header is too far from the server's clock."""


class ServerError(APIError):
    """A failure on the server's side: envelope ``-18``, or an HTTP 5xx answer
    (:class:`HTTPServerError`, also an :class:`HTTPStatusError`).

    ``except ServerError`` catches both. The request reached the server (``sent`` is
    ``True``): whether it acted before failing is unknown.
    """


class HTTPServerError(HTTPStatusError, ServerError):
    """An HTTP 5xx answer: both an :class:`HTTPStatusError` and a :class:`ServerError`.

    ``status`` and ``reason`` are the envelope's when the body carried one, else
    ``None``; ``status_code`` is the HTTP status.
    """

    # Built by HTTPStatusError's constructor (first in the MRO), which does not chain
    # to APIError's: it takes an HTTP status and a message's parts, not an envelope.
    status_code: int


class AlreadyExistsError(APIError):
    """-20: the data already exists (a duplicate name)."""


class InvalidParameterError(APIError):
    """-21 / -22: the server rejected a parameter."""


class NotFoundError(APIError):
    """-24: the object does not exist."""


class PricingError(APIError):
    """-26: no price could be determined for the destination."""


class SendLimitError(APIError):
    """-27 / -28: one of the app's send limits is reached."""


class TotalSendLimitError(SendLimitError):
    """-27: the app's period total send limit is reached."""


class PhoneSendLimitError(SendLimitError):
    """-28: the app's per-phone send limit is reached for this number."""


class SensitiveContentError(APIError):
    """-29: the message content contains sensitive words."""


class MismatchedAnswerError(DecodeError):
    """A well-formed answer that belongs to another request (a record of another id).

    Kept apart from other decode errors because a read may safely be retried after it:
    the connection that carried it is gone, the next answer comes on another one.
    """


class OutcomeUnknownError(ItnioError):
    """What a call did cannot be learned: ``verify``'s answer was lost, and the record
    shows a match this call cannot prove is its own.

    Its ``__cause__`` is the error that lost the answer. Treat the code as neither
    right nor wrong: ask the user for a new one. ``sent`` is ``True``.
    """

    sent = True

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        self.method = method
        self.path = path
        super().__init__(message)


class BulkAbortedError(ItnioError):
    """``records.get_many_by_order_ids`` stopped before every id was looked up.

    Raised when an error concerned the account rather than one id
    (:class:`AuthenticationError`, :class:`IPNotAllowedError`,
    :class:`InsufficientBalanceError`), or when the API was unreachable (a run of
    consecutive :class:`TransportError` failures). New lookups stop at once and the
    ones in flight are cancelled; the lookups that had completed are kept.

    Attributes:
        error: the error that stopped the run (also this exception's ``__cause__``).
        completed: the :class:`~itnio_async.RecordLookup` results that had
            completed, in input order (ids that were never looked up, or whose
            lookup was cancelled, are absent).
    """

    error: ItnioError
    completed: list[RecordLookup]
    __cause__: BaseException | None

    def __init__(self, error: ItnioError, completed: Iterable[RecordLookup]) -> None:
        self.error = error
        self.completed = list(completed)
        self.__cause__ = error
        super().__init__(
            f"bulk lookup stopped by {type(error).__name__} ({error}) "
            f"after {len(self.completed)} completed lookups"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt through __init__ so that __cause__ (never pickled) is set again.
        return (type(self), (self.error, self.completed), self.__dict__)
