"""Testing kit for code that uses itnio_async."""
