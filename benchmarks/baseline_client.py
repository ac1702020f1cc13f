"""The yardstick: a minimal hand-written client of Eden AI's v2 batch protocol, as a competent user would write it.

Chunks of 500 requests, at most 5 jobs at a time (an asyncio semaphore), launch with POST, poll page 1 with GET until
the job stops processing, read every page up to `last_page`, DELETE the job, then `pd.json_normalize` the provider
objects into columns on the input index. No retries, no deduplication, no cache, no typed columns: the least work
that still gets the right rows back, so that edenframe's overhead over it is what the benchmark measures.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pandas as pd

CHUNK = 500
MAX_JOBS = 5


async def _run_job(
    session: aiohttp.ClientSession,
    url: str,
    chunk: list[dict[str, Any]],
    limit: asyncio.Semaphore,
    poll_interval: float,
) -> list[dict[str, Any]]:
    async with limit:
        async with session.post(url, json={"requests": chunk}) as response:
            response.raise_for_status()
            await response.read()
        while True:
            async with session.get(url, params={"page": 1}) as response:
                response.raise_for_status()
                page = await response.json()
            if page["status"] != "processing":
                break
            await asyncio.sleep(poll_interval)
        requests = list(page["requests"])
        for number in range(2, int(page["last_page"]) + 1):
            async with session.get(url, params={"page": number}) as response:
                response.raise_for_status()
                requests.extend((await response.json())["requests"])
        async with session.delete(url) as response:
            await response.read()
    return requests


async def arun(
    texts: list[str],
    *,
    base_url: str,
    api_key: str,
    path: str = "text/sentiment_analysis",
    provider: str = "synthetic",
    params: dict[str, Any] | None = None,
    poll_interval: float = 0.25,
) -> pd.DataFrame:
    """One column of results per field of the provider object, one row per input text (in input order)."""
    items = [{**(params or {}), "text": text, "providers": provider, "name": str(i)} for i, text in enumerate(texts)]
    chunks = [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]
    run_id = uuid.uuid4().hex[:12]
    limit = asyncio.Semaphore(MAX_JOBS)
    headers = {"Authorization": f"Bearer {api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        pages = await asyncio.gather(
            *(
                _run_job(session, f"{base_url}/{path}/batch/baseline-{run_id}-{number}/", chunk, limit, poll_interval)
                for number, chunk in enumerate(chunks)
            )
        )
    objects: list[dict[str, Any]] = [{} for _ in texts]
    for requests in pages:
        for request in requests:
            response = request.get("response") or {}
            objects[int(request["name"])] = response.get(provider) or {}
    return pd.json_normalize(objects)


def run(texts: list[str], **options: Any) -> pd.DataFrame:
    """Synchronous wrapper of `arun`."""
    return asyncio.run(arun(texts, **options))
