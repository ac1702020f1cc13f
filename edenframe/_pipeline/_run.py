"""One call of `df.eden.<method>`: validate, plan, answer from the cache, send the rest, build the output frame."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._blocking import warn_user
from .._cache import ResultCache, cache_setting, open_cache
from .._catalog import Subfeature, all_subfeatures, get_subfeature
from .._config import Settings, as_flag, current_settings, parse_providers
from .._errors import BudgetExceededError, MissingAPIKeyError, RowErrors, ValidationError
from .._gc import collector_paused
from .._local import local_check, local_probe
from .._media import media_session, row_keys, save_files
from .._providers import checked_providers
from .._report import RunReport
from .._transport import AUTO, LOCAL, TRANSPORTS, Outcome, Transport, Wiring, kind_of, route, transport_choices
from .._transport.http import gather_all, open_session
from .._validate import check_column, check_params, close_matches
from ._budget import NOT_SENT, Budget
from ._frame import ProviderColumns, ProviderResult, column_names, finish_all, provider_slug
from ._plan import Plan, Requests, build_requests, content_namer, file_identity, is_upload, plan_requests
from ._progress import Progress
from ._results import UnitResults, absorb, response_key

# Options every method takes besides the subfeature's own parameters.
RUN_OPTIONS = (
    "prefix", "errors", "overwrite", "progress", "transport", "api_key", "base_url", "cache", "dry_run", "max_cost",
    "save_to",
)
REQUEST_OPTIONS = ("providers", "fallback_providers", "settings", "show_original_response", "show_base_64")
COMMON_OPTIONS = RUN_OPTIONS + REQUEST_OPTIONS


class RowErrorWarning(UserWarning):
    """Some rows failed; their messages are in the `*_error` columns."""


@dataclass(frozen=True)
class Call:
    """A validated call: everything decided before anything is sent."""

    entry: Subfeature
    params: dict[str, Any]
    settings: Settings
    providers: tuple[str, ...]
    transport: str
    columns: list[tuple[str, str, str]]
    overwrite: bool
    errors: str
    progress: bool | None
    cache: Any
    dry_run: bool
    max_cost: float | None
    save_to: Path | None

    def in_process(self, provider: str) -> bool:
        """Does this provider run in this process (the offline engine) rather than over HTTP?"""
        return not kind_of(self.transport, provider).remote

    @property
    def launches_jobs(self) -> bool:
        """May this call launch batch jobs (and so hold slots of the account's running-job limit)?"""
        return any(kind_of(self.transport, p).jobs for p in self.providers)


async def run_frame(
    frame: pd.DataFrame, subfeature: str | Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> pd.DataFrame:
    """The async body of every accessor method."""
    started = time.monotonic()
    entry = subfeature if isinstance(subfeature, Subfeature) else get_subfeature(subfeature)
    # off the event loop: checking the providers may read Eden AI's provider list (a short blocking GET)
    call = await asyncio.to_thread(_prepare, frame, entry, column, options, default_prefix)
    if not call.dry_run and any(call.in_process(p) for p in call.providers):
        await asyncio.to_thread(local_probe, entry.path, call.params)  # bad parameters: refused before any row runs
    with collector_paused():  # one pass over every row, allocating only acyclic objects
        plan = plan_requests(entry, frame[column], str(column), call.params, call.settings.max_input_chars)
    cache = _open_cache(call)
    try:
        if call.dry_run or call.max_cost is not None:
            windows = [_window(call, plan, w, cache) for w in _window_ranges(call, plan)]
            groups = [group for window in windows for group in window.groups]
            estimate = _estimate(call, groups)
            if call.dry_run:
                cached = sum(window.cached for window in windows)
                return _dry_run_frame(call, plan, groups, estimate, cached, time.monotonic() - started)
            _check_budget(call, estimate)
            del windows, groups
        columns, counts = await _send(call, plan, cache)
    finally:
        if cache is not None:
            cache.close()
    provider_results = finish_all(columns, call.providers, plan.row_unit)  # one category set for all providers
    del columns
    if call.save_to is not None:
        provider_results = await _save_media(call, provider_results, frame.index)
    not_sent = _not_sent_rows(provider_results)
    out = _assemble(frame, provider_results, call.columns, call.overwrite)
    report = RunReport(
        {
            "subfeature": entry.path,
            "providers": list(call.providers),
            "rows": plan.rows,
            "sent": counts["sent"],
            "cached": counts["cached"],
            "deduplicated": plan.rows - plan.skipped - plan.units,
            "skipped": plan.skipped,
            "failed": _failed_rows(provider_results),
            "cost": counts["spent"],
            "jobs": counts["jobs"],
            "reattached": counts["reattached"],
            "cached_by_provider": counts["cached_by_provider"],
            "max_cost": call.max_cost,
            "budget_reached": bool(
                counts["budget_reached"]
                or not_sent
                or (call.max_cost is not None and 0 < call.max_cost <= counts["spent"])
            ),
            "not_sent": not_sent,
            "seconds": round(time.monotonic() - started, 3),
        }
    )
    out.attrs = {**frame.attrs, "edenframe": report, "edenframe_history": [*_history(frame.attrs), report]}
    _handle_failures(out, call, report)
    return out


def _history(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    """The reports of the calls that made this frame, oldest first (a chain of calls keeps every one)."""
    history = attrs.get("edenframe_history")
    if isinstance(history, list):
        return list(history)
    last = attrs.get("edenframe")
    return [last] if isinstance(last, dict) and not last.get("dry_run") else []


def _prepare(
    frame: pd.DataFrame, entry: Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> Call:
    """Every check made before anything is sent."""
    check_column(frame, column)
    given = dict(options)
    run_options = {name: given.pop(name) for name in RUN_OPTIONS if name in given}
    request_options = {name: given.pop(name) for name in REQUEST_OPTIONS if name in given}
    for name in ("progress", "overwrite", "dry_run"):
        if run_options.get(name) is not None:
            run_options[name] = as_flag(name, run_options[name])
    params = check_params(entry, given, COMMON_OPTIONS)

    settings = current_settings(api_key=run_options.get("api_key"), base_url=run_options.get("base_url"))
    providers = _providers(entry, request_options.get("providers"), settings)
    transport = run_options.get("transport") or AUTO
    if transport not in transport_choices():
        raise ValidationError(f"transport must be one of {list(transport_choices())}, not {transport!r}")
    remote = [p for p in providers if kind_of(transport, p).remote]
    dry_run = bool(run_options.get("dry_run", False))
    if remote and settings.api_key is None and not dry_run:
        known = [*entry.providers, LOCAL] if entry.local else list(entry.providers)
        unknown = [p for p in remote if response_key(p) not in known]
        hint = ""
        if unknown:  # a typo ('gogle', 'locl') is likelier than a missing key
            hint = f". {unknown[0]!r} is not a provider Eden AI lists for {entry.method}()."
            hint += close_matches(unknown[0], known)
        raise MissingAPIKeyError(
            f"provider(s) {', '.join(repr(p) for p in remote)} run on Eden AI and need an API key: set the "
            "EDENAI_API_KEY environment variable or call edenframe.configure(api_key=...)"
            + ("; or use providers='local' to run offline" if entry.local else "")
            + hint
        )
    if LOCAL in providers and not kind_of(transport, LOCAL).remote:
        local_check(entry.path, params)  # a missing extra, an unsupported call: fail now, not mid-run
    keys = [response_key(p) for p in providers]
    if len(set(keys)) != len(keys):
        raise ValidationError(
            f"providers {list(providers)} include two models of the same provider; Eden AI answers both under one "
            "key, so run them in separate calls with different prefix= values"
        )

    errors = run_options.get("errors", "collect")
    if errors not in ("collect", "raise"):
        raise ValidationError(f"errors must be 'collect' or 'raise', not {errors!r}")
    prefix = run_options.get("prefix")
    if prefix is not None and (not isinstance(prefix, str) or not prefix.strip()):
        raise ValidationError(
            f"prefix must be a non-empty string such as 'review_sentiment', not {prefix!r}: it starts every new "
            "column's name"
        )
    prefix = prefix or default_prefix or entry.subfeature
    save_to = run_options.get("save_to")
    if save_to is not None:
        if entry.media is None:
            with_media = ", ".join(e.method for e in all_subfeatures() if e.media is not None)
            raise ValidationError(f"save_to= only applies to methods that return files ({with_media})")
        if not isinstance(save_to, (str, os.PathLike)):
            raise ValidationError(f"save_to must be a directory path, not {type(save_to).__name__}")
        save_to = Path(save_to).expanduser()
        if save_to.exists() and not save_to.is_dir():
            raise ValidationError(f"save_to={str(save_to)!r} exists and is not a directory")
    overwrite = bool(run_options.get("overwrite", False))

    def new_columns() -> list[tuple[str, str, str]]:
        columns = column_names(entry.row_output.names, prefix, providers, with_path=save_to is not None)
        clashes = [name for _, _, name in columns if name in frame.columns]
        if clashes and not overwrite and not dry_run:
            raise ValidationError(
                f"the new column(s) {clashes} already exist in the DataFrame; pass prefix='...' to name them "
                "differently, or overwrite=True to replace them"
            )
        return columns

    columns = new_columns()
    max_cost = run_options.get("max_cost")
    if max_cost is not None and (
        isinstance(max_cost, bool) or not isinstance(max_cost, (int, float)) or not max_cost >= 0
    ):
        raise ValidationError(f"max_cost must be a non-negative number (USD), not {max_cost!r}")
    body_options = _body_options(request_options, providers)
    # Last, as it may read Eden AI's provider list over HTTP: names in Eden AI's spelling ('Google' -> 'google')
    if remote:
        checked = checked_providers(entry, providers, settings)
        if checked != providers:
            providers = checked
            columns = new_columns()
    if "fallback_providers" in body_options:
        fallbacks = body_options["fallback_providers"].split(",")
        body_options["fallback_providers"] = ",".join(
            checked_providers(entry, fallbacks, settings, "fallback_providers")
        )
    return Call(
        entry=entry,
        params={**params, **body_options},
        settings=settings,
        providers=providers,
        transport=transport,
        columns=columns,
        overwrite=overwrite,
        errors=errors,
        progress=run_options.get("progress"),
        cache=cache_setting(run_options.get("cache"), settings),
        dry_run=dry_run,
        max_cost=float(max_cost) if max_cost is not None else None,
        save_to=save_to,
    )


def _body_options(request_options: dict[str, Any], providers: tuple[str, ...]) -> dict[str, Any]:
    """The common request fields passed into every item (fallbacks, model settings, original responses)."""
    body: dict[str, Any] = {}
    if request_options.get("fallback_providers") is not None:
        if len(providers) != 1:
            raise ValidationError("fallback_providers works with exactly one provider in providers=")
        if providers[0] == LOCAL:
            raise ValidationError(
                "fallback_providers is Eden AI's own fallback between remote providers; the 'local' provider never "
                "calls it. Drop it, or name a remote provider, e.g. providers='google', fallback_providers='amazon'"
            )
        body["fallback_providers"] = ",".join(parse_providers(request_options["fallback_providers"]))
    if request_options.get("settings") is not None:
        if not isinstance(request_options["settings"], dict):
            raise ValidationError("settings must be a dict such as {'openai': 'gpt-4o'}")
        body["settings"] = request_options["settings"]
    if request_options.get("show_original_response"):
        body["show_original_response"] = True
    if request_options.get("show_base_64") is not None:
        body["show_base_64"] = bool(request_options["show_base_64"])
    return body


def _providers(entry: Subfeature, given: Any, settings: Settings) -> tuple[str, ...]:
    if given is not None:
        return parse_providers(given)
    if settings.providers is not None:
        return settings.providers
    if entry.local:
        return (LOCAL,)
    examples = ", ".join(entry.providers[:4]) or "a provider Eden AI lists for it"
    raise ValidationError(
        f"{entry.method}() ({entry.path}) has no offline implementation, so name the provider(s): "
        f"providers='{entry.providers[0] if entry.providers else 'google'}' (available: {examples}, ...)"
    )


def _open_cache(call: Call) -> ResultCache | None:
    if call.cache is False or all(call.in_process(p) for p in call.providers):
        return None  # the offline engine is free and fast: its results are not worth a disk round trip
    try:
        return open_cache(call.cache)
    except OSError as exc:
        warn_user(f"the edenframe cache could not be opened ({exc}); running without it", RuntimeWarning,
                      stacklevel=4)
        return None


@dataclass
class _Window:
    """A slice of the units, answered from the cache, with what is left to send: the unit of streaming."""

    units: range
    results: dict[str, UnitResults]
    keys: dict[str, list[str | None]]  # per cached provider, per unit of the window: its cache key
    cached: int
    groups: list[tuple[str, Requests]]


# Units per window for subfeatures that return files (audio, images, documents): a result can weigh megabytes of
# base64, so a window of 50,000 would hold gigabytes as Python strings before they become Arrow.
MEDIA_WINDOW_UNITS = 256


def _window_ranges(call: Call, plan: Plan) -> list[range]:
    size = max(1, call.settings.window_units)
    if call.entry.media is not None:
        size = min(size, MEDIA_WINDOW_UNITS)
    return [range(start, min(start + size, plan.units)) for start in range(0, plan.units, size)]


def _window(call: Call, plan: Plan, units: range, cache: ResultCache | None) -> _Window:
    with collector_paused():  # a request (and cache keys) per unit of the window, all acyclic
        return _window_of(call, plan, units, cache)


def _window_of(call: Call, plan: Plan, units: range, cache: ResultCache | None) -> _Window:
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
    return _Window(units, results, keys, cached, _groups(call, plan, units, results))


def _cache_keys(call: Call, plan: Plan, provider: str, units: range) -> list[str | None]:
    """The cache key of each unit's result from `provider` (None: not cacheable, e.g. an unreadable file)."""
    key_of = content_namer([call.entry.path, provider, call.params, call.settings.base_url])
    files = call.entry.input_kind == "file"
    keys: list[str | None] = []
    for unit in units:
        identity = file_identity(plan.values[unit]) if files else plan.values[unit]
        keys.append(None if identity is None else key_of(identity))
    return keys


def _groups(call: Call, plan: Plan, units: range, results: dict[str, UnitResults]) -> list[tuple[str, Requests]]:
    """What still has to be sent, as (transport name, requests); inputs needing the same providers through the same
    transport share requests. `route` picks each provider's transport (uploads may need another one than URLs)."""
    groups: list[tuple[str, Requests]] = []
    in_process: dict[str, tuple[str, ...]] = {}
    for provider in call.providers:
        if call.in_process(provider):
            name = route(call.transport, provider)
            in_process[name] = (*in_process.get(name, ()), provider)
    for name, providers in in_process.items():  # never cached: every unit goes, under positional names
        groups.append((name, build_requests(plan, units, providers, content_names=False)))
    remote = [p for p in call.providers if not call.in_process(p)]
    if remote:
        # each provider's transport for a URL or text, and for a local file or bytes
        routes = {p: (route(call.transport, p, upload=False), route(call.transport, p, upload=True)) for p in remote}
        by_need: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        for local_index, unit in enumerate(units):
            wanted = [p for p in remote if not results[p].done[local_index]]
            if not wanted:
                continue
            upload = is_upload(plan.values[unit])
            by_transport: dict[str, tuple[str, ...]] = {}
            for provider in wanted:
                name = routes[provider][upload]
                by_transport[name] = (*by_transport.get(name, ()), provider)
            for need in by_transport.items():
                by_need.setdefault(need, []).append(unit)
        groups.extend((name, build_requests(plan, units, providers)) for (name, providers), units in by_need.items())
    return groups


def _estimate(call: Call, groups: list[tuple[str, Requests]]) -> dict[str, Any]:
    """Expected cost of what will be sent, per request item (NaN where no price is known) and in total."""
    from .._prices import estimate_cost

    per_item: list[list[float]] = []
    unpriced: set[str] = set()
    for kind, requests in groups:
        costs = []
        for item in requests.items:
            total = 0.0
            for provider in requests.providers:
                value = estimate_cost(call.entry, provider, item) if TRANSPORTS[kind].remote else 0.0
                if value is None:
                    unpriced.add(provider)
                    total = math.nan
                elif not math.isnan(total):
                    total += value
            costs.append(total)
        per_item.append(costs)
    known = [c for costs in per_item for c in costs if not math.isnan(c)]
    return {"per_item": per_item, "total": float(sum(known)), "unpriced": sorted(unpriced)}


def _expected_costs(call: Call, groups: list[tuple[str, Requests]]) -> dict[str, float]:
    """The table estimate of each remote request of a window, by request name (NaN: no price known)."""
    remote = [(kind, requests) for kind, requests in groups if TRANSPORTS[kind].remote]
    per_item = _estimate(call, remote)["per_item"]
    return {
        item["name"]: cost
        for (_, requests), costs in zip(remote, per_item, strict=True)
        for item, cost in zip(requests.items, costs, strict=True)
    }


def _not_sent_rows(results: list[ProviderResult]) -> int:
    """Rows that some provider never got because the budget was reached."""
    refused = np.zeros(len(results[0].cost) if results else 0, dtype=bool)
    for result in results:
        errors = pd.Series(result.error, dtype="string", copy=False)
        refused |= errors.str.startswith(NOT_SENT).fillna(False).to_numpy(dtype=bool)
    return int(refused.sum())


def _check_budget(call: Call, estimate: dict[str, Any]) -> None:
    if call.max_cost is None:
        return
    if estimate["total"] > call.max_cost:
        raise BudgetExceededError(
            f"the estimated cost ${estimate['total']:.4f} is above max_cost=${call.max_cost:.4f}; nothing was sent. "
            "Raise max_cost, run fewer rows, or check the plan first with dry_run=True"
        )
    if estimate["unpriced"]:
        warn_user(
            f"no price is known for {estimate['unpriced']}: their cost is not in the estimate that max_cost was "
            "checked against (during the run they are capped by the cost of their requests seen so far, the first "
            "one sent alone)",
            RuntimeWarning,
            stacklevel=4,
        )


def _dry_run_frame(
    call: Call, plan: Plan, groups: list[tuple[str, Requests]], estimate: dict[str, Any], cached: int, seconds: float
) -> pd.DataFrame:
    """The planned requests, one row each, with their estimated cost; nothing is sent."""
    rows_per_unit = np.bincount(plan.row_unit[plan.row_unit >= 0], minlength=plan.units)
    records = []
    for (kind, requests), costs in zip(groups, estimate["per_item"], strict=True):
        for item, units, cost in zip(requests.items, requests.units, costs, strict=True):
            value = item.get(call.entry.input_field, item.get("file"))
            texts = value if isinstance(value, list) else [value]
            records.append(
                {
                    "name": item["name"],
                    "transport": kind,
                    "providers": item["providers"],
                    "inputs": len(units),
                    "rows": int(rows_per_unit[units].sum()),
                    "chars": sum(len(t) for t in texts if isinstance(t, str)),
                    "estimated_cost": cost,
                }
            )
    columns = ["name", "transport", "providers", "inputs", "rows", "chars", "estimated_cost"]
    out = pd.DataFrame.from_records(records, columns=columns).astype(
        {"name": "string", "transport": "string", "providers": "string", "inputs": "int64", "rows": "int64",
         "chars": "int64", "estimated_cost": "float64"}
    )
    out.attrs["edenframe"] = RunReport({
        "subfeature": call.entry.path,
        "providers": list(call.providers),
        "dry_run": True,
        "rows": plan.rows,
        "requests": len(out),
        "cached": cached,
        "deduplicated": plan.rows - plan.skipped - plan.units,
        "skipped": plan.skipped,
        "estimated_cost": estimate["total"],
        "unpriced_providers": estimate["unpriced"],
        "seconds": round(seconds, 3),
    })
    return out


async def _send(call: Call, plan: Plan, cache: ResultCache | None) -> tuple[dict[str, ProviderColumns], dict[str, Any]]:
    """Send everything window by window (two windows in flight, so jobs keep flowing across the boundary); each
    window's results are stored in the cache as they arrive and turned into Arrow once the window is done."""
    columns = {p: ProviderColumns(p, call.entry.row_output) for p in call.providers}
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
    with Progress(plan.rows - plan.skipped, call.entry.method, call.progress, call.settings.progress) as progress:
        rows_of: list[int] = []  # rows per unit, only for a visible bar
        if progress.show:
            rows_of = np.bincount(plan.row_unit[plan.row_unit >= 0], minlength=plan.units).tolist()
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
                    window = _window(call, plan, units, cache)
                    counts["cached"] += window.cached
                    for provider in remote_providers:
                        counts["cached_by_provider"][provider] += sum(window.results[provider].cached)
                    if budget is not None:
                        budget.expect(_expected_costs(call, window.groups))
                    # for the bar: how many requests of the window carry each unit (one per transport it goes
                    # through), so a unit counts as done when the last of them has answered
                    pending = [0] * len(units) if progress.show else []
                    if progress.show:
                        for _, requests in window.groups:
                            for group in requests.units:
                                for unit in group:
                                    pending[unit - units.start] += 1
                        cached_rows = sum(rows_of[u] for u, waits in zip(units, pending, strict=True) if not waits)
                        progress.skip(cached_rows)
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
                            advance(outcomes)

                        def recall(names: list[str]) -> set[str]:
                            # answered from the cache: not sent by this run (transports count only what they
                            # launch), so these count as cached, for each provider the request carries
                            answered, units_answered = _recall(call, window, requests, index, names, cache)
                            counts["cached"] += units_answered
                            for name in answered:
                                for provider in requests.providers:
                                    if provider in counts["cached_by_provider"]:
                                        counts["cached_by_provider"][provider] += len(requests.units[index[name]])
                            advance(answered)
                            return answered

                        def advance(names: Any) -> None:
                            if progress.show:  # counting per input costs time: only for a visible bar
                                done = failed = 0
                                for name in names:
                                    position = index.get(name)
                                    if position is None:
                                        continue
                                    for unit in requests.units[position]:
                                        local_index = unit - units.start
                                        pending[local_index] -= 1
                                        if pending[local_index] != 0:
                                            continue  # another transport still owes it (or it was counted)
                                        done += rows_of[unit]
                                        failed += rows_of[unit] * any(
                                            window.results[p].errors[local_index] is not None
                                            for p in call.providers
                                        )
                                progress.advance(done, failed, counts["spent"])

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
                await gather_all(run_window(number, units) for number, units in enumerate(_window_ranges(call, plan)))
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
    call: Call, window: _Window, requests: Requests, index: dict[str, int], names: list[str], cache: ResultCache | None
) -> tuple[set[str], int]:
    """Answer request names from the cache (another process collected their batch job while this run waited): a
    request counts as answered only when every unit and provider it carries was found. Returns the names answered
    and how many units of the window they completed."""
    if cache is None:
        return set(), 0
    start = window.units.start
    wanted: list[tuple[str, tuple[int, ...]]] = [
        (name, requests.units[index[name]]) for name in names if name in index
    ]
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
    call: Call, window: _Window, succeeded: list[tuple[str, int, dict[str, Any]]]
) -> list[tuple[str, str, str, dict[str, Any]]]:
    entries = []
    for provider, unit, record in succeeded:
        keys = window.keys.get(provider)
        key = keys[unit - window.units.start] if keys is not None else None
        if key is not None:
            cost = window.results[provider].costs[unit - window.units.start]
            entries.append((key, call.entry.path, provider, {"record": record, "cost": float(cost)}))
    return entries


async def _save_media(call: Call, results: list[ProviderResult], index: pd.Index) -> list[ProviderResult]:
    """Write every provider's media under `call.save_to`, before the columns are built: each result gains its
    `path` field, and a file that could not be saved becomes its row's error, so the report, the warning and
    errors="raise" count it like any other failed row (the row's other results are kept)."""
    media = call.entry.media
    assert media is not None and call.save_to is not None
    names = {(provider, output): name for provider, output, name in call.columns}
    keys = row_keys(index)
    saved = []
    async with media_session(call.settings) as session:
        for result in results:
            stem = names[(result.provider, "path")].removesuffix("_path")
            if len(call.providers) == 1:  # the folder names the provider, as with several providers
                stem = f"{stem}_{provider_slug(result.provider)}"
            values = result.fields[media.within or media.payload].tolist()
            urls = None if media.within else result.fields[media.url].tolist()
            paths, problems = await save_files(session, call.settings, media, values, urls, call.save_to / stem, keys)
            # A list to write into: pandas 3 hands out read-only arrays (writing into one crashed the call).
            errors = result.error.to_numpy(dtype=object, na_value=None).tolist()
            for position, problem in enumerate(problems):
                if problem is not None and errors[position] is None:
                    errors[position] = problem
            error = pd.array(errors, dtype=result.error.dtype)
            saved.append(dataclasses.replace(result, fields={**result.fields, "path": paths}, error=error))
    return saved


def _assemble(
    frame: pd.DataFrame, results: list[ProviderResult], columns: list[tuple[str, str, str]], overwrite: bool
) -> pd.DataFrame:
    by_provider = {r.provider: r for r in results}
    data: dict[str, Any] = {}
    for provider, output, name in columns:
        result = by_provider[provider]
        if output == "cost":
            data[name] = result.cost
        elif output == "error":
            data[name] = result.error
        else:
            data[name] = result.fields[output]
    base = frame.drop(columns=[c for c in data if c in frame.columns]) if overwrite else frame
    out = pd.concat([base, pd.DataFrame(data, index=frame.index)], axis=1)
    out.columns.name = frame.columns.name  # concat drops it: keep the user's name for the columns axis
    return out


def _failed_rows(results: list[ProviderResult]) -> int:
    failed = np.zeros(len(results[0].cost) if results else 0, dtype=bool)
    for result in results:
        failed |= ~np.asarray(result.error.isna(), dtype=bool)
    return int(failed.sum())


def _handle_failures(out: pd.DataFrame, call: Call, report: dict[str, Any]) -> None:
    budget = ""
    if report["budget_reached"]:
        budget = (
            f"the budget max_cost=${call.max_cost:.4f} was reached (${report['cost']:.4f} spent): "
            f"{report['not_sent']} of {report['rows']} rows were not sent"
        )
        if report["not_sent"]:
            budget += " (rerun with a higher max_cost to send only those; the rest comes from the cache)"
    if report["failed"] == 0:
        if budget:
            warn_user(f"{report['subfeature']}: {budget}", RuntimeWarning, stacklevel=4)
        return
    error_columns = [(provider, name) for provider, field, name in call.columns if field == "error"]
    if call.errors == "raise":
        parts = []
        for provider, name in error_columns:
            failed = out[name].dropna()
            parts.append(pd.DataFrame({"provider": provider, "error": failed.astype(object)}, index=failed.index))
        raise RowErrors(pd.concat(parts), out)
    first = next(out[name].dropna().iloc[0] for _, name in error_columns if out[name].notna().any())
    warn_user(
        f"{report['failed']} of {report['rows']} rows failed in {report['subfeature']} (first error: {first}); "
        f"the messages are in {', '.join(name for _, name in error_columns)}" + (f"; {budget}" if budget else ""),
        RowErrorWarning,
        stacklevel=4,
    )
