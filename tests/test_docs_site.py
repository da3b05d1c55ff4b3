"""The documentation site and the README that fronts it.

* The API reference renders every public name, exactly once: each name of
  ``itnio_async.__all__`` and ``itnio_async.testing.__all__``, and the six namespaces.
* Docstrings are the reference: every argument of the client and of every namespace
  method is documented, and the client's docstring names its namespaces.
* The README is a front page (at most 300 lines) whose first two commands stay the
  ones CI runs, and whose links lead into the site.
* The build's own helpers (the docstring extension and the benchmarks hook) do what
  the pages rely on. ``mkdocs build --strict`` itself runs in CI's gates.
"""

from __future__ import annotations

import importlib.util
import inspect
import pydoc
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import itnio_async
import itnio_async.testing
from itnio_async import AsyncItnio

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
NAMESPACES = ("apps", "templates", "flows", "verifications", "records", "backfill")


def _identifiers() -> list[str]:
    """Every ``::: identifier`` of the reference pages, in page order."""
    found: list[str] = []
    for page in sorted((DOCS / "reference").glob("*.md")):
        found += re.findall(r"^::: ([\w.]+)$", page.read_text(encoding="utf-8"), re.M)
    return found


def test_reference_renders_every_public_name_exactly_once() -> None:
    """The reference pages render ``itnio_async.X`` for exactly the names of
    ``itnio_async.__all__`` (``__version__`` included) and ``itnio_async.testing.X`` for
    exactly those of ``itnio_async.testing.__all__``, each once."""
    identifiers = _identifiers()
    assert len(identifiers) == len(set(identifiers)), "a name is rendered twice"
    top = {i.split(".", 1)[1] for i in identifiers if re.fullmatch(r"itnio_async\.\w+", i)}
    top.discard("testing")
    kit = {
        i.rsplit(".", 1)[1]
        for i in identifiers
        if re.fullmatch(r"itnio_async\.testing\.[A-Za-z]\w*", i)
    }
    assert top == set(itnio_async.__all__)
    assert kit == set(itnio_async.testing.__all__)


def test_reference_renders_the_namespaces_and_the_integrations() -> None:
    """The six namespace classes the client binds, the pytest fixtures and the
    OpenTelemetry module have reference entries too."""
    identifiers = set(_identifiers())
    hints = inspect.get_annotations(AsyncItnio, eval_str=True)
    for name in NAMESPACES:
        cls = hints[name]
        assert f"{cls.__module__}.{cls.__qualname__}" in identifiers, name
    assert "itnio_async.testing._plugin" in identifiers
    assert "itnio_async.contrib.opentelemetry" in identifiers


# -- docstrings are the reference ---------------------------------------------------------


def _documented(doc: str, parameter: str) -> bool:
    """``parameter`` has an entry in a Google-style section (alone or as ``a / b:``)."""
    return re.search(rf"^\s+(?:\w+ / )*{parameter}(?: / \w+)*:", doc, re.M) is not None


def _namespace_methods() -> list[tuple[str, Callable[..., Any]]]:
    hints = inspect.get_annotations(AsyncItnio, eval_str=True)
    methods = []
    for namespace in NAMESPACES:
        cls = hints[namespace]
        for name, member in vars(cls).items():
            is_method = inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member)
            if is_method and not name.startswith("_"):
                methods.append((f"{namespace}.{name}", member))
    return methods


NAMESPACE_METHODS = [pytest.param(method, id=name) for name, method in _namespace_methods()]


@pytest.mark.parametrize("method", NAMESPACE_METHODS)
def test_namespace_method_documents_every_argument(method: Callable[..., Any]) -> None:
    """Every argument of the method has an entry in its docstring's Args section, and the
    docstring says what it returns (or yields)."""
    doc = inspect.getdoc(method) or ""
    parameters = [p for p in inspect.signature(method).parameters if p != "self"]
    missing = [p for p in parameters if not _documented(doc, p)]
    assert missing == []
    if parameters:
        assert "\nArgs:\n" in doc
    returns_none = inspect.signature(method, eval_str=True).return_annotation is None
    assert returns_none or re.search(r"^(Returns|Yields):$", doc, re.M)


def test_namespace_methods_are_found() -> None:
    """The method walk finds every namespace's methods (it would otherwise check nothing)."""
    names = {name for name, _ in _namespace_methods()}
    assert len(names) == 19 + 2 + 2  # the 19 endpoints, the two bulk helpers, two modify
    assert {"records.iter_by_order_ids", "verifications.verify", "backfill.report"} <= names


def test_client_documents_every_option_in_its_docstring_and_the_guide() -> None:
    """Every argument of ``AsyncItnio`` has an entry in its docstring and a row in the
    options table of the configuration guide."""
    doc = inspect.getdoc(AsyncItnio) or ""
    guide = (DOCS / "guides" / "configuration.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)? \|", guide, re.M))
    in_table = {name for row in rows for name in row if name}
    parameters = [
        p
        for p in inspect.signature(AsyncItnio.__init__).parameters
        if p != "self" and not p.startswith("_")  # _copy_of is with_options' own
    ]
    assert "clock" in parameters
    assert [p for p in parameters if not _documented(doc, p)] == []
    assert [p for p in parameters if p not in in_table] == []


def test_help_of_the_client_lists_its_namespaces() -> None:
    """``help(AsyncItnio)`` names each namespace as ``client.<name>`` with what it is for."""
    text = pydoc.plain(pydoc.render_doc(AsyncItnio))
    for name in NAMESPACES:
        assert f"client.{name}" in text, name


# -- the README is a front page -------------------------------------------------------------


def test_readme_is_a_front_page() -> None:
    """At most 300 lines, with the sections a newcomer looks for, in this order."""
    assert len(README.splitlines()) <= 300
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings[:2] == ["First two commands", "Install"]
    for section in ("Quickstart", "Testing your code", "Documentation", "Contributing"):
        assert section in headings
    assert "mkdocs serve" in README


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_first_two_commands_are_the_ones_ci_runs() -> None:
    """The section's first two bash blocks are the newcomer commands (`.ci/run` extracts
    and runs them verbatim); the second installs the extra that CI's other Pythons
    install too."""
    blocks = re.findall(r"```bash\n(.*?)```", _section("First two commands"), re.S)
    demo, tests = (block.strip() for block in blocks[:2])
    assert demo.startswith("python3 -m venv .venv && ")
    assert demo.endswith(" && .venv/bin/itnio demo")
    assert tests.startswith("python3 -m venv .venv && ")
    assert tests.endswith(" && .venv/bin/python -m pytest")
    (extra,) = re.findall(r'pip install -q -e "\.\[(\w+)\]"', tests)
    assert extra == "dev"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "readme_command 1" in ci
    assert f'install -q -e ".[{extra}]"' in ci


def test_readme_links_lead_to_files_that_exist() -> None:
    """Every relative link of the README points at a file of the repository (the docs
    pages among them), and an anchor at a heading of the README."""
    links = re.findall(r"\]\(([^)\s]+)\)", README)
    relative = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in relative)
    headings = {
        re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", README, re.M)
    }
    for link in relative:
        path, _, anchor = link.partition("#")
        if path:
            assert (ROOT / path).exists(), link
        else:
            assert anchor in headings, link


# -- the build's helpers -----------------------------------------------------------------


def _load(name: str) -> ModuleType:
    """A helper of the docs build (``docs/_ext``), imported by path."""
    path = DOCS / "_ext" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_docs_ext_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_performance_page_shows_the_latest_benchmark_block() -> None:
    """The hook puts the block ``benchmarks/run_all.py`` writes into the page that asks."""
    hooks = _load("hooks")
    page = (DOCS / "performance.md").read_text(encoding="utf-8")
    assert hooks.PLACEHOLDER in page
    rendered = hooks.on_page_markdown(page)
    assert hooks.PLACEHOLDER not in rendered
    assert "Lookups/s, median" in rendered
    assert "| sdk |" in rendered


class _Scope:
    """What the extension asks of a griffe object: to resolve a name in its scope."""

    def resolve(self, name: str) -> str:
        if name == "FakeItnio":
            return "itnio_async.testing._fake.FakeItnio"
        raise KeyError(name)


def test_docstring_extension_turns_rst_habits_into_markdown() -> None:
    """Roles become reference links, ``::`` a colon, and a shared entry one per argument."""
    docstrings = _load("docstrings")
    text = (
        "Use :class:`FakeItnio` or :meth:`~itnio_async.AsyncItnio.aclose`. Usage::\n"
        "\n"
        "    fake = FakeItnio()\n"
        "\n"
        "Args:\n"
        "    first / second: what both are,\n"
        "        on two lines.\n"
        "    third: alone.\n"
    )
    out = docstrings.to_markdown(_Scope(), text)
    assert (
        '<autoref identifier="itnio_async.testing._fake.FakeItnio" optional>'
        "<code>FakeItnio</code></autoref>"
    ) in out
    assert '<autoref identifier="itnio_async.AsyncItnio.aclose" optional><code>aclose</code>' in out
    assert "Usage:\n" in out
    assert "::" not in out
    assert "    first: what both are,\n        on two lines.\n" in out
    assert "    second: what both are,\n        on two lines.\n" in out
    assert "    third: alone." in out
