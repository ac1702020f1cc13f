"""The offline `local` provider run in process: backends work in a worker thread so the event loop never blocks."""

from __future__ import annotations

import asyncio
from typing import Any

from .._catalog import Subfeature
from .._collector import collector_paused
from .._config import Settings
from .._local import local_compute
from . import Outcome, OutcomeCallback

LOCAL = "local"


class LocalTransport:
    """Answers request items with `{"local": <provider object>}` computed by `edenframe._local`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, entry: Subfeature, items: list[dict[str, Any]], on_outcomes: OutcomeCallback) -> None:
        compute = local_compute(entry.path)

        def outcomes(chunk: list[dict[str, Any]]) -> dict[str, Outcome]:
            # Backends build a few small objects per row: a collection during a chunk would walk every row of the run
            # so far, so the collector waits until the chunk is done (any cyclic garbage waits one chunk at most).
            with collector_paused():
                objects = compute(chunk)
                return {item["name"]: Outcome(response={LOCAL: obj}) for item, obj in zip(chunk, objects, strict=True)}

        size = max(1, self.settings.local_chunk_size)
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            try:
                answered = await asyncio.to_thread(outcomes, chunk)
            except Exception as exc:  # a backend crash fails its chunk's rows, never the run
                message = f"local {entry.path} failed: {type(exc).__name__}: {exc}"
                answered = {item["name"]: Outcome(error=message) for item in chunk}
            on_outcomes(answered)
