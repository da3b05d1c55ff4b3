"""Client CPU per call, in-process (``httpx.MockTransport``, no sockets).

Compares, per call, in µs of process CPU:

* ``sdk``            ``client.records.get_by_order_id`` — validate, sign, send,
  envelope, decode into ``Record``
* ``httpx-post``     bare ``httpx.AsyncClient``: signed ``post`` + ``json()``
  (the target: ``sdk`` ≤ 1.1× this)
* ``httpx-send``     bare ``AsyncClient.send(prebuilt Request)`` + ``json()``
* ``transport``      ``transport.handle_async_request`` + ``aread`` + ``json.loads``

and the decode of one record response: the SDK's (``json.loads`` + envelope + cattrs
into attrs) against a typed ``msgspec`` decoder of the same JSON (``pip install msgspec``).

    python benchmarks/bench_call_cpu.py [--calls 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from _common import API_KEY, API_SECRET, CLIENT_CPU, RECORD_DATA, pin, summary

BASE = "http://bench.invalid/otp"
URL = BASE + "/verification/orderId/record"
APP_ID = "ad454212"
BODY = json.dumps({"status": "0", "reason": "success", "data": RECORD_DATA}, indent=4).encode()
HEADERS = [(b"Content-Type", b"application/json;charset=UTF-8")]


def _handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers=HEADERS, content=BODY)


def _signed() -> dict[str, str]:
    ts = str(int(time.time()))
    sign = hashlib.md5((API_KEY + API_SECRET + ts).encode(), usedforsecurity=False).hexdigest()
    return {
        "Content-Type": "application/json;charset=UTF-8",
        "Sign": sign,
        "Timestamp": ts,
        "Api-Key": API_KEY,
    }


async def _timed(call: Callable[[int], Awaitable[Any]], calls: int) -> float:
    for i in range(200):  # warm caches, the converter, the pool
        await call(i)
    start = time.process_time()
    for i in range(calls):
        await call(i)
    return (time.process_time() - start) / calls * 1e6


async def measure_calls(calls: int) -> dict[str, float]:
    """µs of CPU per call for each path."""
    from itnio_async import AsyncItnio

    out: dict[str, float] = {}
    transport = httpx.MockTransport(_handler)
    async with AsyncItnio(API_KEY, API_SECRET, base_url=BASE, transport=transport) as client:
        records = client.records

        async def sdk(i: int) -> Any:
            return await records.get_by_order_id(str(i), app_id=APP_ID)

        out["sdk"] = await _timed(sdk, calls)

    async with httpx.AsyncClient(transport=httpx.MockTransport(_handler)) as http:

        async def post(i: int) -> Any:
            body = json.dumps({"appId": APP_ID, "orderId": str(i)}).encode()
            return (await http.post(URL, content=body, headers=_signed())).json()

        async def send(i: int) -> Any:
            body = json.dumps({"appId": APP_ID, "orderId": str(i)}).encode()
            request = httpx.Request("POST", URL, content=body, headers=_signed())
            return (await http.send(request)).json()

        out["httpx-post"] = await _timed(post, calls)
        out["httpx-send"] = await _timed(send, calls)

    bare = httpx.MockTransport(_handler)

    async def direct(i: int) -> Any:
        body = json.dumps({"appId": APP_ID, "orderId": str(i)}).encode()
        request = httpx.Request("POST", URL, content=body, headers=_signed())
        response = await bare.handle_async_request(request)
        return json.loads(await response.aread())

    out["transport"] = await _timed(direct, calls)
    return out


def measure_decode(rounds: int) -> dict[str, float]:
    """µs per decode of one record response (bytes → typed object)."""
    from itnio_async import Record
    from itnio_async._converter import structure

    def sdk_decode() -> Any:
        payload = json.loads(BODY)
        if payload["status"] != "0":
            raise AssertionError
        return structure(payload["data"], Record)

    out = {
        "json.loads": _loop(lambda: json.loads(BODY), rounds),
        "sdk (json.loads + cattrs)": _loop(sdk_decode, rounds),
        "cattrs only": _loop(lambda: structure(json.loads(BODY)["data"], Record), rounds)
        - _loop(lambda: json.loads(BODY), rounds),
    }
    try:
        decoder = _msgspec_decoder()
    except ImportError:
        return out
    out["msgspec typed Struct"] = _loop(lambda: decoder.decode(BODY), rounds)
    return out


def _loop(fn: Callable[[], Any], rounds: int) -> float:
    for _ in range(200):
        fn()
    start = time.process_time()
    for _ in range(rounds):
        fn()
    return (time.process_time() - start) / rounds * 1e6


def _msgspec_decoder() -> Any:
    from _msgspec_record import DECODER

    return DECODER


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--variant", default="", help="prototypes of variants.py, comma-separated")
    args = parser.parse_args()
    pin(CLIENT_CPU)
    if args.variant:
        import variants

        variants.apply(args.variant)
    calls: dict[str, list[float]] = {}
    decode: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for k, val in asyncio.run(measure_calls(args.calls)).items():
            calls.setdefault(k, []).append(val)
        for k, val in measure_decode(args.calls).items():
            decode.setdefault(k, []).append(val)
    print("| path | µs/call (median, min–max) |")
    print("|---|---|")
    for k, vals in calls.items():
        print(f"| {k} | {summary(vals, '{:.1f}')} |")
    ratios = [s / p for s, p in zip(calls["sdk"], calls["httpx-post"], strict=True)]
    print(f"| **sdk / httpx-post** | **{summary(ratios, '{:.2f}')}×** |")
    print()
    print("| decode one record response | µs (median, min–max) |")
    print("|---|---|")
    for k, vals in decode.items():
        print(f"| {k} | {summary(vals, '{:.1f}')} |")


if __name__ == "__main__":
    main()
