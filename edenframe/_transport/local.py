"""The offline `local` provider run in process: backends work in a worker thread so the event loop never blocks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .._catalog import Subfeature
from .._config import Settings
from .._gc import collector_paused
from .._local import local_compute, local_min_chunk
from .base import Outcome, OutcomeCallback, Recall, TransportStats, Wiring

LOCAL = "local"

# Items per call into a backend: the first call is small (it also loads the model, and OCR of 256 pages would hide
# progress for a minute); later calls are sized to take about `Settings.local_chunk_seconds`, growing at most
# GROWTH-fold a call, and never below the backend's MIN_CHUNK_ITEMS (translation starts a process per call; OCR and
# speech run several items at once).
FIRST_CHUNK = 8
MAX_CHUNK = 8192
GROWTH = 8
# After a chunk crashes its backend, its rows are retried one at a time; when the first PROBE_ITEMS of them fail too,
# the backend is failing on everything (a model that does not load, say): the chunk's other rows and every later chunk
# fail at once with its message, instead of costing a call each.
PROBE_ITEMS = 8


def next_chunk_size(done: int, seconds: float, target: float, floor: int) -> int:
    """The size of the next chunk, after `done` items took `seconds` (0: unknown), never below `floor`."""
    fitting = int(target * done / seconds) if seconds > 0 else MAX_CHUNK
    return max(floor, min(MAX_CHUNK, done * GROWTH, fitting))


class LocalTransport:
    """Answers request items with `{"local": <provider object>}` computed by `edenframe._local`."""

    def __init__(self, wiring: Wiring) -> None:
        self.settings: Settings = wiring.settings
        self.stats = TransportStats()

    async def send(
        self,
        entry: Subfeature,
        items: list[dict[str, Any]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None = None,  # nothing here is owned by another process
    ) -> None:
        compute = local_compute(entry.path)
        floor = local_min_chunk(entry.path)
        broken: list[str] = []  # set once the backend is found to fail on every input: its message

        def objects_of(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
            objects = compute(chunk)
            if len(objects) != len(chunk):
                raise RuntimeError(f"the backend returned {len(objects)} results for {len(chunk)} inputs")
            return objects

        def failure(exc: Exception) -> str:
            return f"local {entry.path} failed: {type(exc).__name__}: {exc}"

        def one_by_one(chunk: list[dict[str, Any]]) -> dict[str, Outcome]:
            # Backends fail bad inputs themselves; a crash comes from a library working on a whole batch. Alone, each
            # row either gets its result or shows that it is one that crashes the backend.
            answered: dict[str, Outcome] = {}
            failed = 0
            for position, item in enumerate(chunk):
                if broken:
                    answered[item["name"]] = Outcome(error=broken[0])
                    continue
                try:
                    [obj] = objects_of([item])
                except Exception as exc:
                    answered[item["name"]] = Outcome(error=failure(exc))
                    failed += 1
                    if failed == position + 1 == PROBE_ITEMS:
                        broken.append(failure(exc))
                else:
                    answered[item["name"]] = Outcome(response={LOCAL: obj})
            return answered

        def outcomes(chunk: list[dict[str, Any]]) -> tuple[dict[str, Outcome], bool]:
            """The chunk's outcomes, and whether the backend crashed on it."""
            # Backends build a few small objects per row: a collection during a chunk would walk every row of the run
            # so far, so the collector waits until the chunk is done (any cyclic garbage waits one chunk at most).
            with collector_paused():
                try:
                    objects = objects_of(chunk)
                except Exception as exc:
                    if broken or len(chunk) == 1:
                        message = broken[0] if broken else failure(exc)
                        return {item["name"]: Outcome(error=message) for item in chunk}, True
                    return one_by_one(chunk), True
                pairs = zip(chunk, objects, strict=True)
                return {item["name"]: Outcome(response={LOCAL: obj}) for item, obj in pairs}, False

        # Each hop to the worker thread costs ~0.1 ms, more than a whole chunk of fast backends (language detection
        # answers in 30 µs), so chunks are sized by time rather than by count.
        start, size = 0, max(FIRST_CHUNK, floor)
        target = self.settings.local_chunk_seconds
        while start < len(items):
            chunk = items[start : start + size]
            began = time.perf_counter()
            answered, crashed = await asyncio.to_thread(outcomes, chunk)
            self.stats.items_sent += len(chunk)
            on_outcomes(answered)
            start += len(chunk)
            # a crashed chunk's time says nothing about the backend's speed: grow as if it had been quick
            seconds = 0.0 if crashed else time.perf_counter() - began
            size = next_chunk_size(len(chunk), seconds, target, floor)
