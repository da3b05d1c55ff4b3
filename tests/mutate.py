"""Mutation check of the code changed since 706e716 (the request path, the decision, the
routes, the wire adapter, options, exceptions, the signer, the converter's generated
hooks, the bulk run, verify's resolver, validation): break it one way at a time and
confirm that the tests chosen for each break fail.

Run from the repository root (not part of the test suite)::

    python -m tests.mutate                  # every mutant, each against its tests
    python -m tests.mutate S03 S41          # some
    python -m tests.mutate --check          # only look the snippets up
    python -m tests.mutate --full S03       # against the whole suite instead
    python -m tests.mutate --before S03     # without the tests the mutation session added

Each mutant replaces exact snippets of one module of ``itnio_async`` (each found once
in that module); the module is restored after every run (and on Ctrl-C). A mutant is
*killed* when one of its tests fails or hangs (``TEST_TIMEOUT`` seconds). The engine
package has its own driver (``tests/transport/mutate.py``); the table of results and
what each survivor meant is ``tests/mutants_changed_code.md``.
"""

# ruff: noqa: E501 - the mutants are exact snippets of source, kept on one line each

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path("itnio_async")
TIMEOUT = 900
#: A test that hangs under a mutant fails after this many seconds (pytest-timeout).
TEST_TIMEOUT = 30
SLOW_RECIPE = "tests/test_send_safety.py::test_the_recipe_reconciles_a_send_cut_by_the_deadline_after_it_was_written"


@dataclass(frozen=True)
class Mutant:
    name: str
    area: int
    what: str
    module: str
    edits: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]


# Test sets by area (files or node ids under tests/); a mutant names the sets that
# could catch it, and may add files of its own.
RETRY = (
    "test_retry_decide_edges.py",
    "test_retry_mismatched_answers.py",
    "test_retry_policy.py",
    "test_retries.py",
    "test_verify_resolution.py",
    "test_deadline.py",
    "test_send_safety.py",
    "test_clock_skew.py",
    "test_raw_response.py",
)
LOOP = (
    "test_request_loop_bookkeeping.py",
    "test_verify_concurrent_tickets.py",
    "test_verify_server_clock_without_date.py",
    "test_event_loop_handover.py",
    "test_retries.py",
    "test_send_safety.py",
    "test_deadline.py",
    "test_event_loops.py",
    "test_verify_resolution.py",
    "test_client.py",
    "test_cancellation.py",
    "test_event_hooks.py",
    "test_clock_skew.py",
)
ROUTES = (
    "test_routes_choice.py",
    "test_routes.py",
    "test_mocking.py",
    "test_event_hooks.py",
    "test_response_cap.py",
    "test_deadline.py",
    "test_proxy.py",
    "test_redaction.py",
    "test_sdk_over_sockets.py",
    "test_send_safety.py",
    "test_client.py",
)
WIRE = (
    "test_wire_caps.py",
    "test_wire_hooked_requests.py",
    "test_routes.py",
    "test_event_hooks.py",
    "test_response_cap.py",
    "test_deadline.py",
    "test_redaction.py",
    "test_error_http_details.py",
    "test_raw_response.py",
    "test_sdk_over_sockets.py",
    "test_clock_skew.py",
    "test_retry_policy.py",
)
FAILURES = (
    "test_failures_typed.py",
    "test_retries.py",
    "test_send_safety.py",
    "test_proxy.py",
    "test_redaction.py",
    "test_logging.py",
    "test_event_hooks.py",
    "test_deadline.py",
    "test_sdk_over_sockets.py",
    "test_response_cap.py",
)
OPTIONS = (
    "test_options_merge.py",
    "test_client_secrets_and_sources.py",
    "test_client.py",
    "test_redaction.py",
    "test_retry_policy.py",
    "test_event_hooks.py",
    "test_deadline.py",
    "test_auth.py",
    "test_error_http_details.py",
    "test_clock_skew.py",
    "test_raw_response.py",
)
EXCEPTIONS = (
    "test_exceptions.py",
    "test_send_safety.py",
    "test_error_http_details.py",
    "test_retries.py",
    "test_retry_policy.py",
    "test_raw_response.py",
    "test_client.py",
)
SIGNER = ("test_auth_signature_cache.py", "test_auth.py", "test_clock_skew.py", "test_retries.py")
CONVERTER = (
    "test_converter_lean_hooks.py",
    "test_converter.py",
    "test_serialisation.py",
    "resources",
    "test_fuzz.py",
)
BULK = (
    "test_bulk_run_bounds.py",
    "test_bulk.py",
    "resources/test_records.py",
    "cli/test_lookup.py",
)
VERIFY = (
    "test_verify_resolver_edges.py",
    "test_verify_concurrent_tickets.py",
    "test_verify_server_clock_without_date.py",
    "test_verify_resolution.py",
    "resources/test_verifications.py",
    "test_deadline.py",
)
VALIDATION = (
    "test_request_body_encoding.py",
    "test_validation.py",
    "resources",
    "test_client.py",
    "test_redaction.py",
)


#: The test files written by the mutation session itself: ``--before`` leaves them out,
#: to tell the mutants the suite killed before them from those they kill.
NEW_TESTS = frozenset(
    {
        "test_retry_decide_edges.py",
        "test_retry_mismatched_answers.py",
        "test_verify_concurrent_tickets.py",
        "test_verify_server_clock_without_date.py",
        "test_event_loop_handover.py",
        "test_request_loop_bookkeeping.py",
        "test_routes_choice.py",
        "test_wire_caps.py",
        "test_failures_typed.py",
        "test_options_merge.py",
        "test_auth_signature_cache.py",
        "test_converter_lean_hooks.py",
        "test_bulk_run_bounds.py",
        "test_verify_resolver_edges.py",
        "test_request_body_encoding.py",
        "test_wire_hooked_requests.py",
        "test_client_secrets_and_sources.py",
    }
)


def m(
    name: str,
    area: int,
    what: str,
    module: str,
    old: str | tuple[str, ...],
    new: str | tuple[str, ...],
    *tests: str | tuple[str, ...],
) -> Mutant:
    """A mutant of ``itnio_async/<module>`` replacing ``old`` by ``new`` (or each of
    several snippets by its pair), caught (or not) by ``tests``."""
    olds = (old,) if isinstance(old, str) else old
    news = (new,) if isinstance(new, str) else new
    chosen: list[str] = []
    for item in tests:
        for test in (item,) if isinstance(item, str) else item:
            if test not in chosen:
                chosen.append(test)
    return Mutant(name, area, what, module, tuple(zip(olds, news, strict=True)), tuple(chosen))


MUTANTS = [
    # -- 1. _retry.py: decide() and its helpers ----------------------------------------------
    m(
        "S01",
        1,
        "the lookup right after a lost answer is sent even when the deadline is reached (> for >=)",
        "_retry.py",
        "    if state.deadline_at is not None and now() >= state.deadline_at:",
        "    if state.deadline_at is not None and now() > state.deadline_at:",
        RETRY,
    ),
    m(
        "S02",
        1,
        "one retry more than max_retries (> for >=)",
        "_retry.py",
        "    if state.retries >= policy.max_retries:",
        "    if state.retries > policy.max_retries:",
        RETRY,
    ),
    m(
        "S03",
        1,
        "a retry whose delay ends exactly at the deadline is slept (> for >=)",
        "_retry.py",
        "now() + delay >= state.deadline_at:",
        "now() + delay > state.deadline_at:",
        RETRY,
    ),
    m(
        "S04",
        1,
        "the deadline check before a retry ignores the delay",
        "_retry.py",
        "now() + delay >= state.deadline_at:",
        "now() >= state.deadline_at:",
        RETRY,
    ),
    m(
        "S05",
        1,
        "a failed lookup is retried as the call itself (a second verify)",
        "_retry.py",
        "            return _again(policy, state, error, now, lookup=True)",
        "            return _again(policy, state, error, now, lookup=False)",
        RETRY,
    ),
    m(
        "S06",
        1,
        "a lookup that cannot be retried raises its own error, not the lost answer's",
        "_retry.py",
        "        return Action(Step.RAISE, _caused(unknown, error))",
        "        return Action(Step.RAISE, error)",
        RETRY,
    ),
    m(
        "S07",
        1,
        "a later unknown outcome replaces the first",
        "_retry.py",
        "        state.unknown = state.unknown or error",
        "        state.unknown = error",
        RETRY,
    ),
    m(
        "S08",
        1,
        "a -16 recovery is not remembered (recovered again and again)",
        "_retry.py",
        "        state.recovered = True  # refused before acting",
        "        pass  # refused before acting",
        RETRY,
    ),
    m(
        "S09",
        1,
        "an unreadable verify answer is not resolved from the record",
        "_retry.py",
        "(outcome_unknown(error) or isinstance(error, DecodeError)):",
        "outcome_unknown(error):",
        RETRY,
    ),
    m(
        "S10",
        1,
        "the lookup right after a lost answer takes one of max_retries",
        "_retry.py",
        "        return Action(Step.RAISE, _final(state, error))\n    return Action(Step.RETRY, lookup=True)",
        "        return Action(Step.RAISE, _final(state, error))\n    state.retries += 1\n    return Action(Step.RETRY, lookup=True)",
        RETRY,
    ),
    m(
        "S11",
        1,
        "_final: the first unknown error becomes its own cause when it is the error raised",
        "_retry.py",
        "    if unknown is None or unknown is error:",
        "    if unknown is None:",
        RETRY,
    ),
    m(
        "S12",
        1,
        "_final raises the later error, not the first unknown one",
        "_retry.py",
        "    unknown = state.unknown\n    if unknown is None or unknown is error:\n        return error\n    return _caused(unknown, error)",
        "    return error",
        RETRY,
    ),
    m(
        "S13",
        1,
        "a Retry-After above max_retry_after raises without saying so",
        "_retry.py",
        "_final(state, _with_retry_after(error, policy))",
        "_final(state, error)",
        RETRY,
    ),
    m(
        "S14",
        1,
        "a Retry-After equal to max_retry_after is refused (>= for >)",
        "_retry.py",
        "            if retry_after > self.max_retry_after:",
        "            if retry_after >= self.max_retry_after:",
        RETRY,
    ),
    m(
        "S15",
        1,
        "a failed lookup is not retried (judged as the UNSAFE call)",
        "_retry.py",
        "        if policy.is_retryable(error, CallKind.SAFE):",
        "        if policy.is_retryable(error, call.kind):",
        RETRY,
    ),
    m(
        "S16",
        1,
        "every later answer is rechecked, with or without a lost one",
        "_retry.py",
        "    if resolver is not None and state.unknown is not None and resolver.recheck(result):",
        "    if resolver is not None and resolver.recheck(result):",
        RETRY,
    ),
    m(
        "S17",
        1,
        "REPEAT keeps the rechecked answer",
        "_retry.py",
        "        state.answered = None\n",
        "",
        RETRY,
    ),
    m(
        "S18",
        1,
        "a MismatchedAnswerError is not retried for a SAFE call",
        "_retry.py",
        "        return outcome_unknown(error) or isinstance(error, MismatchedAnswerError)",
        "        return outcome_unknown(error)",
        RETRY,
        "resources/test_records.py",
    ),
    m(
        "S19",
        1,
        "Retry-After is the delay itself, not a floor for the backoff",
        "_retry.py",
        "            return max(retry_after, self.backoff(retry, rand))",
        "            return retry_after",
        RETRY,
    ),
    # -- 2. _base_client.py: the loop, sent, tickets, finalizer, loops, pickling, clock ------
    m(
        "S20",
        2,
        "a retry starts after the client was closed during its sleep",
        "_base_client.py",
        "        if self.is_closed and error is not None:",
        "        if False:",
        LOOP,
    ),
    m(
        "S21",
        2,
        "a deadline passed during the sleep is not checked before the next attempt",
        "_base_client.py",
        "        if deadline is not None and asyncio.get_running_loop().time() >= deadline:",
        "        if False:",
        LOOP,
    ),
    m(
        "S22",
        2,
        "the deadline error after a sleep forgets an earlier attempt that may have arrived",
        "_base_client.py",
        "            raise _ended(deadline_error(call, url, state.retries, sent=False), state)",
        "            raise deadline_error(call, url, state.retries, sent=False)",
        LOOP,
    ),
    m(
        "S23",
        2,
        "a later failure that never left resets the call's sent",
        "_base_client.py",
        "            state.sent = state.sent or error.sent",
        "            state.sent = error.sent",
        LOOP,
    ),
    m(
        "S24",
        2,
        "_ended does not cover earlier attempts",
        "_base_client.py",
        "    if state.sent and not error.sent:\n        error.sent = True\n    return error",
        "    return error",
        LOOP,
    ),
    m(
        "S25",
        2,
        "a verify that started alone but was overlapped later still counts as alone",
        "_base_client.py",
        "        return not self._overlapped and self._flight.started == self._mark",
        "        return not self._overlapped",
        LOOP,
        VERIFY,
    ),
    m(
        "S26",
        2,
        "a verify that started during another counts as alone",
        "_base_client.py",
        "        return not self._overlapped and self._flight.started == self._mark",
        "        return self._flight.started == self._mark",
        LOOP,
        VERIFY,
    ),
    m(
        "S27",
        2,
        "flights are never forgotten (one entry per verified id, forever)",
        "_base_client.py",
        "            if flight.active == 0:\n                del flights[key]",
        "            pass",
        LOOP,
        VERIFY,
    ),
    m(
        "S28",
        2,
        "the unclosed-client finalizer closes (and warns about) a user's transport",
        "_base_client.py",
        "    if network is None or network.closed or network.own is None:",
        "    if network is None or network.closed:",
        LOOP,
        "test_client.py",
        "test_public_api.py",
    ),
    m(
        "S29",
        2,
        "the network of an ended loop is dropped without closing its sockets",
        "_base_client.py",
        '        logger.debug("the pool\'s event loop has ended; closing that pool")\n        network.abort()',
        '        logger.debug("the pool\'s event loop has ended; closing that pool")',
        LOOP,
    ),
    m(
        "S30",
        2,
        "pickling and copying are not refused",
        "_base_client.py",
        "    def __reduce_ex__(self, protocol: Any) -> Any:\n        raise ItnioError(",
        "    def __reduce_ex_(self, protocol: Any) -> Any:\n        raise ItnioError(",
        LOOP,
        "test_public_api.py",
        "test_serialisation.py",
    ),
    m(
        "S31",
        2,
        "the server clock estimate does not move on by the loop time since the Date",
        "_base_client.py",
        "        return when + (at - seen[1])",
        "        return when",
        LOOP,
    ),
    m(
        "S32",
        2,
        "without a Date, the server clock is the signing clock now, not at `at`",
        "_base_client.py",
        "            return self._clock_now() - (asyncio.get_running_loop().time() - at)",
        "            return self._clock_now()",
        LOOP,
    ),
    m(
        "S33",
        2,
        "bulk lookups get a pool timeout (queue ignored)",
        "_base_client.py",
        "            pool=None if call.queue else pool,",
        "            pool=pool,",
        LOOP,
        BULK,
    ),
    m(
        "S34",
        2,
        "default_headers of the SDK's names are added, not replacing the SDK's",
        "_base_client.py",
        "        fields = [given.pop(name.lower(), (name, value)) for name, value in shared.headers]",
        "        fields = [given.get(name.lower(), (name, value)) for name, value in shared.headers]",
        LOOP,
        OPTIONS,
    ),
    m(
        "S35",
        2,
        "the attempt number of a transport error is off by one",
        "_base_client.py",
        "                error = transport_error(failed.error, step, request, url, state.retries + 1)",
        "                error = transport_error(failed.error, step, request, url, state.retries)",
        LOOP,
    ),
    m(
        "S36",
        2,
        "every answer is the client's latest for the server clock, timed at the call's start",
        "_base_client.py",
        "        self._shared.last_seen = (answer, asyncio.get_running_loop().time())",
        "        self._shared.last_seen = (answer, state.started)",
        LOOP,
    ),
    # -- 3. _routes.py -------------------------------------------------------------------------
    m(
        "S37",
        3,
        "mocked(): a mock installed in httpcore's pool alone is not seen (cache key misses it)",
        "_routes.py",
        "    if a is seen[0] and b is seen[1] and c is seen[2]:",
        "    if a is seen[0] and b is seen[1]:",
        ROUTES,
    ),
    m(
        "S38",
        3,
        "pytest-httpx is not recognised as a mock",
        "_routes.py",
        '_MOCK_MODULES: Final = ("respx", "pytest_httpx")',
        '_MOCK_MODULES: Final = ("respx",)',
        ROUTES,
    ),
    m(
        "S39",
        3,
        "a unittest.mock installed in httpx is not recognised",
        "_routes.py",
        "    return mock is not None and isinstance(item, mock.NonCallableMock)",
        "    return False",
        ROUTES,
    ),
    m(
        "S40",
        3,
        "a hook's own TimeoutError is taken for the deadline",
        "_routes.py",
        "            if not scope.expired():\n                raise",
        "            if False:\n                raise",
        ROUTES,
    ),
    m(
        "S41",
        3,
        "a user client's own exception is wrapped as a transport failure",
        "_routes.py",
        "            if not self.closed:\n                raise  # a user client's own hook",
        "            if False:\n                raise  # a user client's own hook",
        ROUTES,
    ),
    m(
        "S42",
        3,
        "hooks on the own engine: whether the request was written is not carried back",
        "_routes.py",
        "                request.written = wire.written\n",
        "",
        ROUTES,
    ),
    m(
        "S43",
        3,
        "a user route's request is taken as never written",
        "_routes.py",
        "        request.written = True  # not known on these routes",
        "        request.written = False  # not known on these routes",
        ROUTES,
    ),
    m(
        "S44",
        3,
        "a user's http_client follows redirects (the signature goes elsewhere)",
        "_routes.py",
        "            sent = await self.http.send(http_req, stream=True, follow_redirects=False)",
        "            sent = await self.http.send(http_req, stream=True, follow_redirects=True)",
        ROUTES,
    ),
    m(
        "S45",
        3,
        "the mock client does not keep the client's TLS context",
        "_routes.py",
        "                verify=self.ssl_context or True, proxy=self.proxy, trust_env=False",
        "                verify=True, proxy=self.proxy, trust_env=False",
        ROUTES,
    ),
    m(
        "S46",
        3,
        "the mock client does not keep the client's proxy",
        "_routes.py",
        "                verify=self.ssl_context or True, proxy=self.proxy, trust_env=False",
        "                verify=self.ssl_context or True, proxy=None, trust_env=False",
        ROUTES,
    ),
    m(
        "S47",
        3,
        "a user's transport is not closed with the client",
        "_routes.py",
        "            elif self.transport is not None:\n                await self.transport.aclose()",
        "            elif False:\n                await self.transport.aclose()",
        ROUTES,
    ),
    m(
        "S48",
        3,
        "the mock client is never closed",
        "_routes.py",
        "            if mock is not None:\n                await mock.aclose()",
        "            if False:\n                await mock.aclose()",
        ROUTES,
    ),
    m(
        "S49",
        3,
        "the httpx route's timeouts are not capped by the deadline",
        "_routes.py",
        "        http_req = http_request(request, url, self.loop.time(), self.http)",
        "        http_req = http_request(request, url, None, self.http)",
        ROUTES,
    ),
    m(
        "S50",
        3,
        "a user client's default headers and cookies are not applied",
        "_wire.py",
        "    build = httpx.Request if client is None else client.build_request",
        "    build = httpx.Request",
        ROUTES,
    ),
    m(
        "S51",
        3,
        "abort() leaves the network open (a closed client's retry goes on)",
        "_routes.py",
        '        """Close the engine\'s connections now, without the event loop (it may have ended)."""\n        self.closed = True',
        '        """Close the engine\'s connections now, without the event loop (it may have ended)."""',
        ROUTES,
        "test_event_loops.py",
        "test_event_loop_handover.py",
    ),
    # -- 4. _wire.py ---------------------------------------------------------------------------
    m(
        "S52",
        4,
        "Answer.header: the first value wins",
        "_wire.py",
        "            if len(key) == len(name) and key.lower() == name:\n                found = value",
        "            if len(key) == len(name) and key.lower() == name and found is None:\n                found = value",
        WIRE,
    ),
    m(
        "S53",
        4,
        "head_of: NUL accepted",
        "_wire.py",
        ' or b"\\0" in head:',
        ":",
        WIRE,
    ),
    m(
        "S54",
        4,
        "head_of: a bare CR accepted",
        "_wire.py",
        ' or head.count(b"\\r") != len(headers)',
        "",
        WIRE,
    ),
    m(
        "S55",
        4,
        "http_request: a timeout left None is not bounded by the deadline",
        "_wire.py",
        "            left if t is None else min(t, left) for t in",
        "            None if t is None else min(t, left) for t in",
        WIRE,
    ),
    m(
        "S56",
        4,
        "wire_request: an http URL without a port goes to 443",
        "_wire.py",
        "        (scheme, url.host, url.port or _DEFAULT_PORTS[scheme]),",
        "        (scheme, url.host, url.port or 443),",
        WIRE,
    ),
    m(
        "S57",
        4,
        "wire_request: the decoded path is sent (percent-encoding and query lost)",
        "_wire.py",
        "        url.raw_path,",
        "        url.path.encode(),",
        WIRE,
    ),
    m(
        "S58",
        4,
        "wire_request: Connection: close set by a hook is ignored",
        "_wire.py",
        "        close=close,\n    )",
        "        close=False,\n    )",
        WIRE,
    ),
    m(
        "S59",
        4,
        "read_capped: a body already read of exactly the cap is refused (>= for >)",
        "_wire.py",
        "        if len(body) > limit:",
        "        if len(body) >= limit:",
        WIRE,
    ),
    m(
        "S60",
        4,
        "read_capped: the raw stream is read whole before the cap is checked",
        "_wire.py",
        "            size += len(chunk)\n            if size > limit:\n                raise ResponseTooLarge",
        "            size += len(chunk)\n            if False:\n                raise ResponseTooLarge",
        WIRE,
    ),
    m(
        "S61",
        4,
        "read_capped: the stream is not closed after reading",
        "_wire.py",
        "    finally:\n        await response.aclose()\n    try:",
        "    finally:\n        pass\n    try:",
        WIRE,
    ),
    m(
        "S62",
        4,
        "read_capped: a body already read over the cap is returned",
        "_wire.py",
        "        if len(body) > limit:\n            await response.aclose()",
        "        if False:\n            await response.aclose()",
        WIRE,
    ),
    # -- 5. _failures.py -----------------------------------------------------------------------
    m(
        "S63",
        5,
        "a proxy's refusal is taken as maybe sent",
        "_failures.py",
        "httpx.PoolTimeout, httpx.ProxyError)",
        "httpx.PoolTimeout)",
        FAILURES,
    ),
    m(
        "S64",
        5,
        "a pool timeout is taken as maybe sent",
        "_failures.py",
        "httpx.ConnectTimeout, httpx.PoolTimeout,",
        "httpx.ConnectTimeout,",
        FAILURES,
    ),
    m(
        "S65",
        5,
        "sent ignores whether the request was written",
        "_failures.py",
        "    sent = request.written and not isinstance(exc, _NEVER_SENT)",
        "    sent = not isinstance(exc, _NEVER_SENT)",
        FAILURES,
    ),
    m(
        "S66",
        5,
        "the cause is the original exception (traceback and request kept)",
        "_failures.py",
        "    wrapped.__cause__ = _scrubbed_copy(exc, call.secrets)",
        "    wrapped.__cause__ = exc",
        FAILURES,
    ),
    m(
        "S67",
        5,
        "the cause's message is not scrubbed",
        "_failures.py",
        "    message = secrets.scrub(str(exc))",
        "    message = str(exc)",
        FAILURES,
    ),
    m(
        "S68",
        5,
        "the error's message detail is not scrubbed of the call's secrets",
        "_failures.py",
        '        detail = mask_digits(call.secrets.scrub(first)) if first else ""',
        '        detail = mask_digits(first) if first else ""',
        FAILURES,
    ),
    m(
        "S69",
        5,
        "describe() names the SDK's class, not the httpx failure",
        "_failures.py",
        "    if isinstance(error, TransportError) and cause is not None:",
        "    if False:",
        FAILURES,
    ),
    m(
        "S70",
        5,
        "the scrubbed cause loses its request",
        "_failures.py",
        "            return type(exc)(message, request=request)",
        "            return type(exc)(message)",
        FAILURES,
    ),
    # -- 6. _options.py and _client.py ---------------------------------------------------------
    m(
        "S71",
        6,
        "default_headers may set a header the SDK frames the request with",
        "_options.py",
        "        if name.lower() in reserved:",
        "        if name in reserved:",
        OPTIONS,
    ),
    m(
        "S72",
        6,
        "default_headers: DEL accepted in a value",
        "_options.py",
        '" " <= c <= "~" or c == "\\t"',
        '" " <= c <= "\\x7f" or c == "\\t"',
        OPTIONS,
    ),
    m(
        "S73",
        6,
        "default_headers: values are not stripped",
        "_options.py",
        "        checked.append((name, value.strip()))",
        "        checked.append((name, value))",
        OPTIONS,
    ),
    m(
        "S74",
        6,
        "default_headers: an empty name is accepted",
        "_options.py",
        "        if not isinstance(name, str) or not name or not set(name) <= _TOKEN:",
        "        if not isinstance(name, str) or not set(name) <= _TOKEN:",
        OPTIONS,
    ),
    m(
        "S75",
        6,
        "max_retries=0 is not applied (a falsy check)",
        "_options.py",
        "    if max_retries is not None:\n        if isinstance(max_retries, bool)",
        "    if max_retries:\n        if isinstance(max_retries, bool)",
        OPTIONS,
    ),
    m(
        "S76",
        6,
        "timeout=0 accepted",
        "_options.py",
        'not isinstance(value, (int, float)) or not 0 < value < math.inf:\n        raise ItnioError(\n            f"timeout',
        'not isinstance(value, (int, float)) or not 0 <= value < math.inf:\n        raise ItnioError(\n            f"timeout',
        OPTIONS,
    ),
    m(
        "S77",
        6,
        "with_options keeps the policy's count as an explicit max_retries (a new retry_policy's count is overridden)",
        "_client.py",
        "        kept_retries = DEFAULT_MAX_RETRIES if mine.max_retries is None else mine.max_retries",
        "        kept_retries = mine.policy.max_retries",
        OPTIONS,
    ),
    m(
        "S78",
        6,
        "with_options drops default_headers",
        "_client.py",
        "                dict(mine.default_headers)\n                if isinstance(default_headers, NotGiven)",
        "                None\n                if isinstance(default_headers, NotGiven)",
        OPTIONS,
    ),
    m(
        "S79",
        6,
        "client.request ignores idempotent=",
        "_client.py",
        "        safe = _METHODS[upper] if idempotent is None else bool(idempotent)",
        "        safe = _METHODS[upper]",
        OPTIONS,
    ),
    m(
        "S80",
        6,
        "client.request: DELETE is not idempotent by default",
        "_client.py",
        '"PUT": True, "DELETE": True, "POST": False',
        '"PUT": True, "DELETE": False, "POST": False',
        OPTIONS,
    ),
    m(
        "S81",
        6,
        "client.request: the body's number member is not a secret",
        "_client.py",
        '_SECRET_MEMBERS: Final = {"code": False, "to": True, "number": True}',
        '_SECRET_MEMBERS: Final = {"code": False, "to": True}',
        OPTIONS,
    ),
    m(
        "S82",
        6,
        "the 404 hint is left out for a path without an id when base_url ends with /otp",
        "_client.py",
        '        if self._shared.target.endswith(b"/otp") and "{" in call.route:',
        '        if self._shared.target.endswith(b"/otp"):',
        OPTIONS,
    ),
    m(
        "S83",
        6,
        "credential sources: the secret's source is read from the key argument",
        "_client.py",
        '        "the api_secret argument"\n        if api_secret is not None',
        '        "the api_secret argument"\n        if api_key is not None',
        OPTIONS,
    ),
    m(
        "S84",
        6,
        "an http_client's mounted transports are not checked for verify=False",
        "_client.py",
        '    transports += list(getattr(http_client, "_mounts", {}).values())\n',
        "",
        OPTIONS,
    ),
    m(
        "S85",
        6,
        "a TLS context that skips host names is taken as verifying",
        "_client.py",
        "    return bool(context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname)",
        "    return bool(context.verify_mode == ssl.CERT_REQUIRED)",
        OPTIONS,
    ),
    m(
        "S86",
        6,
        "a -16 Date far in the past is followed (abs() dropped)",
        "_client.py",
        "        if abs(offset) > MAX_CLOCK_OFFSET:",
        "        if offset > MAX_CLOCK_OFFSET:",
        OPTIONS,
    ),
    # -- 7. _exceptions.py, _envelope.py, _auth.py ---------------------------------------------
    m(
        "S87",
        7,
        "HTTPStatusError.sent defaults to False",
        "_exceptions.py",
        "    sent = True\n    status: int | None\n    reason: str | None\n\n    def __init__(\n        self,\n        status_code: int,",
        "    status: int | None\n    reason: str | None\n\n    def __init__(\n        self,\n        status_code: int,",
        EXCEPTIONS,
    ),
    m(
        "S88",
        7,
        "DecodeError.sent defaults to False",
        "_exceptions.py",
        '        sent: always ``True`` (the server answered).\n    """\n\n    sent = True\n\n    def __init__(self, message: str, *, body',
        '        sent: always ``True`` (the server answered).\n    """\n\n    def __init__(self, message: str, *, body',
        EXCEPTIONS,
    ),
    m(
        "S89",
        7,
        "HTTP 500 is an HTTPStatusError, not a ServerError (> for >=)",
        "_envelope.py",
        "    cls = HTTPServerError if answer.status >= 500 else HTTPStatusError",
        "    cls = HTTPServerError if answer.status > 500 else HTTPStatusError",
        EXCEPTIONS,
    ),
    m(
        "S90",
        7,
        "read_status: a JSON true is status 1",
        "_envelope.py",
        "    if isinstance(value, bool):\n        return None\n    if isinstance(value, int):",
        "    if isinstance(value, int):",
        EXCEPTIONS,
        "test_envelope.py",
        "resources",
    ),
    m(
        "S91",
        7,
        "RAW_JSON returns the whole envelope",
        "_envelope.py",
        '        return payload.get("data")\n    return decode(',
        "        return payload\n    return decode(",
        EXCEPTIONS,
    ),
    m(
        "S92",
        7,
        "the signature is not made again when the second changes",
        "_auth.py",
        "        if last is not None and last[0] == second:",
        "        if last is not None:",
        SIGNER,
    ),
    m(
        "S93",
        7,
        "the signature is remembered by the local second (a learned offset does not re-sign)",
        "_auth.py",
        (
            "        second = int(self._clock.now())\n        last = self._last\n        if last is not None and last[0] == second:",
            "        self._last = (second, signature)",
        ),
        (
            "        second = int(self._clock.now())\n        last = self._last\n        if last is not None and last[0] == int(self._clock.local()):",
            "        self._last = (int(self._clock.local()), signature)",
        ),
        SIGNER,
    ),
    m(
        "S94",
        7,
        "OutcomeUnknownError.sent defaults to False",
        "_exceptions.py",
        '    right nor wrong: ask the user for a new one. ``sent`` is ``True``.\n    """\n\n    sent = True\n',
        '    right nor wrong: ask the user for a new one. ``sent`` is ``True``.\n    """\n',
        EXCEPTIONS,
        VERIFY,
    ),
    # -- 8. _converter.py ----------------------------------------------------------------------
    m(
        "S95",
        8,
        "_parse_enum fast path takes a bool for an int member",
        "_converter.py",
        "    if type(value) is (int if numeric else str):  # the common case",
        "    if isinstance(value, int if numeric else str):  # the common case",
        CONVERTER,
    ),
    m(
        "S96",
        8,
        "_remembered never forgets (unbounded)",
        "_converter.py",
        "                if len(made) >= _REMEMBERED:\n                    made.clear()",
        "                pass",
        CONVERTER,
    ),
    m(
        "S97",
        8,
        "a factory default is shared between instances",
        "_converter.py",
        '        return f"{hook}(o[{key!r}], {kind}) if {key!r} in o else __d{number}()"',
        '        names[f"__d{number}"] = default.factory()\n        return f"{hook}(o[{key!r}], {kind}) if {key!r} in o else __d{number}"',
        CONVERTER,
    ),
    m(
        "S98",
        8,
        "a plain default is ignored (an absent field is None)",
        "_converter.py",
        "    if default is not None and default is not attrs.NOTHING:",
        "    if False:",
        CONVERTER,
    ),
    m(
        "S99",
        8,
        "the str/int optional fast path takes a bool as an int",
        "_converter.py",
        "or type(v) is {plain} else",
        "or isinstance(v, {plain}) else",
        CONVERTER,
    ),
    m(
        "S100",
        8,
        "parse_datetime: the offset fast path uses another offset than WIRE_TZ",
        "_converter.py",
        '_WIRE_OFFSET = "+08:00"',
        '_WIRE_OFFSET = "+00:00"',
        CONVERTER,
    ),
    m(
        "S101",
        8,
        "parse_datetime: a time ending in Z is sent down the no-offset path",
        "_converter.py",
        ' and not clock.endswith(("Z", "z")):',
        ":",
        CONVERTER,
    ),
    m(
        "S102",
        8,
        "an integer enum's value given as a digit string is kept as an unknown value",
        "_converter.py",
        "    if numeric:\n        # False == 0 and 2.0 == 2 would otherwise find MATCHED / FAILED by hash.\n        value = _parse_int(value)",
        "    if numeric and not isinstance(value, str):\n        # False == 0 and 2.0 == 2 would otherwise find MATCHED / FAILED by hash.\n        value = _parse_int(value)",
        CONVERTER,
    ),
    # -- 9. _bulk.py _Run ----------------------------------------------------------------------
    m(
        "S103",
        9,
        "one id more than concurrency may be out (> for >=)",
        "_bulk.py",
        (
            "            if self._out >= self._concurrency:\n                await self._room()",
            "        while self._out >= self._concurrency:",
        ),
        (
            "            if self._out > self._concurrency:\n                await self._room()",
            "        while self._out > self._concurrency:",
        ),
        BULK,
    ),
    m(
        "S104",
        9,
        "a worker woken for room does not look again (if for while)",
        "_bulk.py",
        "        while self._out >= self._concurrency:\n            future",
        "        if self._out >= self._concurrency:\n            future",
        BULK,
    ),
    m(
        "S105",
        9,
        "the stopping worker goes on reading ids",
        "_bulk.py",
        "                self._halt(error)\n                return",
        "                self._halt(error)\n                continue",
        BULK,
    ),
    m(
        "S106",
        9,
        "workers are not cancelled on close",
        "_bulk.py",
        "        for task in workers:\n            task.cancel()\n        if workers:",
        "        if workers:",
        BULK,
    ),
    m(
        "S107",
        9,
        "an exception from the input ends the run quietly",
        "_bulk.py",
        "        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it\n            self._deliver(exc)",
        "        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it\n            self._deliver(None)",
        BULK,
    ),
    m(
        "S108",
        9,
        "no worker beyond the first is started",
        "_bulk.py",
        "            if len(self._workers) < self._concurrency:\n                self._start_worker()",
        "            if False:\n                self._start_worker()",
        BULK,
    ),
    m(
        "S109",
        9,
        "a taken result wakes no held worker",
        "_bulk.py",
        "            if not future.done():\n                future.set_result(None)\n                break",
        "            if not future.done():\n                break",
        BULK,
    ),
    m(
        "S110",
        9,
        "the stop rule ends the run one transport failure late",
        "_bulk.py",
        "            return error if self._failures >= self._max else None",
        "            return error if self._failures > self._max else None",
        BULK,
    ),
    m(
        "S111",
        9,
        "other workers are not cancelled at a stop",
        "_bulk.py",
        "            if task is not this:\n                task.cancel()",
        "            if False:\n                task.cancel()",
        BULK,
    ),
    # -- 10. verify's resolver, request bodies, validation -------------------------------------
    m(
        "S112",
        10,
        "a match after the start is taken without asking whether the verify was alone",
        "_resources/verifications.py",
        '            if when == "after" and self._ticket.alone():',
        '            if when == "after":',
        VERIFY,
    ),
    m(
        "S113",
        10,
        "an older match while rechecking ALREADY_USED repeats the verify",
        "_resources/verifications.py",
        "                return REPEAT if answered is None else answered",
        "                return REPEAT",
        VERIFY,
    ),
    m(
        "S114",
        10,
        "an older match is not remembered (the next ALREADY_USED is rechecked again)",
        "_resources/verifications.py",
        "                self._older_match = True\n",
        "",
        VERIFY,
    ),
    m(
        "S115",
        10,
        "no margin after the start",
        "_resources/verifications.py",
        "        if at >= since + _MARGIN:",
        "        if at >= since:",
        VERIFY,
    ),
    m(
        "S116",
        10,
        "no margin before the start",
        "_resources/verifications.py",
        "        if at < since - _MARGIN:",
        "        if at < since:",
        VERIFY,
    ),
    m(
        "S117",
        10,
        "no match in the record while rechecking ALREADY_USED repeats the verify",
        "_resources/verifications.py",
        "        elif answered is None:\n            return REPEAT",
        "        else:\n            return REPEAT",
        VERIFY,
    ),
    m(
        "S118",
        10,
        "recheck ignores an older match",
        "_resources/verifications.py",
        "        return result.matched == MatchStatus.ALREADY_USED and not self._older_match",
        "        return result.matched == MatchStatus.ALREADY_USED",
        VERIFY,
    ),
    m(
        "S119",
        10,
        "an unencodable body field is named by its wire name",
        "_resources/_base.py",
        '            _SNAKE.sub("_", bad).lower(),',
        "            bad,",
        VALIDATION,
    ),
    m(
        "S120",
        10,
        "the flat body differs from the encoder's output (a space after commas)",
        "_resources/_base.py",
        '    return "{" + ",".join(parts) + "}"',
        '    return "{" + ", ".join(parts) + "}"',
        VALIDATION,
    ),
    m(
        "S121",
        10,
        "the flat fast path escapes nothing in a value",
        "_resources/_base.py",
        "        parts.append(f'\"{name}\":{_encode_str(value)}')",
        '        parts.append(f\'"{name}":"{value}"\')',
        VALIDATION,
    ),
    m(
        "S122",
        10,
        "verification ids one character over the limit accepted",
        "_validation.py",
        '    if not text.strip():\n        raise ValidationError(argument, "a non-empty string", _show(value))\n    if len(text) > MAX_ID_LENGTH:',
        '    if not text.strip():\n        raise ValidationError(argument, "a non-empty string", _show(value))\n    if len(text) > MAX_ID_LENGTH + 1:',
        VALIDATION,
    ),
    m(
        "S123",
        10,
        "request_method: a lower-case method is refused",
        "_validation.py",
        "    if not isinstance(value, str) or value.upper() not in set(allowed):",
        "    if not isinstance(value, str) or value not in set(allowed):",
        VALIDATION,
        OPTIONS,
    ),
    m(
        "S124",
        10,
        "request_path: no length limit",
        "_validation.py",
        "    if not isinstance(value, str) or len(value) > 2048 or not _API_PATH.fullmatch(value):",
        "    if not isinstance(value, str) or not _API_PATH.fullmatch(value):",
        VALIDATION,
        OPTIONS,
    ),
    m(
        "S125",
        10,
        "request_path: dot segments accepted",
        "_validation.py",
        '    if any(segment in _DOT_SEGMENTS for segment in value.split("/")):',
        "    if False:",
        VALIDATION,
        OPTIONS,
    ),
    m(
        "S126",
        10,
        "encodable: lone surrogates pass",
        "_validation.py",
        '        text.encode("utf-8")\n    except UnicodeEncodeError:',
        '        text.encode("utf-8", "surrogatepass")\n    except UnicodeEncodeError:',
        VALIDATION,
    ),
    # -- 11. more of the gaps: counted retries, the route choice, caps, sent, merges, order --
    m(
        "S127",
        1,
        "a paid retry is not counted (no backoff sleep, no retry log)",
        "_retry.py",
        "    return Action(Step.RETRY, delay=delay, lookup=lookup, counted=True)",
        "    return Action(Step.RETRY, delay=delay, lookup=lookup, counted=False)",
        RETRY,
        "test_logging.py",
    ),
    m(
        "S128",
        1,
        "the free lookup after a lost answer is logged and slept as a counted retry",
        "_retry.py",
        "        return Action(Step.RAISE, _final(state, error))\n    return Action(Step.RETRY, lookup=True)",
        "        return Action(Step.RAISE, _final(state, error))\n    return Action(Step.RETRY, lookup=True, counted=True)",
        RETRY,
        "test_logging.py",
    ),
    m(
        "S129",
        1,
        "a -16 on a SAFE call is recovered again and again (state not consulted)",
        "_retry.py",
        "    if attempt.recoverable and not state.recovered:",
        "    if attempt.recoverable:",
        RETRY,
    ),
    m(
        "S130",
        2,
        "no backoff sleep before a counted retry",
        "_base_client.py",
        "                await asyncio.sleep(action.delay)",
        "                pass",
        LOOP,
    ),
    m(
        "S131",
        2,
        "a lookup's own success marks the call as sent (sent bookkeeping ignores lookup)",
        "_base_client.py",
        "        if not lookup:\n            state.sent = True",
        "        if True:\n            state.sent = True",
        LOOP,
        VERIFY,
    ),
    m(
        "S132",
        2,
        "a ticket counts another verify already in flight as not overlapping",
        "_base_client.py",
        "        self._overlapped = flight.active > 0",
        "        self._overlapped = flight.active > 1",
        LOOP,
        VERIFY,
    ),
    m(
        "S133",
        2,
        "a -16 recovery is asked for again after the call has recovered once",
        "_base_client.py",
        "        recoverable = answer is not None and not state.recovered and self._recover(error, answer)",
        "        recoverable = answer is not None and self._recover(error, answer)",
        LOOP,
    ),
    m(
        "S134",
        3,
        "event hooks are skipped on the own engine's fast path",
        "_routes.py",
        "        if hooks is None and own is not None and not mocked():",
        "        if own is not None and not mocked():",
        ROUTES,
    ),
    m(
        "S135",
        3,
        "a mock installed while the own engine serves is bypassed (fast path ignores mocked())",
        "_routes.py",
        "        if hooks is None and own is not None and not mocked():",
        "        if hooks is None and own is not None:",
        ROUTES,
    ),
    m(
        "S136",
        3,
        "respx(using='httpx') (installed on AsyncClient) is not recognised",
        "_routes.py",
        "    verdict = _is_mock(a) or _is_mock(b) or (c is not None and _is_mock(c))",
        "    verdict = _is_mock(a) or (c is not None and _is_mock(c))",
        ROUTES,
    ),
    m(
        "S137",
        3,
        "a hook-driven call on the own engine ignores mocks in _dispatch",
        "_routes.py",
        "        if own is not None and not mocked():\n            wire = wire_request(http_req, request)",
        "        if own is not None:\n            wire = wire_request(http_req, request)",
        ROUTES,
    ),
    m(
        "S138",
        4,
        "read_capped: a streamed body is decompressed without the cap",
        "_wire.py",
        '        headers, body = decode_body(response.headers.raw, b"".join(chunks), limit)',
        '        headers, body = decode_body(response.headers.raw, b"".join(chunks), 1 << 40)',
        WIRE,
    ),
    m(
        "S139",
        4,
        "read_capped: a streamed body of exactly the cap is refused (>= for >)",
        "_wire.py",
        "            if size > limit:",
        "            if size >= limit:",
        WIRE,
    ),
    m(
        "S140",
        4,
        "read_capped: the decoded response loses its request",
        "_wire.py",
        "    with contextlib.suppress(RuntimeError):  # a response built without its request\n        decoded.request = response.request",
        "    pass",
        WIRE,
    ),
    m(
        "S141",
        5,
        "a deadline cut is reported as never sent even when the request was written",
        "_failures.py",
        "        return deadline_error(call, url, attempts, sent=sent)",
        "        return deadline_error(call, url, attempts, sent=False)",
        FAILURES,
    ),
    m(
        "S142",
        5,
        "a connect timeout is taken as maybe sent (a send is not retried)",
        "_failures.py",
        "_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)",
        "_NEVER_SENT = (httpx.ConnectError, httpx.PoolTimeout, httpx.ProxyError)",
        FAILURES,
    ),
    m(
        "S143",
        5,
        "an undecodable body is a plain TransportError, not a DecodeError",
        "_failures.py",
        "    if isinstance(exc, httpx.DecodingError):",
        "    if False:",
        FAILURES,
    ),
    m(
        "S144",
        5,
        "deadline_error counts the attempts one low",
        "_failures.py",
        'f"deadline exceeded for {call.method} {url} after {attempts} attempt(s)"',
        'f"deadline exceeded for {call.method} {url} after {attempts - 1} attempt(s)"',
        FAILURES,
    ),
    m(
        "S145",
        6,
        "default_headers may set Host",
        "_options.py",
        '        "host",\n',
        "",
        OPTIONS,
    ),
    m(
        "S146",
        6,
        "default_headers may set Proxy-Authorization",
        "_options.py",
        '        "proxy-authorization",\n',
        "",
        OPTIONS,
    ),
    m(
        "S147",
        6,
        "with_options(retry_policy=None) keeps the old policy instead of the default one",
        "_client.py",
        "            retry_policy=mine.retry_policy if isinstance(retry_policy, NotGiven) else retry_policy,",
        "            retry_policy=mine.retry_policy if isinstance(retry_policy, NotGiven) or retry_policy is None else retry_policy,",
        OPTIONS,
    ),
    m(
        "S148",
        6,
        "with_options forgets an explicit max_retries of the original",
        "_client.py",
        "        kept_retries = DEFAULT_MAX_RETRIES if mine.max_retries is None else mine.max_retries",
        "        kept_retries = DEFAULT_MAX_RETRIES",
        OPTIONS,
    ),
    m(
        "S149",
        6,
        "with_options(default_headers=None) keeps the old headers",
        "_client.py",
        "                if isinstance(default_headers, NotGiven)\n",
        "                if isinstance(default_headers, NotGiven) or default_headers is None\n",
        OPTIONS,
    ),
    m(
        "S150",
        7,
        "Retry-After dates are read against the local clock even when the answer has a Date",
        "_envelope.py",
        "    return parse_retry_after(value, now() if server_now is None else server_now)",
        "    return parse_retry_after(value, now())",
        EXCEPTIONS,
        "test_clock_skew.py",
    ),
    m(
        "S151",
        7,
        "a non-2xx answer's envelope is read as success when the body says status 0",
        "_envelope.py",
        "    if not 200 <= answer.status < 300:",
        "    if not 200 <= answer.status < 400:",
        EXCEPTIONS,
    ),
    m(
        "S152",
        8,
        "_remembered: the cache is never cleared, only refilled past the bound",
        "_converter.py",
        "                if len(made) >= _REMEMBERED:\n                    made.clear()",
        "                if len(made) >= _REMEMBERED:\n                    made.pop(value, None)",
        CONVERTER,
    ),
    m(
        "S153",
        8,
        "parse_datetime: a negative offset takes the no-offset fast path (offset overwritten)",
        "_converter.py",
        '        if "+" not in clock and "-" not in clock and not clock.endswith(("Z", "z")):',
        '        if "+" not in clock and not clock.endswith(("Z", "z")):',
        CONVERTER,
    ),
    m(
        "S154",
        8,
        "lean hooks: an absent optional field is read as a KeyError (o[key] for o.get)",
        "_converter.py",
        '    return f"{hook}(o.get({key!r}), {kind})"',
        '    return f"{hook}(o[{key!r}], {kind})"',
        CONVERTER,
    ),
    m(
        "S155",
        9,
        "in_input_order returns results in completion order",
        "_bulk.py",
        "            return [results[i] for i in range(len(results))]",
        "            return list(results.values())",
        BULK,
    ),
    m(
        "S156",
        9,
        "the input is read on after it raised (exhaustion not marked)",
        "_bulk.py",
        "        try:\n            item = next(self._iter, _DONE)\n        except BaseException:\n            self._exhausted = True\n            raise",
        "        try:\n            item = next(self._iter, _DONE)\n        except BaseException:\n            raise",
        BULK,
    ),
    m(
        "S157",
        9,
        "a record resets nothing: transport failures are counted across answers",
        "_bulk.py",
        "        if error is None:\n            self._failures = 0\n            return None",
        "        if error is None:\n            return None",
        BULK,
    ),
    m(
        "S158",
        10,
        "path ids over 128 characters are sent",
        "_validation.py",
        '        raise ValidationError(argument, "a non-empty id", _show(value))\n    if len(text) > MAX_ID_LENGTH:',
        '        raise ValidationError(argument, "a non-empty id", _show(value))\n    if False:',
        VALIDATION,
    ),
    m(
        "S159",
        10,
        "path ids with a lone surrogate are sent (percent-encoded as surrogatepass)",
        "_validation.py",
        '    text = encodable(argument, str(value))\n    if not text.strip():\n        raise ValidationError(argument, "a non-empty id"',
        '    text = str(value)\n    if not text.strip():\n        raise ValidationError(argument, "a non-empty id"',
        VALIDATION,
    ),
    m(
        "S160",
        10,
        "a match up to the margin before the start counts as after it",
        "_resources/verifications.py",
        '        if at >= since + _MARGIN:\n            return "after"',
        '        if at >= since - _MARGIN:\n            return "after"',
        VERIFY,
    ),
]


def locate(mutant: Mutant, old: str, text: str) -> int:
    """How many times ``old`` occurs in ``mutant``'s module."""
    return text.count(old)


def apply(mutant: Mutant, originals: dict[Path, str]) -> str | None:
    """Write ``mutant``'s edits; an error message if a snippet is not found exactly once."""
    path = PACKAGE / mutant.module
    text = originals[path]
    for old, new in mutant.edits:
        count = text.count(old)
        if count != 1:
            return f"snippet found {count} times in {mutant.module}: {old!r}"
        text = text.replace(old, new)
    path.write_text(text)
    return None


def restore(originals: dict[Path, str]) -> None:
    for path, text in originals.items():
        if path.read_text() != text:
            path.write_text(text)
    for cached in PACKAGE.glob("**/__pycache__/*.pyc"):
        cached.unlink()


def run(
    mutant: Mutant, originals: dict[Path, str], full: bool, before: bool = False
) -> tuple[bool, str]:
    """Apply ``mutant``, run its tests (or the whole suite); (killed, detail)."""
    problem = apply(mutant, originals)
    if problem is not None:
        return False, problem
    for cached in PACKAGE.glob("**/__pycache__/*.pyc"):
        cached.unlink()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-rfE", "-p", "no:cacheprovider"]
    command += ["--timeout", str(TEST_TIMEOUT)]
    # The type checkers run on fixed snippets: no mutant of the runtime changes them.
    command += ["-k", "not mypy and not pyright"]
    # Ten seconds of a real deadline; the send-safety tests beside it cover the same path.
    command += ["--deselect", SLOW_RECIPE]
    # The whole suite but the release checks (their unpacked sdist runs it all again).
    chosen = [t for t in mutant.tests if not (before and t.split("::")[0] in NEW_TESTS)]
    tests = ["tests", "--ignore=tests/test_release.py"] if full else [f"tests/{t}" for t in chosen if Path("tests", t.split("::")[0]).exists()]  # fmt: skip
    try:
        done = subprocess.run(
            [*command, *tests], capture_output=True, text=True, timeout=TIMEOUT, env=env
        )
    except subprocess.TimeoutExpired:
        return True, f"hung (stopped after {TIMEOUT} s)"
    finally:
        restore(originals)
    failing = sorted(
        {
            line.split()[1].split("/")[-1].split("[")[0]
            for line in done.stdout.splitlines()
            if line.startswith(("FAILED tests/", "ERROR tests/"))
        }
    )
    return done.returncode != 0, ", ".join(failing) or done.stdout.strip()[-200:]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(names: list[str]) -> int:
    check = "--check" in names
    full = "--full" in names
    before = "--before" in names
    names = [name for name in names if not name.startswith("--")]
    originals = {path: path.read_text() for path in sorted(PACKAGE.glob("**/*.py"))}
    # A SIGTERM restores the package as Ctrl-C does (through the finally clauses).
    signal.signal(signal.SIGTERM, _interrupt)
    chosen = [mutant for mutant in MUTANTS if not names or mutant.name in names]
    if check:
        bad = [
            f"{mutant.name}: {old!r} found {originals[PACKAGE / mutant.module].count(old)} times"
            for mutant in chosen
            for old, _ in mutant.edits
            if originals[PACKAGE / mutant.module].count(old) != 1
        ]
        print("\n".join(bad) or f"every snippet of {len(chosen)} mutants found once")
        return 1 if bad else 0
    survivors = []
    try:
        for mutant in chosen:
            started = time.monotonic()
            killed, detail = run(mutant, originals, full, before)
            took = time.monotonic() - started
            verdict = "killed " if killed else "SURVIVED"
            print(
                f"{mutant.name} [{mutant.area}] {verdict} {took:5.1f}s  {mutant.what}  [{detail}]",
                flush=True,
            )
            if not killed:
                survivors.append(mutant.name)
    finally:
        restore(originals)
    print(f"{len(chosen) - len(survivors)}/{len(chosen)} killed; survivors: {survivors}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
