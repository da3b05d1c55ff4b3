"""Optional integrations of itnio_async with other libraries, one module each.

Each module needs its library, which ``import itnio_async`` never imports: install it
with the extra of the same name (``pip install "itnio-async[opentelemetry]"``).
"""
