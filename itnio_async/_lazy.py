"""Public names loaded on first use (PEP 562), for ``itnio_async`` and ``itnio_async.testing``.

A package's ``__init__`` lists each public name with the module it lives in; this
makes the package's ``__getattr__`` (load the name's module, keep the name) and
``__dir__``. ``import itnio_async`` then loads nothing else, and the pytest plugin,
which lives in the package, costs nothing until a fixture is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str,
    namespace: MutableMapping[str, Any],
    modules: Mapping[str, str],
    public: Iterable[str],
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose globals are ``namespace``.

    Args:
        package: the package's ``__name__`` (relative module names resolve against it).
        namespace: its ``globals()``; a name loaded once is kept there.
        modules: each public name's module (``"._client"``).
        public: the package's ``__all__``.
    """
    listed = frozenset(public)

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module attribute hook
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*namespace, *listed})

    return __getattr__, __dir__
