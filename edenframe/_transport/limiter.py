"""Client-side pacing: a token bucket whose rate adapts to the server (halved on each 429, regained slowly)."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """At most `rate` calls per second (None: unlimited until the server pushes back with a 429).

    A 429 halves the allowed rate (down to `floor`; at most once per `cooldown` seconds, so a burst of 429s from
    calls already in flight counts once); every `recover_after` calls without one raise it by 25%, up to the
    configured rate. Shared by every call of a run, so concurrent tasks slow down together.
    """

    def __init__(
        self, rate: float | None = None, *, floor: float = 0.5, recover_after: int = 10, cooldown: float = 1.0
    ) -> None:
        self.ceiling = rate
        self.rate = rate
        self.floor = floor
        self.recover_after = recover_after
        self.cooldown = cooldown
        self._last_cut = -float("inf")
        self.throttled = 0  # how many 429s were seen
        self._next = 0.0
        self._calm = 0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Wait for this call's turn."""
        if self.rate is None:
            return None
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + 1.0 / self.rate
        delay = start - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def on_status(self, status: int | None, *, retry_after: float | None = None, started: float | None = None) -> None:
        """Tell the limiter how a call went (None: a dropped connection). `retry_after` and `started` are accepted
        for `RateBudget`'s interface and ignored: `call()` itself sleeps a Retry-After for this limiter."""
        if status == 429:
            self.throttled += 1
            self._calm = 0
            now = time.monotonic()
            if now - self._last_cut >= self.cooldown:
                self._last_cut = now
                current = self.rate if self.rate is not None else 20.0
                self.rate = max(self.floor, current / 2)
            return
        self._calm += 1
        if self._calm >= self.recover_after and self.rate is not None:
            self._calm = 0
            ceiling = self.ceiling if self.ceiling is not None else float("inf")
            self.rate = min(self.rate * 1.25, ceiling)
