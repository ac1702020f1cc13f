"""One HTTP call to Eden AI with timeouts and retries: 429 (honouring Retry-After), 5xx and dropped connections are
retried with jittered exponential backoff; any other 4xx is returned to the caller at once, never retried.

Retrying is for a server that has answered in this run. Until it has, a port nobody listens on, a server that stays
silent, or an answer that is not Eden AI's (an HTML page, a 404 from an endpoint that must exist) ends the run at
once with a `FirstContactError` naming the base URL: otherwise a mistyped base URL costs minutes of retries and ends
as a frame of failed rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
import weakref
from typing import Any

import aiohttp
import orjson

from .._config import DEFAULT_BASE_URL, V2_BASE_URL, Settings
from .._errors import APIError
from .limiter import RateLimiter
from .rate_budget import RateBudget, retry_after_seconds

log = logging.getLogger("edenframe")

_RETRYABLE_EXCEPTIONS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)


def open_session(settings: Settings) -> aiohttp.ClientSession:
    """The one aiohttp session of a run, created on the loop that uses it. TLS verification stays on."""
    headers = {"Accept": "application/json", "User-Agent": "edenframe"}
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.reveal()}"
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout, connect=settings.connect_timeout)
    connector = aiohttp.TCPConnector(limit=32)
    session = aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector, raise_for_status=False)
    _contacts[session] = _Contact(settings)
    return session


class FirstContactError(APIError):
    """The server of a run cannot be reached, stays silent, or is not Eden AI: it stops the run at once and is never
    retried (every row would fail the same way, after minutes of retries)."""


def is_fatal(error: APIError) -> bool:
    """Whether an error stops the whole run rather than failing the rows of one request."""
    return isinstance(error, FirstContactError) or error.status in FATAL_STATUSES


class _Contact:
    """Whether the server of one session (one run) has answered yet, and the run's first-contact failure if any.

    Shared by every request of the run: the first to learn that the server is unreachable fails all the others at
    once, instead of each retrying on its own. Silence is judged for the run as a whole: if no answer at all has
    come within `first_contact_timeout`, one probe (`GET {base_url}/`, any HTTP answer will do) tells a slow
    server (a provider taking its time on a sync request) from one that will never answer.
    """

    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.base_url
        self.timeout = settings.first_contact_timeout
        self.answered = False  # an answer in Eden AI's shape came: from now on failures are retried
        self.worked = False  # a 2xx answer came: the endpoints exist at this base URL
        self.alive = False  # the probe was answered: the server is slow, not dead
        self.failure: FirstContactError | None = None
        self.started: float | None = None  # when the first request of the run was sent
        # After the first answer: since when every connection was refused (None: the last news was an answer), and
        # the message once that lasted `timeout` (the server went away mid-run, `refused()`)
        self.refused_since: float | None = None
        self.lost: str | None = None
        self._lost = asyncio.Event()
        self._changed = asyncio.Event()  # set on the first answer or on failure
        self._probe: asyncio.Task[None] | None = None
        self._waiting = 0

    def mark(self, status: int) -> None:
        self.answered = True
        self.refused_since = None
        self.worked = self.worked or 200 <= status < 300
        self._changed.set()

    def fail(self, what: str) -> FirstContactError:
        """The run's first-contact error (the first one found: every request of the run raises that one)."""
        if self.failure is None:
            self.failure = FirstContactError(
                f"{what}. Check that the server is running and that EDENAI_BASE_URL or "
                f"edenframe.configure(base_url=...) points at it (Eden AI's API is {DEFAULT_BASE_URL}, its v2 API "
                f"{V2_BASE_URL})"
            )
            self._changed.set()
        return self.failure

    async def first_answer(self, request: Any) -> Any:
        """Await `request` (a coroutine) until the server has answered anyone, failing it with the run when the
        server turns out to be unreachable or silent."""
        if self.failure is not None:
            request.close()
            raise self.failure
        task = asyncio.ensure_future(request)
        self._waiting += 1
        try:
            while not task.done():
                if self.failure is not None:
                    raise self.failure
                if self.answered or self.alive:
                    return await task
                assert self.started is not None
                left = self.started + self.timeout - time.monotonic()
                changed = asyncio.ensure_future(self._changed.wait())
                try:
                    done, _ = await asyncio.wait(
                        {task, changed}, timeout=max(left, 0.0), return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    changed.cancel()
                if not done:
                    if self._probe is None:
                        self._probe = asyncio.ensure_future(self._run_probe())
                    await asyncio.shield(self._probe)
            return task.result()
        finally:
            self._waiting -= 1
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
            if self._waiting == 0 and self._probe is not None and not self._probe.done():
                self._probe.cancel()  # nobody waits for it any more (the run was cancelled)
                self._probe = None

    async def _run_probe(self) -> None:
        # A session of its own: no API key, and no connection slots shared with the requests that hang.
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": "edenframe"}) as probe,
                probe.get(f"{self.base_url}/") as response,
            ):
                await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            cause = "timed out" if isinstance(exc, TimeoutError) else _describe(exc)
            raise self.fail(
                f"the server at {self.base_url} accepted the connection but did not answer within "
                f"{self.timeout:g} s, nor a probe of {self.base_url}/ within {self.timeout:g} s more ({cause}; "
                "a server this slow needs a larger first_contact_timeout)"
            ) from None
        self.alive = True
        log.debug("no answer from %s after %.1fs, but it answers a probe: waiting on", self.base_url, self.timeout)

    def judge(self, method: str, url: str, status: int, body: Any, must_exist: bool) -> None:
        """Raise FirstContactError for an answer that shows this is not Eden AI's API; otherwise note the answer."""
        if not self.answered and not _eden_shaped(status, body):
            kind = "an empty body" if body is None else "a body that is not JSON"
            raise self.fail(
                f"the server at {self.base_url} is not Eden AI's API: {self._where(method, url)} was answered with "
                f"HTTP {status} and {kind}"
            )
        if status == 404 and must_exist and not self.worked:
            detail = describe_error(body)
            raise self.fail(
                f"the server at {self.base_url} has no endpoint {self._where(method, url)} (HTTP 404"
                + (f": {detail})" if detail else ")")
            )
        self.mark(status)

    def refuse_retry(self, method: str, url: str, exc: BaseException) -> FirstContactError | None:
        """The error ending the run for a failed request before the server has answered, or None to retry it.

        A refused or timed-out connection, silence and a reply that is not HTTP end it at once; a connection dropped
        after it was made is retried (a blip), but only within the first-contact window or once the server has
        answered the probe."""
        where = self._where(method, url)
        if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            return self.fail(f"cannot connect to {self.base_url}: {_describe(exc)}, at {where}")
        if isinstance(exc, TimeoutError):
            return self.fail(f"the server at {self.base_url} did not answer {where}: {_describe(exc)}")
        if isinstance(exc, aiohttp.ClientResponseError):
            return self.fail(f"the server at {self.base_url} does not answer in HTTP: {_describe(exc)} ({where})")
        assert self.started is not None
        if not self.alive and time.monotonic() - self.started > self.timeout:
            return self.fail(f"the server at {self.base_url} keeps dropping the connection: {_describe(exc)} ({where})")
        return None

    def refused(self, exc: BaseException) -> str | None:
        """After the first answer: note a failed request; the message for every request of the run once the server
        is gone (nothing but refused connections for `timeout` seconds), else None (retried as usual).

        Without this, each request of a run whose server went away spends its own retries (minutes at the default
        backoff, in waves of `in_flight` requests) before its rows fail; once one connection in `timeout` seconds
        has got through, they fail at once instead, keeping what arrived, and a rerun sends only the rest."""
        if self.lost is not None:
            return self.lost
        if not isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            return None  # a dropped or slow answer: the server is there
        now = time.monotonic()
        if self.refused_since is None:
            self.refused_since = now
        elif now - self.refused_since >= self.timeout:
            self.lost = (
                f"the server at {self.base_url} stopped answering: no connection for {now - self.refused_since:.0f} s "
                f"({_describe(exc)}); what arrived is kept (and cached), run again to send the rest"
            )
            self._lost.set()
        return self.lost

    async def pause(self, seconds: float) -> None:
        """Sleep before a retry, waking at once when the server is judged gone."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._lost.wait(), seconds)

    def _where(self, method: str, url: str) -> str:
        path = _path_of(url)
        return f"{method} {path.removeprefix(self.base_url) or '/'}"


_contacts: weakref.WeakKeyDictionary[aiohttp.ClientSession, _Contact] = weakref.WeakKeyDictionary()


def _contact_of(session: aiohttp.ClientSession, settings: Settings) -> _Contact:
    contact = _contacts.get(session)
    if contact is None:  # a session opened elsewhere: it gets the same first-contact rules
        contact = _contacts[session] = _Contact(settings)
    if contact.started is None:
        contact.started = time.monotonic()
    return contact


def _eden_shaped(status: int, body: Any) -> bool:
    """Eden AI answers in JSON (an object, or a list of provider objects); only a 204 may be empty."""
    if body is None:
        return status == 204
    return isinstance(body, dict | list)


def _describe(exc: BaseException) -> str:
    """A short cause for a message (aiohttp's own texts name the host and port only, never the key)."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"the host name does not resolve ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(exc.os_error, ConnectionRefusedError):
        return "connection refused, nothing listens on that port"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return "the connection timed out (connect_timeout)"
    if isinstance(exc, TimeoutError) and not isinstance(exc, aiohttp.ServerTimeoutError):
        return "no answer within request_timeout"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def backoff_delay(settings: Settings, attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): Retry-After when given, else full jitter."""
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            seconds = math.nan  # an HTTP date: fall back to our own backoff
        if not math.isnan(seconds):  # 'nan' would make asyncio.sleep wait forever ('inf' is capped below)
            return min(max(seconds, 0.0), settings.backoff_max)
    # 2.0**attempt overflows past ~1000 attempts: past 64 doublings every ceiling is backoff_max anyway
    ceiling = min(settings.backoff_max, settings.backoff_base * (2.0 ** min(attempt, 64)))
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
    limiter: RateLimiter | RateBudget | None = None,
    raw: bool = False,
    must_exist: bool = False,
) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON body or None) for every non-retryable answer.

    With `raw=True` the body comes back as the bytes received (a media file), not parsed.

    Retries stop after `settings.max_retries` retries or once `settings.retry_deadline` seconds have passed, and
    then raise APIError with the last cause in the message. `data` is a callable building a fresh multipart body
    for each attempt (a body cannot be sent twice). `must_exist` marks an endpoint every Eden AI server has (a sync
    request, a batch launch): a 404 from it before anything of the run succeeded means a wrong base URL.
    Before the server has answered in this run, failures raise FirstContactError instead of being retried.
    """
    # Downloads of media (raw) come from storage hosts, not Eden AI: first-contact rules are for Eden's server.
    contact = None if raw else _contact_of(session, settings)
    # Under the account's RateBudget (v3) a 429 is the budget's news, not this request's fault: the budget pauses
    # every request of the process (Retry-After, else its own backoff) and lowers its rate, and its `wait()` is the
    # retry's backoff. Counting those 429s against `max_retries` would fail rows while the rate is still adapting
    # (a client budget set well above the account's costs a few 429s per request at first), so they are bounded by
    # `retry_deadline` only; 5xx and dropped connections still count. A RateLimiter (v2) keeps the old rule.
    budgeted = isinstance(limiter, RateBudget)
    last_problem = ""
    started = time.monotonic()
    attempt = 0  # retries counted against max_retries
    tries = 0
    while True:
        if contact is not None and contact.lost is not None:
            raise APIError(contact.lost)
        tries += 1
        retry_after: str | None = None
        status: int | None = None
        body: Any = None
        began: float | None = None
        try:
            if budgeted:
                assert isinstance(limiter, RateBudget)
                async with limiter.slot():  # the process-wide cap on requests in flight, for this attempt
                    began = await limiter.wait()
                    status, retry_after, content = await _attempt(
                        session, contact, method, url, json_body, data, params
                    )
            else:
                if limiter is not None:
                    await limiter.wait()
                status, retry_after, content = await _attempt(session, contact, method, url, json_body, data, params)
            body = content if raw else _parse(content)
            if contact is not None:
                contact.judge(method, url, status, body, must_exist)
            if status == 429 or status >= 500:
                text = content[:200].decode("utf-8", "replace")
                described = "" if raw else describe_error(body)
                last_problem = f"HTTP {status}: {described or text[:200]}"
            else:
                if limiter is not None:
                    limiter.on_status(status, started=began)
                return status, body
        except (*_RETRYABLE_EXCEPTIONS, aiohttp.ClientResponseError) as exc:
            fatal = None if contact is None or contact.answered else contact.refuse_retry(method, url, exc)
            if fatal is not None:
                raise fatal from None
            if isinstance(exc, aiohttp.ClientResponseError):
                raise  # not HTTP, from a server that answered before: as before, not retried
            if contact is not None and contact.refused(exc) is not None:
                raise APIError(contact.lost) from None
            last_problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            retry_after = None
            status = None
        if limiter is not None:
            seconds = retry_after_seconds(retry_after, body) if status == 429 else None
            limiter.on_status(status, retry_after=seconds, started=began)
        if budgeted and status == 429:
            delay = 0.0  # the budget's pause (Retry-After or backoff) is served in its wait()
            out_of_time = time.monotonic() - started > settings.retry_deadline
            out_of_tries = False
        else:
            delay = backoff_delay(settings, attempt, retry_after)
            out_of_time = time.monotonic() - started + delay > settings.retry_deadline
            out_of_tries = attempt >= settings.max_retries
            attempt += 1
        if out_of_tries or out_of_time:
            break
        log.debug("%s %s failed (%s); retry %d in %.2fs", method, _path_of(url), last_problem, tries, delay)
        if delay > 0:
            await (contact.pause(delay) if contact is not None else asyncio.sleep(delay))
    raise APIError(f"{method} {_path_of(url)} failed after {tries} attempt(s): {last_problem}")


async def _attempt(
    session: aiohttp.ClientSession,
    contact: _Contact | None,
    method: str,
    url: str,
    json_body: Any,
    data: Any,
    params: dict[str, Any] | None,
) -> tuple[int, str | None, bytes]:
    """Send one attempt (waiting for the run's first answer under the first-contact rules)."""
    body_data = data() if callable(data) else data
    payload = orjson.dumps(json_body) if json_body is not None else body_data
    headers = {"Content-Type": "application/json"} if json_body is not None else None
    request = _exchange(session, method, url, payload, params, headers)
    waiting = request if contact is None or contact.answered else contact.first_answer(request)
    return await waiting


async def _exchange(
    session: aiohttp.ClientSession, method: str, url: str, payload: Any, params: Any, headers: Any
) -> tuple[int, str | None, bytes]:
    """One HTTP exchange: (status, its Retry-After header, the raw body)."""
    async with session.request(method, url, data=payload, params=params, headers=headers) as response:
        return response.status, response.headers.get("Retry-After"), await response.read()


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
