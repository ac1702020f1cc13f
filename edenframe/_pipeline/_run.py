"""One call of `df.eden.<method>`: validate, plan, answer from the cache, send the rest, build the output frame."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pandas as pd

from .._catalog import Subfeature, get_subfeature
from .._gc import collector_paused
from .._local import local_probe
from .._prices import cost_estimator
from .._report import RunReport
from ._call import prepare_call
from ._estimate import check_budget, dry_run_frame, estimate_groups
from ._finish import assemble, failed_rows, handle_failures, history_of, not_sent_rows, save_media
from ._frame import finish_all
from ._orchestrate import build_window, open_run_cache, send_windows, window_ranges
from ._plan import plan_requests


async def run_frame(
    frame: pd.DataFrame, subfeature: str | Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> pd.DataFrame:
    """The async body of every accessor method."""
    started = time.monotonic()
    entry = subfeature if isinstance(subfeature, Subfeature) else get_subfeature(subfeature)
    # off the event loop: checking the providers may read Eden AI's provider list (a short blocking GET)
    call = await asyncio.to_thread(prepare_call, frame, entry, column, options, default_prefix)
    if not call.dry_run and any(call.in_process(p) for p in call.providers):
        await asyncio.to_thread(local_probe, entry.path, call.params)  # bad parameters: refused before any row runs
    with collector_paused():  # one pass over every row, allocating only acyclic objects
        plan = plan_requests(entry, frame[column], str(column), call.params, call.settings.max_input_chars)
    cache = open_run_cache(call)
    try:
        if call.dry_run or call.max_cost is not None:
            if call.api == "v3" and not all(call.in_process(p) for p in call.providers):
                # v3's prices are read from Eden AI (GET /v3/info): a blocking read, off the event loop
                await asyncio.to_thread(cost_estimator, entry, call.settings, call.api)
            windows = [build_window(call, plan, w, cache) for w in window_ranges(call, plan)]
            groups = [group for window in windows for group in window.groups]
            estimate = estimate_groups(call, groups)
            if call.dry_run:
                cached = sum(window.cached for window in windows)
                return dry_run_frame(call, plan, groups, estimate, cached, time.monotonic() - started)
            check_budget(call, estimate)
            del windows, groups
        columns, counts = await send_windows(call, plan, cache)
    finally:
        if cache is not None:
            cache.close()
    provider_results = finish_all(columns, call.providers, plan.row_unit)  # one category set for all providers
    del columns
    if call.save_to is not None:
        provider_results = await save_media(call, provider_results, frame.index)
    not_sent = not_sent_rows(provider_results)
    out = assemble(frame, provider_results, call.columns, call.overwrite)
    report = RunReport(
        {
            "subfeature": entry.path,
            "providers": list(call.providers),
            "rows": plan.rows,
            "sent": counts["sent"],
            "cached": counts["cached"],
            "deduplicated": plan.rows - plan.skipped - plan.units,
            "skipped": plan.skipped,
            "failed": failed_rows(provider_results),
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
    out.attrs = {**frame.attrs, "edenframe": report, "edenframe_history": [*history_of(frame.attrs), report]}
    handle_failures(out, call, report)
    return out
