"""Client CPU per call, in-process: the SDK against bare httpx on the same ``httpx.MockTransport``.

µs of process CPU (``time.process_time``) per call, no sockets:

* ``sdk transport=``      ``records.get_by_order_id`` on ``AsyncItnio(transport=mock)``
* ``sdk http_client=``    the same on ``AsyncItnio(http_client=httpx.AsyncClient(transport=mock))``
* ``httpx post+json``     bare ``httpx.AsyncClient(transport=mock)``: md5-signed ``post`` +
  ``.json()`` — the baseline of both ratios
* ``sdk transport= + hooks``  one no-op request hook and one no-op response hook set
  (against ``sdk transport=``: what hooks cost)
* ``sdk transport= + no hooks``  ``event_hooks`` given with every list empty (against
  ``sdk transport=``: that hooks cost nothing when none are set)
* ``sdk own share, call`` ``get_by_order_id`` on a transport that returns prebuilt
  responses: the SDK's own work per call, from the method call to the decoded model
* ``sdk own share, bulk c50``  the same per lookup of ``iter_by_order_ids(..., concurrency=50)``
  against the line above: what the bulk helper adds
* ``prebuilt transport``  that transport called directly with a prebuilt request: the
  part of the two lines above that is not the SDK's (a dict look-up in a coroutine)

The mock's handler decodes the request body and answers the documented record
with the asked ``orderId``, the same handler for the SDK and for bare httpx. Every
path has its own client, created once; each repeat runs every path once in an order
rotated by one per repeat, and ratios are computed within a repeat.

    python benchmarks/bench_call_cpu.py [--calls 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from _common import (
    API_KEY,
    API_SECRET,
    APP_ID,
    CLIENT_CPU,
    RECORD_PATH,
    lookup_body,
    median,
    pin,
    record_body,
    rotated,
    signed_headers,
    summary,
    write_json,
)

#: Never resolved (``.invalid``): nothing here may reach a network.
BASE = "https://bench.invalid/otp"
URL = BASE + RECORD_PATH
HEADERS = [(b"Content-Type", b"application/json;charset=UTF-8")]
#: Distinct ids whose answers the prebuilt transport holds.
PREBUILT_IDS = 1000

#: (name, numerator path, denominator path, target of issue 20: at most)
RATIOS = (
    ("SDK via transport= ÷ bare httpx post+json", "sdk transport=", "httpx post+json", 0.5),
    ("SDK via http_client= ÷ bare httpx post+json", "sdk http_client=", "httpx post+json", 1.15),
    ("SDK with 2 no-op hooks ÷ without", "sdk transport= + hooks", "sdk transport=", None),
    ("SDK with empty hook lists ÷ without", "sdk transport= + no hooks", "sdk transport=", None),
)


def _split_body() -> tuple[bytes, bytes, bytes]:
    a, b, c = record_body("\0").split(json.dumps("\0").encode())
    return a, b, c


_A, _B, _C = _split_body()


def answer(order_id: str) -> bytes:
    """The documented record answer for ``order_id``."""
    quoted = json.dumps(order_id).encode()
    return b"".join((_A, quoted, _B, quoted, _C))


def handler(request: httpx.Request) -> httpx.Response:
    """The mock server: the record of the ``orderId`` asked for."""
    order_id = json.loads(request.content)["orderId"]
    return httpx.Response(200, headers=HEADERS, content=answer(order_id))


class PrebuiltTransport(httpx.AsyncBaseTransport):
    """Returns a response built in advance for each known request body: no HTTP work."""

    def __init__(self, n: int) -> None:
        self.responses = {
            lookup_body(str(i)): httpx.Response(200, headers=HEADERS, content=answer(str(i)))
            for i in range(n)
        }

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.responses[request.content]


async def _per_call(call: Callable[[int], Awaitable[Any]], calls: int) -> float:
    start = time.process_time()
    for i in range(calls):
        await call(i % PREBUILT_IDS)
    return (time.process_time() - start) / calls * 1e6


@contextlib.asynccontextmanager
async def paths() -> AsyncIterator[dict[str, Callable[[int], Awaitable[float]]]]:
    """Every measured path: a function of the number of calls, returning µs per call."""
    from itnio_async import AsyncItnio

    def noop(_: object) -> None:
        return None

    async with contextlib.AsyncExitStack() as stack:
        enter = stack.enter_async_context
        sdk_t = await enter(
            AsyncItnio(API_KEY, API_SECRET, base_url=BASE, transport=httpx.MockTransport(handler))
        )
        user = await enter(httpx.AsyncClient(transport=httpx.MockTransport(handler)))
        sdk_u = await enter(AsyncItnio(API_KEY, API_SECRET, base_url=BASE, http_client=user))
        sdk_h = await enter(
            AsyncItnio(
                API_KEY,
                API_SECRET,
                base_url=BASE,
                transport=httpx.MockTransport(handler),
                event_hooks={"request": [noop], "response": [noop]},
            )
        )
        sdk_e = await enter(
            AsyncItnio(
                API_KEY,
                API_SECRET,
                base_url=BASE,
                transport=httpx.MockTransport(handler),
                event_hooks={"request": [], "response": [], "call": []},
            )
        )
        prebuilt = PrebuiltTransport(PREBUILT_IDS)
        sdk_p = await enter(AsyncItnio(API_KEY, API_SECRET, base_url=BASE, transport=prebuilt))
        bare = await enter(httpx.AsyncClient(transport=httpx.MockTransport(handler)))

        def sdk_path(client: AsyncItnio) -> Callable[[int], Awaitable[float]]:
            get = client.records.get_by_order_id

            async def call(i: int) -> Any:
                return await get(str(i), app_id=APP_ID)

            return lambda calls: _per_call(call, calls)

        async def post_json(i: int) -> Any:
            response = await bare.post(URL, content=lookup_body(str(i)), headers=signed_headers())
            return response.json()

        async def bulk(calls: int) -> float:
            ids = (str(i % PREBUILT_IDS) for i in range(calls))
            start = time.process_time()
            async for lookup in sdk_p.records.iter_by_order_ids(ids, app_id=APP_ID, concurrency=50):
                if not lookup.ok:
                    raise AssertionError(lookup.error)
            return (time.process_time() - start) / calls * 1e6

        requests = [
            httpx.Request("POST", URL, content=lookup_body(str(i))) for i in range(PREBUILT_IDS)
        ]

        async def transport_only(i: int) -> Any:
            return await prebuilt.handle_async_request(requests[i])

        yield {
            "sdk transport=": sdk_path(sdk_t),
            "sdk http_client=": sdk_path(sdk_u),
            "httpx post+json": lambda calls: _per_call(post_json, calls),
            "sdk transport= + hooks": sdk_path(sdk_h),
            "sdk transport= + no hooks": sdk_path(sdk_e),
            "sdk own share, call": sdk_path(sdk_p),
            "sdk own share, bulk c50": bulk,
            "prebuilt transport": lambda calls: _per_call(transport_only, calls),
        }


async def measure(calls: int, repeat: int) -> dict[str, list[float]]:
    """µs per call of every path, ``repeat`` interleaved times."""
    results: dict[str, list[float]] = {}
    async with paths() as measured:
        for run in measured.values():  # warm caches, converters, pools
            await run(300)
        for k in range(repeat):
            for name in rotated(list(measured), k):
                results.setdefault(name, []).append(await measured[name](calls))
    return results


def report(results: dict[str, list[float]]) -> tuple[str, dict[str, float]]:
    """Markdown tables and the metrics ``run_all.py`` checks targets against."""
    lines = ["| path | µs/call, median (min–max) |", "|---|---|"]
    lines += [f"| {name} | {summary(vals, '{:.1f}')} |" for name, vals in results.items()]
    lines += ["", "| ratio, same repeat | median (min–max) | target |", "|---|---|---|"]
    metrics: dict[str, float] = {}
    for name, num, den, target in RATIOS:
        values = [a / b for a, b in zip(results[num], results[den], strict=True)]
        metrics[name] = median(values)
        metrics[f"{name} min"] = min(values)
        metrics[f"{name} max"] = max(values)
        lines.append(
            f"| {name} | {summary(values, '{:.2f}')}× | {'' if target is None else f'≤ {target}'} |"
        )

    def extra(path: str, base: str) -> list[float]:
        return [a - b for a, b in zip(results[path], results[base], strict=True)]

    hooks = extra("sdk transport= + hooks", "sdk transport=")
    no_hooks = extra("sdk transport= + no hooks", "sdk transport=")
    bulk_helper = extra("sdk own share, bulk c50", "sdk own share, call")
    metrics["hooks µs"] = median(hooks)
    metrics["empty hooks µs"] = median(no_hooks)
    metrics["own share bulk µs"] = median(results["sdk own share, bulk c50"])
    metrics["own share call µs"] = median(results["sdk own share, call"])
    metrics["bulk minus call µs"] = median(bulk_helper)
    lines += [
        "",
        f"Two no-op hooks add {summary(hooks, '{:+.1f}')} µs per call; hook lists given but "
        f"empty add {summary(no_hooks, '{:+.1f}')} µs (the same code path as none). "
        f"A bulk lookup costs "
        f"{summary(bulk_helper, '{:+.1f}')} µs more than a single call; "
        f"the SDK's own share of a bulk lookup is "
        f"**{summary(results['sdk own share, bulk c50'], '{:.1f}')} µs** "
        f"(of which the prebuilt transport is "
        f"{summary(results['prebuilt transport'], '{:.1f}')} µs).",
    ]
    return "\n".join(lines), metrics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=10_000, help="calls per measurement")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the results here (for run_all.py)")
    args = parser.parse_args()
    pin(CLIENT_CPU)
    results = asyncio.run(measure(args.calls, args.repeat))
    text, metrics = report(results)
    print(text)
    write_json(args.json, {"markdown": text, "metrics": metrics, "results": results})


if __name__ == "__main__":
    main()
