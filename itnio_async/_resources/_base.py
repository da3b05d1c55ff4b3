"""The base of every namespace: a :class:`ClientPort`, and how a call is described.

A namespace method is validation plus one ``self._port.request(self._call(...))``.
Every public coroutine method of a namespace is wrapped by
:func:`~itnio_async._call.public`, so no error leaves it with people's data in
its traceback's local variables.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .._call import Call, ClientPort, Resolver, public
from .._exceptions import ValidationError
from .._redact import Secrets

if TYPE_CHECKING:
    from .._retry import CallKind

__all__ = ["RawView", "Resource", "compact", "merged", "read"]

T = TypeVar("T")


class Resource:
    """A namespace bound to one client through its :class:`ClientPort`."""

    __slots__ = ("_port",)

    def __init__(self, port: ClientPort) -> None:
        self._port = port

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.iscoroutinefunction(member):
                setattr(cls, name, public(member))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._port!r}>"

    @staticmethod
    def _call(
        method: str,
        route: str,
        *,
        kind: CallKind,
        cast: Any = None,
        many: bool = False,
        body: Mapping[str, Any] | None = None,
        ids: Mapping[str, str] | None = None,
        secrets: Secrets | None = None,
        queue: bool = False,
        check: Callable[[Any], None] | None = None,
        resolver: Resolver[Any] | None = None,
    ) -> Call[Any]:
        """Describe one API call.

        Args:
            route: the path with ``{placeholders}``; ``ids`` fills them (already
                validated and percent-encoded).
            body: the JSON body (``None`` for none), encoded here once.
            secrets: values the body carries that must never be shown.
            other arguments: see :class:`~itnio_async._call.Call`.

        Raises:
            ValidationError: a string in ``body`` cannot be encoded (a lone surrogate).
        """
        content = None if body is None else _encoded(body)
        return Call(
            method,
            route.format_map(ids) if ids else route,
            route,
            kind,
            cast,
            many,
            content,
            Secrets() if secrets is None else secrets,
            queue,
            check,
            resolver,
        )


class RawView:
    """A namespace's ``with_raw_response``: its methods, each returning ``RawResponse``.

    Subclasses declare each method with :func:`~itnio_async._call.raw_of`.
    """

    __slots__ = ("_namespace",)

    def __init__(self, namespace: Resource) -> None:
        self._namespace = namespace

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._namespace!r}>"


#: Where a wire name (``orderId``) gets the ``_`` of its argument name (``order_id``).
_SNAKE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


#: The JSON encoder of request bodies (made once: ``json.dumps`` with these options
#: builds a new encoder on every call).
_JSON: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: A JSON string literal, non-ASCII kept (what ``_JSON`` writes for a string).
_encode_str: Final = json.encoder.encode_basestring


def _encoded(body: Mapping[str, Any]) -> bytes:
    """``body`` as UTF-8 JSON; a field whose text cannot be encoded is named."""
    text = _flat(body) or _JSON.encode(body)
    try:
        return text.encode()
    except UnicodeEncodeError:
        bad = next((k for k, value in body.items() if _unencodable(value)), "body")
        raise ValidationError(
            _SNAKE.sub("_", bad).lower(),
            "text without lone surrogates (valid Unicode)",
            "<unencodable text>",
        ) from None


def _flat(body: Mapping[str, Any]) -> str | None:
    """``body`` as JSON when every value is a string (most bodies: ids and names), built
    without the encoder's machinery; ``None`` for any other body."""
    parts = []
    for name, value in body.items():
        if type(value) is not str:
            return None
        parts.append(f'"{name}":{_encode_str(value)}')
    return "{" + ",".join(parts) + "}"


def _unencodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def compact(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left as ``None`` ("not sent")."""
    return {k: v for k, v in fields.items() if v is not None}


async def read(port: ClientPort, call: Call[T]) -> T:
    """The model ``call`` answers, also on a ``with_raw_response`` port (whose
    requests return a :class:`RawResponse`): a read that a write depends on."""
    return (await port.request(call, raw=True)).parse()


def merged(current: object, **changes: Any) -> dict[str, Any]:
    """``changes`` with every one left ``None`` replaced by ``current``'s attribute of
    that name (an empty string read back counts as not set, as ``None`` does)."""
    result: dict[str, Any] = {}
    for name, value in changes.items():
        kept = getattr(current, name) if value is None else value
        result[name] = None if kept == "" else kept
    return result
