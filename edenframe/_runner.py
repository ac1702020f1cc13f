"""One call of `df.eden.<method>`: validate, plan, send through the transports, build the output frame."""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import Any

import pandas as pd

from ._catalog import Subfeature, get_subfeature
from ._config import Settings, current_settings, parse_providers
from ._errors import MissingAPIKeyError, RowErrors, ValidationError
from ._frame import ProviderResult, column_names, provider_result, response_key
from ._local import local_check
from ._plan import Plan, plan_requests
from ._progress import progress_bar
from ._transport import Outcome
from ._transport.batch import BatchTransport
from ._transport.local import LOCAL, LocalTransport
from ._validate import check_column, check_params

# Options every method takes besides the subfeature's own parameters.
RUN_OPTIONS = ("prefix", "errors", "overwrite", "progress", "transport", "api_key", "base_url")
REQUEST_OPTIONS = ("providers", "fallback_providers", "settings", "show_original_response")
COMMON_OPTIONS = RUN_OPTIONS + REQUEST_OPTIONS
TRANSPORTS = ("auto", "batch")


class RowErrorWarning(UserWarning):
    """Some rows failed; their messages are in the `*_error` columns."""


async def run_frame(
    frame: pd.DataFrame, subfeature: str | Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> pd.DataFrame:
    """The async body of every accessor method."""
    started = time.monotonic()
    entry = subfeature if isinstance(subfeature, Subfeature) else get_subfeature(subfeature)
    call = _prepare(frame, entry, column, options, default_prefix)
    plan = plan_requests(entry, frame[column], str(column), call["params"])
    outcomes, jobs = await _send(plan, call["providers"], call["settings"], call["transport"], call["progress"])
    results = [provider_result(plan, provider, outcomes[provider]) for provider in call["providers"]]
    out = _assemble(frame, results, call["columns"], call["overwrite"])
    report = _report(entry, plan, results, jobs, time.monotonic() - started)
    out.attrs = {**frame.attrs, "edenframe": report}
    _handle_failures(out, results, call["columns"], call["errors"], report)
    return out


def _prepare(
    frame: pd.DataFrame, entry: Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> dict[str, Any]:
    """Every check made before anything is sent; returns the validated pieces of the call."""
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
    remote = [p for p in providers if p != LOCAL or transport == "batch"]
    if remote and settings.api_key is None:
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
    columns = column_names(entry.row_output.names, prefix, providers)
    overwrite = bool(run_options.get("overwrite", False))
    clashes = [name for _, _, name in columns if name in frame.columns]
    if clashes and not overwrite:
        raise ValidationError(
            f"the new column(s) {clashes} already exist in the DataFrame; pass prefix='...' to name them "
            "differently, or overwrite=True to replace them"
        )

    body_options = {}
    if request_options.get("fallback_providers") is not None:
        body_options["fallback_providers"] = ",".join(parse_providers(request_options["fallback_providers"]))
        if len(providers) != 1:
            raise ValidationError("fallback_providers works with exactly one provider in providers=")
    if request_options.get("settings") is not None:
        if not isinstance(request_options["settings"], dict):
            raise ValidationError("settings must be a dict such as {'openai': 'gpt-4o'}")
        body_options["settings"] = request_options["settings"]
    if request_options.get("show_original_response"):
        body_options["show_original_response"] = True
    return {
        "params": {**params, **body_options},
        "settings": settings,
        "providers": providers,
        "transport": transport,
        "columns": columns,
        "overwrite": overwrite,
        "errors": errors,
        "progress": run_options.get("progress"),
    }


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


async def _send(
    plan: Plan, providers: tuple[str, ...], settings: Settings, transport: str, progress: bool | None
) -> tuple[dict[str, list[Outcome]], int]:
    """Outcomes per provider, aligned with `plan.bodies`; and the number of batch jobs launched."""
    groups: list[tuple[Any, tuple[str, ...]]] = []
    in_process = tuple(p for p in providers if p == LOCAL and transport == "auto")
    remote = tuple(p for p in providers if p not in in_process)
    if in_process:
        groups.append((LocalTransport(settings), in_process))
    if remote:
        groups.append((BatchTransport(settings), remote))

    total = len(plan.bodies) * len(groups)
    with progress_bar(total, plan.entry.method, progress if progress is not None else settings.progress) as advance:
        work = []
        for transport_obj, group in groups:
            items = plan.items(group)
            work.append((transport_obj, group, items, transport_obj.send(plan.entry, items, advance)))
        answers = await asyncio.gather(*(w[3] for w in work))

    outcomes: dict[str, list[Outcome]] = {}
    jobs = 0
    for (transport_obj, group, items, _), by_name in zip(work, answers, strict=True):
        aligned = [by_name.get(item["name"]) or Outcome(error="no result came back for this request") for item in items]
        for provider in group:
            outcomes[provider] = aligned
        jobs += getattr(transport_obj, "jobs_launched", 0)
    return outcomes, jobs


def _assemble(
    frame: pd.DataFrame, results: list[ProviderResult], columns: list[tuple[str, str, str]], overwrite: bool
) -> pd.DataFrame:
    by_provider = {r.provider: r for r in results}
    data: dict[str, Any] = {}
    for provider, field, name in columns:
        result = by_provider[provider]
        if field == "cost":
            data[name] = result.cost
        elif field == "error":
            data[name] = result.error
        else:
            data[name] = result.fields[field]
    base = frame.drop(columns=[c for c in data if c in frame.columns]) if overwrite else frame
    new = pd.DataFrame(data, index=frame.index)
    out = pd.concat([base, new], axis=1)
    return out


def _report(
    entry: Subfeature, plan: Plan, results: list[ProviderResult], jobs: int, seconds: float
) -> dict[str, Any]:
    failed_mask = None
    for result in results:
        mask = result.error.isna().__invert__()
        failed_mask = mask if failed_mask is None else failed_mask | mask
    served = plan.rows - plan.skipped
    return {
        "subfeature": entry.path,
        "providers": [r.provider for r in results],
        "rows": plan.rows,
        "sent": len(plan.bodies),
        "cached": 0,
        "deduplicated": served - plan.units,
        "skipped": plan.skipped,
        "failed": int(failed_mask.sum()) if failed_mask is not None else 0,
        "cost": float(sum(float(pd.Series(r.cost).sum()) for r in results)),
        "jobs": jobs,
        "seconds": round(seconds, 3),
    }


def _handle_failures(
    out: pd.DataFrame,
    results: list[ProviderResult],
    columns: list[tuple[str, str, str]],
    errors: str,
    report: dict[str, Any],
) -> None:
    if report["failed"] == 0:
        return
    error_columns = [(provider, name) for provider, field, name in columns if field == "error"]
    if errors == "raise":
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
