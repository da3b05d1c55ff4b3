"""The installed `itnio` console script, run as a real process (pipes, a terminal, signals)."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from itnio_async import AsyncItnio, AuthenticationError

from .._sandbox import ThreadedSandbox
from .conftest import ITNIO, lines_of

pytestmark = pytest.mark.skipif(
    not ITNIO.exists(), reason="the itnio console script is not installed"
)

TIMEOUT = 20


def itnio(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script with pipes for stdin, stdout and stderr."""
    return subprocess.run(
        [str(ITNIO), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_console_script_help_and_version() -> None:
    """The entry point runs, documents the exit codes and knows its version."""
    helped = itnio("--help")
    assert helped.returncode == 0
    assert "Exit codes:" in helped.stdout
    version = itnio("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("itnio, version ")


def test_console_script_demo_exits_0() -> None:
    """`itnio demo` in a real process: exit 0, plain lines when piped, quick."""
    result = itnio("demo", "--bulk", "50")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("\nok ") == 18
    assert "demo: all 18 steps behaved as expected" in result.stdout


def test_lookup_from_a_stdin_pipe_writes_only_the_summary_to_stderr() -> None:
    """Piped stdin is read lazily; stdout gets one JSON line per id; stderr only the summary."""
    result = itnio(
        "records", "lookup", "--sandbox", "--file", "-", input="order-1001\n\norder-1002\nnope\n"
    )
    assert result.returncode == 3
    assert sorted(line["orderId"] for line in lines_of(result.stdout)) == [
        "nope",
        "order-1001",
        "order-1002",
    ]
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("records lookup: 2 ok, 1 failed (3 order ids)")


def test_lookup_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """`itnio records lookup ... | head -1`: exit 0, no traceback and no bogus error when
    stdout closes."""
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"unknown-{i}\n" for i in range(3000)), encoding="utf-8")
    process = subprocess.Popen(
        [str(ITNIO), "records", "lookup", "--sandbox", "--file", str(ids)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=TIMEOUT) == 0  # its reader had all it wanted
    assert json.loads(first)["ok"] is False
    assert b"Traceback" not in err
    assert b"Exception ignored" not in err
    assert b"error:" not in err


def test_lookup_with_a_wrong_secret_stops_after_a_few_requests(tmp_path: Path) -> None:
    """A wrong secret against the TCP sandbox stops the run at once: exit 5, few requests."""
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"order-{i}\n" for i in range(500)), encoding="utf-8")
    with ThreadedSandbox() as box:
        result = itnio(
            "records",
            "lookup",
            "--base-url",
            box.url,
            "--api-key",
            box.fake.api_key,
            "--api-secret",
            "wrong-secret",
            "--concurrency",
            "4",
            "--file",
            str(ids),
        )
        sent = len(box.fake.requests_to("/verification/orderId/record"))
    assert result.returncode == 5, result.stderr
    assert result.stdout == ""
    error, summary, hint = result.stderr.splitlines()
    assert error.startswith("error: AuthenticationError (status -1): Authentication error")
    assert summary.startswith("records lookup: stopped by AuthenticationError: 0 ok, 0 failed")
    assert "--resume" in hint
    assert "wrong-secret" not in result.stderr
    assert 1 <= sent <= 4 + 2


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_lookup_writes_whole_lines_and_resumes(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """SIGINT/SIGTERM mid-run: complete lines, a resume hint, exit 130; --resume finishes it."""
    ids = [f"order-{1001 + i}" for i in range(4)] + [f"nope-{i}" for i in range(60)]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with ThreadedSandbox() as box:
        box.fake.latency = 0.01  # slow enough that lookups are in flight at the signal
        env = {
            **os.environ,
            "ITNIO_BASE_URL": box.url,
            "ITNIO_API_KEY": box.fake.api_key,
            "ITNIO_API_SECRET": box.fake.api_secret,
        }
        # Ids arrive on stdin, which stays open: the run cannot end before the signal.
        process = subprocess.Popen(
            [str(ITNIO), "records", "lookup", "--file", "-", "-c", "4"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write("".join(f"{i}\n" for i in ids).encode())
        process.stdin.flush()
        first = [process.stdout.readline() for _ in range(5)]
        process.send_signal(signum)
        # Read on through the same buffered reader (communicate() would skip what it holds).
        rest = process.stdout.read()
        err = process.stderr.read()  # type: ignore[union-attr]
        assert process.wait(timeout=TIMEOUT) == 130, err
        process.stdin.close()
        process.stdout.close()
        process.stderr.close()  # type: ignore[union-attr]
        out.write_bytes(b"".join(first) + rest)
        written = out.read_text(encoding="utf-8")
        assert written.endswith("\n")
        done = [line["orderId"] for line in lines_of(written)]  # every line is whole JSON
        assert len(done) >= 5
        text = err.decode()
        summary, hint = text.splitlines()
        assert summary.startswith(f"records lookup: interrupted by {signum.name}: ")
        assert f"({len(done)} order ids)" in summary
        assert hint.startswith("records lookup: to resume, run the same command with --resume ")
        assert "Aborted!" not in text
        assert "Traceback" not in text

        before = len(box.fake.requests)
        with out.open("ab") as append:
            resumed = subprocess.run(
                [str(ITNIO), "records", "lookup", "--file", str(ids_file), "--resume", str(out)],
                stdout=append,
                stderr=subprocess.PIPE,
                env=env,
                timeout=TIMEOUT,
                check=False,
            )
        asked = [r.body["orderId"] for r in box.fake.requests[before:]]
    assert resumed.returncode == 3, resumed.stderr  # the nope-* ids are not found
    assert sorted(asked) == sorted(set(ids) - set(done))
    assert sorted(line["orderId"] for line in lines_of(out.read_text("utf-8"))) == sorted(ids)
    assert f"{len(done)} skipped as answered in {out}" in resumed.stderr.decode()


def test_resume_refuses_to_overwrite_its_file(tmp_path: Path) -> None:
    """`--resume out.jsonl > out.jsonl` (not >>) is refused with exit 2 and a hint."""
    out = tmp_path / "out.jsonl"
    out.write_text("", encoding="utf-8")
    command = [str(ITNIO), "records", "lookup", "--sandbox", "order-1001", "--resume", str(out)]
    with out.open("wb") as truncating:
        refused = subprocess.run(
            command, stdout=truncating, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False
        )
    assert refused.returncode == 2
    assert f"continue it with '>> {out}'" in refused.stderr.decode()
    with out.open("ab") as appending:
        done = subprocess.run(
            command, stdout=appending, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False
        )
    assert done.returncode == 0, done.stderr
    assert [line["orderId"] for line in lines_of(out.read_text("utf-8"))] == ["order-1001"]


def _cut_off_output(tmp_path: Path) -> tuple[Path, bytes]:
    """An earlier run's output whose last line was cut off mid-way (a kill -9): a whole
    line for order-1001, then half of order-1002's line, no newline."""
    earlier = itnio("records", "lookup", "--sandbox", "order-1001")
    assert earlier.returncode == 0, earlier.stderr
    other = itnio("records", "lookup", "--sandbox", "order-1002")
    fragment = other.stdout.encode()[:40]
    out = tmp_path / "out.jsonl"
    out.write_bytes(earlier.stdout.encode() + fragment)
    return out, fragment


def _resume(out: Path, stdout: Any) -> subprocess.CompletedProcess[bytes]:
    """`itnio records lookup --sandbox order-1001..1004 --resume OUT` with this stdout."""
    ids = [f"order-{n}" for n in range(1001, 1005)]
    command = [str(ITNIO), "records", "lookup", "--sandbox", *ids, "--resume", str(out)]
    return subprocess.run(
        command, stdout=stdout, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False
    )


def test_resume_ends_a_cut_off_last_line_before_appending(tmp_path: Path) -> None:
    """`--resume OUT >> OUT` after a hard kill: the fragment is ended with a newline, so
    no line is glued onto it; the fragment's id is looked up again and every other line
    is whole JSON."""
    out, fragment = _cut_off_output(tmp_path)
    with out.open("ab") as append:
        resumed = _resume(out, append)
    assert resumed.returncode == 0, resumed.stderr
    assert "ended in a cut-off line" in resumed.stderr.decode()
    lines = out.read_bytes().split(b"\n")
    assert lines[1] == fragment
    assert lines[-1] == b""
    parsed = [json.loads(line) for line in lines[:1] + lines[2:-1]]
    assert sorted(line["orderId"] for line in parsed) == [f"order-{n}" for n in range(1001, 1005)]
    assert all(line["ok"] for line in parsed)


def test_resume_into_another_file_warns_about_a_cut_off_line(tmp_path: Path) -> None:
    """When the output is not OUT, OUT is left as it is and stderr says how to end its
    cut-off line before appending; the fragment's id is looked up again."""
    out, fragment = _cut_off_output(tmp_path)
    resumed = _resume(out, subprocess.PIPE)
    assert resumed.returncode == 0, resumed.stderr
    assert out.read_bytes().endswith(fragment)
    assert f"end that line: echo >> {out}" in resumed.stderr.decode()
    done = sorted(line["orderId"] for line in lines_of(resumed.stdout.decode()))
    assert done == ["order-1002", "order-1003", "order-1004"]


def test_lookup_shows_a_progress_bar_when_stderr_is_a_terminal(tmp_path: Path) -> None:
    """With stderr on a terminal a progress bar with a rate is drawn there, never on stdout."""
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"order-{1001 + i % 4}\n" for i in range(200)), encoding="utf-8")
    out_path = tmp_path / "out.jsonl"
    primary, secondary = pty.openpty()
    with out_path.open("wb") as out:
        process = subprocess.Popen(
            [str(ITNIO), "records", "lookup", "--sandbox", "--file", str(ids)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=secondary,
        )
        os.close(secondary)
        screen = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            screen += chunk
        assert process.wait(timeout=TIMEOUT) == 0
    os.close(primary)
    text = screen.decode("utf-8", "replace")
    assert "ids/s" in text
    assert "200/200" in text
    assert "records lookup: 200 ok, 0 failed (200 order ids)" in text
    lines = out_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 200
    assert all(json.loads(line)["ok"] for line in lines)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sandbox_serve_answers_signed_calls_and_stops_cleanly(signum: signal.Signals) -> None:
    """`itnio sandbox serve` on a free loopback port checks signatures and exits 0 on a signal."""
    process = subprocess.Popen(
        [
            str(ITNIO),
            "sandbox",
            "serve",
            "--port",
            "0",
            "--api-key",
            "srvKey01",
            "--api-secret",
            "srvSecret",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("itnio sandbox serving at http://127.0.0.1:")
        base_url = first.split()[-1]
        assert base_url.endswith("/otp")

        async def calls() -> tuple[list[int], type[BaseException] | None]:
            async with AsyncItnio("srvKey01", "srvSecret", base_url=base_url) as client:
                templates = await client.templates.list()
            async with AsyncItnio("srvKey01", "wrongSecret", base_url=base_url) as client:
                try:
                    await client.flows.list()
                except AuthenticationError as exc:
                    return [t.template_id for t in templates], type(exc)
            return [t.template_id for t in templates], None

        template_ids, refused = asyncio.run(calls())
        assert template_ids == [455, 456]
        assert refused is AuthenticationError
        process.send_signal(signum)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert out.rstrip().endswith("itnio sandbox stopped")
    assert "Traceback" not in err


def test_sandbox_serve_shows_each_delivery_with_a_fixed_code() -> None:
    """`serve --fixed-code` prints each delivery and serves it at /_sandbox/deliveries."""
    process = subprocess.Popen(
        [str(ITNIO), "sandbox", "serve", "--port", "0", "--fixed-code", "246810"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner: list[str] = []
        while not banner or banner[-1] != "Press Ctrl-C to stop.":
            banner.append(process.stdout.readline().rstrip("\n"))
        base_url = banner[0].split()[-1]
        seeded = re.search(r"appId: (\w+); templateIds: (\d+)", "\n".join(banner))
        assert seeded is not None
        assert f"  deliveries: GET {base_url[: -len('/otp')]}/_sandbox/deliveries" in banner
        assert (
            "  every send delivers the code 246810, repeated or cut to the template's code length"
            in banner
        )

        async def send_and_verify() -> tuple[str, bool]:
            async with AsyncItnio("test-key", "test-secret", base_url=base_url) as client:
                sent = await client.verifications.send(
                    app_id=seeded.group(1), template_id=int(seeded.group(2)), to="8613900000123"
                )
                result = await client.verifications.verify(sent.verification_id, "246810")
            return sent.verification_id, result.ok

        verification_id, verified = asyncio.run(send_and_verify())
        printed = process.stdout.readline().rstrip("\n")
        page = httpx.get(
            base_url.removesuffix("/otp") + "/_sandbox/deliveries",
            params={"to": "8613900000123"},
            timeout=TIMEOUT,
        )
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert verified
    assert printed == (
        f"delivered: to 8613900000123 code 246810 verificationId {verification_id} (sms, send)"
    )
    assert page.status_code == 200
    assert [(d["code"], d["verificationId"]) for d in page.json()] == [("246810", verification_id)]
    assert process.returncode == 0
    assert out.rstrip().endswith("itnio sandbox stopped")
    assert "Traceback" not in err


@pytest.mark.parametrize("options", [(), ("--fixed-code", "246810")], ids=["random", "fixed"])
def test_sandbox_ids_are_the_ids_serve_has(options: tuple[str, ...]) -> None:
    """`itnio sandbox ids` with serve's options prints exactly the app, verification ids
    and codes a served sandbox delivered, and both print the seeded send limits."""
    listed = itnio("sandbox", "ids", *options)
    assert listed.returncode == 0, listed.stderr
    ids = json.loads(listed.stdout)
    assert ids["periodTotalSendLimit"] == {"enabled": True, "unit": 1, "period": 1, "limit": 10000}
    assert ids["periodPhoneSendLimit"] == {"enabled": True, "unit": 2, "period": 1, "limit": 20}
    limits = "10,000 sends per day in all (then -27), 20 sends per hour per number (then -28)"
    assert limits in listed.stderr
    process = subprocess.Popen(
        [str(ITNIO), "sandbox", "serve", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner: list[str] = []
        while not banner or banner[-1] != "Press Ctrl-C to stop.":
            line = process.stdout.readline()
            assert line, "serve ended before its banner"
            banner.append(line.rstrip("\n"))
        base_url = banner[0].removeprefix("itnio sandbox serving at ")
        answer = httpx.get(base_url.removesuffix("/otp") + "/_sandbox/deliveries", trust_env=False)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=TIMEOUT)
    delivered = answer.json()
    assert [d["verificationId"] for d in delivered] == ids["verificationIds"]
    assert [d["code"] for d in delivered] == ids["codes"]
    assert {d["appId"] for d in delivered} == {ids["appId"]}
    assert any(limits in line for line in banner)
