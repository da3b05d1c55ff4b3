"""The base of every namespace: a reference to the client, nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._client import AsyncItnio

__all__ = ["Resource", "compact"]


class Resource:
    """A namespace bound to one :class:`~itnio_async.AsyncItnio`."""

    __slots__ = ("_client",)

    def __init__(self, client: AsyncItnio) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


def compact(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left as ``None`` ("not sent")."""
    return {k: v for k, v in fields.items() if v is not None}
