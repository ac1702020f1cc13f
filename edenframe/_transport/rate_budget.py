"""The account's rate budget for Eden AI v3: a token bucket on request starts, a cap on requests in flight, and a
rate that adapts to the server's 429s. One budget per (base URL, API key) per process, shared by every thread and
event loop; split between the processes of a Dask cluster.

Eden AI's v3 allows an account about 10 requests per second, shared by all its keys and processes, on every `/v3`
route (launches, polls, uploads, info) and answers any excess with 429 (wire-format-v3.md 3.1; whether it sends
`Retry-After` is not documented). The v3 transport uses one `RateBudget` per account like this::

    budget = budget_for(settings.base_url, api_key, rate=settings.rate_limit)
    async with budget.slot():                    # at most `max_in_flight` requests of the process in flight
        while True:
            started = await budget.wait()        # this request's turn to start
            status, retry_after = await send()
            budget.on_status(status, retry_after=retry_after, started=started)
            if status != 429: break              # (and the transport's own retry rules for 5xx, drops)

Why it is built this way:

- **Reservations, not a polling loop.** `wait()` reserves the next start time under a `threading.Lock` (a GCRA,
  which is a token bucket of `burst` tokens written as "theoretical arrival time") and sleeps until then with
  `asyncio.sleep` on the caller's own loop. edenframe runs sync calls on private background-thread loops and users
  call from several threads, so nothing here may be an asyncio primitive bound to one loop. A reservation made
  before the budget changed (a rate cut, a pause) is taken again when its sleeper wakes, so a cut applies at once to
  every request not yet started, not after the queue of those already waiting; so is one whose sleeper woke too
  late (a stalled loop), so the bookings of a stall never leave together.
- **The in-flight cap** is a semaphore built on the same thread lock; a waiter is woken on its own loop with
  `call_soon_threadsafe`, a slot is handed over directly (no stampede), and a cancelled waiter gives back a slot it
  was handed.
- **On 429.** With `Retry-After` (header or body), every request of the process pauses until then, not only the one
  refused: the server said when its next token is free. Without it, the process pauses for a backoff that doubles
  with each new 429 (from one request interval, capped at `max_pause`). In both cases the rate is cut, once per piece
  of news: a 429 for a request started before the last cut (or, when the caller does not say when it started,
  within `cooldown` of it) says nothing new. The cut goes to `settle` times the rate the server sustained (what
  succeeded over the last second when that is clearly below our rate: a client set 2x too high lands there at its
  second cut), else to `settle` times the rate at which the 429 came; never below half the rate nor `floor`.
- **Recovery** (multiplicative decrease, gentle increase): the rate where a 429 came is remembered as the known
  limit. Below `settle` of it the rate doubles per second of successes (a deep cut heals in a second or two); from
  there it creeps up by `probe` of the known limit per second, a creep that doubles every 10 s without a 429 (so a
  limit that was raised, or a neighbour that went quiet, is found again), never above the configured rate. The
  creep is slow on purpose: each probe past the limit costs a 429 or two, so a slow creep keeps the 429 share to a
  percent or so while losing only a few percent of throughput (measured in benchmarks/rate_budget.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

DEFAULT_RATE = 10.0  # Eden AI's documented default for a v3 account (requests per second)
DEFAULT_IN_FLIGHT = 32  # in flight ~ rate x latency; wire-format-v3 7.2 suggests 16-32 to start with

_WINDOW = 1.0  # seconds of successes that measure what the server sustains
_LATE = 0.02  # seconds a waiter may wake up after its booked start and still use it (timer jitter)
_DOUBLING = 10.0  # seconds without a 429, above the known limit, after which the creep doubles


@dataclass(frozen=True)
class BudgetStats:
    """A snapshot of a budget: its current and configured rate, what it let through and what the server refused."""

    rate: float  # starts per second allowed now
    ceiling: float  # the configured rate
    known_limit: float | None  # the rate at which the server last said 429 (None: it never did)
    started: int  # requests let start
    succeeded: int  # answers that were not a 429 (nor a dropped connection)
    throttled: int  # 429s seen
    cuts: int  # times the rate was lowered
    paused_seconds: float  # process-wide pauses imposed (Retry-After or backoff), summed
    in_flight: int
    peak_in_flight: int

    @property
    def throttled_share(self) -> float:
        """429s as a share of the answers received (0.0 before any)."""
        answered = self.succeeded + self.throttled
        return self.throttled / answered if answered else 0.0


class Booking(NamedTuple):
    """A start booked by `RateBudget.reserve()`."""

    delay: float  # seconds to wait
    generation: int | None  # the budget's state it was booked under (None: paused, book again after the delay)
    start: float  # when it may start (clock seconds)
    tat: float  # the bucket's next theoretical start after this booking (to give the place back if cancelled)


class _Waiter:
    __slots__ = ("future", "granted", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        self.loop = loop
        self.future = future
        self.granted = False


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class RateBudget:
    """At most `rate` request starts per second (bursts of `burst`) and `max_in_flight` requests in flight, shared
    by every thread and event loop that uses this object; the rate adapts to the server's 429s (module docstring).

    Thread-safe: state changes under a `threading.Lock`; waits happen on the caller's own event loop. `clock` is a
    monotonic clock in seconds (a fake one in tests: `reserve()` and `on_status()` then run without sleeping).
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        *,
        burst: float = 2.0,
        max_in_flight: int = DEFAULT_IN_FLIGHT,
        floor: float = 0.2,
        settle: float = 0.95,
        probe: float = 0.005,
        cooldown: float = 1.0,
        max_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_rate(rate)
        if not burst >= 1:
            raise ValueError(f"burst must allow one request (>= 1), got {burst!r}")
        if int(max_in_flight) < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight!r}")
        self.burst = float(burst)
        self.max_in_flight = int(max_in_flight)
        self.floor = float(floor)
        self.settle = float(settle)
        self.probe = float(probe)
        self.cooldown = float(cooldown)
        self.max_pause = float(max_pause)
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        # the bucket (GCRA): the next start's theoretical time; a reservation is valid while `_generation` holds
        self._ceiling = float(rate)
        self._rate = float(rate)
        self._tat = now
        self._generation = 0
        self._paused_until = -math.inf
        # adaptation
        self._known: float | None = None
        self._last_cut = -math.inf
        self._above_since: float | None = None  # when the rate last reached the known limit
        self._last_growth = now
        self._backoff_level = 0
        self._streak = 0
        self._recent_ok: deque[float] = deque()
        self._first_ok: float | None = None
        # in flight
        self._in_flight = 0
        self._peak = 0
        self._queue: deque[_Waiter] = deque()
        # counters
        self._started = 0
        self._succeeded = 0
        self._throttled = 0
        self._cuts = 0
        self._paused_total = 0.0

    def __repr__(self) -> str:
        return f"RateBudget(rate={self._rate:.3g}, ceiling={self._ceiling:.3g}, in_flight={self._in_flight})"

    # -- the configured rate -------------------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """Starts per second allowed now (the configured rate, or less after 429s)."""
        return self._rate

    @property
    def ceiling(self) -> float:
        """The configured rate, which adaptation never exceeds."""
        return self._ceiling

    def set_rate(self, rate: float) -> None:
        """Change the configured rate (a new `configure(rate_limit=)`, or this process's share of a cluster)."""
        _check_rate(rate)
        with self._lock:
            if float(rate) == self._ceiling:
                return
            self._ceiling = float(rate)
            self._rate = min(self._rate, self._ceiling) if self._known is not None else self._ceiling
            # bookings made at the old rate book again; a new setting starts from a full bucket, like a new budget
            self._generation += 1
            self._tat = max(self._clock(), self._paused_until)

    # -- request starts ------------------------------------------------------------------------------------------

    def reserve(self) -> Booking:
        """Book the next start: how long to wait, and the booking's generation (None while the process is paused:
        wait, then book again). After the wait the caller may start if `confirm(booking)` says so, else books
        again. `wait()` does all this."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return Booking(self._paused_until - now, None, self._paused_until, self._tat)
            interval = 1.0 / self._rate
            tau = (self.burst - 1.0) * interval
            start = max(now, self._tat - tau)
            self._tat = max(self._tat, start) + interval
            return Booking(start - now, self._generation, start, self._tat)

    def confirm(self, booking: Booking) -> bool:
        """Whether a booked start may happen now (counted as started if so). Not when the budget changed since it
        was booked (a cut, a pause), nor when its caller woke up too late (a stalled loop, a busy machine): the
        starts booked during a stall would otherwise all go at once, a burst the bucket never allows."""
        with self._lock:
            now = self._clock()
            if booking.generation != self._generation or now < self._paused_until:
                return False
            interval = 1.0 / self._rate
            if now - booking.start > max((self.burst - 0.5) * interval, _LATE):
                return False
            self._started += 1
            return True

    def _refund(self, booking: Booking) -> None:
        """A booked start that will not happen (its waiter was cancelled) frees its place if it was the last one."""
        with self._lock:
            if booking.generation == self._generation and self._tat == booking.tat:
                self._tat -= 1.0 / self._rate

    async def wait(self) -> float:
        """Wait for this request's turn to start; returns the start time (pass it to `on_status` as `started`)."""
        while True:
            booking = self.reserve()
            if booking.generation is None:
                await asyncio.sleep(booking.delay)
                continue
            if booking.delay > 0:
                try:
                    await asyncio.sleep(booking.delay)
                except asyncio.CancelledError:
                    self._refund(booking)
                    raise
            if self.confirm(booking):
                return booking.start

    # -- requests in flight --------------------------------------------------------------------------------------

    async def acquire(self) -> None:
        """Take one of the `max_in_flight` slots, waiting on the caller's loop when all are taken."""
        with self._lock:
            if self._in_flight < self.max_in_flight and not self._queue:
                self._take_slot()
                return
            loop = asyncio.get_running_loop()
            waiter = _Waiter(loop, loop.create_future())
            self._queue.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                if waiter.granted:
                    self._hand_over()  # the slot was ours already: pass it on
                elif waiter in self._queue:  # (a releaser may have dropped it from the queue as cancelled)
                    self._queue.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back (to the longest waiting caller, on whichever loop it waits)."""
        with self._lock:
            self._hand_over()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """`async with budget.slot():` one request (and its retries) in flight."""
        await self.acquire()
        try:
            yield
        finally:
            self.release()

    def _take_slot(self) -> None:
        self._in_flight += 1
        self._peak = max(self._peak, self._in_flight)

    def _hand_over(self) -> None:
        """Pass a held slot to the first waiter still waiting, else free it. Called with the lock held."""
        while self._queue:
            waiter = self._queue.popleft()
            if waiter.future.cancelled():
                continue
            try:
                waiter.loop.call_soon_threadsafe(_grant, waiter.future)
            except RuntimeError:
                continue  # its loop is closed: nobody left to hand the slot to
            waiter.granted = True
            return
        self._in_flight -= 1

    # -- what the server said ------------------------------------------------------------------------------------

    def on_status(self, status: int | None, *, retry_after: float | None = None, started: float | None = None) -> None:
        """Tell the budget how a request went: its HTTP status (None: the connection dropped), the seconds of its
        `Retry-After` if it had one (see `retry_after_seconds`), and the start time `wait()` returned if known."""
        with self._lock:
            now = self._clock()
            if status == 429:
                self._throttled += 1
                self._on_429(now, retry_after, started)
            elif status is not None and status < 500:
                self._succeeded += 1
                self._backoff_level = 0
                self._note_success(now)
                self._grow(now)

    def on_retry_after(self, seconds: float) -> None:
        """The server asked to come back in `seconds`: every request of the process pauses until then."""
        with self._lock:
            self._pause(self._clock(), seconds)

    def _on_429(self, now: float, retry_after: float | None, started: float | None) -> None:
        news = (started >= self._last_cut) if started is not None else (now - self._last_cut >= self.cooldown)
        if news:
            self._cut(now)
        if retry_after is not None:
            self._pause(now, retry_after)
        elif news:
            self._backoff_level += 1
            self._pause(now, (2 ** (self._backoff_level - 1)) / self._rate)

    def _cut(self, now: float) -> None:
        rate = self._rate
        # 429s that keep coming, each after a cut and within a second of it, mean the cuts are too timid (the
        # server's burst hid the limit): each one in a row cuts twice as deep (0.95, 0.90, 0.81, 0.66 of the rate).
        self._streak = self._streak + 1 if now - self._last_cut < _WINDOW else 0
        new = rate * self.settle ** (2**self._streak)
        sustained = self._sustained(now)
        if sustained is not None and sustained < 0.8 * rate:
            new = min(new, self.settle * sustained)  # far above what the server lets through: go straight there
        self._rate = min(self._ceiling, max(self.floor, 0.5 * rate, new))
        self._known = self._rate / self.settle
        self._last_cut = now
        self._above_since = None
        self._last_growth = now
        self._cuts += 1
        self._invalidate(now)

    def _sustained(self, now: float) -> float | None:
        """Successful answers per second over the last `_WINDOW` seconds (None until that much history)."""
        if self._first_ok is None or now - self._first_ok < _WINDOW:
            return None
        while self._recent_ok and self._recent_ok[0] < now - _WINDOW:
            self._recent_ok.popleft()
        return len(self._recent_ok) / _WINDOW

    def _note_success(self, now: float) -> None:
        if self._first_ok is None:
            self._first_ok = now
        self._recent_ok.append(now)
        while self._recent_ok and self._recent_ok[0] < now - _WINDOW:
            self._recent_ok.popleft()

    def _grow(self, now: float) -> None:
        dt = min(max(now - self._last_growth, 0.0), 1.0)  # idle time is no evidence: at most a second's growth
        self._last_growth = now
        if self._known is None or self._rate >= self._ceiling or now - self._last_cut < self.cooldown:
            return
        target = self.settle * self._known
        if self._rate < target:
            self._rate = min(target, self._rate * 2.0**dt)
        else:
            if self._rate >= self._known and self._above_since is None:
                self._above_since = now
            doublings = (now - self._above_since) / _DOUBLING if self._above_since is not None else 0.0
            self._rate += self.probe * self._known * dt * 2.0 ** min(doublings, 20.0)
        self._rate = min(self._rate, self._ceiling)

    def _pause(self, now: float, seconds: float) -> None:
        until = now + min(max(float(seconds), 0.0), self.max_pause)
        if until <= self._paused_until:
            return
        self._paused_total += until - max(now, self._paused_until)
        self._paused_until = until
        self._invalidate(now)

    def _invalidate(self, now: float) -> None:
        """Every booking not yet started books again; the first start comes one interval after now (or the pause's
        end), so neither a cut nor a pause is followed by a burst."""
        self._generation += 1
        interval = 1.0 / self._rate
        tau = (self.burst - 1.0) * interval
        resume = max(now + interval, self._paused_until)
        self._tat = resume + tau

    # -- reporting -----------------------------------------------------------------------------------------------

    @property
    def stats(self) -> BudgetStats:
        with self._lock:
            return BudgetStats(
                rate=self._rate,
                ceiling=self._ceiling,
                known_limit=self._known,
                started=self._started,
                succeeded=self._succeeded,
                throttled=self._throttled,
                cuts=self._cuts,
                paused_seconds=self._paused_total,
                in_flight=self._in_flight,
                peak_in_flight=self._peak,
            )


def _check_rate(rate: Any) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"rate is requests per second, a number above 0, got {rate!r}")


def retry_after_seconds(value: str | None, body: Any = None, now: float | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds, fractional allowed, or an HTTP date), else from a 429
    body's `retry_after` (an undocumented form seen in Eden's LLM docs), else None."""
    if value:
        text = value.strip()
        try:
            return max(float(text), 0.0)
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return max(moment.timestamp() - (time.time() if now is None else now), 0.0)
    if isinstance(body, dict):
        seconds = body.get("retry_after")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool) and math.isfinite(seconds):
            return max(float(seconds), 0.0)
    return None


# -- one budget per account, per process -------------------------------------------------------------------------

_budgets: dict[tuple[str, str], RateBudget] = {}
_budgets_lock = threading.Lock()


def _account_key(base_url: str, api_key: str | None) -> tuple[str, str]:
    # The key itself is never kept: a digest tells accounts apart without being usable as a credential.
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
    return base_url.rstrip("/"), digest


def budget_for(
    base_url: str, api_key: str | None, *, rate: float = DEFAULT_RATE, max_in_flight: int = DEFAULT_IN_FLIGHT
) -> RateBudget:
    """The process's budget for this (base URL, API key): created on first use, then shared by every call, thread
    and event loop of the process. A different `rate` than before re-configures it (the latest setting wins)."""
    key = _account_key(base_url, api_key)
    with _budgets_lock:
        budget = _budgets.get(key)
        if budget is None:
            budget = _budgets[key] = RateBudget(rate, max_in_flight=max_in_flight)
            return budget
    budget.set_rate(rate)
    return budget


def forget_budgets() -> None:
    """Drop every budget of the process (tests; a fresh start after `configure()` changed accounts)."""
    with _budgets_lock:
        _budgets.clear()


# -- a Dask cluster ----------------------------------------------------------------------------------------------


def _process_identity() -> tuple[str, int]:
    import os
    import socket

    return socket.gethostname(), os.getpid()


def cluster_processes(client: Any = None) -> int | None:
    """How many distinct processes run the workers of the active `distributed` client (None: no such client).

    Workers in one process (`LocalCluster(processes=False)`, or several worker threads) share that process's
    budget through `budget_for`, so processes are counted, not workers. `distributed` is imported only here."""
    if client is None:
        from .._distributed import active_client

        client = active_client()
        if client is None:
            return None
    identities = client.run(_process_identity)  # one round trip per worker, once per graph
    return max(1, len(set(identities.values()))) if identities else None


def cluster_share(rate: float, client: Any = None) -> float:
    """This process's share of the account's `rate` when the work runs on a Dask cluster: `rate` divided by the
    number of worker processes of the active `distributed` client, else `rate` itself.

    Why a fixed share per worker process (computed once, on the client, when the graph is built) rather than a
    cluster-wide token server: `distributed` has no rate primitive. Its `Semaphore` caps concurrency, not starts
    per second; an `Actor` or a `Lock`/`Variable` holding a shared bucket would put a scheduler or worker round
    trip (milliseconds, more under load) in front of every request and a single point of failure in the middle of
    the run; `Pub/Sub` could spread 429 pauses but not a budget. A static share needs no traffic at all, can never
    sum above the account's rate while the cluster keeps its size, and each process still adapts on its own 429s
    (so another client on the same account, or workers added later, cost 429s and retries, never rows). The price
    is idle budget when fewer processes than the cluster has are busy (the last partitions of a run).
    """
    _check_rate(rate)
    processes = cluster_processes(client)
    return rate / processes if processes else float(rate)
