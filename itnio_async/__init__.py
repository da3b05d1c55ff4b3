"""itnio_async: the async Python SDK for the ITNIO Tech OTP (verification code) API.

Quick start::

    from itnio_async import AsyncItnio

    async with AsyncItnio(api_key="...", api_secret="...") as client:
        flow = await client.flows.get(1)

Every public name is importable from here. They are loaded on first use (PEP 562), so
``import itnio_async`` is cheap, and so is loading the package's pytest plugin in a
test session that never uses it: ``from itnio_async import AsyncItnio`` loads the
client then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names
from ._version import __version__

if TYPE_CHECKING:
    from ._auth import make_sign
    from ._call import CallInfo, RawResponse
    from ._client import AsyncItnio
    from ._exceptions import (
        AlreadyExistsError,
        APIError,
        AuthenticationError,
        BulkAbortedError,
        DecodeError,
        HTTPServerError,
        HTTPStatusError,
        InsufficientBalanceError,
        InvalidParameterError,
        IPNotAllowedError,
        ItnioError,
        MismatchedAnswerError,
        NotFoundError,
        OutcomeUnknownError,
        PhoneSendLimitError,
        PricingError,
        RequestTimeoutError,
        SendLimitError,
        SensitiveContentError,
        ServerError,
        TimestampExpiredError,
        TotalSendLimitError,
        TransportError,
        ValidationError,
    )
    from ._models import (
        App,
        CallAttempt,
        Channel,
        ChannelCut,
        CodeType,
        Flow,
        FlowStep,
        FlowTrigger,
        LookupFailed,
        MatchStatus,
        PeriodUnit,
        Record,
        RecordFound,
        RecordLookup,
        SendLimit,
        SendResult,
        SmsAttempt,
        SnaAttempt,
        Template,
        VerificationSummary,
        VerifyResult,
    )
    from ._retry import RetryPolicy

#: The module each public name is loaded from on first use (the imports above, for checkers).
_LAZY: dict[str, str] = {
    "AlreadyExistsError": "._exceptions",
    "APIError": "._exceptions",
    "App": "._models",
    "AsyncItnio": "._client",
    "AuthenticationError": "._exceptions",
    "BulkAbortedError": "._exceptions",
    "CallAttempt": "._models",
    "CallInfo": "._call",
    "Channel": "._models",
    "ChannelCut": "._models",
    "CodeType": "._models",
    "DecodeError": "._exceptions",
    "Flow": "._models",
    "FlowStep": "._models",
    "FlowTrigger": "._models",
    "HTTPServerError": "._exceptions",
    "HTTPStatusError": "._exceptions",
    "InsufficientBalanceError": "._exceptions",
    "InvalidParameterError": "._exceptions",
    "IPNotAllowedError": "._exceptions",
    "ItnioError": "._exceptions",
    "LookupFailed": "._models",
    "make_sign": "._auth",
    "MatchStatus": "._models",
    "MismatchedAnswerError": "._exceptions",
    "NotFoundError": "._exceptions",
    "OutcomeUnknownError": "._exceptions",
    "PeriodUnit": "._models",
    "PhoneSendLimitError": "._exceptions",
    "PricingError": "._exceptions",
    "RawResponse": "._call",
    "Record": "._models",
    "RecordFound": "._models",
    "RecordLookup": "._models",
    "RequestTimeoutError": "._exceptions",
    "RetryPolicy": "._retry",
    "SendLimit": "._models",
    "SendLimitError": "._exceptions",
    "SendResult": "._models",
    "SensitiveContentError": "._exceptions",
    "ServerError": "._exceptions",
    "SmsAttempt": "._models",
    "SnaAttempt": "._models",
    "Template": "._models",
    "TimestampExpiredError": "._exceptions",
    "TotalSendLimitError": "._exceptions",
    "TransportError": "._exceptions",
    "ValidationError": "._exceptions",
    "VerificationSummary": "._models",
    "VerifyResult": "._models",
}

__all__ = [
    "APIError",
    "AlreadyExistsError",
    "App",
    "AsyncItnio",
    "AuthenticationError",
    "BulkAbortedError",
    "CallAttempt",
    "CallInfo",
    "Channel",
    "ChannelCut",
    "CodeType",
    "DecodeError",
    "Flow",
    "FlowStep",
    "FlowTrigger",
    "HTTPServerError",
    "HTTPStatusError",
    "IPNotAllowedError",
    "InsufficientBalanceError",
    "InvalidParameterError",
    "ItnioError",
    "LookupFailed",
    "MatchStatus",
    "MismatchedAnswerError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PeriodUnit",
    "PhoneSendLimitError",
    "PricingError",
    "RawResponse",
    "Record",
    "RecordFound",
    "RecordLookup",
    "RequestTimeoutError",
    "RetryPolicy",
    "SendLimit",
    "SendLimitError",
    "SendResult",
    "SensitiveContentError",
    "ServerError",
    "SmsAttempt",
    "SnaAttempt",
    "Template",
    "TimestampExpiredError",
    "TotalSendLimitError",
    "TransportError",
    "ValidationError",
    "VerificationSummary",
    "VerifyResult",
    "__version__",
    "make_sign",
]


# Hidden from type checkers: to them the module has the names imported above and no
# others, so a misspelt import is still an error.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_names(__name__, globals(), _LAZY, __all__)
