"""pytest plugin of itnio_async (registered through the ``pytest11`` entry point)."""
