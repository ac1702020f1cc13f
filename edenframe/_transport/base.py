"""The seam between the pipeline and the transports (httpx's `AsyncBaseTransport` is the model).

A transport takes planned request items (each with its content-hash `name`) and hands back one `Outcome` per name,
as soon as it has it, through a callback: the provider-keyed response that Eden AI's sync endpoint would give for it,
or an error message for the whole request. Every item gets exactly one outcome (or is recalled from the cache)
unless the run is cancelled. The pipeline knows transports only through `Transport`, `TransportStats` and the
registry in `edenframe._transport` (`TRANSPORTS`, `route`); a transport knows the cache only through `JobJournal`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    import aiohttp

    from .._catalog import Subfeature
    from .._config import Settings
    from .._pipeline._budget import Budget


class Outcome(NamedTuple):
    """The result of one request item: `response` (provider -> provider object) or `error` (a message).

    A named tuple: one is made per request of a run, and tuples are several times cheaper than dataclasses."""

    response: dict[str, Any] | None = None
    error: str | None = None


# Receives outcomes by request name as they arrive (a result page, a local chunk, a few sync answers).
OutcomeCallback = Callable[[dict[str, Outcome]], None]
# Answers request names from the result cache instead of an outcome (results another process stored while this run
# waited for the batch job that process owned); returns the names it answered.
Recall = Callable[[list[str]], set[str]]

FLUSH_EVERY = 0.5  # seconds: the longest a transport holds an answer before handing it over


class Handover:
    """Hands a transport's outcomes over in small groups (the cache writes batch up); at once under a budget
    (`eager`: each answer must count before the next admission) or when asked (`force`: an async job is closed only
    after its result is stored).

    A group waits at most `FLUSH_EVERY` seconds, also when no other answer follows (the server stalls, a long
    `Retry-After` pause): answers held back are lost if the process dies, and a rerun pays for them again."""

    def __init__(self, on_outcomes: OutcomeCallback, eager: bool) -> None:
        self.on_outcomes = on_outcomes
        self.eager = eager
        self.buffer: dict[str, Outcome] = {}
        self.flushed = time.monotonic()
        self.timer: asyncio.TimerHandle | None = None
        self.failure: Exception | None = None  # raised by a timed flush: raised again on the run's own path

    def __call__(self, name: str, outcome: Outcome, force: bool = False) -> None:
        self.buffer[name] = outcome
        if force or self.eager or len(self.buffer) >= 50 or time.monotonic() - self.flushed > FLUSH_EVERY:
            self.flush()
        elif self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(FLUSH_EVERY, self._due)

    def _due(self) -> None:
        self.timer = None
        try:
            self.flush()
        except Exception as exc:  # a callback's exception would only be logged by the loop
            self.failure = exc

    def flush(self) -> None:
        """Hand over what is held (the transport calls this once more when it is done, or cancelled)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        if self.buffer:
            outcomes, self.buffer = self.buffer, {}
            self.on_outcomes(outcomes)
        self.flushed = time.monotonic()


@dataclass
class TransportStats:
    """What a transport did in a run, for the report: the pipeline sums these over every transport it used."""

    items_sent: int = 0  # request items the provider received (whatever the answer); re-attached jobs not included
    jobs_launched: int = 0  # batch jobs created on the server
    jobs_attached: int = 0  # batch jobs of an earlier run collected instead of launched again


class Transport(Protocol):
    """Carries request items to a provider and their outcomes back. One instance serves a whole run (every window
    of it), so limits on requests or jobs in flight hold across windows."""

    stats: TransportStats

    async def send(
        self, entry: Subfeature, items: list[dict[str, Any]], on_outcomes: OutcomeCallback, recall: Recall | None = None
    ) -> None:
        """Send `items`; each gets one outcome through `on_outcomes`, or is answered by `recall` (only transports
        whose work another process may own, like batch jobs shared through the cache, ever call it)."""
        ...


class JobJournal(Protocol):
    """What the result cache offers a transport that launches jobs: a journal of them, shared by every process using
    the cache, so a rerun re-attaches to jobs still on the server and two runs never launch the same requests.
    `ResultCache` (in `_cache.py`) implements it; the methods block (SQLite), so callers run them off the loop."""

    def open_jobs(self, subfeature: str, base_url: str, items: list[str]) -> dict[str, list[str]]:
        """Jobs recorded but not collected that contain any of `items`: job name -> all its item names."""
        ...

    def claim_job(self, job: str, subfeature: str, base_url: str, items: list[str]) -> list[str]:
        """Take `job` before launching it; returns the open jobs that stand in the way ([]: claimed)."""
        ...

    def record_job(self, job: str, subfeature: str, base_url: str, items: list[str]) -> None:
        """Mark a job this run holds as launching (just before its POST): from now on it may exist on the server."""
        ...

    def job_holder(self, job: str) -> tuple[str, str]:
        """Who holds `job` ('closed', 'me', 'alive' or 'gone'), and its state."""
        ...

    def adopt_job(self, job: str) -> str | None:
        """Take over a job whose owner is gone; returns its state, or None when that is no longer possible."""
        ...

    def close_job(self, job: str) -> None:
        """Mark a job collected (its results stored, or given up): no run waits for it any more."""
        ...


@dataclass(frozen=True)
class Wiring:
    """What a run gives its transports: every transport is built from one of these (`TransportKind.build`)."""

    settings: Settings
    session: aiohttp.ClientSession | None = None  # the run's one HTTP session; None when nothing goes remote
    budget: Budget | None = None  # max_cost: admits each remote request before it is sent, or None
    journal: JobJournal | None = None  # the cache's job journal, or None: no crash recovery
    # The thread that writes the cache, in order: a job is marked collected only after the results handed over before
    # it are stored.
    journal_writer: Executor | None = None


@dataclass(frozen=True)
class TransportKind:
    """One registered transport: how to build it, and what the pipeline must know about it without asking it."""

    name: str  # what `transport=` and the dry-run frame call it: "batch", "sync", "local"
    build: Callable[[Wiring], Transport]
    # Talks to Eden AI over HTTP: needs the API key, the run's session and checked provider names; its results are
    # priced, counted against max_cost and stored in the cache, and its requests are named by content hash. Remote
    # transports are the values of the `transport=` option; the in-process engine is chosen by provider name.
    remote: bool = True
    uploads: bool = True  # takes local files and bytes (not only URLs)
    jobs: bool = False  # launches batch jobs: holds slots of the account's running-job limit (shared under Dask)
    api: str = "v2"  # the Eden AI API version it speaks: chosen only when the base URL ends with /{api}
