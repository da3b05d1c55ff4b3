"""The OpenTelemetry example program (``examples/opentelemetry_tracing.py``) runs as its
header says, on the tracing module the package ships."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from examples.opentelemetry_tracing import main


async def test_the_example_gives_one_span_per_call() -> None:
    """Three calls, three spans; the retried read has two attempts."""
    exporter = InMemorySpanExporter()
    await main(exporter)
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == [
        "GET /template/details/{templateId}",
        "POST /verification/send",
        "POST /verification/verify",
    ]
    assert dict(spans[0].attributes or {})["itnio.attempts"] == 2
    assert dict(spans[1].attributes or {})["itnio.to_masked"] == "*********8000"
