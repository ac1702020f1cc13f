"""Orchestrating the sending: windows of units, cache lookups, routing to transports, outcomes into results."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from .._blocking import warn_user
from .._cache import ResultCache, open_cache
from .._gc import collector_paused
from .._transport import TRANSPORTS, Outcome, Transport, Wiring, route
from .._transport.http import gather_all, open_session
from .._v3_models import V3_MAPPINGS
from ._budget import Budget
from ._call import PreparedCall
from ._estimate import expected_costs
from ._frame import ProviderColumns
from ._plan import Plan, Requests, build_requests, content_namer, file_identity, is_upload
from ._progress import Progress, ProgressListener
from ._results import UnitResults, absorb


def open_run_cache(call: PreparedCall) -> ResultCache | None:
    if call.cache is False or all(call.in_process(p) for p in call.providers):
        return None  # the offline engine is free and fast: its results are not worth a disk round trip
    try:
        return open_cache(call.cache)
    except OSError as exc:
        warn_user(f"the edenframe cache could not be opened ({exc}); running without it", RuntimeWarning, stacklevel=4)
        return None


@dataclass
class Window:
    """A slice of the units, answered from the cache, with what is left to send: the unit of streaming."""

    units: range
    results: dict[str, UnitResults]
    keys: dict[str, list[str | None]]  # per cached provider, per unit of the window: its cache key
    cached: int
    groups: list[tuple[str, Requests]]


# Units per window for subfeatures that return files (audio, images, documents): a result can weigh megabytes of
# base64, so a window of 50,000 would hold gigabytes as Python strings before they become Arrow.
MEDIA_WINDOW_UNITS = 256


def window_ranges(call: PreparedCall, plan: Plan) -> list[range]:
    size = max(1, call.settings.window_units)
    if call.entry.media is not None:
        size = min(size, MEDIA_WINDOW_UNITS)
    return [range(start, min(start + size, plan.units)) for start in range(0, plan.units, size)]


def build_window(call: PreparedCall, plan: Plan, units: range, cache: ResultCache | None) -> Window:
    with collector_paused():  # a request (and cache keys) per unit of the window, all acyclic
        return _window_of(call, plan, units, cache)


def _window_of(call: PreparedCall, plan: Plan, units: range, cache: ResultCache | None) -> Window:
    results = {p: UnitResults(p, units.start, len(units)) for p in call.providers}
    remote = [p for p in call.providers if not call.in_process(p)]
    keys: dict[str, list[str | None]] = {}
    cached = 0
    if cache is not None and remote:
        for provider in remote:
            keys[provider] = _cache_keys(call, plan, provider, units)
            found = cache.lookup([key for key in keys[provider] if key is not None])
            for unit, key in zip(units, keys[provider], strict=True):
                stored = found.get(key) if key is not None else None
                if isinstance(stored, dict) and isinstance(stored.get("record"), dict):
                    results[provider].set_record(unit, stored["record"], float(stored.get("cost") or 0.0), cached=True)
        if len(remote) == len(call.providers):
            cached = sum(all(results[p].cached[i] for p in remote) for i in range(len(units)))
    return Window(units, results, keys, cached, _groups(call, plan, units, results))


def _cache_keys(call: PreparedCall, plan: Plan, provider: str, units: range) -> list[str | None]:
    """The cache key of each unit's result from `provider` (None: not cacheable, e.g. an unreadable file)."""
    key_of = content_namer([call.entry.path, provider, call.params, call.settings.base_url])
    files = call.entry.input_kind == "file"
    keys: list[str | None] = []
    for unit in units:
        identity = file_identity(plan.values[unit]) if files else plan.values[unit]
        keys.append(None if identity is None else key_of(identity))
    return keys


def _groups(
    call: PreparedCall, plan: Plan, units: range, results: dict[str, UnitResults]
) -> list[tuple[str, Requests]]:
    """What still has to be sent, as (transport name, requests); inputs needing the same providers through the same
    transport share requests. `route` picks each provider's transport (uploads may need another one than URLs)."""
    groups: list[tuple[str, Requests]] = []
    in_process: dict[str, tuple[str, ...]] = {}
    for provider in call.providers:
        if call.in_process(provider):
            name = route(call.transport, provider, api=call.api)
            in_process[name] = (*in_process.get(name, ()), provider)
    for name, providers in in_process.items():  # never cached: every unit goes, under positional names
        groups.append((name, build_requests(plan, units, providers, content_names=False)))
    remote = [p for p in call.providers if not call.in_process(p)]
    if remote:
        # each provider's transport for a URL or text, and for a local file or bytes
        routes = {p: tuple(route(call.transport, p, upload, call.api) for upload in (False, True)) for p in remote}
        by_need: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        same = len(set(routes.values())) == 1  # every provider goes the same way: the loop of every large call
        for local_index, unit in enumerate(units):
            wanted = tuple(p for p in remote if not results[p].done[local_index])
            if not wanted:
                continue
            text_route, upload_route = routes[wanted[0]]
            if same:
                upload = text_route != upload_route and is_upload(plan.values[unit])
                by_need.setdefault((upload_route if upload else text_route, wanted), []).append(unit)
                continue
            upload = is_upload(plan.values[unit])
            by_transport: dict[str, tuple[str, ...]] = {}
            for provider in wanted:
                name = routes[provider][upload]
                by_transport[name] = (*by_transport.get(name, ()), provider)
            for need in by_transport.items():
                by_need.setdefault(need, []).append(unit)
        groups.extend(
            (name, build_requests(plan, units, providers, pack_size=pack_size(call, name, providers)))
            for (name, providers), units in by_need.items()
        )
    return groups


def pack_size(call: PreparedCall, transport: str, providers: tuple[str, ...]) -> int | None:
    """How many units one remote request packs, where the API takes another number than the catalog's pack (v3's
    /v3/embeddings: 2048 inputs for OpenAI, `V3Mapping.pack_items`); None: the catalog's."""
    if call.entry.pack is None or call.api != "v3" or not TRANSPORTS[transport].remote:
        return None
    mapping = V3_MAPPINGS.get(call.entry.path)
    if mapping is None or not mapping.pack_items:
        return None
    return mapping.pack_size(providers, call.entry.pack.max_items)


async def send_windows(
    call: PreparedCall, plan: Plan, cache: ResultCache | None
) -> tuple[dict[str, ProviderColumns], dict[str, Any]]:
    """Send everything window by window (two windows in flight, so jobs keep flowing across the boundary); each
    window's results are stored in the cache as they arrive and turned into Arrow once the window is done."""
    columns = {p: ProviderColumns(p, call.row_output) for p in call.providers}
    remote_providers = [p for p in call.providers if not call.in_process(p)]
    counts: dict[str, Any] = {"sent": 0, "cached": 0, "spent": 0.0, "jobs": 0, "reattached": 0}
    counts["cached_by_provider"] = dict.fromkeys(remote_providers, 0)
    # max_cost: every remote request is admitted by the budget before it is launched (see _budget.py)
    budget = Budget(call.max_cost) if call.max_cost is not None and remote_providers else None

    remote = bool(remote_providers)
    loop = asyncio.get_running_loop()
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edenframe-cache") if cache is not None else None
    in_flight = asyncio.Semaphore(2)
    # The bar counts rows (a distinct input done is every row that shares it); rows never sent are not in it.
    with Progress(plan.rows - plan.skipped, call.entry.method, call.progress, call.settings.progress) as bar:
        listener = ProgressListener(bar, plan.row_unit, plan.units, call.providers)
        async with AsyncExitStack() as stack:
            session = await stack.enter_async_context(open_session(call.settings)) if remote else None
            wiring = Wiring(call.settings, session, budget=budget, journal=cache, journal_writer=writer)
            transports: dict[str, Transport] = {}  # built when first needed, then shared by every window

            def transport(name: str) -> Transport:
                if name not in transports:
                    transports[name] = TRANSPORTS[name].build(wiring)
                return transports[name]

            async def run_window(number: int, units: range) -> None:
                async with in_flight:
                    window = build_window(call, plan, units, cache)
                    counts["cached"] += window.cached
                    for provider in remote_providers:
                        counts["cached_by_provider"][provider] += sum(window.results[provider].cached)
                    if budget is not None:
                        budget.expect(expected_costs(call, window.groups))
                    progress = listener.window(units, window.groups, window.results)
                    writes: list[asyncio.Future[None]] = []

                    def receiver(requests: Requests) -> Any:
                        index = {item["name"]: position for position, item in enumerate(requests.items)}

                        def on_outcomes(outcomes: dict[str, Outcome]) -> None:
                            succeeded, charged = absorb(
                                call.entry, requests, index, outcomes, window.results, keep=cache is not None
                            )
                            counts["spent"] += charged
                            if budget is not None:
                                budget.settle(outcomes, requests.providers)
                            if writer is not None and cache is not None and succeeded:
                                entries = _cache_entries(call, window, succeeded)
                                if entries:
                                    writes.append(loop.run_in_executor(writer, cache.store, entries))
                            progress.answered(requests, index, outcomes, counts["spent"])

                        def recall(names: list[str]) -> set[str]:
                            # answered from the cache: not sent by this run (transports count only what they
                            # launch), so these count as cached, for each provider the request carries
                            answered, units_answered = _recall(call, window, requests, index, names, cache)
                            counts["cached"] += units_answered
                            for name in answered:
                                for provider in requests.providers:
                                    if provider in counts["cached_by_provider"]:
                                        counts["cached_by_provider"][provider] += len(requests.units[index[name]])
                            progress.answered(requests, index, answered, counts["spent"])
                            return answered

                        return on_outcomes, recall

                    def sending(name: str, requests: Requests) -> Any:
                        on_outcomes, recall = receiver(requests)
                        return transport(name).send(call.entry, requests.items, on_outcomes, recall=recall)

                    try:
                        await gather_all(sending(kind, requests) for kind, requests in window.groups)
                    finally:
                        if writes:
                            await asyncio.gather(*writes, return_exceptions=True)
                    for provider in call.providers:
                        columns[provider].add(number, window.results[provider])

            try:
                await gather_all(run_window(number, units) for number, units in enumerate(window_ranges(call, plan)))
            finally:
                if writer is not None:
                    writer.shutdown(wait=True)
            # requests are counted by their transports as the provider receives them
            counts["jobs"] = sum(t.stats.jobs_launched for t in transports.values())
            counts["reattached"] = sum(t.stats.jobs_attached for t in transports.values())
            counts["sent"] += sum(t.stats.items_sent for t in transports.values())
    counts["budget_reached"] = budget is not None and budget.reached
    counts["spent"] = round(counts["spent"], 10)
    return columns, counts


def _recall(
    call: PreparedCall,
    window: Window,
    requests: Requests,
    index: dict[str, int],
    names: list[str],
    cache: ResultCache | None,
) -> tuple[set[str], int]:
    """Answer request names from the cache (another process collected their batch job while this run waited): a
    request counts as answered only when every unit and provider it carries was found. Returns the names answered
    and how many units of the window they completed."""
    if cache is None:
        return set(), 0
    start = window.units.start
    wanted: list[tuple[str, tuple[int, ...]]] = [(name, requests.units[index[name]]) for name in names if name in index]
    keys = {
        (provider, unit): window.keys[provider][unit - start]
        for provider in requests.providers
        if provider in window.keys
        for _, units in wanted
        for unit in units
    }
    found = cache.lookup([key for key in keys.values() if key is not None])
    answered: set[str] = set()
    units_answered = 0
    for name, units in wanted:
        records = {}
        for provider in requests.providers:
            for unit in units:
                stored = found.get(keys.get((provider, unit)) or "")
                if isinstance(stored, dict) and isinstance(stored.get("record"), dict):
                    records[(provider, unit)] = stored
        if len(records) != len(units) * len(requests.providers):
            continue  # not all there (failures are not cached): the request is sent again
        for (provider, unit), stored in records.items():
            window.results[provider].set_record(unit, stored["record"], float(stored.get("cost") or 0.0), cached=True)
        answered.add(name)
        units_answered += sum(all(window.results[p].cached[u - start] for p in call.providers) for u in units)
    return answered, units_answered


def _cache_entries(
    call: PreparedCall, window: Window, succeeded: list[tuple[str, int, dict[str, Any]]]
) -> list[tuple[str, str, str, dict[str, Any]]]:
    entries = []
    for provider, unit, record in succeeded:
        keys = window.keys.get(provider)
        key = keys[unit - window.units.start] if keys is not None else None
        if key is not None:
            cost = window.results[provider].costs[unit - window.units.start]
            entries.append((key, call.entry.path, provider, {"record": record, "cost": float(cost)}))
    return entries
