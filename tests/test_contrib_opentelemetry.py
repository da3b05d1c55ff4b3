"""``itnio_async.contrib.opentelemetry``, on an in-memory exporter.

Calls go to the stateful fake (in-process, and once over a real socket on the SDK's
own engine); faults make some of them retry. Each call must give exactly one span,
from the event hooks alone, named after the method and the path template, with the
final HTTP status, the envelope status, the attempts and why each retry happened,
the masked number of a verification — and nothing private (number, code, ``Sign``,
key) anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from itnio_async import AsyncItnio, NotFoundError, OutcomeUnknownError, VerifyResult
from itnio_async.contrib.opentelemetry import ItnioTracing, mask_number
from itnio_async.testing import FakeItnio, SeedData

from .conftest import FIXED_TIME
from .test_raw_response import NO_SLEEP, FakeGateway

NUMBER = "8613800138000"
MASKED = "*********8000"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    """Finished spans, kept in memory."""
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.clear()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> ItnioTracing:
    """The recipe, on a tracer provider of its own (the global one is left alone)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return ItnioTracing(provider.get_tracer("itnio-test"))


@contextlib.asynccontextmanager
async def traced_client(
    tracing: ItnioTracing, **options: Any
) -> AsyncIterator[tuple[AsyncItnio, FakeItnio, SeedData, list[httpx.Request]]]:
    """A seeded fake and a client of it carrying the recipe's hooks (and a recorder)."""
    fake = FakeItnio(random_seed=13, clock=lambda: float(FIXED_TIME))
    seed = fake.seed()
    sent: list[httpx.Request] = []
    hooks = tracing.event_hooks
    hooks["request"] = [*hooks["request"], sent.append]
    async with fake.client(event_hooks=hooks, **options) as client:
        yield client, fake, seed, sent


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    """The one finished span."""
    (span,) = exporter.get_finished_spans()
    return span


def assert_nothing_private(
    spans: tuple[ReadableSpan, ...], requests: list[httpx.Request], *private: str
) -> None:
    """No span's name, attributes or events hold a Sign, the key, or any of ``private``."""
    secrets = {r.headers["Sign"] for r in requests} | {r.headers["Api-Key"] for r in requests}
    secrets |= set(private)
    for span in spans:
        texts = [span.name, str(span.status.description or "")]
        for key, value in (span.attributes or {}).items():
            texts += [key, str(value)]
        for event in span.events:
            texts += [event.name, str(dict(event.attributes or {}))]
        for text in texts:
            for secret in secrets:
                assert secret not in text, (span.name, text)


async def test_a_retried_read_is_one_span_with_its_attempts(
    tracing: ItnioTracing, exporter: InMemorySpanExporter
) -> None:
    """A read answered 503, then -18, then OK: one span named with the template, 3 attempts
    and the reason for each retry."""
    async with traced_client(tracing) as (client, fake, seed, sent):
        fake.fail_next(503)
        fake.fail_next(-18)
        template = await client.templates.get(seed.template_id)
    assert template.template_id == seed.template_id
    span = only_span(exporter)
    assert span.name == "GET /template/details/{templateId}"
    assert str(seed.template_id) not in span.name
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET  # OpenTelemetry's rule for success
    attributes = dict(span.attributes or {})
    assert attributes["http.request.method"] == "GET"
    assert attributes["url.template"] == "/template/details/{templateId}"
    assert attributes["http.response.status_code"] == 200
    assert attributes["itnio.status"] == 0
    assert attributes["itnio.attempts"] == 3
    assert attributes["http.request.resend_count"] == 2
    assert attributes["itnio.retry_reasons"] == ("http 503", "status -18")
    assert len(sent) == 3
    assert_nothing_private(exporter.get_finished_spans(), sent)


async def test_a_lost_connection_is_a_retry_with_no_answer(
    tracing: ItnioTracing, exporter: InMemorySpanExporter
) -> None:
    """An attempt whose connection is lost (no response hook runs) is counted, with the
    reason "no answer" and the failure behind it."""
    async with traced_client(tracing) as (client, fake, _, sent):
        fake.fail_next("drop")
        await client.flows.list()
    attributes = dict(only_span(exporter).attributes or {})
    assert attributes["itnio.attempts"] == 2
    assert attributes["itnio.retry_reasons"] == ("no answer (RemoteProtocolError)",)
    assert attributes["http.response.status_code"] == 200
    assert len(sent) == 2


async def test_a_send_shows_the_masked_number_only(
    tracing: ItnioTracing, exporter: InMemorySpanExporter
) -> None:
    """Send and verify: each span has the masked number; neither the number nor the code
    nor a Sign appears anywhere."""
    async with traced_client(tracing) as (client, fake, seed, sent):
        result = await client.verifications.send(
            app_id=seed.app_id, template_id=seed.template_id, to=NUMBER
        )
        code = fake.last_code(NUMBER)
        verdict = await client.verifications.verify(result.verification_id, code)
    assert isinstance(verdict, VerifyResult)
    assert verdict.ok
    send_span, verify_span = exporter.get_finished_spans()
    assert send_span.name == "POST /verification/send"
    assert verify_span.name == "POST /verification/verify"
    for span in (send_span, verify_span):
        attributes = dict(span.attributes or {})
        assert attributes["itnio.to_masked"] == MASKED
        assert attributes["itnio.attempts"] == 1
        assert attributes["itnio.status"] == 0
    assert_nothing_private(exporter.get_finished_spans(), sent, NUMBER, code)


async def test_an_api_error_marks_the_span_failed(
    tracing: ItnioTracing, exporter: InMemorySpanExporter
) -> None:
    """A not-found answer (-24): the span is ERROR with error.type and the envelope status,
    and the exception still reaches the caller."""
    async with traced_client(tracing) as (client, _, _, sent):
        with pytest.raises(NotFoundError):
            await client.apps.get("nope-1234")
    span = only_span(exporter)
    assert span.name == "GET /app/details/{appId}"
    assert "nope-1234" not in span.name
    assert span.status.status_code is StatusCode.ERROR
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == "NotFoundError"
    assert attributes["itnio.status"] == attributes["itnio.error.status"] == -24
    assert attributes["http.response.status_code"] == 200
    assert span.events == ()  # no exception event: a message could carry anything
    assert_nothing_private(exporter.get_finished_spans(), sent)


async def test_a_verify_resolved_from_the_record_is_one_span_with_the_lookup_as_an_attempt(
    tracing: ItnioTracing, exporter: InMemorySpanExporter
) -> None:
    """A verify whose answer is lost after it matched: the record read that resolves it is
    the call's second attempt (one loop, one budget), so the verify span counts two
    attempts, says why the first was not the end, and ends failed."""
    async with traced_client(tracing) as (client, fake, seed, sent):
        result = await client.verifications.send(
            app_id=seed.app_id, template_id=seed.template_id, to=NUMBER
        )
        exporter.clear()
        fake.fail_next("drop", after=True, path="/verification/verify")
        with pytest.raises(OutcomeUnknownError):
            await client.verifications.verify(result.verification_id, fake.last_code(NUMBER))
    (verify,) = exporter.get_finished_spans()
    assert verify.name == "POST /verification/verify"
    attributes = dict(verify.attributes or {})
    assert attributes["itnio.attempts"] == 2
    assert attributes["itnio.retry_reasons"] == ("no answer (RemoteProtocolError)",)
    assert attributes["error.type"] == "OutcomeUnknownError"
    assert_nothing_private(exporter.get_finished_spans(), sent, NUMBER)


async def test_concurrent_calls_get_their_own_spans(
    tracing: ItnioTracing, exporter: InMemorySpanExporter
) -> None:
    """Calls traced concurrently each get their own span and their own attempts."""
    async with traced_client(tracing) as (client, fake, seed, _):
        fake.fail_next(503, path="/flow/list")
        await asyncio.gather(
            client.flows.list(),
            client.templates.get(seed.template_id),
            client.apps.get(seed.app_id),
        )
    spans = {span.name: dict(span.attributes or {}) for span in exporter.get_finished_spans()}
    assert set(spans) == {
        "GET /flow/list",
        "GET /template/details/{templateId}",
        "GET /app/details/{appId}",
    }
    assert spans["GET /flow/list"]["itnio.attempts"] == 2
    assert spans["GET /template/details/{templateId}"]["itnio.attempts"] == 1
    assert spans["GET /app/details/{appId}"]["itnio.attempts"] == 1


async def test_over_a_real_socket_on_the_own_engine(
    tracing: ItnioTracing, exporter: InMemorySpanExporter
) -> None:
    """The recipe on the SDK's own engine over 127.0.0.1: the same span for a retried read."""
    fake = FakeItnio(random_seed=13, clock=lambda: float(FIXED_TIME))
    seed = fake.seed()
    async with (
        FakeGateway(fake) as gateway,
        AsyncItnio(
            fake.api_key,
            fake.api_secret,
            base_url=gateway.base_url,
            clock=fake.now,
            retry_policy=NO_SLEEP,
            event_hooks=tracing.event_hooks,
        ) as client,
    ):
        fake.fail_next(502)
        await client.records.get_by_order_id(seed.order_id)
    span = only_span(exporter)
    assert span.name == "POST /verification/orderId/record"
    attributes = dict(span.attributes or {})
    assert attributes["itnio.retry_reasons"] == ("http 502",)
    assert attributes["server.address"] == "127.0.0.1"


async def test_hooks_alone_give_one_span_per_call(
    tracing: ItnioTracing, exporter: InMemorySpanExporter
) -> None:
    """The call identity and the end-of-call hook give one span per call: retries,
    failures and back-to-back identical calls included."""
    fake = FakeItnio(random_seed=13, clock=lambda: float(FIXED_TIME))
    seed = fake.seed()
    hooks = tracing.event_hooks
    async with fake.client(event_hooks=hooks) as client:
        fake.fail_next(503)
        fake.fail_next("drop")
        await client.templates.get(seed.template_id)
        await client.templates.get(seed.template_id)
        with pytest.raises(NotFoundError):
            await client.apps.get("nope-1234")
    first, second, failed = exporter.get_finished_spans()
    assert first.name == second.name == "GET /template/details/{templateId}"
    assert dict(first.attributes or {})["itnio.attempts"] == 3
    assert dict(first.attributes or {})["itnio.retry_reasons"] == (
        "http 503",
        "no answer (RemoteProtocolError)",
    )
    assert dict(second.attributes or {})["itnio.attempts"] == 1
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "NotFoundError"


def test_mask_number() -> None:
    """Only the last four digits of a number are kept."""
    assert mask_number(NUMBER) == MASKED
    assert mask_number("1234") == "****"


def test_without_opentelemetry_the_import_says_what_to_install() -> None:
    """Imported where the OpenTelemetry API is missing, the module raises an ImportError
    that names the extra to install (and the rest of the SDK still imports)."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # as if it were not installed\n"
        "import itnio_async\n"
        "from itnio_async import AsyncItnio\n"
        "try:\n"
        "    import itnio_async.contrib.opentelemetry\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert 'pip install "itnio-async[opentelemetry]"' in done.stdout
