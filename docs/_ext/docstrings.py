"""Griffe extension of the docs build: the package's docstrings as Markdown.

The docstrings are Google style with a few habits that read well in ``help()``:
reStructuredText roles such as ``:class:`FakeItnio```, literal blocks introduced by
``::``, and one entry for arguments that share a description
(``period_total_send_limit / period_phone_send_limit: ...``). Here a role becomes a
link to the object's reference entry (plain code when the object has none),
``Usage::`` becomes ``Usage:`` followed by its indented code block, and a shared
entry becomes one entry per argument.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|meth|func|attr|exc|data|mod|obj):`(~?)([^`]+)`")
_LITERAL = re.compile(r"::$", re.M)
#: ``a / b: description`` (and its more-indented continuation lines) in an Args section.
_SHARED = re.compile(
    r"^(?P<indent>[ ]+)(?P<names>\w+(?: / \w+)+): (?P<text>.*\n(?:(?P=indent)[ ]+.*\n)*)", re.M
)
_ARGS = re.compile(
    r"^(?P<indent>[ ]*)(?:Args|Arguments|Parameters):\n(?P<body>(?:(?P=indent)[ ]+.*\n|\n)*)", re.M
)


def _split_shared(text: str) -> str:
    """One entry per argument where an Args entry names several (``a / b: ...``)."""

    def section(match: re.Match[str]) -> str:
        def entry(shared: re.Match[str]) -> str:
            names = shared.group("names").split(" / ")
            return "".join(
                f"{shared.group('indent')}{name}: {shared.group('text')}" for name in names
            )

        header, body = match.group(0).split("\n", 1)
        return f"{header}\n{_SHARED.sub(entry, body)}"

    return _ARGS.sub(section, text if text.endswith("\n") else text + "\n")


def _resolve(obj: griffe.Object, target: str) -> str:
    """The full path of ``target`` as seen from ``obj``'s scope (itself when unknown)."""
    head, _, tail = target.partition(".")
    try:
        full = obj.resolve(head)
    except (griffe.NameResolutionError, ValueError, KeyError):
        return target
    return f"{full}.{tail}" if tail else full


def to_markdown(obj: griffe.Object, text: str) -> str:
    """``text`` with its roles turned into reference links and ``::`` into ``:``."""

    def role(match: re.Match[str]) -> str:
        short, target = match.group(1), match.group(2)
        shown = target.rsplit(".", 1)[-1] if short else target
        identifier = target if target.startswith("itnio_async") else _resolve(obj, target)
        return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'

    return _split_shared(_LITERAL.sub(":", _ROLE.sub(role, text))).rstrip("\n")


class SphinxRolesToMarkdown(griffe.Extension):
    """Rewrite every loaded docstring with :func:`to_markdown`."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj, obj.docstring.value)
