"""The v3 rate budget against a server enforcing the account's limit: throughput as a ratio of the theoretical
minimum (calls / server rate), and the share of calls answered 429.

    python benchmarks/rate_budget.py                     # 10 req/s server, 300 calls per case (about 2 minutes)
    python benchmarks/rate_budget.py --calls 100 --rate 10

The server is the emulator's v3 routes (`edenframe.testing._v3`: `POST /v3/universal-ai` with the synthetic
provider, behind its `AccountRateLimit` token bucket, bursts of `rate`), on loopback in a thread of its own. The
client is `edenframe._transport.rate_budget.RateBudget` driving one request per call, retrying every 429 after the
budget's pause (so nothing is lost), with its configured rate equal to the server's and twice too high, and with
and without `Retry-After` on the 429s. Targets (issue 13): ratio <= 1.05 with under 1% of calls answered 429 when the
budget is right; with a budget 2x too high it adapts (a few % of 429s) and every call completes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edenframe._transport.rate_budget import RateBudget, retry_after_seconds
from edenframe.testing._v3 import AccountRateLimit, V3State, v3_routes

KEY = "bench-key"
MODEL = "text/moderation/synthetic"


class Server:
    """The v3 routes on 127.0.0.1 in a thread with its own loop (so the client's waits never slow the server)."""

    def __init__(self, rate: float, retry_after: str) -> None:
        self.limiter = AccountRateLimit(rate=rate, retry_after=retry_after)  # type: ignore[arg-type]
        self.state = V3State(api_key=KEY, limiter=self.limiter)
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.url = ""

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.add_routes(v3_routes(self.state))
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())

    def __enter__(self) -> Server:
        self.thread.start()
        self.started.wait()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


@dataclass
class Result:
    calls: int
    seconds: float
    answered_429: int
    completed: int

    def ratio(self, rate: float) -> float:
        return self.seconds / (self.calls / rate)

    @property
    def share_429(self) -> float:
        return self.answered_429 / (self.completed + self.answered_429)


async def drive(url: str, budget: RateBudget, calls: int) -> Result:
    """`calls` requests, each retried after every 429 until it succeeds; all spending one budget."""
    refused = completed = 0
    headers = {"Authorization": f"Bearer {KEY}"}

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal refused, completed
        async with budget.slot():
            while True:
                started = await budget.wait()
                body = {"model": MODEL, "input": {"text": f"call {i}"}}
                async with session.post(f"{url}/v3/universal-ai", json=body, headers=headers) as response:
                    answer = await response.json()
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    budget.on_status(response.status, retry_after=wait, started=started)
                if response.status == 429:
                    refused += 1
                    continue
                assert response.status == 200 and answer["status"] == "success", answer
                completed += 1
                return

    connector = aiohttp.TCPConnector(limit=budget.max_in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(one(session, i) for i in range(calls)))
        seconds = time.perf_counter() - t0
    return Result(calls, seconds, refused, completed)


def run_case(server_rate: float, client_rate: float, retry_after: str, calls: int) -> Result:
    with Server(server_rate, retry_after) as server:
        budget = RateBudget(client_rate)
        return asyncio.run(drive(server.url, budget, calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="the server's limit, requests per second")
    args = parser.parse_args()
    print(f"server limit {args.rate:g} req/s, {args.calls} calls per case; minimum {args.calls / args.rate:.1f} s")
    print(f"{'client budget':>14} {'429s carry':>18} {'seconds':>8} {'ratio':>6} {'429 share':>9} {'done':>5}")
    for factor, retry_after in ((1.0, "header"), (1.0, "none"), (2.0, "header"), (2.0, "none")):
        client_rate = args.rate * factor
        result = run_case(args.rate, client_rate, retry_after, args.calls)
        carried = "Retry-After" if retry_after == "header" else "no header"
        print(
            f"{client_rate:>10g} ({factor:g}x) {carried:>18} {result.seconds:>8.2f} {result.ratio(args.rate):>6.3f} "
            f"{result.share_429:>8.1%} {result.completed:>5}"
        )


if __name__ == "__main__":
    main()
