"""The ``itnio_async`` logger and the helpers that keep people's data out of it.

Log records carry metadata only (method, path, status, attempt, elapsed): never a
secret, a ``Sign``, an OTP code, a request body or a full phone number.
"""

from __future__ import annotations

import logging
import os

__all__ = ["logger", "mask_phone", "setup_logging_from_env"]

logger = logging.getLogger("itnio_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_configured = False


def mask_phone(number: object) -> str:
    """Mask a phone number to its last 4 digits (``"*******1412"``); ``None`` stays ``"None"``."""
    if number is None:
        return "None"
    text = str(number)
    if len(text) <= 4:
        return "*" * len(text)
    return "*" * (len(text) - 4) + text[-4:]


def setup_logging_from_env() -> None:
    """Honour ``ITNIO_LOG=debug|info|warning`` by attaching one stderr handler, once."""
    global _configured
    level = _LEVELS.get(os.environ.get("ITNIO_LOG", "").strip().lower())
    if level is None or _configured:
        return
    _configured = True
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
