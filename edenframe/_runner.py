"""One call of `df.eden.<method>`: validate, plan, answer from the cache, send the rest, build the output frame."""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._cache import ResultCache, open_cache, result_key
from ._catalog import Subfeature, all_subfeatures, get_subfeature
from ._config import Settings, current_settings, parse_providers
from ._errors import BudgetExceededError, MissingAPIKeyError, RowErrors, ValidationError
from ._frame import ProviderResult, column_names, provider_result
from ._local import local_check
from ._media import save_media
from ._plan import Plan, Requests, build_requests, file_identity, is_upload, plan_requests
from ._progress import Progress
from ._report import RunReport
from ._results import UnitResults, absorb, response_key
from ._transport import Outcome
from ._transport.batch import BatchTransport
from ._transport.local import LOCAL, LocalTransport
from ._transport.sync import SyncTransport
from ._validate import check_column, check_params

# Options every method takes besides the subfeature's own parameters.
RUN_OPTIONS = (
    "prefix", "errors", "overwrite", "progress", "transport", "api_key", "base_url", "cache", "dry_run", "max_cost",
    "save_to",
)
REQUEST_OPTIONS = ("providers", "fallback_providers", "settings", "show_original_response", "show_base_64")
COMMON_OPTIONS = RUN_OPTIONS + REQUEST_OPTIONS
TRANSPORTS = ("auto", "batch", "sync")


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
    # cache keys per provider, computed once
    key_memo: dict[str, list[str | None]] = dataclasses.field(default_factory=dict)

    def in_process(self, provider: str) -> bool:
        """Does this provider run in this process (the offline engine) rather than over HTTP?"""
        return provider == LOCAL and self.transport == "auto"


async def run_frame(
    frame: pd.DataFrame, subfeature: str | Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> pd.DataFrame:
    """The async body of every accessor method."""
    started = time.monotonic()
    entry = subfeature if isinstance(subfeature, Subfeature) else get_subfeature(subfeature)
    call = _prepare(frame, entry, column, options, default_prefix)
    plan = plan_requests(entry, frame[column], str(column), call.params, call.settings.max_input_chars)
    results = {p: UnitResults.empty(p, plan.units) for p in call.providers}
    cache = _open_cache(call)
    try:
        cached = _answer_from_cache(call, plan, results, cache)
        groups = _groups(call, plan, results)
        if call.dry_run or call.max_cost is not None:
            estimate = _estimate(call, groups)
            if call.dry_run:
                return _dry_run_frame(call, plan, groups, estimate, cached, time.monotonic() - started)
            _check_budget(call, estimate)
        counts = await _send(call, plan, groups, results, cache, cached)
    finally:
        if cache is not None:
            cache.close()
    provider_results = [provider_result(plan, results[p]) for p in call.providers]
    out = _assemble(frame, provider_results, call.columns, call.overwrite)
    if call.save_to is not None:
        await _save_media(out, call)
    report = RunReport({
        "subfeature": entry.path,
        "providers": list(call.providers),
        "rows": plan.rows,
        "sent": counts["sent"],
        "cached": cached,
        "deduplicated": plan.rows - plan.skipped - plan.units,
        "skipped": plan.skipped,
        "failed": _failed_rows(provider_results),
        "cost": counts["spent"],
        "jobs": counts["jobs"],
        "seconds": round(time.monotonic() - started, 3),
    })
    out.attrs = {**frame.attrs, "edenframe": report}
    _handle_failures(out, call, report)
    return out


def _prepare(
    frame: pd.DataFrame, entry: Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> Call:
    """Every check made before anything is sent."""
    check_column(frame, column)
    given = dict(options)
    run_options = {name: given.pop(name) for name in RUN_OPTIONS if name in given}
    request_options = {name: given.pop(name) for name in REQUEST_OPTIONS if name in given}
    params = check_params(entry, given, COMMON_OPTIONS)

    settings = current_settings(api_key=run_options.get("api_key"), base_url=run_options.get("base_url"))
    providers = _providers(entry, request_options.get("providers"), settings)
    transport = run_options.get("transport") or "auto"
    if transport not in TRANSPORTS:
        raise ValidationError(f"transport must be one of {list(TRANSPORTS)}, not {transport!r}")
    remote = [p for p in providers if not (p == LOCAL and transport == "auto")]
    dry_run = bool(run_options.get("dry_run", False))
    if remote and settings.api_key is None and not dry_run:
        raise MissingAPIKeyError(
            f"provider(s) {', '.join(repr(p) for p in remote)} run on Eden AI and need an API key: set the "
            "EDENAI_API_KEY environment variable or call edenframe.configure(api_key=...)"
            + ("; or use providers='local' to run offline" if entry.local else "")
        )
    if LOCAL in providers and transport == "auto":
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
    prefix = run_options.get("prefix") or default_prefix or entry.subfeature
    if not isinstance(prefix, str):
        raise ValidationError(f"prefix must be a string, not {type(prefix).__name__}")
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
    columns = column_names(entry.row_output.names, prefix, providers, with_path=save_to is not None)
    overwrite = bool(run_options.get("overwrite", False))
    clashes = [name for _, _, name in columns if name in frame.columns]
    if clashes and not overwrite and not dry_run:
        raise ValidationError(
            f"the new column(s) {clashes} already exist in the DataFrame; pass prefix='...' to name them "
            "differently, or overwrite=True to replace them"
        )
    max_cost = run_options.get("max_cost")
    if max_cost is not None and (
        isinstance(max_cost, bool) or not isinstance(max_cost, (int, float)) or not max_cost >= 0
    ):
        raise ValidationError(f"max_cost must be a non-negative number (USD), not {max_cost!r}")
    return Call(
        entry=entry,
        params={**params, **_body_options(request_options, providers)},
        settings=settings,
        providers=providers,
        transport=transport,
        columns=columns,
        overwrite=overwrite,
        errors=errors,
        progress=run_options.get("progress"),
        cache=run_options.get("cache", settings.cache),
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
        warnings.warn(f"the edenframe cache could not be opened ({exc}); running without it", RuntimeWarning,
                      stacklevel=4)
        return None


def _answer_from_cache(call: Call, plan: Plan, results: dict[str, UnitResults], cache: ResultCache | None) -> int:
    """Fill cached results in; returns the number of inputs fully answered from the cache."""
    cached_providers = [p for p in call.providers if not call.in_process(p)]
    if cache is None or not cached_providers or plan.units == 0:
        return 0
    for provider in cached_providers:
        keys = cache_keys(call, plan, provider)
        found = cache.lookup([key for key in keys if key is not None])
        for unit, key in enumerate(keys):
            entry = found.get(key) if key is not None else None
            if isinstance(entry, dict) and isinstance(entry.get("record"), dict):
                results[provider].set_record(unit, entry["record"], cached=True)
                results[provider].costs[unit] = float(entry.get("cost") or 0.0)
    full = np.ones(plan.units, dtype=bool)
    for provider in cached_providers:
        full &= results[provider].cached
    return int(full.sum()) if len(cached_providers) == len(call.providers) else 0


def cache_keys(call: Call, plan: Plan, provider: str) -> list[str | None]:
    """The cache key of each unit's result from `provider` (None: not cacheable, e.g. an unreadable file)."""
    memo = call.key_memo.get(provider)
    if memo is None:
        files = call.entry.input_kind == "file"
        memo = []
        for value in plan.values:
            identity = file_identity(value) if files else value
            key = result_key(call.entry.path, provider, call.params, identity, call.settings.base_url)
            memo.append(None if identity is None else key)
        call.key_memo[provider] = memo
    return memo


def _groups(call: Call, plan: Plan, results: dict[str, UnitResults]) -> list[tuple[str, Requests]]:
    """What still has to be sent, as (transport kind, requests); inputs needing the same providers share requests."""
    groups: list[tuple[str, Requests]] = []
    local = tuple(p for p in call.providers if call.in_process(p))
    if local:
        groups.append(("local", build_requests(plan, range(plan.units), local)))
    remote = [p for p in call.providers if not call.in_process(p)]
    if remote:
        needs = np.stack([~results[p].done for p in remote]) if plan.units else np.zeros((len(remote), 0), bool)
        by_need: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        for unit in np.flatnonzero(needs.any(axis=0)).tolist():
            wanted = tuple(p for p, need in zip(remote, needs[:, unit], strict=True) if need)
            # The batch API takes URLs only: local files and bytes are uploaded through the sync endpoint.
            kind = "sync" if call.transport == "sync" or is_upload(plan.values[unit]) else "batch"
            by_need.setdefault((kind, wanted), []).append(unit)
        groups.extend((kind, build_requests(plan, units, providers)) for (kind, providers), units in by_need.items())
    return groups


def _estimate(call: Call, groups: list[tuple[str, Requests]]) -> dict[str, Any]:
    """Expected cost of what will be sent, per request item (NaN where no price is known) and in total."""
    from ._prices import estimate_cost

    per_item: list[list[float]] = []
    unpriced: set[str] = set()
    for kind, requests in groups:
        costs = []
        for item in requests.items:
            total = 0.0
            for provider in requests.providers:
                value = 0.0 if kind == "local" else estimate_cost(call.entry, provider, item)
                if value is None:
                    unpriced.add(provider)
                    total = math.nan
                elif not math.isnan(total):
                    total += value
            costs.append(total)
        per_item.append(costs)
    known = [c for costs in per_item for c in costs if not math.isnan(c)]
    return {"per_item": per_item, "total": float(sum(known)), "unpriced": sorted(unpriced)}


def _check_budget(call: Call, estimate: dict[str, Any]) -> None:
    if call.max_cost is None:
        return
    if estimate["total"] > call.max_cost:
        raise BudgetExceededError(
            f"the estimated cost ${estimate['total']:.4f} is above max_cost=${call.max_cost:.4f}; nothing was sent. "
            "Raise max_cost, run fewer rows, or check the plan first with dry_run=True"
        )
    if estimate["unpriced"]:
        warnings.warn(
            f"no price is known for {estimate['unpriced']}: their cost is not in the estimate that max_cost was "
            "checked against (spending is still capped as results arrive)",
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


async def _send(
    call: Call,
    plan: Plan,
    groups: list[tuple[str, Requests]],
    results: dict[str, UnitResults],
    cache: ResultCache | None,
    cached: int,
) -> dict[str, Any]:
    """Send every group concurrently; results land in `results` (and the cache) as they arrive."""
    spent = [0.0]

    def budget_stop() -> str | None:
        if call.max_cost is not None and spent[0] >= call.max_cost:
            return f"max_cost=${call.max_cost:.4f} was reached (${spent[0]:.4f} spent)"
        return None

    transports: list[tuple[Any, Requests]] = []
    for kind, requests in groups:
        if kind == "local":
            transports.append((LocalTransport(call.settings), requests))
        elif kind == "sync":
            transports.append((SyncTransport(call.settings), requests))
        else:
            transports.append((BatchTransport(call.settings, journal=cache, may_launch=budget_stop), requests))

    total = sum(len(units) for _, requests in groups for units in requests.units)
    with Progress(total, call.entry.method, call.progress, call.settings.progress, cached) as progress:

        def receiver(requests: Requests) -> Any:
            index = {item["name"]: position for position, item in enumerate(requests.items)}

            def on_outcomes(outcomes: dict[str, Outcome]) -> None:
                succeeded, charged = absorb(call.entry, requests, index, outcomes, results)
                spent[0] += charged
                if cache is not None and succeeded:
                    cache.store(
                        [
                            (key, call.entry.path, p, {"record": record, "cost": float(results[p].costs[u])})
                            for p, u, record in succeeded
                            if not call.in_process(p) and (key := cache_keys(call, plan, p)[u]) is not None
                        ]
                    )
                units = sum(len(requests.units[index[n]]) for n in outcomes if n in index)
                failed = sum(
                    1 for n in outcomes if n in index for u in requests.units[index[n]]
                    if any(results[p].errors[u] is not None for p in requests.providers)
                )
                progress.advance(units, failed, spent[0])

            return on_outcomes

        from ._transport.batch import _all

        await _all(
            transport.send(call.entry, requests.items, receiver(requests)) for transport, requests in transports
        )
    return {
        "spent": round(spent[0], 10),
        "sent": sum(len(requests.items) for _, requests in groups),
        "jobs": sum(getattr(transport, "jobs_launched", 0) for transport, _ in transports),
    }


async def _save_media(out: pd.DataFrame, call: Call) -> None:
    """Write the media of every row to `call.save_to` and fill the path columns."""
    media = call.entry.media
    assert media is not None and call.save_to is not None
    names = {(provider, output): name for provider, output, name in call.columns}
    stems = {}
    for provider in call.providers:
        stem = names[(provider, "path")].removesuffix("_path")
        payload = names[(provider, media.within or media.payload)]
        url = names[(provider, media.within or media.url)]
        stems[stem] = (payload, url, names[(provider, "error")])
    paths = await save_media(out, media, stems, call.save_to)
    for stem, values in paths.items():
        out[f"{stem}_path"] = values


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
        elif output == "path":
            data[name] = pd.array([None] * len(frame), dtype="string")
        else:
            data[name] = result.fields[output]
    base = frame.drop(columns=[c for c in data if c in frame.columns]) if overwrite else frame
    return pd.concat([base, pd.DataFrame(data, index=frame.index)], axis=1)


def _failed_rows(results: list[ProviderResult]) -> int:
    failed = np.zeros(len(results[0].cost) if results else 0, dtype=bool)
    for result in results:
        failed |= ~np.asarray(result.error.isna(), dtype=bool)
    return int(failed.sum())


def _handle_failures(out: pd.DataFrame, call: Call, report: dict[str, Any]) -> None:
    if report["failed"] == 0:
        return
    error_columns = [(provider, name) for provider, field, name in call.columns if field == "error"]
    if call.errors == "raise":
        parts = []
        for provider, name in error_columns:
            failed = out[name].dropna()
            parts.append(pd.DataFrame({"provider": provider, "error": failed.astype(object)}, index=failed.index))
        raise RowErrors(pd.concat(parts), out)
    first = next(out[name].dropna().iloc[0] for _, name in error_columns if out[name].notna().any())
    warnings.warn(
        f"{report['failed']} of {report['rows']} rows failed in {report['subfeature']} (first error: {first}); "
        f"the messages are in {', '.join(name for _, name in error_columns)}",
        RowErrorWarning,
        stacklevel=4,
    )
