"""OpenTelemetry spans for every SDK call, with ``itnio_async.contrib.opentelemetry``.

The tracing itself ships in the package (``pip install "itnio-async[opentelemetry]"``);
this program shows it end to end against the in-process fake: one span per call,
printed to the console, with the retries a fault causes and the masked number of a
send. It needs ``opentelemetry-sdk`` for the tracer provider and console exporter:

    pip install "itnio-async[opentelemetry]" opentelemetry-sdk
    python -m examples.opentelemetry_tracing
"""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

from itnio_async.contrib.opentelemetry import ItnioTracing
from itnio_async.testing import FakeItnio

NUMBER = "8613800138000"


async def main(exporter: SpanExporter | None = None) -> None:
    """Three traced calls (a read retried after a 503, a send, a verify) on the fake."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter or ConsoleSpanExporter()))
    tracing = ItnioTracing(provider.get_tracer("itnio-example"))
    fake = FakeItnio()
    ids = fake.seed()
    async with fake.client(event_hooks=tracing.event_hooks) as client:
        fake.fail_next(503)  # the first attempt fails: the span shows 2 attempts and why
        await client.templates.get(ids.template_id)
        sent = await client.verifications.send(
            app_id=ids.app_id, template_id=ids.template_id, to=NUMBER
        )
        await client.verifications.verify(sent.verification_id, fake.last_code(NUMBER))
    provider.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
