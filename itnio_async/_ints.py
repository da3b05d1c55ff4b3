"""Integers written as text on the wire: the one check every reader of them uses.

The vendor sends numbers as JSON numbers or as strings (the envelope ``status`` is
``"0"``, ``"-16"``). Python's ``int()`` also reads ``"+0"``, ``"00"``, ``" 1"``,
``"1_6"`` and non-ASCII digits such as ``"٠"``; :func:`parse_int_text` reads only
what a JSON writer would produce.
"""

from __future__ import annotations

import re

__all__ = ["parse_int_text"]

#: Canonical integer text: ASCII digits, an optional "-", no leading zeros, no "-0".
_INT_TEXT = re.compile(r"0|-?[1-9][0-9]*")
#: More digits than any integer the API uses (int64 has 19); also keeps int() linear.
_INT_TEXT_MAX = 40


def parse_int_text(text: str) -> int | None:
    """Read canonical integer text (``"0"``, ``"455"``, ``"-16"``); ``None`` for anything else.

    Canonical means ASCII digits with an optional leading ``-`` and no leading zeros:
    ``"+0"``, ``"00"``, ``"-0"``, ``" 1"``, ``"1_6"`` and non-ASCII digits (``"٠"``) are
    all refused, although Python's ``int()`` accepts most of them — so call this, never
    ``int()``, on text from the wire.
    """
    if len(text) > _INT_TEXT_MAX or _INT_TEXT.fullmatch(text) is None:
        return None
    return int(text)
