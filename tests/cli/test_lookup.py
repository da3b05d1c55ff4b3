"""`itnio records lookup`: ids from arguments, files and stdin; JSON Lines out; summary."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest
import respx

from itnio_async._cli._lookup import IdLines, _read_in_thread, is_answered

from ..conftest import envelope
from .conftest import Invoke, lines_of

SUMMARY = re.compile(
    r"^records lookup: (\d+) ok, (\d+) failed \((\d+) order ids\) in [\d.]+s, \d+/s$"
)


def answer(request: httpx.Request) -> httpx.Response:
    """Known ids have a record; ids starting with 'unknown' are -24."""
    order_id = json.loads(request.content)["orderId"]
    if order_id.startswith("unknown"):
        return httpx.Response(200, json=envelope(status="-24", reason="Data unexisting"))
    return httpx.Response(
        200,
        json=envelope(
            {"orderId": order_id, "flowId": 1, "verifications": {"matched": 0}, "sms": []}
        ),
    )


@pytest.fixture
def lookups(router: respx.Router) -> respx.Route:
    """The record-by-orderId endpoint, answered by :func:`answer`."""
    return router.post("/verification/orderId/record").mock(side_effect=answer)


def test_arguments_give_one_line_per_id_and_exit_3_on_failure(
    invoke: Invoke, lookups: respx.Route
) -> None:
    """Each id yields one JSON line (record or error) and a failure makes the exit code 3."""
    result = invoke("records", "lookup", "order-1", "unknown-2", "order-3", "--app-id", "mRELxtHc")
    assert result.exit_code == 3
    lines = {line["orderId"]: line for line in lines_of(result.stdout)}
    assert set(lines) == {"order-1", "unknown-2", "order-3"}
    assert lines["order-1"]["ok"] is True
    assert lines["order-1"]["record"]["orderId"] == "order-1"
    assert lines["order-1"]["record"]["verifications"]["matched"] == 0
    assert lines["unknown-2"] == {
        "orderId": "unknown-2",
        "ok": False,
        "error": {"type": "NotFoundError", "status": -24, "message": "Data unexisting"},
    }
    assert all(json.loads(call.request.content)["appId"] == "mRELxtHc" for call in lookups.calls)


def test_all_found_exits_0_and_stderr_is_only_the_summary(
    invoke: Invoke, lookups: respx.Route
) -> None:
    """Piped stderr gets no progress bar: just the one summary line."""
    result = invoke("records", "lookup", "a-1", "a-2")
    assert result.exit_code == 0
    assert len(lines_of(result.stdout)) == 2
    assert len(result.stderr.splitlines()) == 1
    match = SUMMARY.match(result.stderr.strip())
    assert match is not None
    assert match.groups() == ("2", "0", "2")


def test_file_input_skips_blank_lines_and_strips(
    invoke: Invoke, lookups: respx.Route, tmp_path: Path
) -> None:
    """--file reads one id per line, stripping whitespace and skipping blank lines."""
    ids = tmp_path / "ids.txt"
    ids.write_text("order-1\n\n   order-2  \n\t\nunknown-3\norder-4", encoding="utf-8")
    result = invoke("records", "lookup", "--file", str(ids))
    assert result.exit_code == 3
    sent = sorted(json.loads(c.request.content)["orderId"] for c in lookups.calls)
    assert sent == ["order-1", "order-2", "order-4", "unknown-3"]
    assert sorted(line["orderId"] for line in lines_of(result.stdout)) == sent
    assert SUMMARY.match(result.stderr.strip()).groups() == ("3", "1", "4")  # type: ignore[union-attr]


def test_stdin_and_arguments_together(invoke: Invoke, lookups: respx.Route) -> None:
    """`--file -` reads stdin; arguments are looked up too; one line per id, duplicates kept."""
    result = invoke("records", "lookup", "arg-1", "--file", "-", input="std-1\n\nstd-2\nstd-1\n")
    assert result.exit_code == 0
    ids = sorted(line["orderId"] for line in lines_of(result.stdout))
    assert ids == ["arg-1", "std-1", "std-1", "std-2"]
    assert lookups.call_count == 4


def test_many_ids_with_concurrency_and_rate(
    invoke: Invoke, lookups: respx.Route, tmp_path: Path
) -> None:
    """A few hundred ids all come back once each with --concurrency and --max-per-second."""
    ids = [f"order-{i}" for i in range(300)]
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(ids) + "\n", encoding="utf-8")
    result = invoke("records", "lookup", "-f", str(path), "-c", "32", "--max-per-second", "100000")
    assert result.exit_code == 0
    assert sorted(line["orderId"] for line in lines_of(result.stdout)) == sorted(ids)


def test_no_ids_is_a_usage_error(invoke: Invoke, lookups: respx.Route) -> None:
    """Neither ids nor --file: exit 2 and nothing sent."""
    result = invoke("records", "lookup")
    assert result.exit_code == 2
    assert "--file" in result.stderr
    assert lookups.call_count == 0


@pytest.mark.parametrize(
    "args",
    [
        ("-c", "0", "x1"),
        ("--concurrency", "1001", "x1"),
        ("--max-per-second", "0", "x1"),
        ("--file", "/nonexistent/ids.txt"),
    ],
)
def test_bad_options_exit_2(invoke: Invoke, lookups: respx.Route, args: tuple[str, ...]) -> None:
    """Out-of-range options and a missing file are usage errors."""
    result = invoke("records", "lookup", *args)
    assert result.exit_code == 2
    assert lookups.call_count == 0


def test_invalid_id_is_a_failed_line_not_a_crash(invoke: Invoke, lookups: respx.Route) -> None:
    """An id the SDK rejects (over 64 characters) is reported on its line; the rest go on."""
    long_id = "x" * 65
    result = invoke("records", "lookup", long_id, "order-1")
    assert result.exit_code == 3
    lines = {line["orderId"]: line for line in lines_of(result.stdout)}
    assert lines[long_id]["error"]["type"] == "ValidationError"
    assert lines[long_id]["error"]["status"] is None
    assert lines["order-1"]["ok"] is True


def test_missing_credentials_is_not_a_lookup_failure(invoke: Invoke, lookups: respx.Route) -> None:
    """Without credentials the whole run fails once (exit 1), not per id."""
    result = invoke("records", "lookup", "order-1", creds=False)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ItnioError")


async def test_pipe_reader_yields_stripped_lines_lazily() -> None:
    """Ids from a pipe are read by a thread and yielded stripped, blank lines skipped."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as stream:
        ids = IdLines("stdin").aids(_read_in_thread(stream))
        os.write(write_fd, b" first \n\n")
        assert await anext(ids) == "first"
        os.write(write_fd, b"second\n")
        os.close(write_fd)
        assert [item async for item in ids] == ["second"]


# -- runs that end early, unreadable lines, --resume ------------------------------------


def test_account_error_writes_what_completed_and_exits_5(
    invoke: Invoke, router: respx.Router
) -> None:
    """-10 stops the run: the lines before it are written, stderr names the error, exit 5."""

    def handler(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["orderId"] == "broke":
            return httpx.Response(200, json=envelope(status="-10", reason="balance"))
        return answer(request)

    route = router.post("/verification/orderId/record").mock(side_effect=handler)
    result = invoke("records", "lookup", "-c", "1", "a-1", "unknown-2", "broke", "a-3", "a-4")
    assert result.exit_code == 5
    assert [line["orderId"] for line in lines_of(result.stdout)] == ["a-1", "unknown-2"]
    error, summary, hint = result.stderr.splitlines()
    assert error.startswith("error: InsufficientBalanceError (status -10): balance")
    assert summary.startswith(
        "records lookup: stopped by InsufficientBalanceError: 1 ok, 1 failed (2 order ids) in "
    )
    assert hint.startswith("records lookup: to resume, run the same command with --resume ")
    assert route.call_count == 3


def test_unreachable_api_stops_after_ten_transport_failures(
    invoke: Invoke, router: respx.Router
) -> None:
    """Ten transport failures in a row end the run with exit 5; nine were written."""
    route = router.post("/verification/orderId/record").mock(
        side_effect=httpx.ConnectError("refused")
    )
    ids = [f"id-{i}" for i in range(100)]
    result = invoke("records", "lookup", "--max-retries", "0", "-c", "1", *ids)
    assert result.exit_code == 5
    lines = lines_of(result.stdout)
    assert [line["orderId"] for line in lines] == ids[:9]
    assert {line["error"]["type"] for line in lines} == {"TransportError"}
    assert route.call_count == 10
    assert "records lookup: stopped by TransportError: 0 ok, 9 failed" in result.stderr


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_a_line_that_is_not_utf8_fails_alone(
    invoke: Invoke, lookups: respx.Route, tmp_path: Path, source: str
) -> None:
    """A non-UTF-8 line gets an error line naming its line number; the other ids go on."""
    data = b"order-1\n\n  caf\xe9-2\norder-3\n"
    if source == "file":
        path = tmp_path / "ids.txt"
        path.write_bytes(data)
        result = invoke("records", "lookup", "--file", str(path))
        name = str(path)
    else:
        result = invoke("records", "lookup", "--file", "-", input=data)
        name = "stdin"
    assert result.exit_code == 3
    lines = {line["orderId"]: line for line in lines_of(result.stdout)}
    assert set(lines) == {"order-1", "caf\ufffd-2", "order-3"}
    assert lines["caf\ufffd-2"]["error"] == {
        "type": "ValidationError",
        "status": None,
        "message": f"{name} line 3 must be UTF-8 text; got byte 0xe9 at position 6",
    }
    assert sorted(json.loads(c.request.content)["orderId"] for c in lookups.calls) == [
        "order-1",
        "order-3",
    ]


def _line(order_id: str, kind: str | None = None, status: int | None = None) -> str:
    """A result line as an earlier run wrote it (a record when ``kind`` is None)."""
    if kind is None:
        return json.dumps({"orderId": order_id, "ok": True, "record": {"orderId": order_id}})
    error = {"type": kind, "status": status, "message": "m"}
    return json.dumps({"orderId": order_id, "ok": False, "error": error})


@pytest.mark.parametrize(
    ("line", "answered"),
    [
        (_line("a"), True),
        (_line("a", "NotFoundError", -24), True),
        (_line("a", "ValidationError"), True),
        (_line("a", "InvalidParameterError", -22), False),
        (_line("a", "APIError", -23), False),
        (_line("a", "AlreadyExistsError", -20), False),
        (_line("a", "TotalSendLimitError", -27), False),
        (_line("a", "PhoneSendLimitError", -28), False),
        (_line("a", "APIError", -99), False),
        (_line("a", "HTTPStatusError", None), False),
        (_line("a", "ServerError", None), False),
        (_line("a", "OutcomeUnknownError", None), False),
        (_line("a", "TransportError"), False),
        (_line("a", "RequestTimeoutError"), False),
        (_line("a", "HTTPStatusError", -24), False),
        (_line("a", "DecodeError"), False),
        (_line("a", "AuthenticationError", -1), False),
        (_line("a", "IPNotAllowedError", -2), False),
        (_line("a", "InsufficientBalanceError", -10), False),
        (_line("a", "TimestampExpiredError", -16), False),
        (_line("a", "ServerError", -18), False),
        ('{"orderId": "a", "ok": false}', False),
        ("[1, 2]", False),
    ],
)
def test_which_lines_count_as_answered(line: str, answered: bool) -> None:
    """Final: a record, -24 and an invalid id; any other error may come out differently
    on another run (-22 from a missing --app-id, 5xx, -18, rate limits...)."""
    assert is_answered(json.loads(line)) is answered


def test_resume_skips_the_answered_ids(
    invoke: Invoke, lookups: respx.Route, tmp_path: Path
) -> None:
    """--resume FILE looks up only the ids without an answered line in FILE."""
    earlier = tmp_path / "out.jsonl"
    earlier.write_text(
        "\n".join(
            [
                _line("a-1"),
                _line("unknown-2", "NotFoundError", -24),
                _line("a-3", "TransportError"),
                _line("a-4", "ServerError", -18),
                _line("a-8", "InvalidParameterError", -22),  # no --app-id where one is needed
                _line("a-9", "HTTPStatusError", None),  # 429 or 5xx
                '{"orderId": "a-5", "ok": tr',  # cut off when the earlier run was killed
            ]
        ),
        encoding="utf-8",
    )
    ids = tmp_path / "ids.txt"
    ids.write_text("a-1\nunknown-2\na-3\na-4\na-5\na-6\na-8\na-9\n", encoding="utf-8")
    result = invoke("records", "lookup", "a-1", "a-7", "--file", str(ids), "--resume", str(earlier))
    assert result.exit_code == 0, result.stderr
    sent = sorted(json.loads(c.request.content)["orderId"] for c in lookups.calls)
    assert sent == ["a-3", "a-4", "a-5", "a-6", "a-7", "a-8", "a-9"]
    assert sorted(line["orderId"] for line in lines_of(result.stdout)) == sent
    summary = result.stderr.splitlines()[-1]
    assert summary.startswith(
        f"records lookup: 7 ok, 0 failed (7 order ids), 3 skipped as answered in {earlier} in "
    )


def test_resume_needs_an_existing_file(invoke: Invoke, lookups: respx.Route) -> None:
    """--resume with a missing file is a usage error and nothing is sent."""
    result = invoke("records", "lookup", "a-1", "--resume", "/nonexistent/out.jsonl")
    assert result.exit_code == 2
    assert lookups.call_count == 0


def test_help_documents_the_exit_codes_and_resume(invoke: Invoke) -> None:
    """`records lookup --help` documents its exit codes 5 and 130 and --resume."""
    lookup_help = invoke("records", "lookup", "--help").stdout
    assert "5    stopped early: an error about the account" in lookup_help
    assert "130  interrupted by Ctrl-C (SIGINT) or SIGTERM" in lookup_help
    assert "--resume FILE" in lookup_help
