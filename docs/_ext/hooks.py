"""MkDocs hook of the docs build: the latest benchmark numbers, read where they live.

``benchmarks/run_all.py`` writes them into ``benchmarks/README.md`` between
``<!-- results:begin -->`` and ``<!-- results:end -->``; a page that says
``<!-- benchmarks:results -->`` shows that block, so the site never holds a stale copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PLACEHOLDER = "<!-- benchmarks:results -->"
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks" / "README.md"


def latest_results(readme: Path = BENCHMARKS) -> str:
    """The block between the results markers of the benchmarks README."""
    text = readme.read_text(encoding="utf-8")
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    if begin not in text or end not in text:
        raise ValueError(f"{readme}: no {begin} ... {end} block")
    return text.split(begin, 1)[1].split(end, 1)[0].strip()


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Put the latest numbers where a page asks for them."""
    if PLACEHOLDER in markdown:
        markdown = markdown.replace(PLACEHOLDER, latest_results())
    return markdown
