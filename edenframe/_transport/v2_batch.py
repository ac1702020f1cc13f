"""The Eden AI v2 batch protocol: launch jobs of at most 500 requests, at most 5 running at once, poll with
backoff, page through every result page, match results by request name, delete each job once collected.

Jobs are journaled in the cache before launch, so a rerun after a crash re-attaches to jobs still on the server
(collecting what they produced) instead of launching and paying for them again. Runs in several processes may share
the journal: each job has one owner, the only run that reads and deletes it; another run that needs its requests
waits until the owner has collected it and takes the results from the cache (see `_cache.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import aiohttp

from .._catalog import Subfeature
from .._config import Settings
from .._errors import APIError
from .base import JobJournal, Outcome, OutcomeCallback, Recall, TransportStats, Wiring
from .http import api_error, call, describe_error, gather_all, is_fatal
from .limiter import RateLimiter

if TYPE_CHECKING:
    from .._pipeline._budget import Budget

log = logging.getLogger("edenframe")

# How many times one request may go back to be sent again after its job was held by another run or vanished from the
# server: each round waits for (or adopts) the jobs in its way, so a second round normally settles everything.
MAX_ROUNDS = 4
# Longest pause between two looks at the journal while another run collects a job this run needs.
_WAIT_MAX_INTERVAL = 1.0


class BatchTransport:
    """Sends request items through `/{feature}/{subfeature}/batch/{name}/` jobs.

    One instance serves a whole run (every window of it), so the limit on running jobs holds across windows.
    """

    def __init__(self, wiring: Wiring) -> None:
        assert wiring.session is not None, "a remote transport needs the run's session"
        self.settings: Settings = wiring.settings
        self.session: aiohttp.ClientSession = wiring.session
        self.journal: JobJournal | None = wiring.journal  # None: no crash recovery
        # The journal is written on the thread that stores results, in order: a job is marked collected only after
        # the results handed over before it are stored.
        self.journal_writer: Executor | None = wiring.journal_writer
        # Outcomes of re-attached jobs for items of other windows of the run, handed over when those are sent.
        self.stash: dict[str, Outcome] = {}
        self.budget: Budget | None = wiring.budget  # max_cost: admits requests before each launch, or None
        self.limiter = RateLimiter(self.settings.rate_limit)
        self.running = asyncio.Semaphore(max(1, self.settings.max_running_jobs))
        # items_sent: request items Eden AI received in launched jobs (re-attached ones not included)
        self.stats = TransportStats()
        self.collecting: set[str] = set()  # jobs this transport is launching or reading right now

    async def send(
        self,
        entry: Subfeature,
        items: list[dict[str, Any]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None = None,
    ) -> None:
        """Send `items`; `recall` answers names from the cache (results another run stored while this one waited for
        its job), and every item gets either an outcome or a recalled result."""
        await self._send(entry, {item["name"]: item for item in items}, on_outcomes, recall, 0)

    async def _send(
        self,
        entry: Subfeature,
        by_name: dict[str, dict[str, Any]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None,
        rounds: int,
    ) -> None:
        answered = self._from_stash(set(by_name), on_outcomes)
        by_name = {name: item for name, item in by_name.items() if name not in answered}
        pending = await self._reattach(entry, by_name, on_outcomes, recall)
        size = max(1, min(self.settings.batch_size, 500))
        todo = [by_name[name] for name in by_name if name in pending]
        if self.budget is None:
            chunks = [todo[start : start + size] for start in range(0, len(todo), size)]
            await gather_all(self._run_chunk(entry, _given(chunk), on_outcomes, recall, rounds) for chunk in chunks)
            return
        # Under a budget, each job takes what the budget admits when its slot comes up (smaller jobs as the cap
        # comes near), so the number of jobs is not known in advance: up to max_running_jobs workers share the queue.
        queue = deque(todo)
        take = self._admitted(queue, size, on_outcomes)

        async def worker() -> None:
            while queue:
                await self._run_chunk(entry, take, on_outcomes, recall, rounds)

        workers = min(max(1, self.settings.max_running_jobs), -(-len(todo) // size))
        await gather_all(worker() for _ in range(workers))

    def _admitted(
        self, queue: deque[dict[str, Any]], size: int, on_outcomes: OutcomeCallback
    ) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
        """Takes the next job's items from `queue`: as many as the budget admits (at most `size`). When the budget
        is reached, every queued item ends as not sent and the job is empty."""
        budget = self.budget
        assert budget is not None
        turn = asyncio.Lock()  # one worker at a time asks for the queue's head, so no two ask for the same items

        async def take() -> list[dict[str, Any]]:
            async with turn:
                if not queue:
                    return []
                count = await budget.admit([item["name"] for item in itertools.islice(queue, size)])
                if count == 0:
                    refused = {item["name"]: Outcome(error=budget.refusal()) for item in queue}
                    queue.clear()
                    on_outcomes(refused)
                    return []
                return [queue.popleft() for _ in range(count)]

        return take

    async def _again(
        self,
        entry: Subfeature,
        chunk: list[dict[str, Any]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None,
        rounds: int,
        reason: str,
    ) -> None:
        """Send these items through another round (re-attach, recall, claim), a bounded number of times."""
        if rounds + 1 >= MAX_ROUNDS:
            on_outcomes({item["name"]: Outcome(error=f"not sent after {MAX_ROUNDS} tries: {reason}") for item in chunk})
            return
        await self._send(entry, {item["name"]: item for item in chunk}, on_outcomes, recall, rounds + 1)

    def _from_stash(self, names: set[str], on_outcomes: OutcomeCallback) -> set[str]:
        """Hand over outcomes a re-attached job brought for these names; returns the names answered."""
        stashed = {name: self.stash.pop(name) for name in names if name in self.stash}
        if stashed:
            on_outcomes(stashed)
        return set(stashed)

    def _recover(self, names: set[str], on_outcomes: OutcomeCallback, recall: Recall | None) -> set[str]:
        """Answer names whose job was collected by another run (or vanished): from the stash, then the cache."""
        answered = self._from_stash(names, on_outcomes)
        rest = sorted(names - answered)
        if rest and recall is not None:
            answered |= recall(rest)
        return answered

    def _job_url(self, entry: Subfeature, job: str) -> str:
        return f"{self.settings.base_url}/{entry.path}/batch/{job}/"

    async def _reattach(
        self,
        entry: Subfeature,
        by_name: dict[str, dict[str, Any]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None = None,
    ) -> set[str]:
        """Settle journaled jobs that hold some of these items; returns the names still to send.

        A job held by a live run (another process, or another window of this run) is left to it: this run waits until
        it is collected and takes the results from the stash or the cache, never reading or deleting it. A job whose
        owner is gone is adopted: collected and deleted here. A job that vanished gives its items back.
        """
        pending = set(by_name)
        if self.journal is None:
            return pending
        jobs = await asyncio.to_thread(self.journal.open_jobs, entry.path, self.settings.base_url, list(by_name))

        async def settle(job: str, names: list[str]) -> None:
            wanted = set(names) & set(by_name)
            state = await self._wait_for_owner(job)
            if state == "closed":  # collected by its owner: the results are in the cache (failures are not)
                pending.difference_update(self._recover(wanted, on_outcomes, recall))
                return
            if state == "timeout":
                message = f"batch job {job} of another run was still open after {self.settings.job_timeout:.0f} s"
                on_outcomes({name: Outcome(error=message) for name in wanted})
                pending.difference_update(wanted)
                return
            if state == "claimed":  # adopted a claim its owner never launched: nothing on the server, send again
                await self._journal(self.journal.close_job, job)
                return
            self.collecting.add(job)
            try:
                await self._collect(entry, job, names, wanted, pending, on_outcomes, recall)
            finally:
                self.collecting.discard(job)

        await gather_all(settle(job, names) for job, names in jobs.items())
        return pending

    async def _wait_for_owner(self, job: str) -> str:
        """Wait until `job` is collected ('closed') or this run holds it (adopted from a gone owner: its state,
        'claimed' or 'launching'); 'timeout' after `job_timeout`."""
        started = time.monotonic()
        delay = self.settings.poll_interval
        while True:
            holder, state = await asyncio.to_thread(self.journal.job_holder, job)
            if holder == "closed":
                return "closed"
            if holder == "me" and job not in self.collecting:
                return state  # ours and left open (an earlier failure of this run): take it up again
            if holder == "gone":
                adopted = await asyncio.to_thread(self.journal.adopt_job, job)
                if adopted is not None:
                    log.info("adopted batch job %s from a run that no longer runs", job)
                    return adopted
                # else another run adopted it first, or it was collected meanwhile: look again
            if time.monotonic() - started > self.settings.job_timeout:
                return "timeout"
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, _WAIT_MAX_INTERVAL)

    async def _collect(
        self,
        entry: Subfeature,
        job: str,
        names: list[str],
        wanted: set[str],
        pending: set[str],
        on_outcomes: OutcomeCallback,
        recall: Recall | None,
    ) -> None:
        """Collect an adopted job (it may still run): its items of this call, the others into the stash."""
        url = self._job_url(entry, job)
        delivered: set[str] = set()

        def keep_others(outcomes: dict[str, Outcome]) -> None:
            # Items of this job that belong to other windows of the run wait in the stash for their window.
            mine = {name: outcome for name, outcome in outcomes.items() if name in wanted}
            self.stash.update({name: o for name, o in outcomes.items() if name not in wanted})
            if mine:
                on_outcomes(mine)

        try:
            async with self.running, _shared_slot(self.settings.job_semaphore):
                status, page = await self._get(url, 1)
                if status == 404:
                    # gone from the server (never launched, or collected by an owner that died before closing it):
                    # what was stored comes from the cache, the rest is sent again
                    await self._journal(self.journal.close_job, job)
                    pending.difference_update(self._recover(wanted, on_outcomes, recall))
                    return
                if status != 200 or not isinstance(page, dict):
                    raise api_error("GET", url, status, page)
                self.stats.jobs_attached += 1
                page = await self._wait(url, page)
            await self._read_pages(url, page, set(names), delivered, keep_others)
        except APIError as exc:
            if is_fatal(exc):
                raise
            # Paid for but unreadable now: the job stays journaled for the next run; these rows get the error.
            failed = {name: Outcome(error=str(exc)) for name in wanted if name not in delivered}
            on_outcomes(failed)
            pending.difference_update(wanted)
            return
        pending.difference_update(wanted & delivered)
        await self._delete(url)
        await self._journal(self.journal.close_job, job)

    async def _run_chunk(
        self,
        entry: Subfeature,
        take: Callable[[], Awaitable[list[dict[str, Any]]]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None = None,
        rounds: int = 0,
    ) -> None:
        """Run one job of the items `take()` gives once a job slot is free (none: nothing to launch).

        The job is claimed in the journal after `take()` (under a budget the chunk is only known then) and before its
        launch. A claim refused because another run holds the job or some of its requests lets the slot go and sends
        the items through another round, which waits for those jobs (or adopts them) and recalls their results.
        """
        job = url = ""
        chunk: list[dict[str, Any]] = []
        names: list[str] = []
        blocking: list[str] = []
        delivered: set[str] = set()
        launched = False
        try:
            async with self.running, _shared_slot(self.settings.job_semaphore):
                job, chunk, blocking = await self._claim(entry, await take(), on_outcomes, recall)
                if not chunk:
                    return
                url = self._job_url(entry, job)
                names = [item["name"] for item in chunk]
                if not blocking:
                    self.collecting.add(job)
                    if self.journal is not None:  # marked launching before the POST, off the event loop
                        await self._journal(self.journal.record_job, job, entry.path, self.settings.base_url, names)
                    rejected = await self._launch(url, chunk)
                    launched = True
                    self.stats.jobs_launched += 1
                    if rejected:
                        on_outcomes(rejected)
                        delivered.update(rejected)
                    page = await self._wait(url, None)
                    if self.budget is not None:
                        # Under a budget the next launch must see this job's cost: read its pages before letting go.
                        await self._read_pages(url, page, set(names), delivered, on_outcomes)
            if not blocking:
                # Otherwise the job no longer runs on the server: its slot goes to the next job while pages are read.
                if self.budget is None:
                    await self._read_pages(url, page, set(names), delivered, on_outcomes)
                await self._delete(url)
                if self.journal is not None:
                    await self._journal(self.journal.close_job, job)
        except APIError as exc:
            if is_fatal(exc):
                raise
            if exc.status == 404 and launched and self.journal is not None:
                await self._vanished(entry, job, chunk, delivered, on_outcomes, recall, rounds)
                return
            on_outcomes({name: Outcome(error=str(exc)) for name in names if name not in delivered})
            return
        finally:
            self.collecting.discard(job)
        if blocking:
            log.info("batch job %s waits for jobs of another run: %s", job, ", ".join(blocking))
            self._release(names)
            await self._again(entry, chunk, on_outcomes, recall, rounds, "another run kept holding them")
            return
        missing = [name for name in names if name not in delivered]
        if missing:
            on_outcomes({name: Outcome(error=f"missing from the results of batch job {job}") for name in missing})

    async def _claim(
        self,
        entry: Subfeature,
        chunk: list[dict[str, Any]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None,
    ) -> tuple[str, list[dict[str, Any]], list[str]]:
        """Claim a job for `chunk` in the journal; returns the job, the items to launch in it, and the open jobs of
        other runs in the way ([]: claimed).

        Once claimed, no other job holds these requests: one that did was collected meanwhile (between this run's
        cache lookup and now, or while the items waited for the budget), and its results are in the cache. Those are
        recalled rather than launched again, and the claim is taken anew for the rest."""
        while True:
            job = job_name(chunk, entry.path, self.settings.base_url) if chunk else ""
            if self.journal is None or not chunk:
                return job, chunk, []
            names = [item["name"] for item in chunk]
            blocking = await asyncio.to_thread(self.journal.claim_job, job, entry.path, self.settings.base_url, names)
            if blocking:
                return job, chunk, blocking
            answered = self._recover(set(names), on_outcomes, recall)
            if not answered:
                return job, chunk, []
            self._release(answered)
            # never launched: closing the claim lets it go (nothing on the server to collect)
            await self._journal(self.journal.close_job, job)
            chunk = [item for item in chunk if item["name"] not in answered]

    def _release(self, names: Iterable[str]) -> None:
        """Give back the budget reserved for requests that were admitted but are not launched in their job after
        all (its claim was refused, or it vanished): they are admitted again if they go through another round."""
        if self.budget is not None:
            self.budget.release(names)

    async def _vanished(
        self,
        entry: Subfeature,
        job: str,
        chunk: list[dict[str, Any]],
        delivered: set[str],
        on_outcomes: OutcomeCallback,
        recall: Recall | None,
        rounds: int,
    ) -> None:
        """Our job disappeared from the server while we read it: what was stored comes from the cache, the rest is
        launched again (never turned into failed rows)."""
        await self._journal(self.journal.close_job, job)
        left = {item["name"] for item in chunk} - delivered
        self._release(left)
        left -= self._recover(left, on_outcomes, recall)
        if left:
            log.warning("batch job %s vanished from the server: %d requests are sent again", job, len(left))
            await self._again(
                entry, [item for item in chunk if item["name"] in left], on_outcomes, recall, rounds, "jobs vanished"
            )

    async def _launch(self, url: str, chunk: list[dict[str, Any]]) -> dict[str, Outcome]:
        launch = {"requests": chunk}
        status, body = await call(  # every Eden AI server has this endpoint: a 404 means a wrong base URL
            self.session, self.settings, "POST", url, json_body=launch, limiter=self.limiter, must_exist=True
        )
        self.stats.items_sent += len(chunk)
        if status != 200 or not isinstance(body, dict):
            # A launch retried after a dropped connection may find its own job already there: attach to it.
            existing, _ = await self._get(url, 1)
            if existing == 200:
                return {}
            raise api_error("POST", url, status, body)
        rejected = {}
        for failed in body.get("failed_requests") or []:
            name = failed.get("name") if isinstance(failed, dict) else None
            if name:
                detail = describe_error({"error": {"message": failed.get("errors")}})
                rejected[name] = Outcome(error=f"rejected by Eden AI: {detail or 'invalid request'}")
        return rejected

    async def _wait(self, url: str, page: dict[str, Any] | None) -> dict[str, Any]:
        """Poll until no request of the job is processing (or `job_timeout` passes); returns the first page.

        Polls every `poll_interval` at first (most jobs finish within seconds), then less and less often.
        """
        started = time.monotonic()
        delay = self.settings.poll_interval
        while True:
            if page is None:
                page = await self._page(url, 1)
            if not _still_processing(page) or time.monotonic() - started > self.settings.job_timeout:
                return page
            await asyncio.sleep(delay)
            if time.monotonic() - started > 8 * self.settings.poll_interval:
                delay = min(delay * 1.5, self.settings.poll_max_interval)
            page = None

    async def _read_pages(
        self, url: str, page: dict[str, Any], wanted: set[str], delivered: set[str], on_outcomes: OutcomeCallback
    ) -> None:
        """Hand over every page's results as it is read (names in `wanted`, each once), adding them to `delivered`
        as they go: if a later page fails, the caller knows exactly which results already arrived."""
        if _still_processing(page):  # the job timed out: its stragglers end as errors
            timed_out = {
                n: o for n, o in _timed_out(page, self.settings.job_timeout).items() if n in wanted - delivered
            }
            on_outcomes(timed_out)
            delivered.update(timed_out)
            return
        current = int(page.get("current_page") or 1)
        last = int(page.get("last_page") or 1)
        while True:
            fresh = {n: o for n, o in _outcomes_of(page).items() if n in wanted and n not in delivered}
            if fresh:
                on_outcomes(fresh)
                delivered.update(fresh)
            if current >= last:
                return
            current += 1
            page = await self._page(url, current)
            last = int(page.get("last_page") or last)

    async def _journal(self, write: Callable[..., Any], *args: Any) -> None:
        if self.journal_writer is None:
            await asyncio.to_thread(write, *args)
        else:
            await asyncio.get_running_loop().run_in_executor(self.journal_writer, write, *args)

    async def _get(self, url: str, number: int) -> tuple[int, Any]:
        return await call(self.session, self.settings, "GET", url, params={"page": number}, limiter=self.limiter)

    async def _page(self, url: str, number: int) -> dict[str, Any]:
        status, body = await self._get(url, number)
        if status != 200 or not isinstance(body, dict):
            raise api_error("GET", url, status, body)
        return body

    async def _delete(self, url: str) -> None:
        try:
            status, body = await call(self.session, self.settings, "DELETE", url, limiter=self.limiter)
        except APIError as exc:
            log.warning("could not delete a collected batch job: %s", exc)
            return
        if status not in (200, 202, 204, 404):
            log.warning("could not delete a collected batch job: %s", api_error("DELETE", url, status, body))


def _given(chunk: list[dict[str, Any]]) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
    async def take() -> list[dict[str, Any]]:
        return chunk

    return take


@asynccontextmanager
async def _shared_slot(semaphore: Any) -> AsyncIterator[None]:
    """Hold one slot of a cross-process semaphore (blocking API, so acquired off the event loop)."""
    if semaphore is None:
        yield
        return
    await asyncio.to_thread(semaphore.acquire)
    try:
        yield
    finally:
        await asyncio.to_thread(semaphore.release)


def job_name(chunk: list[dict[str, Any]], subfeature: str, base_url: str) -> str:
    """A deterministic job name: the same requests to the same endpoint always form the same job (request names
    leave out the subfeature and server, and the journal holds one job per name)."""
    text = "\n".join([subfeature, base_url, *(item["name"] for item in chunk)])
    return f"edenframe-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def _still_processing(page: dict[str, Any]) -> bool:
    if page.get("status") == "processing":
        return True
    return any(isinstance(r, dict) and r.get("status") == "processing" for r in page.get("requests") or [])


def _outcomes_of(page: dict[str, Any]) -> dict[str, Outcome]:
    results = {}
    for request in page.get("requests") or []:
        if not isinstance(request, dict) or not request.get("name"):
            continue
        state = request.get("status")
        response = request.get("response")
        if state in ("succeeded", "finished") and isinstance(response, dict):
            results[request["name"]] = Outcome(response=response)
        elif state == "processing":
            continue  # Eden AI said the job was done; a straggler is reported missing rather than guessed
        else:
            detail = describe_error({"error": {"message": request.get("errors")}}) if request.get("errors") else ""
            results[request["name"]] = Outcome(error=f"request {state or 'failed'}: {detail or 'no response'}")
    return results


def _timed_out(page: dict[str, Any], limit: float) -> dict[str, Outcome]:
    results = _outcomes_of(page)
    for request in page.get("requests") or []:
        if isinstance(request, dict) and request.get("status") == "processing" and request.get("name"):
            results[request["name"]] = Outcome(error=f"the batch job was still processing after {limit:.0f} s")
    return results
