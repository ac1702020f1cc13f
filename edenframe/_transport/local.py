"""The offline `local` provider run in process: backends work in a worker thread so the event loop never blocks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .._catalog import Subfeature
from .._collector import collector_paused
from .._config import Settings
from .._local import local_compute, local_min_chunk
from . import Outcome, OutcomeCallback

LOCAL = "local"

# Items per call into a backend: the first call is small (it also loads the model, and OCR of 256 pages would hide
# progress for a minute); later calls are sized to take about `Settings.local_chunk_seconds`, growing at most
# GROWTH-fold a call. At least 2 items, so backends that run items in parallel (OCR, speech) keep both workers busy,
# and at least the backend's MIN_CHUNK_ITEMS (translation starts a process per call).
FIRST_CHUNK = 8
MIN_CHUNK = 2
MAX_CHUNK = 8192
GROWTH = 8
# Backend calls spent isolating the rows of a chunk that crash a backend: enough to find two rows among 8192; a
# backend that fails on everything fails its chunk after this many quick calls.
SPLIT_CALLS = 32


def next_chunk_size(done: int, seconds: float, target: float, floor: int = MIN_CHUNK) -> int:
    """The size of the next chunk, after `done` items took `seconds` (never below `floor`)."""
    fitting = int(target * done / seconds) if seconds > 0 else MAX_CHUNK
    return max(floor, MIN_CHUNK, min(MAX_CHUNK, done * GROWTH, fitting))


class LocalTransport:
    """Answers request items with `{"local": <provider object>}` computed by `edenframe._local`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, entry: Subfeature, items: list[dict[str, Any]], on_outcomes: OutcomeCallback) -> None:
        compute = local_compute(entry.path)
        floor = local_min_chunk(entry.path)

        def answer(chunk: list[dict[str, Any]], into: dict[str, Outcome], retries: list[int]) -> None:
            try:
                objects = compute(chunk)
                if len(objects) != len(chunk):
                    raise RuntimeError(f"the backend returned {len(objects)} results for {len(chunk)} inputs")
            except Exception as exc:  # a backend crash: find the rows that cause it, never fail the run
                if len(chunk) == 1 or retries[0] < 2:
                    message = f"local {entry.path} failed: {type(exc).__name__}: {exc}"
                    into.update((item["name"], Outcome(error=message)) for item in chunk)
                    return
                # Backends handle bad rows themselves; a crash comes from a library working on a whole batch. Split
                # the chunk until the crashing rows are alone, so its other rows keep their results.
                retries[0] -= 2
                middle = len(chunk) // 2
                answer(chunk[:middle], into, retries)
                answer(chunk[middle:], into, retries)
                return
            for item, obj in zip(chunk, objects, strict=True):
                into[item["name"]] = Outcome(response={LOCAL: obj})

        def outcomes(chunk: list[dict[str, Any]]) -> dict[str, Outcome]:
            # Backends build a few small objects per row: a collection during a chunk would walk every row of the run
            # so far, so the collector waits until the chunk is done (any cyclic garbage waits one chunk at most).
            with collector_paused():
                answered: dict[str, Outcome] = {}
                answer(chunk, answered, [SPLIT_CALLS])
                return answered

        # Each hop to the worker thread costs ~0.1 ms, more than a whole chunk of fast backends (language detection
        # answers in 30 µs), so chunks are sized by time rather than by count.
        start, size = 0, max(FIRST_CHUNK, floor)
        while start < len(items):
            chunk = items[start : start + size]
            began = time.perf_counter()
            on_outcomes(await asyncio.to_thread(outcomes, chunk))
            start += len(chunk)
            size = next_chunk_size(len(chunk), time.perf_counter() - began, self.settings.local_chunk_seconds, floor)
