"""Mutation check of the transport tests: break the engine (``itnio_async/_engine``) one way
at a time and confirm that the tests written to catch each break fail.

Run from the repository root (about three minutes; not part of the test suite)::

    python -m tests.transport.mutate            # every mutant
    python -m tests.transport.mutate M12 M30    # some

Each mutant replaces exact snippets, each found once in the engine's modules; the files
are restored after every run (and on Ctrl-C). ``--check`` only looks the snippets up. A
mutant is *killed* when its tests fail or hang (a test hanging for ``TEST_TIMEOUT`` seconds fails). Each line names the tests
that failed.
"""

# ruff: noqa: E501 - the mutants are exact snippets of source, kept on one line each

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path("itnio_async/_engine")
TIMEOUT = 300
#: A test that hangs under a mutant fails after this many seconds (pytest-timeout).
TEST_TIMEOUT = 20
T = "tests/transport/"


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    edits: tuple[tuple[str, str], ...]
    tests: tuple[str, ...]


def m(
    name: str, what: str, old: str | tuple[str, ...], new: str | tuple[str, ...], *tests: str
) -> Mutant:
    """A mutant replacing ``old`` by ``new`` (or each of several snippets by its pair)."""
    olds = (old,) if isinstance(old, str) else old
    news = (new,) if isinstance(new, str) else new
    return Mutant(name, what, tuple(zip(olds, news, strict=True)), tuple(T + t for t in tests))


MUTANTS = [
    # -- "was it sent" and the idle connection checks
    m(
        "M01",
        "no poll() of an idle socket before reuse",
        "                if poller.poll(0):",
        "                if False:",
        "test_hostile.py::test_idle_connection_that_received_bytes_or_eof_is_not_reused",
        "test_hostile.py::test_server_closing_idle_connections_between_calls",
        "test_tls.py::test_idle_tls_connection_closed_by_the_server",
    ),
    m(
        "M02",
        "bytes on an idle connection ignored",
        '                self.poisoned = True\n                self._break("unexpected bytes after',
        '                return\n                self._break("unexpected bytes after',
        "test_hostile.py::test_idle_connection_that_received_bytes_or_eof_is_not_reused",
        "test_hostile.py::test_bytes_past_the_end_before_the_response_is_picked_up",
    ),
    m(
        "M03",
        "a poisoned answer is returned",
        "        if self.poisoned:\n            raise",
        "        if False:\n            raise",
        "test_hostile.py::test_bytes_past_the_end_before_the_response_is_picked_up",
    ),
    m(
        "M04",
        "a second message in the same read accepted",
        "        if self.complete:\n            # A second message",
        "        if False:\n            # A second message",
        "test_hostile.py::test_bytes_past_content_length_in_the_same_write",
        "test_framing.py::test_content_length_shorter_than_the_body",
    ),
    m(
        "M05",
        "a lost idle connection stays in the pool",
        "        if conn.idle:\n            conn.idle = False\n            idle = self._idle",
        "        if False:\n            conn.idle = False\n            idle = self._idle",
        "test_hostile.py::test_idle_connection_that_received_bytes_or_eof_is_not_reused",
    ),
    m(
        "M06",
        "no idle expiry",
        "        if now - self.idle_since >= self.expiry:",
        "        if False:",
        "test_hostile.py::test_keep_alive_timeout_sets_the_idle_expiry",
        "test_hostile.py::test_keepalive_expiry_applies_without_a_server_timeout",
        "test_hostile.py::test_connection_not_kept_alive_is_not_reused",
    ),
    m(
        "M07",
        "expiry boundary off by one (> instead of >=)",
        "        if now - self.idle_since >= self.expiry:",
        "        if now - self.idle_since > self.expiry:",
        "test_hostile.py::test_keep_alive_timeout_sets_the_idle_expiry",
        "test_hostile.py::test_keepalive_expiry_applies_without_a_server_timeout",
    ),
    m(
        "M08",
        "Keep-Alive timeout used as is (no margin)",
        "max(0.0, amount - margin)",
        "max(0.0, amount - 0.0)",
        "test_hostile.py::test_keep_alive_timeout_sets_the_idle_expiry",
        "test_hostile.py::test_keep_alive_header_parsing",
    ),
    m(
        "M09",
        "Keep-Alive max=1 ignored",
        'elif name == b"max" and amount <= 1:',
        'elif name == b"max" and amount < 1:',
        "test_hostile.py::test_connection_not_kept_alive_is_not_reused",
    ),
    m(
        "M10",
        "Connection: close / HTTP/1.0 ignored",
        "return exchange, exchange.keep_alive and not self.broken",
        "return exchange, not self.broken",
        "test_hostile.py::test_connection_not_kept_alive_is_not_reused",
        "test_framing.py::test_http_1_0_keep_alive_is_opt_in",
    ),
    m(
        "M11",
        "a connection that answered HEAD is reused",
        "and not self.broken and not exchange.head_only",
        "and not self.broken",
        "test_framing.py::test_head_reads_no_body_and_is_not_reused",
    ),
    # -- the pool
    m(
        "M12",
        "idle connections reused first in, first out",
        "                conn = idle.pop()\n",
        "                conn = idle.pop(0)\n",
        "test_pool.py::test_idle_connections_are_reused_last_in_first_out",
    ),
    m(
        "M13",
        "max_connections not enforced",
        "        if self._slots < self.max_connections:",
        "        if True:",
        "test_servers.py::test_200_requests_through_10_connections",
        "test_pool.py::test_pool_timeout_when_every_connection_is_busy",
    ),
    m(
        "M14",
        "waiters served last come first",
        "        self._waiters.append((key, waiter))",
        "        self._waiters.appendleft((key, waiter))",
        "test_pool.py::test_waiters_are_served_first_come_first_served",
    ),
    m(
        "M15",
        "a connection handed to a waiter for another origin",
        "            if key == conn.key:",
        "            if True:",
        "test_pool.py::test_waiter_for_another_origin_gets_a_slot",
    ),
    m(
        "M16",
        "no eviction of idle connections of other origins",
        "        for idle in self._idle.values():\n            if idle:",
        "        for idle in self._idle.values():\n            if False:",
        "test_pool.py::test_idle_connection_of_another_origin_is_evicted",
    ),
    m(
        "M17",
        "a handed-over connection used without checking it",
        "                if got.usable(loop.time()):",
        "                if True:",
        "test_pool.py::test_connection_handed_to_a_waiter_but_closed_since",
    ),
    m(
        "M18",
        "a cancelled waiter keeps what it was handed",
        "            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:",
        "            if False:",
        "test_cancellation.py::test_cancel_at_every_step_with_one_connection",
    ),
    m(
        "M19",
        "a failed or cancelled exchange keeps its slot",
        "            conn.abandon()\n            self._discard(conn)",
        "            conn.abandon()",
        "test_cancellation.py",
        "test_pool.py::test_failure_after_sending_keeps_the_pool_whole",
        "test_tls.py::test_cancel_at_every_step_of_a_tls_request",
    ),
    m(
        "M20",
        "a failed connect keeps its slot",
        "        except BaseException:\n            self._free_slot()\n            raise",
        "        except BaseException:\n            raise",
        "test_pool.py::test_connection_refused_is_a_connect_error",
        "test_pool.py::test_connect_timeout_is_unsent",
        "test_tls.py::test_cancel_at_every_step_of_a_tls_request",
    ),
    m(
        "M21",
        "written marked before the connection is checked out",
        "        conn = await self._checkout(key, request, loop)",
        "        request.written = True\n        conn = await self._checkout(key, request, loop)",
        "test_pool.py::test_connection_refused_is_a_connect_error",
        "test_pool.py::test_pool_timeout_when_every_connection_is_busy",
        "test_pool.py::test_closed_pool_is_a_connect_error",
        "test_pool.py::test_aclose_at_any_step_of_a_request",
    ),
    m(
        "M22",
        "written never marked",
        "            request.written = True\n",
        "",
        "test_pool.py::test_written_is_set_once_the_request_is_on_the_socket",
        "test_hostile.py::test_reset_mid_response_is_a_read_error",
    ),
    m(
        "M23",
        "a refused connection reported as a read error (looks sent)",
        '        raise httpx.ConnectError(f"could not connect',
        '        raise httpx.ReadError(f"could not connect',
        "test_pool.py::test_connection_refused_is_a_connect_error",
    ),
    m(
        "M24",
        "a connect timeout reported as a read timeout",
        '            httpx.ConnectTimeout(f"timed out connecting',
        '            httpx.ReadTimeout(f"timed out connecting',
        "test_pool.py::test_connect_timeout_is_unsent",
    ),
    m(
        "M25",
        "aclose leaves waiters waiting",
        "                waiter.set_exception(httpx.ConnectError(_CLOSED))",
        "                pass",
        "test_pool.py::test_aclose_fails_requests_in_flight_and_waiting",
        "test_pool.py::test_aclose_at_any_step_of_a_request",
    ),
    m(
        "M26",
        "aclose leaves connections open",
        "            if live:\n                conn.close(reason)",
        "            if live:\n                pass",
        "test_pool.py::test_aclose_closes_idle_connections",
        "test_pool.py::test_aclose_at_any_step_of_a_request",
    ),
    m(
        "M27",
        "a closed pool still connects",
        "        if self._closed:\n            raise httpx.ConnectError",
        "        if False:\n            raise httpx.ConnectError",
        "test_pool.py::test_closed_pool_is_a_connect_error",
    ),
    # -- TLS
    m(
        "M28",
        "non-verifying contexts accepted",
        "    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:",
        "    if False:",
        "test_tls.py::test_context_without_verification_is_refused",
    ),
    m(
        "M29",
        "default context does not verify",
        "            context = httpx.create_ssl_context()",
        "            context = ssl._create_unverified_context()",
        "test_tls.py::test_untrusted_certificate_is_refused_before_sending",
    ),
    m(
        "M30",
        "host name not checked",
        '        context = self._ssl_context() if scheme == "https" else None\n',
        '        context = self._ssl_context() if scheme == "https" else None\n'
        "        if context is not None:\n"
        "            context.check_hostname = False\n",
        "test_tls.py::test_wrong_host_name_is_refused",
    ),
    # -- sizes
    m(
        "M31",
        "no raw bound on the head",
        "            room = max_head + READ_BUFFER - self.head_raw",
        "            room = 1 << 62",
        "test_framing.py::test_giant_header_line",
    ),
    m(
        "M32",
        "no bound on the head size",
        "        if self.head_size > max_head:",
        "        if False:",
        "test_framing.py::test_headers_past_the_head_size",
    ),
    m(
        "M33",
        "no bound on the header count",
        "        if len(headers) > max_headers:",
        "        if False:",
        "test_framing.py::test_too_many_headers",
    ),
    m(
        "M34",
        "no bound on the body",
        "        if self.size > self.limits[0]:",
        "        if False:",
        "test_framing.py::test_endless_body_is_too_large",
        "test_framing.py::test_body_at_the_cap_passes_and_one_byte_more_fails",
    ),
    m(
        "M35",
        "body cap off by one",
        "        if self.size > self.limits[0]:",
        "        if self.size > self.limits[0] + 1:",
        "test_framing.py::test_body_at_the_cap_passes_and_one_byte_more_fails",
    ),
    m(
        "M36",
        "Content-Length over the cap not refused at the head",
        "        if length is not None and length > max_body and status not in (204, 304):",
        "        if False:",
        "test_framing.py::test_content_length_past_the_cap_fails_at_the_head",
    ),
    m(
        "M37",
        "no raw bound on chunk framing",
        "            if self.body_raw > _RAW_FACTOR * max_body + max_head:",
        "            if False:",
        "test_framing.py::test_endless_chunk_extension_is_too_large",
    ),
    m(
        "M38",
        "decompression not bounded",
        "        unpacked = decompressor.decompress(body, limit + 1)",
        "        unpacked = decompressor.decompress(body)",
        "test_framing.py::test_compression_bomb_is_too_large_in_bounded_memory",
    ),
    m(
        "M39",
        "Content-Encoding kept after decoding",
        '    kept = [(n, v) for n, v in headers if n.lower() not in (b"content-encoding", '
        'b"content-length")]',
        '    kept = [(n, v) for n, v in headers if n.lower() not in (b"content-length",)]',
        "test_framing.py::test_content_coding_is_decoded_and_dropped",
    ),
    m(
        "M40",
        "no raw-deflate fallback",
        '            unpacked = _unpack(body, -zlib.MAX_WBITS, limit, "deflate")',
        "            raise",
        "test_framing.py::test_content_coding_is_decoded_and_dropped",
    ),
    m(
        "M41",
        "unsupported coding passed through",
        '    if coding not in (b"gzip", b"x-gzip", b"deflate"):',
        "    if False:",
        "test_framing.py::test_undecodable_body_is_a_decoding_error",
    ),
    # -- framing
    m(
        "M42",
        "1xx answers taken as final",
        "        if 100 <= self.status < 200:  # an interim answer",
        "        if False:  # an interim answer",
        "test_framing.py::test_interim_answers_are_skipped",
        "test_framing.py::test_interim_answers_split_from_the_final_one",
    ),
    m(
        "M43",
        "101 not refused",
        "            if status == 101:",
        "            if False:",
        "test_framing.py::test_switching_protocols_is_refused",
    ),
    m(
        "M44",
        "no close-delimited bodies",
        "        self.until_close = length is None and not chunked and status not in (204, 304)",
        "        self.until_close = False",
        "test_framing.py::test_body_delimited_by_the_end_of_the_connection",
        "test_framing.py::test_empty_body_delimited_by_the_end_of_the_connection",
    ),
    m(
        "M45",
        "a reset accepted as the end of a close-delimited body",
        "        if self.headers_done and self.until_close and exc is None:",
        "        if self.headers_done and self.until_close:",
        "test_framing.py::test_reset_ends_a_close_delimited_body_with_an_error",
    ),
    m(
        "M46",
        "HEAD answers framed like GET answers",
        "        if self.head_only:\n            self.complete = True",
        "        if False:\n            self.complete = True",
        "test_framing.py::test_head_reads_no_body_and_is_not_reused",
    ),
    m(
        "M47",
        "HEAD/304 Content-Length checked against the cap (the bug fixed in 1292f62)",
        "length > max_body and status not in (204, 304):",
        "length > max_body:",
        "test_framing.py::test_no_content_answers_have_no_body_and_keep_alive",
    ),
    m(
        "M48",
        "trailers merged into the headers (the bug fixed in 854b7c7)",
        "        if self.headers_done:\n            # A trailer field",
        "        if False:\n            # A trailer field",
        "test_framing.py::test_chunked_trailers_are_not_merged_into_the_headers",
    ),
    m(
        "M49",
        "body in the head's read counted as head (the bug fixed in e80f3ff)",
        "            if len(data) > room:\n                return self._head_overflow(data, room)",
        '            if len(data) > room:\n                self.fail(ResponseTooLarge("response head too large"))\n                return b""',
        "test_framing.py::test_large_body_in_the_same_read_as_the_head",
    ),
    m(
        "M50",
        "a split reason phrase keeps only its last piece",
        "        self.reason += status",
        "        self.reason = status",
        "test_fuzz.py::test_any_valid_response_cut_anywhere_arrives_exactly",
    ),
    m(
        "M51",
        "a body read in pieces keeps only its first",
        '        return body[0] if len(body) == 1 else b"".join(body)',
        '        return body[0] if body else b""',
        "test_fuzz.py::test_any_valid_response_cut_anywhere_arrives_exactly",
        "test_framing.py::test_chunked_body",
    ),
    # -- writing, timeouts, requests
    m(
        "M52",
        "streamed body sent raw (the bug fixed in 8fc4bbb)",
        "    if chunked:\n",
        "    if False:\n",
        "test_servers.py::test_streamed_request_body",
    ),
    m(
        "M53",
        "header injection not refused",
        '    if head.count(b"\\n") != lines or head.count(b"\\r") != lines or b"\\0" in head:',
        "    if False:",
        "test_hostile.py::test_header_injection_is_refused_before_sending",
    ),
    m(
        "M54",
        "no read timeout",
        "        if self.read_timeout is not None:\n            due = min(",
        "        if False:\n            due = min(",
        "test_hostile.py::test_stall_is_a_read_timeout",
        "test_framing.py::test_content_length_longer_than_the_body",
        "test_timers.py::test_nothing_for_the_read_timeout_is_a_read_timeout",
    ),
    m(
        "M55",
        "no flow control (never waits for the write buffer)",
        "        if not self.paused:\n            return",
        "        if True:\n            return",
        "test_hostile.py::test_server_not_reading_the_body_is_a_write_timeout",
    ),
    m(
        "M56",
        "a lost connection does not fail the write",
        '            drain.set_exception(httpx.WriteError(f"connection closed',
        '            pass  # (f"connection closed',
        "test_hostile.py::test_server_closing_mid_body_is_a_write_error",
    ),
    m(
        "M57",
        "an abandoned exchange's future left to fail unobserved (the bug fixed in 19b81e2)",
        "            if not waiter.done():\n                waiter.cancel()",
        "            if False:\n                waiter.cancel()",
        "test_hostile.py::test_server_not_reading_the_body_is_a_write_timeout",
    ),
    m(
        "M58",
        "transport type asserted (the uvloop bug fixed in 1f5425d)",
        "        self.transport = cast(asyncio.Transport, transport)",
        "        assert isinstance(transport, asyncio.Transport)\n"
        "        self.transport = transport",
        "test_uvloop.py",
    ),
    m(
        "M59",
        "select() instead of poll() (the bug fixed in dc21d2d)",
        "        if poller is not None:\n            try:\n                if poller.poll(0):",
        "        if poller is not None:\n            try:\n"
        "                if select.select([self.fd], [], [], 0)[0]:",
        "test_pool.py::test_connection_with_a_descriptor_above_1023_is_reused",
    ),
    m(
        "M60",
        "a request resent on a new connection when the first one died unanswered",
        "        except httpx.RequestError as exc:\n            exc.request = request\n            raise",
        "        except httpx.RemoteProtocolError as exc:\n            if not wire.written:\n                raise\n            return await self.handle_async_request(request)\n        except httpx.RequestError as exc:\n            exc.request = request\n            raise",
        "test_hostile.py::test_eof_mid_response_is_a_protocol_error",
    ),
    m(
        "M61",
        "no connection ever reused",
        "        if reusable and not request.close:\n            self._checkin(conn)",
        "        if False:\n            self._checkin(conn)",
        "test_servers.py::test_sequential_calls_reuse_one_connection",
        "test_framing.py::test_chunked_body",
    ),
    m(
        "M62",
        "a freed slot not handed to a waiter",
        "        while waiters:\n            _, waiter = waiters.popleft()",
        "        while False:\n            _, waiter = waiters.popleft()",
        "test_pool.py::test_failed_exchange_hands_its_slot_to_a_waiter",
    ),
    m(
        "M63",
        "the ssl_context argument ignored",
        "        self._ssl = ssl_context",
        "        self._ssl = None",
        "test_tls.py::test_private_ca_context_is_accepted",
    ),
    m(
        "M64",
        "resume_writing does not release the writer",
        "        if drain is not None and not drain.done():\n            drain.set_result(None)",
        "        if drain is not None and not drain.done():\n            pass",
        "test_hostile.py::test_large_body_is_written_through_flow_control",
    ),
    m(
        "M65",
        "a request without a read timeout or deadline is watched anyway (never answered)",
        "        if due == math.inf:\n            return",
        '        if due == math.inf:\n            exchange.fail(httpx.ReadTimeout("x"))',
        "test_hostile.py::test_no_timeouts_at_all",
    ),
    m(
        "M66",
        "unsupported schemes not refused",
        "        if scheme not in _DEFAULT_PORTS:",
        "        if False:",
        "test_hostile.py::test_unsupported_scheme",
        "test_exchange_schemes.py",
    ),
    m(
        "M67",
        "bytes past the end dropped when a read is split at the head allowance",
        'return data[room:] if self.complete and not self.head_only else b""',
        'return b""',
        "test_hostile.py::test_answer_and_extra_bytes_in_one_large_read",
    ),
    m(
        "M68",
        "malformed responses not failed",
        '            self.fail(httpx.RemoteProtocolError(f"malformed response: {exc}"))\n',
        "",
        "test_framing.py::test_broken_chunking_is_a_protocol_error",
        "test_framing.py::test_bad_content_length_is_a_protocol_error",
    ),
    m(
        "M69",
        "a connection closed mid-response taken as the end of it",
        "        self.waiter.set_exception(error)\n\n    def fail",
        "        self.waiter.set_result(None)\n\n    def fail",
        "test_hostile.py::test_eof_mid_response_is_a_protocol_error",
        "test_hostile.py::test_close_after_reading_the_request_head",
        "test_framing.py::test_eof_inside_a_chunk",
        "test_framing.py::test_content_length_longer_than_the_body",
        "test_tls.py::test_tls_eof_mid_response",
    ),
    m(
        "M70",
        "a reset mid-response reported as never sent",
        '            httpx.ReadError(f"{message}: {exc}") if exc else',
        '            httpx.ConnectError(f"{message}: {exc}") if exc else',
        "test_hostile.py::test_reset_mid_response_is_a_read_error",
    ),
    m(
        "M71",
        "the close that follows a failed exchange fails its settled future again",
        "        if self.waiter.done():\n            return\n        if self.headers_done and self.until_close",
        "        if self.headers_done and self.until_close",
        "test_framing.py::test_too_many_headers",
    ),
    m(
        "M72",
        "the server's keep-alive never honoured",
        "        self.keep_alive = parser.should_keep_alive()",
        "        self.keep_alive = False",
        "test_framing.py::test_http_1_0_keep_alive_is_opt_in",
        "test_servers.py::test_sequential_calls_reuse_one_connection",
    ),
    m(
        "M73",
        "request body not sent",
        'b" HTTP/1.1\\r\\n", request.head, b"\\r\\n", request.body)',
        'b" HTTP/1.1\\r\\n", request.head, b"\\r\\n")',
        "test_servers.py::test_round_trip",
        "test_servers.py::test_direct_handle_async_request",
    ),
    m(
        "M74",
        "llhttp errors escape the protocol (raw exception in data_received)",
        "        except httptools.HttpParserError as exc:",
        "        except httptools.HttpParserUpgrade as exc:",
        "test_fuzz.py::test_any_bytes_end_in_a_response_or_an_httpx_error",
    ),
    m(
        "M75",
        "a request saying Connection: close leaves its connection pooled",
        "        if reusable and not request.close:",
        "        if reusable:",
        "test_hostile.py::test_request_saying_connection_close_is_the_last_on_its_connection",
    ),
    m(
        "M76",
        "a connection reset after its answer is reused (all three guards removed: the "
        "state check, forgetting it when lost, the poll)",
        (
            "        if self.broken or self.transport is None or self.transport.is_closing():",
            "        if conn.idle:\n            conn.idle = False\n            idle = self._idle",
            "                if poller.poll(0):",
        ),
        (
            "        if False:",
            "        if False:\n            conn.idle = False\n            idle = self._idle",
            "                if False:",
        ),
        "test_hostile.py::test_reset_after_the_full_response_keeps_the_answer",
        "test_pool.py::test_request_after_stale_connection_has_exactly_one_copy",
    ),
    m(
        "M77",
        "an interim (1xx) answer resets the head accounting",
        '            self.reason = b""\n            self.headers = []\n            return',
        '            self.reason = b""\n            self.headers = []\n            self.head_size = self.head_raw = 0\n            return',
        "test_framing.py::test_endless_interim_answers_are_too_large",
    ),
    m(
        "M78",
        "neither head bound (raw bytes, parsed size): a status line grows without end",
        (
            "            room = max_head + READ_BUFFER - self.head_raw",
            "        if self.head_size > max_head:",
        ),
        (
            "            room = 1 << 62",
            "        if False:",
        ),
        "test_framing.py::test_giant_status_line",
    ),
    m(
        "M79",
        "neither body bound (parsed size, raw bytes): an endless body is kept",
        (
            "        if self.size > self.limits[0]:",
            "            if self.body_raw > _RAW_FACTOR * max_body + max_head:",
        ),
        (
            "        if False:",
            "            if False:",
        ),
        "test_framing.py::test_endless_body_is_too_large",
    ),
    m(
        "M80",
        "stacked codings: only the first one decoded (the issue 20 bomb)",
        "    if len(codings) > 1:\n        raise",
        "    if False:\n        raise",
        "test_codings.py::test_stacked_codings_are_a_decoding_error",
        "test_codings.py::test_stacked_gzip_bomb_in_a_memory_limited_child",
    ),
    m(
        "M81",
        "a truncated gzip body accepted",
        "    if not decompressor.eof:",
        "    if False:",
        "test_codings.py::test_gzip_is_checked_whole",
    ),
    m(
        "M82",
        "bytes after the gzip member accepted",
        "    if decompressor.unused_data:",
        "    if False:",
        "test_codings.py::test_gzip_is_checked_whole",
    ),
    m(
        "M83",
        "identity entries counted as codings",
        'not in (b"", b"identity")',
        'not in (b"",)',
        "test_codings.py::test_identity_entries_are_ignored",
    ),
    m(
        "M84",
        "ALPN selection not checked",
        '    if selected not in (None, "http/1.1"):',
        "    if False:",
        "test_tls.py::test_server_selecting_h2_is_refused_before_sending",
    ),
    m(
        "M85",
        "the own context offers no ALPN",
        '            context.set_alpn_protocols(["http/1.1"])\n',
        "",
        "test_tls.py::test_own_context_offers_http_1_1",
    ),
    m(
        "M86",
        "aclose leaves calls connecting (the issue 20 defect)",
        "                scope.reschedule(loop.time())",
        "                pass",
        "test_lifecycle.py::test_aclose_ends_calls_still_connecting",
        "test_proxies.py::test_aclose_during_proxied_calls",
    ),
    m(
        "M87",
        "our own close ends a close-delimited body as complete (the issue 20 defect)",
        "        if exchange is not None and not exchange.waiter.done():\n            exchange.waiter.set_exception(",
        "        if False:\n            exchange.waiter.set_exception(",
        "test_lifecycle.py::test_aclose_during_a_close_delimited_body_fails_the_call",
    ),
    m(
        "M88",
        "connections kept when the loop shuts down",
        "        if alive is not None and alive._watcher is not None and alive._loop_ending():",
        "        if False:",
        "test_lifecycle.py::test_connections_close_when_asyncio_run_ends",
    ),
    m(
        "M89",
        "abort_all on a closed loop leaves the sockets to the garbage collector",
        "                with contextlib.suppress(RuntimeError):\n                    lost(None)",
        "                pass",
        "test_lifecycle.py::test_abort_all_closes_connections_of_a_closed_loop",
    ),
    m(
        "M90",
        "the timer re-armed only when it fires (a new, earlier due time waits)",
        "        if due < self._when:\n            self._arm(due)",
        "        if self._handle is None:\n            self._arm(due)",
        "test_timers.py::test_nothing_for_the_read_timeout_is_a_read_timeout",
        "test_exchange.py::test_deadline_while_waiting_for_the_answer",
        "test_hostile.py::test_stall_is_a_read_timeout",
        "test_timer_earlier_due.py",
    ),
    m(
        "M91",
        "the timer armed for every call",
        "        if due < self._when:\n            self._arm(due)",
        "        self._arm(due)",
        "test_timers.py::test_one_timer_for_many_calls",
    ),
    m(
        "M92",
        "the read timeout counted from the request, not from the last bytes",
        "        self.last_read = now\n        max_body",
        "        max_body",
        "test_timers.py::test_a_body_trickled_slower_than_the_read_timeout_in_total_succeeds",
    ),
    m(
        "M93",
        "the deadline ignored while waiting for a connection",
        "            request.pool,\n            request.deadline,",
        "            request.pool,\n            None,",
        "test_timers.py::test_deadline_while_waiting_for_a_connection",
    ),
    m(
        "M94",
        "the deadline ignored while writing",
        "            request.write,\n                    request.deadline,",
        "            request.write,\n                    None,",
        "test_timers.py::test_deadline_while_writing",
    ),
    m(
        "M95",
        "a Keep-Alive timeout lengthens the client's expiry",
        "self.expiry = min(self.expiry, max(0.0, amount - margin))",
        "self.expiry = max(0.0, amount - margin)",
        "test_hostile.py::test_keep_alive_header_parsing",
        "test_hostile.py::test_keep_alive_timeout_under_a_long_client_expiry",
    ),
    m(
        "M96",
        "a refused tunnel reported as a plain proxy error (looks sent)",
        "class ProxyRefused(httpx.ProxyError, httpx.ConnectError):",
        "class ProxyRefused(httpx.ProxyError):",
        "test_proxies.py::test_a_refused_tunnel_is_never_sent",
        "test_proxies.py::test_connect_answers_other_than_2xx",
    ),
    m(
        "M97",
        "a non-2xx CONNECT answer taken as a tunnel",
        "    if not 200 <= exchange.status < 300:",
        "    if False:",
        "test_proxies.py::test_a_refused_tunnel_is_never_sent",
        "test_proxies.py::test_connect_answers_other_than_2xx",
    ),
    m(
        "M98",
        "origin-form request lines sent to the proxy",
        '    if proxy is None or scheme == "https":',
        "    if True:",
        "test_proxies.py::test_http_origin_through_tinyproxy",
        "test_proxies.py::test_absolute_form_and_credentials_reach_the_proxy",
    ),
    m(
        "M99",
        "no Proxy-Authorization on the tunnel",
        '        + proxy.header_lines()\n        + b"\\r\\n"',
        '        + b"\\r\\n"',
        "test_proxies.py::test_https_origin_through_a_tinyproxy_tunnel",
        "test_proxies.py::test_connect_answers_other_than_2xx",
    ),
    m(
        "M100",
        "TLS through the tunnel not started (plain HTTP to an https origin)",
        "            await _start_tls(pool_connection, context, host)\n",
        "",
        "test_proxies.py::test_https_origin_through_a_tinyproxy_tunnel",
    ),
    m(
        "M101",
        "the proxy left out of the pool key",
        "        key = (scheme, host, port, self.proxy)",
        "        key = (scheme, host, port, None)",
        "test_proxies.py::test_the_pool_key_includes_the_proxy",
        "test_proxies.py::test_http_origin_through_tinyproxy",
    ),
    m(
        "M102",
        "NO_PROXY ignored",
        '    if no_proxy_covers(host, port, _variable(environ, "no_proxy")):',
        "    if False:",
        "test_proxies.py::test_no_proxy",
    ),
    m(
        "M103",
        "NO_PROXY suffixes match any ending (xample.com covers example.com)",
        '    return host == name or host.endswith("." + name)',
        "    return host.endswith(name)",
        "test_proxies.py::test_no_proxy",
    ),
    m(
        "M104",
        "socks and https proxies accepted",
        '    if scheme != "http":',
        "    if False:",
        "test_proxies.py::test_unsupported_proxy_schemes_are_refused",
    ),
]


def locate(old: str, sources: dict[Path, str]) -> tuple[Path | None, int]:
    """The module holding ``old``, and how many times it occurs over all modules."""
    found = [(path, text.count(old)) for path, text in sources.items() if old in text]
    total = sum(count for _, count in found)
    return (found[0][0] if len(found) == 1 else None), total


def apply(mutant: Mutant, originals: dict[Path, str]) -> str | None:
    """Write ``mutant``'s edits; an error message if a snippet is not found exactly once."""
    mutated = dict(originals)
    for old, new in mutant.edits:
        path, total = locate(old, mutated)
        if path is None or total != 1:
            return f"snippet found {total} times: {old!r}"
        mutated[path] = mutated[path].replace(old, new)
    for path, text in mutated.items():
        if text != originals[path]:
            path.write_text(text)
    return None


def restore(originals: dict[Path, str]) -> None:
    for path, text in originals.items():
        if path.read_text() != text:
            path.write_text(text)
    for cached in PACKAGE.glob("__pycache__/*.pyc"):
        cached.unlink()


def run(mutant: Mutant, originals: dict[Path, str]) -> tuple[bool, str]:
    """Apply ``mutant``, run its tests; (killed, detail)."""
    problem = apply(mutant, originals)
    if problem is not None:
        return False, problem
    for cached in PACKAGE.glob("__pycache__/*.pyc"):
        cached.unlink()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider"]
    command += ["--timeout", str(TEST_TIMEOUT)]
    try:
        done = subprocess.run(
            [*command, *mutant.tests], capture_output=True, text=True, timeout=TIMEOUT, env=env
        )
    except subprocess.TimeoutExpired:
        return True, f"hung (stopped after {TIMEOUT} s)"
    finally:
        restore(originals)
    failing = sorted(
        {
            line.split()[1].split("::")[-1].split("[")[0]
            for line in done.stdout.splitlines()
            if line.startswith(("FAILED tests/", "ERROR tests/"))
        }
    )
    return done.returncode != 0, ", ".join(failing) or done.stdout.strip()[-200:]


def main(names: list[str]) -> int:
    check = "--check" in names
    names = [name for name in names if name != "--check"]
    originals = {path: path.read_text() for path in sorted(PACKAGE.glob("*.py"))}
    chosen = [mutant for mutant in MUTANTS if not names or mutant.name in names]
    if check:
        bad = [
            f"{mutant.name}: {old!r} found {locate(old, originals)[1]} times"
            for mutant in chosen
            for old, _ in mutant.edits
            if locate(old, originals)[1] != 1
        ]
        print("\n".join(bad) or "every snippet found once")
        return 1 if bad else 0
    survivors = []
    try:
        for mutant in chosen:
            started = time.monotonic()
            killed, detail = run(mutant, originals)
            took = time.monotonic() - started
            verdict = "killed " if killed else "SURVIVED"
            print(f"{mutant.name} {verdict} {took:5.1f}s  {mutant.what}  [{detail}]", flush=True)
            if not killed:
                survivors.append(mutant.name)
    finally:
        restore(originals)
    print(f"{len(chosen) - len(survivors)}/{len(chosen)} killed; survivors: {survivors}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
