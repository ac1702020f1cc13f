"""Unit tests of the two small pieces every HTTP call goes through: the retry delay (`backoff_delay`) and the
client-side rate limiter (`RateLimiter`, a token bucket that halves on 429 and recovers slowly).

End-to-end behaviour (429s, 5xx and dropped connections from the emulator) is in test_batch_api.py and
test_unreachable.py; these pin the arithmetic those tests rely on without waiting for a server.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from edenframe._config import Settings
from edenframe._transport.http import backoff_delay
from edenframe._transport.limiter import RateLimiter

# -- backoff_delay -------------------------------------------------------------------------------------------------


def test_backoff_honours_retry_after_within_the_cap() -> None:
    settings = Settings(backoff_base=0.5, backoff_max=30.0)
    assert backoff_delay(settings, 0, "3") == 3.0
    assert backoff_delay(settings, 5, "0.25") == 0.25
    assert backoff_delay(settings, 0, "3600") == 30.0  # capped at backoff_max
    assert backoff_delay(settings, 0, "inf") == 30.0
    assert backoff_delay(settings, 0, "-5") == 0.0


def test_backoff_falls_back_to_jitter_for_an_http_date_or_nothing() -> None:
    settings = Settings(backoff_base=0.5, backoff_max=30.0)
    for attempt in range(12):
        ceiling = min(30.0, 0.5 * 2**attempt)
        for retry_after in (None, "", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"):
            delays = [backoff_delay(settings, attempt, retry_after) for _ in range(50)]
            assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, retry_after)
    spread = {round(backoff_delay(settings, 3, None), 6) for _ in range(50)}
    assert len(spread) > 10  # jittered, so parallel retries do not arrive together


def test_backoff_doubles_from_the_configured_base_up_to_the_cap() -> None:
    settings = Settings(backoff_base=0.01, backoff_max=0.05)
    upper = [max(backoff_delay(settings, attempt) for _ in range(200)) for attempt in range(6)]
    assert upper[0] <= 0.01 and upper[1] <= 0.02 and upper[2] <= 0.04
    assert all(u <= 0.05 for u in upper[3:])  # backoff_max holds however many attempts
    assert upper[1] > 0.01 and upper[2] > 0.02  # and the ceiling really grew


@pytest.mark.parametrize("header", ["nan", "NaN", "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_backoff_of_a_retry_after_that_is_no_number_of_seconds_is_our_own(header: str) -> None:
    # 'nan' once gave a NaN delay, and asyncio.sleep(nan) never returns
    delay = backoff_delay(Settings(backoff_base=0.5, backoff_max=30.0), 0, header)
    assert 0.25 <= delay <= 0.5


def test_backoff_after_very_many_attempts_stays_at_the_cap() -> None:
    # 2**attempt once overflowed a float after ~1000 retries (max_retries is unbounded)
    assert backoff_delay(Settings(backoff_base=0.01, backoff_max=0.05), 2000) <= 0.05


# -- RateLimiter -----------------------------------------------------------------------------------------------------


async def _timed_waits(limiter: RateLimiter, calls: int, *, concurrent: bool = False) -> float:
    started = time.monotonic()
    if concurrent:
        await asyncio.gather(*(limiter.wait() for _ in range(calls)))
    else:
        for _ in range(calls):
            await limiter.wait()
    return time.monotonic() - started


async def test_unlimited_until_the_server_pushes_back() -> None:
    limiter = RateLimiter(None)
    assert await _timed_waits(limiter, 1000) < 0.5
    for _ in range(50):
        limiter.on_status(200)
    assert limiter.rate is None  # successes never invent a limit


@pytest.mark.parametrize("concurrent", [False, True], ids=["one task", "many tasks"])
async def test_calls_are_spaced_at_the_rate(concurrent: bool) -> None:
    # 11 calls at 40/s: the first goes at once, then one every 25 ms, whoever makes them (one bucket per run)
    elapsed = await _timed_waits(RateLimiter(40.0), 11, concurrent=concurrent)
    assert elapsed >= 10 / 40 * 0.95
    assert elapsed < 10 / 40 + 1.0  # generous: a loaded machine is slow, never early


async def test_an_idle_limiter_does_not_save_up_a_burst() -> None:
    limiter = RateLimiter(20.0)
    await limiter.wait()
    await asyncio.sleep(0.3)  # idle for six intervals
    # the next calls are spaced again from now: at most one goes at once
    assert await _timed_waits(limiter, 5) >= 4 / 20 * 0.95


def test_a_429_halves_the_rate_once_per_cooldown() -> None:
    limiter = RateLimiter(16.0, cooldown=3600.0)
    limiter.on_status(429)
    assert limiter.rate == 8.0
    for _ in range(5):  # the burst of 429s from calls already in flight counts once
        limiter.on_status(429)
    assert limiter.rate == 8.0
    assert limiter.throttled == 6  # every 429 is counted for the report


def test_repeated_429s_halve_down_to_the_floor() -> None:
    limiter = RateLimiter(16.0, floor=1.5, cooldown=0.0)
    rates = []
    for _ in range(6):
        limiter.on_status(429)
        rates.append(limiter.rate)
    assert rates == [8.0, 4.0, 2.0, 1.5, 1.5, 1.5]


def test_a_429_without_a_configured_rate_starts_pacing() -> None:
    limiter = RateLimiter(None, cooldown=0.0)
    limiter.on_status(429)
    assert limiter.rate == 10.0  # half of an assumed 20/s
    assert limiter.ceiling is None


def test_calm_calls_win_the_rate_back_slowly_up_to_the_configured_one() -> None:
    limiter = RateLimiter(16.0, recover_after=10, cooldown=0.0)
    limiter.on_status(429)
    limiter.on_status(429)
    assert limiter.rate == 4.0
    for _ in range(9):
        limiter.on_status(200)
    assert limiter.rate == 4.0  # not yet: recover_after calls without a 429
    limiter.on_status(200)
    assert limiter.rate == 5.0  # +25%
    limiter.on_status(429)  # a 429 resets the count of calm calls
    assert limiter.rate == 2.5
    for _ in range(9):
        limiter.on_status(200)
    assert limiter.rate == 2.5
    for _ in range(1000):
        limiter.on_status(200)
    assert limiter.rate == 16.0  # never above the configured rate


async def test_a_halved_rate_slows_the_next_calls() -> None:
    limiter = RateLimiter(100.0, cooldown=0.0)
    fast = await _timed_waits(limiter, 6)
    limiter.on_status(429)
    limiter.on_status(429)  # 25/s
    slow = await _timed_waits(limiter, 6)
    assert slow >= 5 / 25 * 0.95
    assert slow > fast
