"""The ``itnio_async`` logger.

Log records carry metadata only (method, path, status, attempt, elapsed): never a
secret, a ``Sign``, an OTP code, a request body or a full phone number (the helpers
that mask them are in ``_redact.py``).

``ITNIO_LOG=debug`` (or ``info`` / ``warning``) attaches one stderr handler to the
``itnio_async`` logger when a client is created; applications that configure
logging themselves need not set it.
"""

from __future__ import annotations

import logging
import os

__all__ = ["logger", "setup_logging_from_env"]

logger = logging.getLogger("itnio_async")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``ITNIO_LOG`` attaches (a distinct type, so it is attached once)."""


def setup_logging_from_env() -> logging.Handler | None:
    """Honour ``ITNIO_LOG=debug|info|warning`` by attaching one stderr handler.

    Idempotent: a second call (another client) attaches nothing new. Returns the
    handler in place, or ``None`` when ``ITNIO_LOG`` is unset or unknown.
    """
    level = _LEVELS.get(os.environ.get("ITNIO_LOG", "").strip().lower())
    if level is None:
        return None
    logger.setLevel(level)
    for handler in logger.handlers:
        if isinstance(handler, _EnvHandler):
            return handler
    handler = _EnvHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return handler
