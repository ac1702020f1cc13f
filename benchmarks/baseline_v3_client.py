"""The yardstick for v3: a hand-written Eden AI v3 client, as a competent user would write it in half an hour.

One `POST /v3/universal-ai` per row, at most `concurrency` in flight (an asyncio semaphore), request starts paced by
a token bucket at the account's rate, a 429 retried after its `Retry-After` (1 s when absent, as Eden's own docs
test harness does), then `pd.json_normalize` of the outputs on the input index. No adaptation of the rate, no
deduplication, no cache, no typed columns, no retries of 5xx or dropped connections.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pandas as pd


class TokenBucket:
    """`rate` starts per second: each caller books the next free slot and sleeps until then."""

    def __init__(self, rate: float) -> None:
        self.interval, self.next = 1.0 / rate, 0.0

    async def take(self) -> None:
        now = asyncio.get_running_loop().time()
        self.next = max(self.next, now) + self.interval  # one event loop: no lock needed between these lines
        await asyncio.sleep(self.next - self.interval - now)


async def run(
    texts: list[str], base_url: str, api_key: str, model: str, rate: float = 10.0, concurrency: int = 16
) -> tuple[pd.DataFrame, int]:
    """The outputs of `model` on `texts` as columns, and the number of 429s the server answered."""
    bucket, limit, refused = TokenBucket(rate), asyncio.Semaphore(concurrency), 0
    headers = {"Authorization": f"Bearer {api_key}"}

    async def one(session: aiohttp.ClientSession, text: str) -> dict[str, Any]:
        nonlocal refused
        async with limit:
            while True:
                await bucket.take()
                body = {"model": model, "input": {"text": text}}
                async with session.post(f"{base_url}/universal-ai", json=body, headers=headers) as response:
                    answer = await response.json()
                    if response.status != 429:
                        response.raise_for_status()
                        return answer["output"]
                    refused += 1
                    await asyncio.sleep(float(response.headers.get("Retry-After", 1)))

    async with aiohttp.ClientSession() as session:
        outputs = await asyncio.gather(*(one(session, text) for text in texts))
    return pd.json_normalize(outputs), refused
