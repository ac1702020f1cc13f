"""The Eden AI v2 API as one aiohttp route table (wire-format.md §1–§3 and 6.1): the sync endpoint, the batch
endpoints (launch, results pages, delete, list) and `GET /v2/info/provider_subfeatures/`.

Routes are registered per catalog subfeature, so an unknown subfeature is a 404 and a wrong method a 405 without
code of ours. Answers are provider-keyed objects (§2.2): canned ones, the offline `local` implementations, or the
schema-driven synthetic generator; each provider result is charged to the emulator's ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._catalog import Subfeature, all_subfeatures
from .._prices import load_prices
from ._records import BatchJob, BatchRequestState, Charge
from ._synthetic import canonical_input, synthetic_cost, synthetic_output
from ._validation import _coerce_form, _Provider, validate_item
from ._wire import _INVALID_JSON, BODY, _bad_request, _Body, _error, _json, _not_found, _now, _type_name, faulty

if TYPE_CHECKING:
    from ._server import EdenEmulator

log = logging.getLogger("edenframe.testing")

REQUEST_STATUSES = ("succeeded", "failed", "finished", "processing")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def routes(emu: EdenEmulator) -> web.RouteTableDef:
    """The v2 route table of `emu` (see `_server.RouteTable` for what a route table may use of the emulator).

    Every path is served with and without its trailing slash, as Eden AI's are. The feature endpoints are
    `faulty` (the emulator's random faults apply); the info endpoint is not (`info_status` breaks it instead)."""
    table = web.RouteTableDef()

    def add(methods: tuple[str, ...], path: str, handler: Handler) -> None:
        for method in methods:
            for variant in (path, f"{path}/"):
                table.route(method, variant)(handler)

    async def provider_subfeatures_handler(request: web.Request) -> web.StreamResponse:
        return emu._info_fault() or provider_subfeatures(emu, request)

    @faulty
    async def list_jobs_handler(request: web.Request) -> web.StreamResponse:
        return list_jobs(emu, request)

    add(("GET",), "/v2/info/provider_subfeatures", provider_subfeatures_handler)
    add(("GET",), "/v2/batch", list_jobs_handler)
    for entry in all_subfeatures():
        if entry.v3_only:
            continue  # v3's own subfeatures: the client refuses them on v2
        add(("POST",), f"/v2/{entry.path}", _sync_handler(emu, entry))
        add(("GET", "POST", "DELETE"), f"/v2/{entry.path}/batch/{{name}}", _job_handler(emu, entry))
    return table


def _sync_handler(emu: EdenEmulator, entry: Subfeature) -> Handler:
    @faulty
    async def handler(request: web.Request) -> web.StreamResponse:
        return await sync(emu, entry, request[BODY])

    return handler


def _job_handler(emu: EdenEmulator, entry: Subfeature) -> Handler:
    @faulty
    async def handler(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if request.method == "POST":
            return launch(emu, request, entry, name, request[BODY])
        if request.method == "GET":
            return emu._get_job(request, entry, name)  # through the emulator: tests override it to break a page
        return await delete_job(emu, entry, name)

    return handler


def provider_subfeatures(emu: EdenEmulator, request: web.Request) -> web.Response:
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
        if entry.v3_only or feature not in (None, entry.feature) or subfeature not in (None, entry.subfeature):
            continue
        for name in emu._listed(entry):
            if provider not in (None, name):
                continue
            obj = priced.get((entry.feature, entry.subfeature, name))
            out.append(obj if obj is not None else _unpriced_provider_subfeature(entry, name))
    return _json(out)


def success(
    emu: EdenEmulator, fields: dict[str, Any], cost: float, provider: _Provider, body: dict[str, Any]
) -> dict[str, Any]:
    obj: dict[str, Any] = {**fields, "status": "success", "cost": cost}
    if emu.extra_keys or body.get("show_original_response") is True:
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:16]
        obj["original_response"] = {"id": f"emulated-{digest}", "model": provider.spec, "object": "emulated"}
    if emu.extra_keys:
        prompt = max(1, len(json.dumps(_request_item_value(body))) // 4)
        completion = 1 + len(fields)
        obj["usage"] = {
            "completion_tokens": completion,
            "prompt_tokens": prompt,
            "total_tokens": completion + prompt,
            "completion_tokens_details": {"reasoning_tokens": 0},
            "prompt_tokens_details": {"cached_tokens": 0},
        }
    if emu.omit_status:
        del obj["status"]
    return obj


def failure(message: str, type_: str = "ProviderException") -> dict[str, Any]:
    return {"status": "fail", "error": {"message": message, "type": type_}, "cost": 0.0}


async def compute(
    emu: EdenEmulator, entry: Subfeature, bodies: list[dict[str, Any]], providers: list[list[_Provider]], job: str
) -> list[Any]:
    """Provider-keyed responses (as the sync endpoint returns them) for request bodies; charges the ledger."""
    objects: list[list[dict[str, Any] | None]] = [[None] * len(p) for p in providers]
    local_work: dict[str, list[tuple[int, int]]] = {}
    for i, (body, provs) in enumerate(zip(bodies, providers, strict=True)):
        for j, prov in enumerate(provs):
            canned = emu.responses.get(entry.path, {}).get(prov.key)
            if _input_hits(entry, body, emu.provider_fail_inputs):
                objects[i][j] = failure("Provider has returned an Error. Please try again later.")
            elif canned is not None:
                objects[i][j] = copy.deepcopy(dict(canned))
            elif prov.name == "local":
                local_work.setdefault(prov.spec, []).append((i, j))
            else:
                item = _request_item(entry, body)
                fields = synthetic_output(entry, prov.spec, item)
                cost = synthetic_cost(entry, prov.spec, item) * emu.cost_factor
                objects[i][j] = success(emu, fields, cost, prov, body)
    for slots in local_work.values():
        items = [_request_item(entry, bodies[i]) for i, _ in slots]
        try:
            outputs = await asyncio.to_thread(_run_local, entry.path, items)
            if len(outputs) != len(items):
                raise RuntimeError(f"the local backend returned {len(outputs)} results for {len(items)} items")
        except Exception as exc:
            outputs = [failure(f"{type(exc).__name__}: {exc}") for _ in items]
        for (i, j), out in zip(slots, outputs, strict=True):
            prov = providers[i][j]
            if not isinstance(out, dict) or out.get("status") == "fail":
                error = out.get("error") if isinstance(out, dict) else None
                message = error.get("message") if isinstance(error, dict) else str(error or "local provider failed")
                objects[i][j] = failure(str(message))
                continue
            fields = {k: v for k, v in out.items() if k not in ("status", "cost", "usage", "original_response")}
            cost = float(out.get("cost") or 0.0)
            objects[i][j] = success(emu, fields, cost, prov, bodies[i])

    responses: list[Any] = []
    charges: list[Charge] = []
    for body, provs, objs in zip(bodies, providers, objects, strict=True):
        response: dict[str, Any] = {}
        for prov, obj in zip(provs, objs, strict=True):
            assert obj is not None
            response[prov.key] = obj
            if obj.get("status", "success") == "success" and "error" not in obj:
                charges.append(Charge(job, body.get("name"), prov.spec, float(obj.get("cost", 0.0))))
        if emu.add_eden_ai and response:
            merged = synthetic_output(entry, "eden-ai", _request_item(entry, body))
            response["eden-ai"] = {**merged, "status": "success", "cost": 0.0}
        if body.get("response_as_dict") is False:
            responses.append([{**obj, "provider": key} for key, obj in response.items()])
        else:
            responses.append(response)
    with emu._lock:
        emu._ledger.extend(charges)
    return responses


# -- sync ---------------------------------------------------------------------------------------------------


async def sync(emu: EdenEmulator, entry: Subfeature, body: _Body) -> web.Response:
    if body.data is _INVALID_JSON:
        return _bad_request({"non_field_errors": ["JSON parse error: the body is not valid JSON."]})
    data = _coerce_form(entry, body.data) if body.multipart else body.data
    errors, providers = validate_item(
        entry,
        data if data is not None else {},
        extra_providers=tuple(emu.responses.get(entry.path, ())),
        listed_providers=emu.providers.get(entry.path),
    )
    if errors:
        return _bad_request(errors)
    assert isinstance(data, dict)
    if _input_hits(entry, data, emu.fail_inputs):
        return _bad_request({entry.input_field: ["This input was rejected by the emulator (fail_inputs)."]})
    if _input_hits(entry, data, emu.request_fail_inputs):
        return _error(500, "Internal Server Error", "The request failed (request_fail_inputs).")
    [response] = await compute(emu, entry, [data], [providers], job="sync")
    return _json(response)


# -- batch --------------------------------------------------------------------------------------------------


def launch(emu: EdenEmulator, request: web.Request, entry: Subfeature, job_name: str, body: _Body) -> web.Response:
    if body.multipart:
        return _json({"detail": 'Unsupported media type "multipart/form-data" in request.'}, 415)
    if body.data is _INVALID_JSON:
        return _bad_request({"non_field_errors": ["JSON parse error: the body is not valid JSON."]})
    data = body.data
    if not isinstance(data, dict):
        return _bad_request({"non_field_errors": [f"Invalid data. Expected a dictionary, but got {_type_name(data)}."]})
    items = data.get("requests")
    if items is None:
        return _bad_request({"requests": ["This field is required."]})
    if not isinstance(items, list):
        return _bad_request({"requests": [f'Expected a list of items but got type "{_type_name(items)}".']})
    if not items:
        return _bad_request({"requests": ["This list may not be empty."]})
    if len(items) > emu.max_batch_requests:
        return _bad_request({"requests": [f"Ensure this field has no more than {emu.max_batch_requests} elements."]})
    with emu._lock:
        exists = job_name in emu._jobs
        running = emu._running_count()
    if exists:
        return _bad_request(
            {"name": [f"A batch job named '{job_name}' already exists. Delete it or launch under another name."]}
        )
    if running >= emu.max_running_jobs:
        return emu._too_many(
            f"You can have up to {emu.max_running_jobs} concurrent running batch jobs: "
            "wait for a running job to finish (or delete one) before launching another."
        )

    launched: list[BatchRequestState] = []
    launched_providers: list[list[_Provider]] = []
    failed: list[dict[str, Any]] = []
    next_id = emu._next_public_id
    for index, item in enumerate(items):
        errors, providers = validate_item(
            entry,
            item,
            batch=True,
            extra_providers=tuple(emu.responses.get(entry.path, ())),
            listed_providers=emu.providers.get(entry.path),
        )
        if not errors and isinstance(item, dict) and _input_hits(entry, item, emu.fail_inputs):
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
    job = BatchJob(name=job_name, path=entry.path, requests=launched, failed_requests=failed, created=now, updated=now)
    with emu._lock:
        emu._next_public_id = next_id
        emu._jobs[job_name] = job
        emu._max_running_seen = max(emu._max_running_seen, emu._running_count())
    if launched:
        task = asyncio.get_running_loop().create_task(run_job(emu, entry, job, launched_providers))
        emu._job_tasks[job_name] = task
        task.add_done_callback(lambda t, n=job_name: forget_task(emu, n, t))
    return _json(
        {
            "job_id": job_name,
            "nb_launched": len(launched),
            "nb_failed": len(failed),
            "total": len(items),
            "failed_requests": failed,
        }
    )


def forget_task(emu: EdenEmulator, name: str, task: asyncio.Task[None]) -> None:
    if emu._job_tasks.get(name) is task:
        del emu._job_tasks[name]
    if not task.cancelled() and task.exception() is not None:
        log.error("emulator batch job %s crashed", name, exc_info=task.exception())


async def run_job(emu: EdenEmulator, entry: Subfeature, job: BatchJob, providers: list[list[_Provider]]) -> None:
    await asyncio.sleep(emu.job_seconds)
    todo = [(r, p) for r, p in zip(job.requests, providers, strict=True)]
    failing = [(r, p) for r, p in todo if _input_hits(entry, r.body, emu.request_fail_inputs)]
    working = [(r, p) for r, p in todo if not _input_hits(entry, r.body, emu.request_fail_inputs)]
    try:
        responses = await compute(emu, entry, [r.body for r, _ in working], [p for _, p in working], job.name)
    except Exception as exc:
        log.exception("emulator batch job %s failed", job.name)
        failing, working, responses = todo, [], []
        reason = f"{type(exc).__name__}: {exc}"
    else:
        reason = "The request failed (request_fail_inputs)."
    with emu._lock:
        for (state, _), response in zip(working, responses, strict=True):
            state.status, state.response = "succeeded", response
        for state, _ in failing:
            state.status = "failed"
            state.errors = {"type": "RequestFailed", "message": reason}
        job.updated = _now()


def get_job(emu: EdenEmulator, request: web.Request, entry: Subfeature, job_name: str) -> web.Response:
    with emu._lock:
        job = emu._jobs.get(job_name)
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

    total, per_page = len(rows), emu.page_size
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


async def delete_job(emu: EdenEmulator, entry: Subfeature, job_name: str) -> web.Response:
    with emu._lock:
        job = emu._jobs.get(job_name)
        if job is None or job.path != entry.path:
            return _not_found()
        del emu._jobs[job_name]
    task = emu._job_tasks.pop(job_name, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return web.Response(status=204)


def list_jobs(emu: EdenEmulator, request: web.Request) -> web.Response:
    origin = request.url.origin()
    with emu._lock:
        jobs = list(emu._jobs.values())
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


def _unpriced_provider_subfeature(entry: Subfeature, provider: str) -> dict[str, Any]:
    """A v2 `ProviderSubfeature` object (every required field) for a provider the price table does not price."""
    return {
        "name": f"{provider}__{entry.feature}__{entry.subfeature}",
        "version": "",
        "pricings": [],
        "is_working": True,
        "description_title": None,
        "description_content": None,
        "provider": {"name": provider, "fullname": provider, "description": None},
        "feature": {"name": entry.feature, "fullname": entry.feature, "description": None},
        "subfeature": {"name": entry.subfeature, "fullname": entry.subfeature, "description": None},
        "constraints": {},
        "models": {},
        "tts_models": {},
        "llm_details": {},
        "languages": [],
        "phase": "",
        "regions": [],
    }


def _input_hits(entry: Subfeature, body: dict[str, Any], values: frozenset[str]) -> bool:
    if not values:
        return False
    value = canonical_input(entry, body)
    if isinstance(value, list):
        return any(isinstance(v, str) and v in values for v in value)
    return isinstance(value, str) and value in values


def _request_item(entry: Subfeature, body: dict[str, Any]) -> dict[str, Any]:
    """What a provider sees: the input and the subfeature's parameters (no options, no `name`)."""
    keep = {entry.input_field, "file", *(p.name for p in entry.params)}
    return {k: v for k, v in body.items() if k in keep}


def _run_local(path: str, items: list[dict[str, Any]]) -> list[Any]:
    from .._local import local_compute

    return list(local_compute(path)(items))


def _request_item_value(body: dict[str, Any]) -> Any:
    return {k: v for k, v in body.items() if not isinstance(v, (bytes, bytearray))}
