"""Public home of the models and enums (also importable from ``itnio_async``)."""

from ._models import *  # noqa: F403 - re-exports exactly _models.__all__
from ._models import __all__ as __all__
