"""The distribution: public names, version, typing marker and a light import."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
import sniffio

import itnio_async
import itnio_async.models
from itnio_async import _client, _exceptions, _models

#: The names of the Client, Models and Errors sections of docs/public-api (the contract).
CONTRACT = {
    # Client
    "AsyncItnio",
    # Models and enums
    "SendLimit",
    "App",
    "Template",
    "FlowStep",
    "Flow",
    "SendResult",
    "VerifyResult",
    "Record",
    "VerificationSummary",
    "SmsAttempt",
    "CallAttempt",
    "SnaAttempt",
    "RecordLookup",
    "Channel",
    "CodeType",
    "MatchStatus",
    "FlowTrigger",
    "ChannelCut",
    "PeriodUnit",
    # Errors
    "ItnioError",
    "ValidationError",
    "TransportError",
    "RequestTimeoutError",
    "HTTPStatusError",
    "DecodeError",
    "APIError",
    "AuthenticationError",
    "IPNotAllowedError",
    "InsufficientBalanceError",
    "TimestampExpiredError",
    "ServerError",
    "AlreadyExistsError",
    "InvalidParameterError",
    "NotFoundError",
    "PricingError",
    "SendLimitError",
    "TotalSendLimitError",
    "PhoneSendLimitError",
    "SensitiveContentError",
}

#: Modules that ``import itnio_async`` must not pull in (extras, test tooling, the kit).
HEAVY = (
    "aiohttp",
    "httpx_aiohttp",
    "click",
    "rich",
    "uvicorn",
    "respx",
    "opentelemetry",
    "itnio_async.testing",
    "itnio_async.contrib",
)


def test_sniffio_is_importable() -> None:
    """sniffio, a runtime dependency httpcore needs for speed, is installed."""
    assert sniffio.__name__ == "sniffio"
    requires = importlib.metadata.requires("itnio-async") or []
    assert any(r.split(";")[0].strip().startswith("sniffio") for r in requires)


def test_all_is_sorted_and_unique() -> None:
    """itnio_async.__all__ is sorted and has no duplicates."""
    names = list(itnio_async.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_all_covers_the_contract() -> None:
    """Every Client, Model and Error name of the public API is exported."""
    assert set(itnio_async.__all__) >= CONTRACT


def test_all_names_resolve_to_the_private_objects() -> None:
    """Every exported name exists and is the very object from its private module."""
    for name in itnio_async.__all__:
        assert hasattr(itnio_async, name), name
    for module in (_models, _exceptions):
        for name in module.__all__:
            if name in itnio_async.__all__:
                assert getattr(itnio_async, name) is getattr(module, name)
    assert itnio_async.AsyncItnio is _client.AsyncItnio


def test_every_public_model_and_error_is_exported() -> None:
    """All models/enums and all exception classes in the private __all__ lists are exported."""
    assert set(_models.__all__) <= set(itnio_async.__all__)
    error_classes = {
        name
        for name in _exceptions.__all__
        if inspect.isclass(getattr(_exceptions, name))
        and issubclass(getattr(_exceptions, name), _exceptions.ItnioError)
    }
    assert error_classes
    assert error_classes <= set(itnio_async.__all__)
    # Internals stay internal.
    assert "STATUS_ERRORS" not in itnio_async.__all__
    assert "api_error" not in itnio_async.__all__


def test_models_module_mirrors_models() -> None:
    """itnio_async.models exports every model and enum, the same objects."""
    assert sorted(itnio_async.models.__all__) == sorted(_models.__all__)
    for name in _models.__all__:
        assert getattr(itnio_async.models, name) is getattr(_models, name)


def test_version_matches_distribution_metadata() -> None:
    """__version__ equals the installed distribution's version."""
    assert itnio_async.__version__ == importlib.metadata.version("itnio-async")


def test_py_typed_is_shipped() -> None:
    """The package carries the PEP 561 py.typed marker and declares itself typed."""
    marker = importlib.resources.files("itnio_async").joinpath("py.typed")
    assert marker.is_file()
    meta = importlib.metadata.metadata("itnio-async")
    assert "Typing :: Typed" in (meta.get_all("Classifier") or [])


#: Run in a fresh interpreter: block the heavy modules (as if the extras were not
#: installed), remember who tried to import them, then import itnio_async and build a
#: client. httpx itself tries ``click``/``rich`` for its own CLI (``httpx._main``) when
#: they are installed; that is httpx's doing, so attempts from httpx are tolerated.
PROBE = """
import importlib.abc, json, sys
HEAVY = %r
attempts = []

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == h or name.startswith(h + ".") for h in HEAVY):
            frame = sys._getframe(1)
            while frame is not None and frame.f_globals.get("__name__", "").startswith(
                ("importlib", "_frozen_importlib")
            ):
                frame = frame.f_back
            importer = frame.f_globals.get("__name__", "?") if frame is not None else "?"
            attempts.append([name, importer])
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, Block())
import itnio_async
itnio_async.AsyncItnio("k", "s")
print(json.dumps({"attempts": attempts, "modules": sorted(sys.modules)}))
"""


def test_import_is_light() -> None:
    """Importing the package (and building a client) never imports an extra, CLI or test module."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": "", "PYTHONNOUSERSITE": "1"},
    )
    report = json.loads(result.stdout)
    loaded = set(report["modules"])
    assert "itnio_async" in loaded
    assert "httpx" in loaded
    for name in HEAVY:
        offenders = sorted(m for m in loaded if m == name or m.startswith(name + "."))
        assert offenders == [], f"import itnio_async imported {offenders}"
    ours = [
        (name, importer)
        for name, importer in report["attempts"]
        if not (importer == "httpx" or importer.startswith("httpx."))
    ]
    assert ours == [], f"import itnio_async tried to import {ours}"


def _import_graph() -> dict[str, set[str]]:
    """Which package modules each package module imports (anywhere in it, at import time or
    inside a function), leaving out imports under ``if TYPE_CHECKING:``."""
    import ast

    root = Path(itnio_async.__file__).parent
    modules: dict[str, Path] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def targets(module: str, node: ast.Import | ast.ImportFrom) -> set[str]:
        is_package = modules[module].name == "__init__.py"
        package = module if is_package else module.rsplit(".", 1)[0]
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rsplit(".", 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" for alias in node.names]
            names = [name if name in modules else base for name in names]
        return {name for name in names if name in modules and name != module}

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        found: set[str] = set()

        def visit(node: ast.AST, module: str = module, found: set[str] = found) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    for other in child.orelse:
                        visit(other)
                    continue
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    found |= targets(module, child)
                visit(child)

        visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[module] = found
    return graph


def test_no_import_cycles() -> None:
    """No module of the package imports, directly or through others, a module that imports it
    (imports under ``TYPE_CHECKING`` aside)."""
    graph = _import_graph()
    assert "itnio_async._client" in graph
    assert "itnio_async._resources.records" in graph["itnio_async._resources.verifications"]
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


#: Every public name, read in a fresh interpreter through the lazy module ``__getattr__``.
RESOLVE = """
import importlib, json, sys
report = {}
for module_name in ("itnio_async", "itnio_async.testing"):
    module = importlib.import_module(module_name)
    report[module_name] = {
        "all": list(module.__all__),
        # Each name is the very object its home module defines (``__version__`` is eager).
        "resolved": {
            name: name == "__version__"
            or getattr(module, name)
            is getattr(importlib.import_module(module._LAZY[name], module_name), name)
            for name in module.__all__
        },
        "dir": dir(module),
    }
print(json.dumps(report))
"""


def test_every_name_in_all_resolves() -> None:
    """Each name of ``itnio_async.__all__`` and ``itnio_async.testing.__all__`` is loaded on
    first use, from the package's own modules, and ``dir()`` lists it."""
    done = subprocess.run(
        [sys.executable, "-c", RESOLVE], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(done.stdout)
    for module_name, found in report.items():
        assert found["all"], module_name
        for name in found["all"]:
            assert found["resolved"][name] is True, (module_name, name)
            assert name in found["dir"], (module_name, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A name that is not public raises AttributeError, as a plain module would."""
    import itnio_async.testing

    with pytest.raises(AttributeError, match="no attribute 'AsyncClient'"):
        _ = itnio_async.AsyncClient  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(AttributeError, match="no attribute 'FakeAPI'"):
        _ = itnio_async.testing.FakeAPI  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue]


def _type_checking_imports(path: Path) -> dict[str, str]:
    """``{name: module}`` of the imports under ``if TYPE_CHECKING:`` of a module."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for child in node.body:
                assert isinstance(child, ast.ImportFrom), ast.unparse(child)
                for alias in child.names:
                    found[alias.asname or alias.name] = "." * child.level + (child.module or "")
    return found


@pytest.mark.parametrize("module_name", ["itnio_async", "itnio_async.testing"])
def test_lazy_table_matches_what_type_checkers_see(module_name: str) -> None:
    """The names a type checker sees (the ``TYPE_CHECKING`` imports) are the names loaded
    lazily, from the same modules, and with ``__version__`` they are exactly ``__all__``."""
    import importlib

    module = importlib.import_module(module_name)
    assert module.__file__ is not None
    seen_by_checkers = _type_checking_imports(Path(module.__file__))
    assert seen_by_checkers == module._LAZY
    eager = {"__version__"} if module_name == "itnio_async" else set()
    assert set(module.__all__) == set(seen_by_checkers) | eager


#: Run in a fresh interpreter: the client, imported and built, and the modules that took.
CLIENT_MODULES = """
import json, sys
from itnio_async import AsyncItnio
AsyncItnio("k", "s")
print(json.dumps(sorted(sys.modules)))
"""


def test_building_a_client_does_not_import_httpcore() -> None:
    """``from itnio_async import AsyncItnio`` and a client built with the SDK's own engine
    leave httpcore (httpx's default engine, which the SDK does not use) unloaded."""
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_MODULES],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = set(json.loads(done.stdout))
    assert "itnio_async._client" in loaded
    assert "httpcore" not in loaded


def test_import_itnio_async_alone_loads_no_http_stack() -> None:
    """``import itnio_async`` loads neither httpx nor httpcore nor urllib.request (its
    names load on first use); the client, once imported, does not load httpcore."""
    probe = (
        "import json, sys\n"
        "import itnio_async\n"
        "print(json.dumps(sorted(m for m in ('httpx', 'httpcore', 'urllib.request') "
        "if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(done.stdout) == []
