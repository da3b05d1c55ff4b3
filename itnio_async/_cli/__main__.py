"""``python -m itnio_async._cli``: the same as the ``itnio`` command."""

from . import main

main()
