"""Namespaces of :class:`~itnio_async.AsyncItnio`: one thin class per API area."""
