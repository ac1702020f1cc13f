"""The v2 per-request endpoint (`POST /{feature}/{subfeature}/`): for accounts or subfeatures without batch, and for
file uploads (multipart), under a client-side rate limiter and a cap on requests in flight."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from .._catalog import Subfeature
from .._config import Settings
from .._errors import APIError
from .base import Handover, Outcome, OutcomeCallback, Recall, TransportStats, Wiring
from .http import FATAL_STATUSES, api_error, call, describe_error, gather_all, is_fatal
from .limiter import RateLimiter

if TYPE_CHECKING:
    from .._pipeline._budget import Budget


class SyncTransport:
    """One HTTP request per item; `settings.sync_concurrency` in flight, `settings.rate_limit` per second."""

    def __init__(self, wiring: Wiring) -> None:
        assert wiring.session is not None, "a remote transport needs the run's session"
        self.settings: Settings = wiring.settings
        self.session: aiohttp.ClientSession = wiring.session
        self.budget: Budget | None = wiring.budget  # max_cost: admits each request before it is sent, or None
        self.limiter = RateLimiter(self.settings.rate_limit)
        self.slots = asyncio.Semaphore(max(1, self.settings.sync_concurrency))
        self.stats = TransportStats()  # items_sent: requests Eden AI answered (whatever the answer)

    async def send(
        self,
        entry: Subfeature,
        items: list[dict[str, Any]],
        on_outcomes: OutcomeCallback,
        recall: Recall | None = None,  # each request is this run's own: nothing to recall
    ) -> None:
        url = f"{self.settings.base_url}/{entry.path}/"
        # Under a budget every answer counts at once, so the spending check before each request is current.
        hand_over = Handover(on_outcomes, eager=self.budget is not None)

        async def one(item: dict[str, Any]) -> None:
            async with self.slots:
                if self.budget is not None and await self.budget.admit([item["name"]]) == 0:
                    hand_over(item["name"], Outcome(error=self.budget.refusal()))
                    return
                hand_over(item["name"], await self._request(self.session, url, item))

        try:
            await gather_all(one(item) for item in items)
        finally:
            hand_over.flush()

    async def _request(self, session: aiohttp.ClientSession, url: str, item: dict[str, Any]) -> Outcome:
        body = {key: value for key, value in item.items() if key != "name"}
        upload = body.pop("file", None)
        try:
            if upload is None:
                status, answer = await call(
                    session, self.settings, "POST", url, json_body=body, limiter=self.limiter, must_exist=True
                )
            else:
                content, filename = await _read_upload(upload)
                form = functools.partial(_multipart, body, content, filename)
                status, answer = await call(
                    session, self.settings, "POST", url, data=form, limiter=self.limiter, must_exist=True
                )
            self.stats.items_sent += 1
        except OSError as exc:
            return Outcome(error=f"cannot read the file {upload}: {exc.strerror or exc}")
        except APIError as exc:
            if is_fatal(exc):
                raise
            return Outcome(error=str(exc))
        if status in FATAL_STATUSES:
            raise api_error("POST", url, status, answer)
        if status != 200:
            detail = describe_error(answer)
            return Outcome(error=f"rejected by Eden AI (HTTP {status})" + (f": {detail}" if detail else ""))
        if isinstance(answer, list):  # response_as_dict=false: a list of provider objects
            answer = {obj.get("provider"): obj for obj in answer if isinstance(obj, dict)}
        if not isinstance(answer, dict):
            return Outcome(error="Eden AI returned a response that is not a JSON object")
        return Outcome(response=answer)


async def _read_upload(upload: Any) -> tuple[bytes, str]:
    """The bytes and file name of an upload (a local path is read off the event loop)."""
    if isinstance(upload, bytes):
        return upload, "upload.bin"
    path = Path(upload)
    return await asyncio.to_thread(path.read_bytes), path.name


def _multipart(body: dict[str, Any], content: bytes, filename: str) -> aiohttp.FormData:
    """A fresh multipart body (one per attempt: aiohttp cannot send a FormData twice)."""
    form = aiohttp.FormData()
    for key, value in body.items():
        if value is None:
            continue
        if isinstance(value, bool):
            form.add_field(key, "true" if value else "false")
        elif isinstance(value, (dict, list)):
            form.add_field(key, json.dumps(value))
        else:
            form.add_field(key, str(value))
    form.add_field("file", content, filename=filename, content_type="application/octet-stream")
    return form
