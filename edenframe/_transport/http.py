"""One HTTP call to Eden AI with timeouts and retries: 429 (honouring Retry-After), 5xx and dropped connections are
retried with jittered exponential backoff; any other 4xx is returned to the caller at once, never retried."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import aiohttp
import orjson

from .._config import Settings
from .._errors import APIError
from .limiter import RateLimiter

log = logging.getLogger("edenframe")

_RETRYABLE_EXCEPTIONS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)


def open_session(settings: Settings) -> aiohttp.ClientSession:
    """The one aiohttp session of a run, created on the loop that uses it. TLS verification stays on."""
    headers = {"Accept": "application/json", "User-Agent": "edenframe"}
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.reveal()}"
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout, connect=settings.connect_timeout)
    connector = aiohttp.TCPConnector(limit=32)
    return aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector, raise_for_status=False)


def backoff_delay(settings: Settings, attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): Retry-After when given, else full jitter."""
    if retry_after:
        try:
            return min(max(float(retry_after), 0.0), settings.backoff_max)
        except ValueError:
            pass  # an HTTP date: fall back to our own backoff
    ceiling = min(settings.backoff_max, settings.backoff_base * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)


async def call(
    session: aiohttp.ClientSession,
    settings: Settings,
    method: str,
    url: str,
    *,
    json_body: Any = None,
    params: dict[str, Any] | None = None,
    data: Any = None,
    limiter: RateLimiter | None = None,
    raw: bool = False,
) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON body or None) for every non-retryable answer.

    With `raw=True` the body comes back as the bytes received (a media file), not parsed.

    Retries stop after `settings.max_retries` retries or once `settings.retry_deadline` seconds have passed, and
    then raise APIError with the last cause in the message. `data` is a callable building a fresh multipart body
    for each attempt (a body cannot be sent twice).
    """
    last_problem = ""
    started = time.monotonic()
    attempt = 0
    while True:
        retry_after: str | None = None
        status: int | None = None
        if limiter is not None:
            await limiter.wait()
        try:
            body_data = data() if callable(data) else data
            payload = orjson.dumps(json_body) if json_body is not None else body_data
            headers = {"Content-Type": "application/json"} if json_body is not None else None
            async with session.request(method, url, data=payload, params=params, headers=headers) as response:
                status = response.status
                content = await response.read()
                body = content if raw else _parse(content)
                text = content[:200].decode("utf-8", "replace")
                if status == 429 or status >= 500:
                    retry_after = response.headers.get("Retry-After")
                    described = "" if raw else describe_error(body)
                    last_problem = f"HTTP {status}: {described or text[:200]}"
                else:
                    if limiter is not None:
                        limiter.on_status(status)
                    return status, body
        except _RETRYABLE_EXCEPTIONS as exc:
            last_problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if limiter is not None:
            limiter.on_status(status)
        delay = backoff_delay(settings, attempt, retry_after)
        out_of_time = time.monotonic() - started + delay > settings.retry_deadline
        if attempt >= settings.max_retries or out_of_time:
            break
        attempt += 1
        log.debug("%s %s failed (%s); retry %d in %.2fs", method, _path_of(url), last_problem, attempt, delay)
        await asyncio.sleep(delay)
    raise APIError(f"{method} {_path_of(url)} failed after {attempt + 1} attempt(s): {last_problem}")


def describe_error(body: Any) -> str:
    """A readable message from any of Eden AI's error bodies (section 2.4 of the wire format)."""
    if isinstance(body, dict):
        error = body.get("error", body.get("errors", body.get("details")))
        if isinstance(error, dict):
            message = error.get("message", error)
            return _flatten_message(message)
        if error is not None:
            return _flatten_message(error)
    return _flatten_message(body) if body else ""


def _flatten_message(message: Any) -> str:
    if isinstance(message, dict):
        return "; ".join(f"{key}: {_flatten_message(value)}" for key, value in message.items())
    if isinstance(message, list):
        return ", ".join(_flatten_message(m) for m in message)
    return str(message)


def _parse(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


def _path_of(url: str) -> str:
    # Log and error messages carry the path only: never a query string or credentials.
    return url.split("?", 1)[0]


FATAL_STATUSES = {
    401: "Eden AI rejected the API key",
    402: "the Eden AI account has no credits left",
    403: "Eden AI refused access (check the API key and the Authorization header)",
}


def api_error(method: str, url: str, status: int, body: Any) -> APIError:
    path = url.split("?", 1)[0]
    reason = FATAL_STATUSES.get(status, "Eden AI answered with an error")
    detail = describe_error(body)
    return APIError(f"{reason}: {method} {path} -> HTTP {status}" + (f": {detail}" if detail else ""), status, body)


async def gather_all(coroutines: Any) -> None:
    """Run coroutines concurrently; on the first failure (or cancellation) cancel the rest and re-raise."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
