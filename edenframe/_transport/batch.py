"""The Eden AI v2 batch protocol: launch jobs of at most 500 requests, at most 5 running at once, poll with
backoff, page through every result page, match results by request name, delete each job once collected."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from .._catalog import Subfeature
from .._config import Settings
from .._errors import APIError
from . import Outcome, ProgressCallback
from .http import call, describe_error, open_session

log = logging.getLogger("edenframe")

_FATAL_STATUSES = {401: "Eden AI rejected the API key", 402: "the Eden AI account has no credits left",
                   403: "Eden AI refused access (check the API key and the Authorization header)"}


class BatchTransport:
    """Sends request items through `/{feature}/{subfeature}/batch/{name}/` jobs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.jobs_launched = 0
        self.jobs_attached = 0

    async def send(
        self, entry: Subfeature, items: list[dict[str, Any]], on_progress: ProgressCallback | None = None
    ) -> dict[str, Outcome]:
        size = max(1, min(self.settings.batch_size, 500))
        chunks = [items[start : start + size] for start in range(0, len(items), size)]
        limit = asyncio.Semaphore(max(1, self.settings.max_running_jobs))
        outcomes: dict[str, Outcome] = {}
        async with open_session(self.settings) as session:
            tasks = [
                asyncio.create_task(self._run_chunk(session, limit, entry, chunk, outcomes, on_progress))
                for chunk in chunks
            ]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        return outcomes

    def _job_url(self, entry: Subfeature, job: str) -> str:
        return f"{self.settings.base_url}/{entry.path}/batch/{job}/"

    async def _run_chunk(
        self,
        session: aiohttp.ClientSession,
        limit: asyncio.Semaphore,
        entry: Subfeature,
        chunk: list[dict[str, Any]],
        outcomes: dict[str, Outcome],
        on_progress: ProgressCallback | None,
    ) -> None:
        job = job_name(chunk)
        url = self._job_url(entry, job)
        async with limit, _shared_slot(self.settings.job_semaphore):
            try:
                results = await self._launch_and_collect(session, url, chunk)
            except APIError as exc:
                if exc.status in _FATAL_STATUSES:
                    raise
                results = {item["name"]: Outcome(error=str(exc)) for item in chunk}
        for item in chunk:
            outcomes[item["name"]] = results.get(item["name"]) or Outcome(
                error=f"request {item['name']} is missing from the results of batch job {job}"
            )
        if on_progress is not None:
            on_progress(len(chunk))

    async def _launch_and_collect(
        self, session: aiohttp.ClientSession, url: str, chunk: list[dict[str, Any]]
    ) -> dict[str, Outcome]:
        # A job with this (content-derived) name may already exist: from a run that crashed or lost its
        # connection after launching. Its results are exactly what we would get, so attach instead of paying again.
        status, page = await call(session, self.settings, "GET", url, params={"page": 1})
        rejected: dict[str, Outcome] = {}
        if status == 200 and isinstance(page, dict):
            self.jobs_attached += 1
        elif status == 404:
            rejected = await self._launch(session, url, chunk)
            self.jobs_launched += 1
            page = None
        else:
            raise _api_error("GET", url, status, page)
        results = await self._collect(session, url, page)
        await self._delete(session, url)
        return {**results, **rejected}

    async def _launch(
        self, session: aiohttp.ClientSession, url: str, chunk: list[dict[str, Any]]
    ) -> dict[str, Outcome]:
        status, body = await call(session, self.settings, "POST", url, json_body={"requests": chunk})
        if status != 200 or not isinstance(body, dict):
            # A launch retried after a dropped connection may find its own job already there: attach to it.
            existing, _ = await call(session, self.settings, "GET", url, params={"page": 1})
            if existing == 200:
                return {}
            raise _api_error("POST", url, status, body)
        rejected = {}
        for failed in body.get("failed_requests") or []:
            name = failed.get("name") if isinstance(failed, dict) else None
            if name:
                detail = describe_error({"error": {"message": failed.get("errors")}})
                rejected[name] = Outcome(error=f"rejected by Eden AI: {detail or 'invalid request'}")
        return rejected

    async def _collect(
        self, session: aiohttp.ClientSession, url: str, first_page: dict[str, Any] | None
    ) -> dict[str, Outcome]:
        """Poll until no request is processing, then read every page. Returns an outcome per request name."""
        started = time.monotonic()
        delay = self.settings.poll_interval
        page = first_page
        while True:
            if page is None:
                page = await self._page(session, url, 1)
            if not _still_processing(page):
                break
            if time.monotonic() - started > self.settings.job_timeout:
                return _timed_out(page, self.settings.job_timeout)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self.settings.poll_max_interval)
            page = None
        results = _outcomes_of(page)
        last = int(page.get("last_page") or 1)
        current = int(page.get("current_page") or 1)
        while current < last:
            current += 1
            later = await self._page(session, url, current)
            if _still_processing(later):
                # Eden AI reported the job done but a later page still shows work: start over after a pause.
                await asyncio.sleep(delay)
                return await self._collect(session, url, None)
            results.update(_outcomes_of(later))
        return results

    async def _page(self, session: aiohttp.ClientSession, url: str, number: int) -> dict[str, Any]:
        status, body = await call(session, self.settings, "GET", url, params={"page": number})
        if status != 200 or not isinstance(body, dict):
            raise _api_error("GET", url, status, body)
        return body

    async def _delete(self, session: aiohttp.ClientSession, url: str) -> None:
        try:
            status, body = await call(session, self.settings, "DELETE", url)
        except APIError as exc:
            log.warning("could not delete a collected batch job: %s", exc)
            return
        if status not in (200, 202, 204, 404):
            log.warning("could not delete a collected batch job: %s", _api_error("DELETE", url, status, body))


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


def job_name(chunk: list[dict[str, Any]]) -> str:
    """A deterministic job name: the same requests always form the same job."""
    digest = hashlib.sha256("\n".join(item["name"] for item in chunk).encode()).hexdigest()
    return f"edenframe-{digest[:24]}"


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


def _api_error(method: str, url: str, status: int, body: Any) -> APIError:
    path = url.split("?", 1)[0]
    reason = _FATAL_STATUSES.get(status, "Eden AI answered with an error")
    detail = describe_error(body)
    return APIError(f"{reason}: {method} {path} -> HTTP {status}" + (f": {detail}" if detail else ""), status, body)
