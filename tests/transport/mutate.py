"""Mutation check of the transport tests: break ``_transport.py`` one way at a time and
confirm that the tests written to catch each break fail.

Run from the repository root (about three minutes; not part of the test suite)::

    python -m tests.transport.mutate            # every mutant
    python -m tests.transport.mutate M12 M30    # some

Each mutant replaces one exact snippet of ``itnio_async/_transport.py``; the file is
restored after every run (and on Ctrl-C). A mutant is *killed* when its tests fail or
hang (a test hanging for ``TEST_TIMEOUT`` seconds fails). Each line names the tests
that failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path("itnio_async/_transport.py")
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
        '            self.poisoned = True\n            self._break("unexpected bytes after',
        '            return\n            self._break("unexpected bytes after',
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
        "        if self._complete:\n            # A second message",
        "        if False:\n            # A second message",
        "test_hostile.py::test_bytes_past_content_length_in_the_same_write",
        "test_framing.py::test_content_length_shorter_than_the_body",
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
        "Keep-Alive timeout used as is (no second of margin)",
        "max(0.0, amount - 1.0)",
        "max(0.0, amount - 0.0)",
        "test_hostile.py::test_keep_alive_timeout_sets_the_idle_expiry",
        "test_hostile.py::test_keep_alive_header_parsing",
        "test_hostile.py::test_connection_not_kept_alive_is_not_reused",
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
        "reusable = self._keep_alive and not self.broken",
        "reusable = not self.broken",
        "test_hostile.py::test_connection_not_kept_alive_is_not_reused",
        "test_framing.py::test_http_1_0_keep_alive_is_opt_in",
    ),
    m(
        "M11",
        "a connection that answered HEAD is reused (both guards: broken and is_head)",
        (
            "and not self.broken and not self._is_head",
            "                self.broken = True\n                waiter.set_result(None)",
        ),
        ("and not self.broken", "                waiter.set_result(None)"),
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
        "        conn = await self._checkout(key, timeouts, request)",
        "        request.extensions[WRITTEN] = True\n"
        "        conn = await self._checkout(key, timeouts, request)",
        "test_pool.py::test_connection_refused_is_a_connect_error",
        "test_pool.py::test_pool_timeout_when_every_connection_is_busy",
        "test_pool.py::test_closed_pool_is_a_connect_error",
        "test_pool.py::test_aclose_at_any_step_of_a_request",
    ),
    m(
        "M22",
        "written never marked",
        "            request.extensions[WRITTEN] = True\n",
        "",
        "test_pool.py::test_written_is_set_once_the_request_is_on_the_socket",
        "test_hostile.py::test_reset_mid_response_is_a_read_error",
    ),
    m(
        "M23",
        "a refused connection reported as a read error (looks sent)",
        '            raise httpx.ConnectError(\n                f"could not connect',
        '            raise httpx.ReadError(\n                f"could not connect',
        "test_pool.py::test_connection_refused_is_a_connect_error",
        "test_tls.py::test_untrusted_certificate_is_refused_before_sending",
    ),
    m(
        "M24",
        "a connect timeout reported as a read timeout",
        "            raise httpx.ConnectTimeout(",
        "            raise httpx.ReadTimeout(",
        "test_pool.py::test_connect_timeout_is_unsent",
    ),
    m(
        "M25",
        "aclose leaves waiters waiting",
        "                waiter.set_exception(httpx.ConnectError("
        '"the connection pool was closed"))',
        "                pass",
        "test_pool.py::test_aclose_fails_requests_in_flight_and_waiting",
        "test_pool.py::test_aclose_at_any_step_of_a_request",
    ),
    m(
        "M26",
        "aclose leaves connections open",
        '        for conn in list(self._open):\n            conn.abort("the client was closed")',
        "        for conn in list(self._open):\n            pass",
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
        "            self._ssl = httpx.create_ssl_context()",
        "            self._ssl = ssl._create_unverified_context()",
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
        "            room = max_head + _READ_BUFFER - self._head_raw",
        "            room = 1 << 62",
        "test_framing.py::test_giant_header_line",
    ),
    m(
        "M32",
        "no bound on the head size",
        "        if self._head_size > max_head:",
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
        "        if self._size > self._limits[0]:",
        "        if False:",
        "test_framing.py::test_endless_body_is_too_large",
        "test_framing.py::test_body_at_the_cap_passes_and_one_byte_more_fails",
    ),
    m(
        "M35",
        "body cap off by one",
        "        if self._size > self._limits[0]:",
        "        if self._size > self._limits[0] + 1:",
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
        "            if self._body_raw > _RAW_FACTOR * max_body + max_head:",
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
        "            unpacked = zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, limit + 1)",
        "            raise zlib.error",
        "test_framing.py::test_content_coding_is_decoded_and_dropped",
    ),
    m(
        "M41",
        "unsupported coding passed through",
        '    else:\n        raise httpx.DecodingError(\n            f"unsupported Content-Encoding',
        "    else:\n        return headers, body\n        raise httpx.DecodingError(\n"
        '            f"unsupported Content-Encoding',
        "test_framing.py::test_undecodable_body_is_a_decoding_error",
    ),
    # -- framing
    m(
        "M42",
        "1xx answers taken as final",
        "        if 100 <= self._status < 200:  # an interim answer",
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
        "        self._until_close = length is None and not chunked and status not in (204, 304)",
        "        self._until_close = False",
        "test_framing.py::test_body_delimited_by_the_end_of_the_connection",
        "test_framing.py::test_empty_body_delimited_by_the_end_of_the_connection",
    ),
    m(
        "M45",
        "a reset accepted as the end of a close-delimited body",
        "        if self._headers_done and self._until_close and exc is None:",
        "        if self._headers_done and self._until_close:",
        "test_framing.py::test_reset_ends_a_close_delimited_body_with_an_error",
    ),
    m(
        "M46",
        "HEAD answers framed like GET answers",
        "        if self._is_head:\n            self._complete = True",
        "        if False:\n            self._complete = True",
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
        "        if self._headers_done:\n            # A trailer field",
        "        if False:\n            # A trailer field",
        "test_framing.py::test_chunked_trailers_are_not_merged_into_the_headers",
    ),
    m(
        "M49",
        "body in the head's read counted as head (the bug fixed in e80f3ff)",
        "            if len(data) > room:\n                self._head_overflow(data, room, waiter)",
        "            if len(data) > room:\n"
        '                self._fail(ResponseTooLarge("response head too large"))',
        "test_framing.py::test_large_body_in_the_same_read_as_the_head",
    ),
    m(
        "M50",
        "a split reason phrase keeps only its last piece",
        "        self._reason += status",
        "        self._reason = status",
        "test_fuzz.py::test_any_valid_response_cut_anywhere_arrives_exactly",
    ),
    m(
        "M51",
        "a body read in pieces keeps only its first",
        '        content = body[0] if len(body) == 1 else b"".join(body)',
        '        content = body[0] if body else b""',
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
        "        if seconds is None or waiter.done():\n            await waiter",
        "        if True:\n            await waiter",
        "test_hostile.py::test_stall_is_a_read_timeout",
        "test_framing.py::test_content_length_longer_than_the_body",
    ),
    m(
        "M55",
        "no flow control (never waits for the write buffer)",
        "        if not self._paused:\n            return",
        "        if True:\n            return",
        "test_hostile.py::test_server_not_reading_the_body_is_a_write_timeout",
    ),
    m(
        "M56",
        "a lost connection does not fail the write",
        "            drain.set_exception(httpx.WriteError(self.close_reason))",
        "            pass",
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
        "            if isinstance(exc, httpx.RequestError):\n"
        "                exc.request = request\n            raise",
        "            if isinstance(exc, httpx.RemoteProtocolError) and not conn._status:\n"
        "                return await self.handle_async_request(request)\n"
        "            if isinstance(exc, httpx.RequestError):\n"
        "                exc.request = request\n            raise",
        "test_hostile.py::test_eof_mid_response_is_a_protocol_error",
    ),
    m(
        "M61",
        "no connection ever reused",
        "        if reusable and not last:\n            self._checkin(conn)",
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
        "no path for a request without a read timeout",
        "        if seconds is None or waiter.done():\n            await waiter",
        "        if waiter.done():\n            await waiter",
        "test_hostile.py::test_no_timeouts_at_all",
    ),
    m(
        "M66",
        "unsupported schemes not refused",
        "        if scheme not in _DEFAULT_PORTS:",
        "        if False:",
        "test_hostile.py::test_unsupported_scheme",
    ),
    m(
        "M67",
        "bytes past the end dropped when a read is split at the head allowance",
        "            if self._complete and not self._is_head:\n                self.data_received",
        "            if False:\n                self.data_received",
        "test_hostile.py::test_answer_and_extra_bytes_in_one_large_read",
    ),
    m(
        "M68",
        "malformed responses not failed",
        '            self._fail(httpx.RemoteProtocolError(f"malformed response: {exc}"))\n',
        "",
        "test_framing.py::test_broken_chunking_is_a_protocol_error",
        "test_framing.py::test_bad_content_length_is_a_protocol_error",
    ),
    m(
        "M69",
        "a connection closed mid-response taken as the end of it",
        "        waiter.set_exception(error)\n\n    # -- httptools",
        "        waiter.set_result(None)\n\n    # -- httptools",
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
        "        waiter = self._waiter\n"
        "        if waiter is None or waiter.done():\n            return\n"
        "        if self._headers_done",
        "        waiter = self._waiter\n        if waiter is None:\n            return\n"
        "        if self._headers_done",
        "test_framing.py::test_too_many_headers",
    ),
    m(
        "M72",
        "the server's keep-alive never honoured",
        "        self._keep_alive = parser.should_keep_alive()",
        "        self._keep_alive = False",
        "test_framing.py::test_http_1_0_keep_alive_is_opt_in",
        "test_servers.py::test_sequential_calls_reuse_one_connection",
    ),
    m(
        "M73",
        "request body not sent",
        "    return (head + body if body else head), last",
        "    return head, last",
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
        "        if reusable and not last:",
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
        '            self._reason = b""\n            self._headers = []\n            return',
        '            self._reason = b""\n            self._headers = []\n'
        "            self._head_size = self._head_raw = 0\n            return",
        "test_framing.py::test_endless_interim_answers_are_too_large",
    ),
    m(
        "M78",
        "neither head bound (raw bytes, parsed size): a status line grows without end",
        (
            "            room = max_head + _READ_BUFFER - self._head_raw",
            "        if self._head_size > max_head:",
        ),
        ("            room = 1 << 62", "        if False:"),
        "test_framing.py::test_giant_status_line",
    ),
    m(
        "M79",
        "neither body bound (parsed size, raw bytes): an endless body is kept",
        (
            "        if self._size > self._limits[0]:",
            "            if self._body_raw > _RAW_FACTOR * max_body + max_head:",
        ),
        ("        if False:", "            if False:"),
        "test_framing.py::test_endless_body_is_too_large",
    ),
]


def run(mutant: Mutant, original: str) -> tuple[bool, str]:
    """Apply ``mutant``, run its tests; (killed, detail)."""
    mutated = original
    for old, new in mutant.edits:
        if mutated.count(old) != 1:
            return False, f"snippet found {mutated.count(old)} times: {old!r}"
        mutated = mutated.replace(old, new)
    SOURCE.write_text(mutated)
    for cached in SOURCE.parent.glob("__pycache__/_transport.*.pyc"):
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
    failing = sorted(
        {
            line.split()[1].split("::")[-1].split("[")[0]
            for line in done.stdout.splitlines()
            if line.startswith(("FAILED tests/", "ERROR tests/"))
        }
    )
    return done.returncode != 0, ", ".join(failing) or done.stdout.strip()[-200:]


def main(names: list[str]) -> int:
    original = SOURCE.read_text()
    chosen = [mutant for mutant in MUTANTS if not names or mutant.name in names]
    survivors = []
    try:
        for mutant in chosen:
            started = time.monotonic()
            killed, detail = run(mutant, original)
            took = time.monotonic() - started
            verdict = "killed " if killed else "SURVIVED"
            print(f"{mutant.name} {verdict} {took:5.1f}s  {mutant.what}  [{detail}]", flush=True)
            if not killed:
                survivors.append(mutant.name)
    finally:
        SOURCE.write_text(original)
        for cached in SOURCE.parent.glob("__pycache__/_transport.*.pyc"):
            cached.unlink()
    print(f"{len(chosen) - len(survivors)}/{len(chosen)} killed; survivors: {survivors}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
