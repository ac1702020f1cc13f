"""`EdenEmulator`: an aiohttp server that speaks the Eden AI v2 sync and batch wire format (wire-format.md §1–§3),
and the provider lists of the v2 and v3 info endpoints (`/v2/info/provider_subfeatures/`, `/v3/info`).

Every subfeature of the catalog is served, by the schema-driven `synthetic` generator for any known provider and by
the offline implementations for provider `local`. Fault hooks make the failure modes a client must survive
reproducible: latency, 429 with Retry-After, 5xx, dropped connections, slow jobs, rejected, failed and partially
failed requests, small pages.

State is mutated on the server's event loop only; the introspection properties (`calls`, `jobs`, `ledger`, ...)
take a lock and return copies, so tests may read them from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import logging
import random
import re
import threading
from collections.abc import Collection
from collections.abc import Mapping as ReadOnlyMapping
from http import HTTPStatus
from types import TracebackType
from typing import Any

from aiohttp import web

from .._catalog import Subfeature, all_subfeatures
from .._prices import load_prices
from ._records import BatchJob, BatchRequestState, Call, Charge
from ._synthetic import synthetic_cost, synthetic_output
from ._v2 import _input_hits, _request_item, _request_item_value, _run_local, _unpriced_provider_subfeature
from ._validation import _coerce_form, _known_providers, _Provider, _provider_list, validate_item
from ._wire import (
    _DROP,
    _INVALID_JSON,
    RATE_LIMIT_MESSAGE,
    _bad_request,
    _Body,
    _error,
    _json,
    _not_found,
    _now,
    _seconds,
    _type_name,
)

log = logging.getLogger("edenframe.testing")

PSEUDO_PROVIDERS = ("synthetic", "local")
REQUEST_STATUSES = ("succeeded", "failed", "finished", "processing")

_BATCH_LIST = re.compile(r"^/v2/batch/?$")
_BATCH_JOB = re.compile(r"^/v2/(?P<feature>[^/]+)/(?P<subfeature>[^/]+)/batch/(?P<name>[^/]+)/?$")
_SYNC = re.compile(r"^/v2/(?P<feature>[^/]+)/(?P<subfeature>[^/]+)/?$")
_PROVIDER_SUBFEATURES = re.compile(r"^/v2/info/provider_subfeatures/?$")
_V3_INFO = re.compile(r"^/v3/info/?$")


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
        """What a client uses as Eden AI's base URL: "http://127.0.0.1:PORT/v2"."""
        return f"{self.url}/v2"

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
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
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

    # -- HTTP plumbing ------------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        status: int | None = None
        body = _Body(None, None)
        try:
            body = await self._read_body(request)
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            try:
                result = await self._dispatch(request, body)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or an unexpected input: answer like Eden AI's 500, keep serving
                log.exception("emulator error on %s %s", request.method, request.path)
                result = _error(500, "Internal Server Error", f"{type(exc).__name__}: {exc}")
            if result is _DROP:
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            assert isinstance(result, web.StreamResponse)
            status = result.status
            return result
        finally:
            call = Call(request.method, request.path, dict(request.query), body.record, status)
            with self._lock:
                self._calls.append(call)

    async def _read_body(self, request: web.Request) -> _Body:
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

    def _auth(self, request: web.Request) -> web.Response | None:
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
        if not hmac.compare_digest(token.strip().encode(), self._api_key.encode()):
            return _error(401, "Unauthorized", "Invalid API key.")
        return None

    def _fault(self) -> Any:
        if not (self.drop_connection or self.server_error or self.rate_limit):
            return None
        with self._lock:
            roll = self._rng.random()
        if roll < self.drop_connection:
            return _DROP
        roll -= self.drop_connection
        if roll < self.server_error:
            return _error(500, "Internal Server Error", "Provider has returned an Error. Please try again later.")
        roll -= self.server_error
        if roll < self.rate_limit:
            return self._too_many(RATE_LIMIT_MESSAGE)
        return None

    def _too_many(self, message: str) -> web.Response:
        return _json(
            {"error": {"code": 429, "message": message}}, 429, headers={"Retry-After": _seconds(self.retry_after)}
        )

    async def _dispatch(self, request: web.Request, body: _Body) -> Any:
        path, method = request.path, request.method
        if _V3_INFO.match(path):  # public in the v3 spec: no `security` on GET /v3/info
            if method != "GET":
                return _json({"detail": "Method Not Allowed"}, 405)
            return self._info_fault() or self._v3_info()
        denied = self._auth(request)
        if denied is not None:
            return denied
        if _PROVIDER_SUBFEATURES.match(path):
            if method != "GET":
                return _json({"detail": f'Method "{method}" not allowed.'}, 405)
            # Not subject to the random faults: those model the feature endpoints; `info_status` breaks this one.
            return self._info_fault() or self._provider_subfeatures(request)
        if _BATCH_LIST.match(path):
            if method != "GET":
                return _json({"detail": f'Method "{method}" not allowed.'}, 405)
            return self._fault() or self._list_jobs(request)
        match = _BATCH_JOB.match(path)
        if match:
            if method not in ("GET", "POST", "DELETE"):
                return _json({"detail": f'Method "{method}" not allowed.'}, 405)
            entry = self._entry(match["feature"], match["subfeature"])
            if entry is None:
                return _not_found()
            fault = self._fault()
            if fault is not None:
                return fault
            name = match["name"]
            if method == "POST":
                return self._launch(request, entry, name, body)
            if method == "GET":
                return self._get_job(request, entry, name)
            return await self._delete_job(entry, name)
        match = _SYNC.match(path)
        if match:
            entry = self._entry(match["feature"], match["subfeature"])
            if entry is None:
                return _not_found()
            if method != "POST":
                return _json({"detail": f'Method "{method}" not allowed.'}, 405)
            return self._fault() or await self._sync(entry, body)
        return _not_found()

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

    def _provider_subfeatures(self, request: web.Request) -> web.Response:
        """`GET /v2/info/provider_subfeatures/` (wire-format 6.1, v2 OpenAPI `ProviderSubfeature`): one object per
        (provider, subfeature) served, with its `pricings` from the shipped price table (none for a provider the
        table does not price, such as `synthetic`), filtered like the endpoint's query parameters."""
        query = request.query
        feature, subfeature, provider = (query.get(f"{k}__name") for k in ("feature", "subfeature", "provider"))
        priced = {
            (obj["feature"]["name"], obj["subfeature"]["name"], obj["provider"]["name"]): obj
            for obj in load_prices().to_provider_subfeatures(feature=feature, subfeature=subfeature, provider=provider)
        }
        out = []
        for entry in all_subfeatures():
            if feature not in (None, entry.feature) or subfeature not in (None, entry.subfeature):
                continue
            for name in self._listed(entry):
                if provider not in (None, name):
                    continue
                obj = priced.get((entry.feature, entry.subfeature, name))
                out.append(obj if obj is not None else _unpriced_provider_subfeature(entry, name))
        return _json(out)

    def _v3_info(self) -> web.Response:
        """`GET /v3/info` (v3 OpenAPI `FeaturesListResponse`; wire-format-v3 1.5): every subfeature served, its
        models named "feature/subfeature/provider[/model]" with their `pricing` where the price table has one."""
        prices = load_prices()
        features: dict[str, list[dict[str, Any]]] = {}
        for entry in all_subfeatures():
            table = prices.prices.get(entry.path, {})
            models = []
            for name in self._listed(entry):
                keys = [k for k in table if k.split("/", 1)[0] == name] or [name]
                for key in keys:
                    model: dict[str, Any] = {"model": f"{entry.path}/{key}"}
                    price = table.get(key)
                    if isinstance(price, dict):  # priced per resolution: the first one stands for the model
                        price = next(iter(price.values()), None)
                    if price is not None:
                        model["pricing"] = {
                            "price": price.price,
                            "price_unit_quantity": price.per,
                            "price_unit_type": price.unit,
                        }
                    models.append(model)
            features.setdefault(entry.feature, []).append(
                {
                    "name": entry.subfeature,
                    "fullname": entry.subfeature.replace("_", " ").title(),
                    "description": entry.summary,
                    "mode": "sync",
                    "models": models,
                }
            )
        return _json(
            {
                "features": [
                    {"name": name, "fullname": name.title(), "description": None, "subfeatures": subfeatures}
                    for name, subfeatures in features.items()
                ]
            }
        )

    @staticmethod
    def _entry(feature: str, subfeature: str) -> Subfeature | None:
        path = f"{feature}/{subfeature}"
        for entry in all_subfeatures():
            if entry.path == path:
                return entry
        return None

    # -- computing results ----------------------------------------------------------------------------------------

    def _success(
        self, fields: dict[str, Any], cost: float, provider: _Provider, body: dict[str, Any]
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {**fields, "status": "success", "cost": cost}
        if self.extra_keys or body.get("show_original_response") is True:
            digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]
            obj["original_response"] = {"id": f"emulated-{digest}", "model": provider.spec, "object": "emulated"}
        if self.extra_keys:
            prompt = max(1, len(json.dumps(_request_item_value(body))) // 4)
            completion = 1 + len(fields)
            obj["usage"] = {
                "completion_tokens": completion,
                "prompt_tokens": prompt,
                "total_tokens": completion + prompt,
                "completion_tokens_details": {"reasoning_tokens": 0},
                "prompt_tokens_details": {"cached_tokens": 0},
            }
        if self.omit_status:
            del obj["status"]
        return obj

    @staticmethod
    def _failure(message: str, type_: str = "ProviderException") -> dict[str, Any]:
        return {"status": "fail", "error": {"message": message, "type": type_}, "cost": 0.0}

    async def _compute(
        self, entry: Subfeature, bodies: list[dict[str, Any]], providers: list[list[_Provider]], job: str
    ) -> list[Any]:
        """Provider-keyed responses (as the sync endpoint returns them) for request bodies; charges the ledger."""
        objects: list[list[dict[str, Any] | None]] = [[None] * len(p) for p in providers]
        local_work: dict[str, list[tuple[int, int]]] = {}
        for i, (body, provs) in enumerate(zip(bodies, providers, strict=True)):
            for j, prov in enumerate(provs):
                canned = self.responses.get(entry.path, {}).get(prov.key)
                if _input_hits(entry, body, self.provider_fail_inputs):
                    objects[i][j] = self._failure("Provider has returned an Error. Please try again later.")
                elif canned is not None:
                    objects[i][j] = copy.deepcopy(dict(canned))
                elif prov.name == "local":
                    local_work.setdefault(prov.spec, []).append((i, j))
                else:
                    item = _request_item(entry, body)
                    fields = synthetic_output(entry, prov.spec, item)
                    cost = synthetic_cost(entry, prov.spec, item) * self.cost_factor
                    objects[i][j] = self._success(fields, cost, prov, body)
        for slots in local_work.values():
            items = [_request_item(entry, bodies[i]) for i, _ in slots]
            try:
                outputs = await asyncio.to_thread(_run_local, entry.path, items)
                if len(outputs) != len(items):
                    raise RuntimeError(f"the local backend returned {len(outputs)} results for {len(items)} items")
            except Exception as exc:
                outputs = [self._failure(f"{type(exc).__name__}: {exc}") for _ in items]
            for (i, j), out in zip(slots, outputs, strict=True):
                prov = providers[i][j]
                if not isinstance(out, dict) or out.get("status") == "fail":
                    error = out.get("error") if isinstance(out, dict) else None
                    message = error.get("message") if isinstance(error, dict) else str(error or "local provider failed")
                    objects[i][j] = self._failure(str(message))
                    continue
                fields = {k: v for k, v in out.items() if k not in ("status", "cost", "usage", "original_response")}
                cost = float(out.get("cost") or 0.0)
                objects[i][j] = self._success(fields, cost, prov, bodies[i])

        responses: list[Any] = []
        charges: list[Charge] = []
        for body, provs, objs in zip(bodies, providers, objects, strict=True):
            response: dict[str, Any] = {}
            for prov, obj in zip(provs, objs, strict=True):
                assert obj is not None
                response[prov.key] = obj
                if obj.get("status", "success") == "success" and "error" not in obj:
                    charges.append(Charge(job, body.get("name"), prov.spec, float(obj.get("cost", 0.0))))
            if self.add_eden_ai and response:
                merged = synthetic_output(entry, "eden-ai", _request_item(entry, body))
                response["eden-ai"] = {**merged, "status": "success", "cost": 0.0}
            if body.get("response_as_dict") is False:
                responses.append([{**obj, "provider": key} for key, obj in response.items()])
            else:
                responses.append(response)
        with self._lock:
            self._ledger.extend(charges)
        return responses

    # -- sync ---------------------------------------------------------------------------------------------------

    async def _sync(self, entry: Subfeature, body: _Body) -> web.Response:
        if body.data is _INVALID_JSON:
            return _bad_request({"non_field_errors": ["JSON parse error: the body is not valid JSON."]})
        data = _coerce_form(entry, body.data) if body.multipart else body.data
        errors, providers = validate_item(
            entry,
            data if data is not None else {},
            extra_providers=tuple(self.responses.get(entry.path, ())),
            listed_providers=self.providers.get(entry.path),
        )
        if errors:
            return _bad_request(errors)
        assert isinstance(data, dict)
        if _input_hits(entry, data, self.fail_inputs):
            return _bad_request({entry.input_field: ["This input was rejected by the emulator (fail_inputs)."]})
        if _input_hits(entry, data, self.request_fail_inputs):
            return _error(500, "Internal Server Error", "The request failed (request_fail_inputs).")
        [response] = await self._compute(entry, [data], [providers], job="sync")
        return _json(response)

    # -- batch --------------------------------------------------------------------------------------------------

    def _launch(self, request: web.Request, entry: Subfeature, job_name: str, body: _Body) -> web.Response:
        if body.multipart:
            return _json({"detail": 'Unsupported media type "multipart/form-data" in request.'}, 415)
        if body.data is _INVALID_JSON:
            return _bad_request({"non_field_errors": ["JSON parse error: the body is not valid JSON."]})
        data = body.data
        if not isinstance(data, dict):
            return _bad_request(
                {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {_type_name(data)}."]}
            )
        items = data.get("requests")
        if items is None:
            return _bad_request({"requests": ["This field is required."]})
        if not isinstance(items, list):
            return _bad_request({"requests": [f'Expected a list of items but got type "{_type_name(items)}".']})
        if not items:
            return _bad_request({"requests": ["This list may not be empty."]})
        if len(items) > self.max_batch_requests:
            return _bad_request(
                {"requests": [f"Ensure this field has no more than {self.max_batch_requests} elements."]}
            )
        with self._lock:
            exists = job_name in self._jobs
            running = self._running_count()
        if exists:
            return _bad_request(
                {"name": [f"A batch job named '{job_name}' already exists. Delete it or launch under another name."]}
            )
        if running >= self.max_running_jobs:
            return self._too_many(
                f"You can have up to {self.max_running_jobs} concurrent running batch jobs: "
                "wait for a running job to finish (or delete one) before launching another."
            )

        launched: list[BatchRequestState] = []
        launched_providers: list[list[_Provider]] = []
        failed: list[dict[str, Any]] = []
        next_id = self._next_public_id
        for index, item in enumerate(items):
            errors, providers = validate_item(
                entry,
                item,
                batch=True,
                extra_providers=tuple(self.responses.get(entry.path, ())),
                listed_providers=self.providers.get(entry.path),
            )
            if not errors and isinstance(item, dict) and _input_hits(entry, item, self.fail_inputs):
                errors = {entry.input_field: ["This input was rejected by the emulator (fail_inputs)."]}
            if errors:
                name = item.get("name") if isinstance(item, dict) else None
                failed.append({"name": name, "public_id": index, "body": item, "errors": errors})
                continue
            assert isinstance(item, dict)
            launched.append(BatchRequestState(public_id=next_id, name=item.get("name"), body=item))
            launched_providers.append(providers)
            next_id += 1
        now = _now()
        job = BatchJob(
            name=job_name, path=entry.path, requests=launched, failed_requests=failed, created=now, updated=now
        )
        with self._lock:
            self._next_public_id = next_id
            self._jobs[job_name] = job
            self._max_running_seen = max(self._max_running_seen, self._running_count())
        if launched:
            task = asyncio.get_running_loop().create_task(self._run_job(entry, job, launched_providers))
            self._job_tasks[job_name] = task
            task.add_done_callback(lambda t, n=job_name: self._forget_task(n, t))
        return _json(
            {
                "job_id": job_name,
                "nb_launched": len(launched),
                "nb_failed": len(failed),
                "total": len(items),
                "failed_requests": failed,
            }
        )

    def _forget_task(self, name: str, task: asyncio.Task[None]) -> None:
        if self._job_tasks.get(name) is task:
            del self._job_tasks[name]
        if not task.cancelled() and task.exception() is not None:
            log.error("emulator batch job %s crashed", name, exc_info=task.exception())

    async def _run_job(self, entry: Subfeature, job: BatchJob, providers: list[list[_Provider]]) -> None:
        await asyncio.sleep(self.job_seconds)
        todo = [(r, p) for r, p in zip(job.requests, providers, strict=True)]
        failing = [(r, p) for r, p in todo if _input_hits(entry, r.body, self.request_fail_inputs)]
        working = [(r, p) for r, p in todo if not _input_hits(entry, r.body, self.request_fail_inputs)]
        try:
            responses = await self._compute(entry, [r.body for r, _ in working], [p for _, p in working], job.name)
        except Exception as exc:
            log.exception("emulator batch job %s failed", job.name)
            failing, working, responses = todo, [], []
            reason = f"{type(exc).__name__}: {exc}"
        else:
            reason = "The request failed (request_fail_inputs)."
        with self._lock:
            for (state, _), response in zip(working, responses, strict=True):
                state.status, state.response = "succeeded", response
            for state, _ in failing:
                state.status = "failed"
                state.errors = {"type": "RequestFailed", "message": reason}
            job.updated = _now()

    def _get_job(self, request: web.Request, entry: Subfeature, job_name: str) -> web.Response:
        with self._lock:
            job = self._jobs.get(job_name)
            if job is None or job.path != entry.path:
                return _not_found()
            rows = [r.wire() for r in job.requests]
            job_status, created, updated = job.status, job.created, job.updated
        query = request.query
        errors: dict[str, list[str]] = {}
        page = 1
        if query.get("page", "").strip():
            try:
                page = int(query["page"])
            except ValueError:
                errors["page"] = ["A valid integer is required."]
            else:
                if page < 0:
                    errors["page"] = ["Ensure this value is greater than or equal to 0."]
        status = query.get("status")
        if status is not None and status not in REQUEST_STATUSES:
            errors["status"] = [f'"{status}" is not a valid choice.']
        public_id: int | None = None
        if query.get("public_id", "").strip():
            try:
                public_id = int(query["public_id"])
            except ValueError:
                errors["public_id"] = ["A valid integer is required."]
        if errors:
            return _bad_request(errors)
        page = max(page, 1)
        if status == "finished":
            rows = [r for r in rows if r["status"] != "processing"]
        elif status is not None:
            rows = [r for r in rows if r["status"] == status]
        if "name" in query:
            rows = [r for r in rows if r["name"] == query["name"]]
        if public_id is not None:
            rows = [r for r in rows if r["public_id"] == public_id]

        total, per_page = len(rows), self.page_size
        last_page = max(1, -(-total // per_page))
        start = (page - 1) * per_page
        chunk = rows[start : start + per_page]

        def page_url(number: int) -> str:
            return str(request.url.update_query(page=str(number)))

        return _json(
            {
                "total": total,
                "current_page": page,
                "last_page": last_page,
                "per_page": per_page,
                "From": start + 1 if chunk else 0,
                "to": start + len(chunk) if chunk else 0,
                "prev_page_url": page_url(page - 1) if page > 1 else None,
                "next_page_url": page_url(page + 1) if page < last_page else None,
                "requests": chunk,
                "status": job_status,
                "created": created,
                "updated": updated,
            }
        )

    async def _delete_job(self, entry: Subfeature, job_name: str) -> web.Response:
        with self._lock:
            job = self._jobs.get(job_name)
            if job is None or job.path != entry.path:
                return _not_found()
            del self._jobs[job_name]
        task = self._job_tasks.pop(job_name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return web.Response(status=204)

    def _list_jobs(self, request: web.Request) -> web.Response:
        origin = request.url.origin()
        with self._lock:
            jobs = list(self._jobs.values())
            listing = [
                {
                    "name": job.name,
                    "status": job.status,
                    "feature": job.feature,
                    "subfeature": job.subfeature,
                    "total_requests": len(job.requests),
                    "nb_processing": sum(r.status == "processing" for r in job.requests),
                    "nb_succeeded": sum(r.status == "succeeded" for r in job.requests),
                    "nb_failed": sum(r.status == "failed" for r in job.requests),
                    "get_response_url": str(origin.with_path(f"/v2/{job.path}/batch/{job.name}/")),
                }
                for job in jobs
            ]
        return _json(listing)


__all__ = ["BatchJob", "BatchRequestState", "Call", "Charge", "EdenEmulator", "validate_item"]
