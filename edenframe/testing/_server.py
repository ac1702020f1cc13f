"""`EdenEmulator`: an aiohttp server that speaks the Eden AI v2 sync and batch wire format (wire-format.md §1–§3)
and the v3 API (universal-ai sync and async, upload, embeddings, info: `_v3.py`; chat completions and the LLM
model list: `_v3_chat.py`), on one port: `base_url` is the v2
URL, `base_url_v3` the v3 one.

Every subfeature of the catalog is served, by the schema-driven `synthetic` generator for any known provider and by
the offline implementations for provider `local`. Fault hooks make the failure modes a client must survive
reproducible: latency, 429 with Retry-After, 5xx, dropped connections, slow jobs, rejected, failed and partially
failed requests, small pages.

This module is the server: lifecycle (`start`/`stop`, `astart`/`astop`), the middlewares every route shares
(records, latency, auth, faults) and the route tables it mounts (`ROUTE_TABLES`: `_v2.py`, `_v3.py`).

State is mutated on the server's event loop only; the introspection properties (`calls`, `jobs`, `ledger`, ...)
take a lock and return copies, so tests may read them from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hmac
import json
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Collection
from collections.abc import Mapping as ReadOnlyMapping
from http import HTTPStatus
from types import TracebackType
from typing import Any

from aiohttp import web

from .._catalog import Subfeature, all_subfeatures
from . import _v2
from ._media_route import loopback_links, media_routes
from ._records import BatchJob, BatchRequestState, Call, Charge
from ._v3 import AccountRateLimit, V3Faults, V3State, synthetic_answer, v3_routes
from ._v3_chat import ChatState, chat_routes
from ._validation import _known_providers, _provider_list, validate_item
from ._wire import (
    _INVALID_JSON,
    BODY,
    FAULTY,
    PUBLIC,
    RATE_LIMIT_MESSAGE,
    _Body,
    _error,
    _json,
    _not_found,
    _seconds,
)

log = logging.getLogger("edenframe.testing")

PSEUDO_PROVIDERS = ("synthetic", "local")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]

RouteTable = Callable[["EdenEmulator"], web.RouteTableDef]
"""A route table factory: given the emulator, the `aiohttp.web.RouteTableDef` of one API version.

What a route table gets, and may use:
- the emulator's options, read-only: `responses`, `providers`, `page_size`, `job_seconds`, `max_batch_requests`,
  `max_running_jobs`, `cost_factor`, `omit_status`, `add_eden_ai`, `extra_keys`, `fail_inputs`,
  `provider_fail_inputs`, `request_fail_inputs`, `info_status`;
- its records, mutated on the server's loop and under `emu._lock`: `_ledger` (append a `Charge` per provider result
  charged), `_jobs` (batch jobs by name), `_job_tasks` (background tasks, cancelled by `astop`),
  `_next_public_id`, `_max_running_seen`;
- its shared answers: `_listed(entry)` (the providers served), `_info_fault()` (the `info_status` answer or None),
  `_too_many(message)` (a 429 with Retry-After);
- per request: the parsed body at `request[BODY]` (a `_wire._Body`: JSON, or multipart fields with files as bytes).

The middlewares record every request, apply `latency`, check the API key (except on handlers marked `public`) and
roll the random faults (only on handlers marked `faulty`); a 404 or 405 from the router is answered in Eden AI's
JSON. Register each path with and without its trailing slash.
"""


def _v3_table(emu: EdenEmulator) -> web.RouteTableDef:
    """The v3 routes (`_v3.py`), serving from a `V3State` built from the emulator's options when it starts."""
    return v3_routes(emu._v3_state())


def _chat_table(emu: EdenEmulator) -> web.RouteTableDef:
    """v3's chat completions and LLM model list (`_v3_chat.py`), serving from the same `ChatState` as the v3
    routes (built by `_v3_table` just before): one account's rate limit, faults, records, charges and credits."""
    state = emu._v3 if emu._v3 is not None else emu._v3_state()
    assert isinstance(state, ChatState)
    return chat_routes(state)


# The API versions served, one route table each.
ROUTE_TABLES: tuple[RouteTable, ...] = (_v2.routes, _v3_table, _chat_table)

# Beside the APIs: the files the v3 answers' media links point at (`_media_route.py`).
ROUTE_TABLES += (media_routes,)


# ---------------------------------------------------------------------------------------------------------------
# The server


class EdenEmulator:
    """A local Eden AI v2 server for tests: sync and batch endpoints, synthetic and local providers, fault hooks.

    Use it from sync code (`with EdenEmulator() as emu:` runs it on a daemon background thread, so it also works
    inside a running event loop) or from async code (`async with EdenEmulator() as emu:` runs it on the current
    loop). Point a client at `emu.base_url` with `emu.api_key`.
    """

    def __init__(
        self,
        *,
        api_key: str = "test-key",
        host: str = "127.0.0.1",
        port: int = 0,
        job_seconds: float = 0.0,
        page_size: int = 100,
        max_batch_requests: int = 500,
        max_running_jobs: int = 5,
        latency: float = 0.0,
        omit_status: bool = False,
        add_eden_ai: bool = False,
        extra_keys: bool = False,
        fail_inputs: Collection[str] = (),
        provider_fail_inputs: Collection[str] = (),
        request_fail_inputs: Collection[str] = (),
        rate_limit: float = 0.0,
        server_error: float = 0.0,
        drop_connection: float = 0.0,
        retry_after: float = 0.05,
        cost_factor: float = 1.0,
        seed: int = 0,
        log_requests: bool = False,
        responses: ReadOnlyMapping[str, ReadOnlyMapping[str, Any]] | None = None,
        providers: ReadOnlyMapping[str, Collection[str]] | None = None,
        info_status: int | None = None,
        account_rate_limit: float | AccountRateLimit | None = None,
        v3_cost_format: str = "number",
        failing_providers: Collection[str] = (),
        v3_prices: ReadOnlyMapping[str, Any] | None = None,
        llm_prices: ReadOnlyMapping[str, tuple[float, float]] | None = None,
        chat_invalid_share: float = 0.0,
        chat_cost: bool = False,
        chat_usage: bool = True,
        llm_models: Collection[str] | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        if not cost_factor >= 0:
            raise ValueError(f"cost_factor is a non-negative multiplier of the listed prices, got {cost_factor!r}")
        for name, p in (
            ("rate_limit", rate_limit),
            ("server_error", server_error),
            ("drop_connection", drop_connection),
        ):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} is a probability between 0 and 1, got {p!r}")
        self._api_key = api_key
        self.host = host
        self.port = port
        self.job_seconds = job_seconds
        self.page_size = page_size
        self.max_batch_requests = max_batch_requests
        self.max_running_jobs = max_running_jobs
        self.latency = latency
        self.omit_status = omit_status
        self.add_eden_ai = add_eden_ai
        self.extra_keys = extra_keys
        self.fail_inputs = frozenset(fail_inputs)
        self.provider_fail_inputs = frozenset(provider_fail_inputs)
        self.request_fail_inputs = frozenset(request_fail_inputs)
        self.rate_limit = rate_limit
        self.server_error = server_error
        self.drop_connection = drop_connection
        self.retry_after = retry_after
        # Charges are the price table's times this: Eden AI billing above its listed prices (output tokens, pages).
        self.cost_factor = cost_factor
        self.seed = seed
        self.log_requests = log_requests
        # Canned provider objects: {"text/sentiment_analysis": {"google": {...}}} answers every request of that
        # subfeature for that provider with exactly this object (a recorded real response, say).
        self.responses = {path: dict(objs) for path, objs in (responses or {}).items()}
        # The emulated account's Eden AI providers per subfeature, replacing the catalog's list: in the info
        # endpoints and in what requests may name ({"text/sentiment_analysis": ["google", "newcomer"]} adds a
        # provider newer than the catalog and retires amazon). `synthetic` and `local` are always served.
        unknown = sorted(set(providers or {}) - {e.path for e in all_subfeatures()})
        if unknown:
            raise ValueError(f"providers= names unknown subfeature(s) {unknown}; use 'feature/subfeature' paths")
        self.providers = {
            path: tuple(_provider_list(names) or ()) if isinstance(names, str) else tuple(names)
            for path, names in (providers or {}).items()
        }
        # Every info endpoint (v2 provider_subfeatures, v3 info) answers this HTTP status instead, e.g. 503
        if info_status is not None and not 300 <= info_status <= 599:
            raise ValueError(f"info_status is an HTTP error status (300-599), got {info_status!r}")
        self.info_status = info_status
        # v3 only: the account's budget in requests per second over every /v3 route (a token bucket answering 429,
        # with Retry-After), or an `AccountRateLimit` for bursts and answers without Retry-After; None: no limit
        if isinstance(account_rate_limit, (int, float)):
            account_rate_limit = AccountRateLimit(float(account_rate_limit))
        self.account_rate_limit: AccountRateLimit | None = account_rate_limit
        if v3_cost_format not in ("number", "string", "alternate"):
            raise ValueError(f"v3_cost_format is 'number', 'string' or 'alternate', got {v3_cost_format!r}")
        self.v3_cost_format = v3_cost_format  # v3's `cost` as a JSON number, a decimal string, or both in turn
        self.failing_providers = frozenset(failing_providers)  # v3 only: providers failing every request
        # v3 only: Eden AI's listed prices changed, by model string ("text/moderation/google": (price, per, unit) or
        # a price alone), served by /v3/info and billed (times cost_factor); LLM (input, output) USD per token by
        # "provider/model", served by GET /v3/models
        self.v3_prices = dict(v3_prices or {})
        self.llm_prices = dict(llm_prices or {})
        # v3 chat: the share of answers deliberately invalid (not JSON, or breaking the requested schema; chosen by
        # prompt, so a prompt is always valid or always not), whether answers carry Eden's `cost`, and the
        # 'provider/model' names GET /v3/models lists (None: the price table's LLM models)
        if not 0.0 <= chat_invalid_share <= 1.0:
            raise ValueError(f"chat_invalid_share is a share between 0 and 1, got {chat_invalid_share!r}")
        self.chat_invalid_share = chat_invalid_share
        self.chat_cost = chat_cost
        self.chat_usage = chat_usage  # False: answers without `usage` (optional in the OpenAPI)
        self.llm_models = tuple(llm_models) if llm_models is not None else None
        self._v3: V3State | None = None

        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._ledger: list[Charge] = []
        self._jobs: dict[str, BatchJob] = {}
        self._job_tasks: dict[str, asyncio.Task[None]] = {}
        self._next_public_id = 1
        self._max_running_seen = 0
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._public_paths: frozenset[str] = frozenset()

    # -- public attributes ---------------------------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def url(self) -> str:
        """The server's root URL, "http://127.0.0.1:PORT"."""
        if self._bound_port is None:
            raise RuntimeError("the emulator is not running: use `with EdenEmulator() as emu:` or start() first")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else "[::1]" if self.host == "::" else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self._bound_port}"

    @property
    def base_url(self) -> str:
        """What a client uses as Eden AI's v2 base URL: "http://127.0.0.1:PORT/v2"."""
        return f"{self.url}/v2"

    @property
    def base_url_v3(self) -> str:
        """What a client uses as Eden AI's v3 base URL: "http://127.0.0.1:PORT/v3"."""
        return f"{self.url}/v3"

    @property
    def running(self) -> bool:
        return self._runner is not None

    def __repr__(self) -> str:
        where = self.url if self._bound_port is not None else f"{self.host}:{self.port} (not running)"
        with self._lock:
            jobs = len(self._jobs)
        return f"<EdenEmulator {where} jobs={jobs}>"

    # -- introspection (thread-safe copies) ----------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    @property
    def jobs(self) -> dict[str, BatchJob]:
        with self._lock:
            return copy.deepcopy(self._jobs)

    @property
    def ledger(self) -> list[Charge]:
        with self._lock:
            return list(self._ledger)

    @property
    def total_cost(self) -> float:
        with self._lock:
            return sum(c.cost for c in self._ledger)

    @property
    def max_running_seen(self) -> int:
        with self._lock:
            return self._max_running_seen

    @property
    def running_jobs(self) -> int:
        with self._lock:
            return self._running_count()

    def reset(self) -> None:
        """Forget recorded calls and charges (jobs are kept); `max_running_seen` restarts from the jobs running now."""
        with self._lock:
            self._calls.clear()
            self._ledger.clear()
            self._max_running_seen = self._running_count()

    def _running_count(self) -> int:
        return sum(1 for job in self._jobs.values() if job.status == "processing")

    # -- lifecycle ----------------------------------------------------------------------------------------------

    async def astart(self) -> EdenEmulator:
        """Start serving on the running event loop."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        app = web.Application(
            client_max_size=256 * 1024 * 1024,
            # outermost first: every request is recorded, then delayed, then authenticated, then maybe faulted
            middlewares=[_records_middleware(self), _latency_middleware(self), _auth_middleware(self), _faults(self)],
        )
        for table in ROUTE_TABLES:
            app.router.add_routes(table(self))
        self._public_paths = frozenset(
            route.resource.canonical
            for route in app.router.routes()
            if route.resource is not None and getattr(route.handler, PUBLIC, False)
        )
        runner = web.AppRunner(
            app, access_log=log if self.log_requests else None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._bound_port = int(runner.addresses[0][1])
        return self

    async def astop(self) -> None:
        """Stop serving: cancel running jobs and close the listening socket."""
        runner, self._runner = self._runner, None
        tasks = list(self._job_tasks.values())
        self._job_tasks.clear()
        if self._v3 is not None:  # v3 async jobs still computing
            tasks += [job.task for job in self._v3.jobs.values() if job.task is not None and not job.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if runner is not None:
            await runner.cleanup()
        self._bound_port = None

    def start(self) -> EdenEmulator:
        """Start serving on a private event loop in a daemon thread (works even inside a running event loop)."""
        if self._thread is not None or self._runner is not None:
            raise RuntimeError("the emulator is already running")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._thread_loop = loop
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                with contextlib.suppress(Exception):
                    loop.run_until_complete(loop.shutdown_asyncgens())
                    loop.run_until_complete(loop.shutdown_default_executor())
                loop.close()

        thread = threading.Thread(target=run, name="EdenEmulator", daemon=True)
        self._thread = thread
        thread.start()
        ready.wait()
        if failure:
            self._thread = None
            self._thread_loop = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stop a server started with `start()` (or by `with`)."""
        loop, thread = self._thread_loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.astop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            self._thread = None
            self._thread_loop = None

    def __enter__(self) -> EdenEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> EdenEmulator:
        return await self.astart()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.astop()

    # -- the seams for route tables -------------------------------------------------------------------------------

    def _get_job(self, request: web.Request, entry: Subfeature, job_name: str) -> web.Response:
        """One page of a v2 batch job's results. Kept on the emulator so a subclass can break a page (tests do)."""
        return _v2.get_job(self, request, entry, job_name)

    def _too_many(self, message: str) -> web.Response:
        return _json(
            {"error": {"code": 429, "message": message}}, 429, headers={"Retry-After": _seconds(self.retry_after)}
        )

    def _v3_state(self) -> V3State:
        """What the v3 routes serve from, built from this emulator's options (read when it starts): the same key,
        records (`calls`), ledger (`ledger`, `total_cost`), providers, failing inputs, job time and random faults
        as v2, answered by the same synthetic and local providers (times `cost_factor`)."""

        async def answer(path: str, provider: str, data: dict[str, Any]) -> tuple[dict[str, Any], float]:
            output, cost = await synthetic_answer(path, provider, data)
            # media links on the emulator itself (v3 text to speech has no payload: save_to downloads the link)
            return loopback_links(output, self.url), cost * self.cost_factor

        def charge(**charged: Any) -> None:
            with self._lock:
                self._ledger.append(Charge(**charged))

        # requests are recorded by the records middleware, like v2's: the state's own `record` stays unused;
        # a ChatState, so the chat route (`_chat_table`) serves from the very same account
        self._v3 = ChatState(
            api_key=self._api_key,
            answer=answer,
            limiter=self.account_rate_limit,
            charge=charge,
            faults=V3Faults(
                server_error=self.server_error,
                drop_connection=self.drop_connection,
                rate_limited=self.rate_limit,
                seed=self.seed,
            ),
            providers=self.providers,
            cost_format=self.v3_cost_format,  # type: ignore[arg-type]
            provider_fail_inputs=self.provider_fail_inputs,
            fail_inputs=self.fail_inputs,
            request_fail_inputs=self.request_fail_inputs,
            failing_providers=self.failing_providers,
            job_seconds=self.job_seconds,
            info_status=self.info_status,
            prices=self.v3_prices,
            llm_prices=self.llm_prices,
            cost_factor=self.cost_factor,
            invalid_share=self.chat_invalid_share,
            chat_cost=self.chat_cost,
            chat_usage=self.chat_usage,
            llm_models=self.llm_models,
            responses=self.responses,
        )
        return self._v3

    # -- info endpoints: the providers this emulator serves, in Eden AI's shapes ----------------------------------

    def _listed(self, entry: Subfeature) -> list[str]:
        """The providers served for `entry` as the info endpoints list them (catalog or `providers=`, plus
        `synthetic`, the canned responses' providers and `local` where it has an offline implementation)."""
        return _known_providers(entry, tuple(self.responses.get(entry.path, ())), self.providers.get(entry.path))

    def _info_fault(self) -> web.Response | None:
        if self.info_status is None:
            return None
        try:
            phrase = HTTPStatus(self.info_status).phrase
        except ValueError:  # a status without a standard name (599)
            phrase = "Error"
        return _error(self.info_status, phrase, "The info service cannot answer (emulated).")


# ---------------------------------------------------------------------------------------------------------------
# Middlewares: what every route of every API version shares


class _Dropped(Exception):
    """Raised by the faults middleware to drop the connection without an answer."""


def _records_middleware(emu: EdenEmulator) -> Middleware:
    """Read the body once (for the handler, at `request[BODY]`, and for the record), record every request as a
    `Call`, and answer errors as Eden AI does: JSON 404 and 405, a 500 for a bug, keep serving."""

    @web.middleware
    async def records(request: web.Request, handler: Handler) -> web.StreamResponse:
        status: int | None = None
        body = _Body(None, None)
        try:
            body = await _read_body(request)
            request[BODY] = body
            try:
                response = await handler(request)
            except asyncio.CancelledError:
                raise
            except _Dropped:
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            except web.HTTPNotFound:
                response = _not_found()
            except web.HTTPMethodNotAllowed:
                detail = (
                    "Method Not Allowed"
                    if request.path.startswith("/v3/")
                    else f'Method "{request.method}" not allowed.'
                )
                response = _json({"detail": detail}, 405)
            except Exception as exc:  # a bug or an unexpected input: answer like Eden AI's 500, keep serving
                log.exception("emulator error on %s %s", request.method, request.path)
                response = _error(500, "Internal Server Error", f"{type(exc).__name__}: {exc}")
            status = response.status
            return response
        finally:
            call = Call(request.method, request.path, dict(request.query), body.record, status)
            with emu._lock:
                emu._calls.append(call)

    return records


async def _read_body(request: web.Request) -> _Body:
    if not request.body_exists:
        return _Body(None, None)
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        data: dict[str, Any] = {}
        record: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                data[key] = content
                record[key] = f"<{len(content)} bytes>"
            else:
                data[key] = str(value)
                record[key] = str(value)
        return _Body(data, record, multipart=True)
    raw = await request.read()
    if not raw.strip():
        return _Body(None, None)
    try:
        parsed = json.loads(raw)
    except ValueError:
        return _Body(_INVALID_JSON, None)
    return _Body(parsed, parsed)


def _latency_middleware(emu: EdenEmulator) -> Middleware:
    @web.middleware
    async def latency(request: web.Request, handler: Handler) -> web.StreamResponse:
        if emu.latency > 0:
            await asyncio.sleep(emu.latency)
        return await handler(request)

    return latency


def _auth_middleware(emu: EdenEmulator) -> Middleware:
    """`Authorization: Bearer <API key>` on every path but the public ones (also when the path is unknown or the
    method wrong: Eden AI checks the key first)."""

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        # the v3 routes check the key themselves, answering 401 in v3's shape (`_v3.py`)
        if request.path in emu._public_paths or request.path.startswith("/v3/"):
            return await handler(request)
        if getattr(request.match_info.handler, PUBLIC, False):  # a public route with a variable part (media files)
            return await handler(request)
        header = request.headers.get("Authorization", "")
        if not header.strip():
            return _error(
                403,
                "Forbidden",
                "Authentication credentials were not provided: send `Authorization: Bearer <API_Key>`.",
            )
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(403, "Forbidden", "The authorization header needs to be `Authorization: Bearer <API_Key>`.")
        if not hmac.compare_digest(token.strip().encode(), emu.api_key.encode()):
            return _error(401, "Unauthorized", "Invalid API key.")
        return await handler(request)

    return auth


def _faults(emu: EdenEmulator) -> Middleware:
    """The random faults (`drop_connection`, `server_error`, `rate_limit`, one roll of the seeded generator per
    request) on the handlers marked `faulty`: the feature endpoints, not the info endpoints."""

    @web.middleware
    async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not getattr(request.match_info.handler, FAULTY, False):
            return await handler(request)
        if not (emu.drop_connection or emu.server_error or emu.rate_limit):
            return await handler(request)
        with emu._lock:
            roll = emu._rng.random()
        if roll < emu.drop_connection:
            raise _Dropped
        roll -= emu.drop_connection
        if roll < emu.server_error:
            return _error(500, "Internal Server Error", "Provider has returned an Error. Please try again later.")
        roll -= emu.server_error
        if roll < emu.rate_limit:
            return emu._too_many(RATE_LIMIT_MESSAGE)
        return await handler(request)

    return faults


__all__ = ["BatchJob", "BatchRequestState", "Call", "Charge", "EdenEmulator", "validate_item"]
