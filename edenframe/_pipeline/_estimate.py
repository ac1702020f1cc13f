"""Estimates before sending: the expected cost of the planned requests, the max_cost check and the dry-run frame."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .._blocking import warn_user
from .._errors import BudgetExceededError
from .._report import RunReport, usd
from .._transport import TRANSPORTS
from ._call import PreparedCall
from ._plan import Plan, Requests


def estimate_groups(call: PreparedCall, groups: list[tuple[str, Requests]]) -> dict[str, Any]:
    """Expected cost of what will be sent, per request item (NaN where no price is known) and in total, with the
    notes on what was assumed or is unknown (v3: a page count, an audio length, a model without a price)."""
    from .._prices import cost_estimator

    # v3 reads its prices from Eden AI (cached; run_frame reads them off the event loop first); not for local runs
    remote = any(TRANSPORTS[kind].remote for kind, _ in groups)
    estimate = cost_estimator(call.entry, call.settings, call.api) if remote else None
    per_item: list[list[float]] = []
    unpriced: set[str] = set()
    notes: set[str] = set()
    for kind, requests in groups:
        costs = []
        for item in requests.items:
            total = 0.0
            for provider in requests.providers:
                value, note = estimate(provider, item) if estimate and TRANSPORTS[kind].remote else (0.0, None)
                if note:
                    notes.add(f"{provider}: {note}")
                if value is None:
                    unpriced.add(provider)
                    total = math.nan
                elif not math.isnan(total):
                    total += value
            costs.append(total)
        per_item.append(costs)
    known = [c for costs in per_item for c in costs if not math.isnan(c)]
    return {"per_item": per_item, "total": float(sum(known)), "unpriced": sorted(unpriced), "notes": sorted(notes)}


def expected_costs(call: PreparedCall, groups: list[tuple[str, Requests]]) -> dict[str, float]:
    """The table estimate of each remote request of a window, by request name (NaN: no price known)."""
    remote = [(kind, requests) for kind, requests in groups if TRANSPORTS[kind].remote]
    per_item = estimate_groups(call, remote)["per_item"]
    return {
        item["name"]: cost
        for (_, requests), costs in zip(remote, per_item, strict=True)
        for item, cost in zip(requests.items, costs, strict=True)
    }


def check_budget(call: PreparedCall, estimate: dict[str, Any]) -> None:
    if call.max_cost is None:
        return
    if estimate["total"] > call.max_cost:
        raise BudgetExceededError(
            f"the estimated cost {usd(estimate['total'])} is above max_cost={usd(call.max_cost)}; nothing was sent. "
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


def dry_run_frame(
    call: PreparedCall,
    plan: Plan,
    groups: list[tuple[str, Requests]],
    estimate: dict[str, Any],
    cached: int,
    seconds: float,
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
                    # a list, not the tuple: numpy reads a tuple index as one index per axis (a pack of 3 units
                    # would be a 3-D index)
                    "rows": int(rows_per_unit[list(units)].sum()),
                    "chars": sum(len(t) for t in texts if isinstance(t, str)),
                    "estimated_cost": cost,
                }
            )
    columns = ["name", "transport", "providers", "inputs", "rows", "chars", "estimated_cost"]
    out = pd.DataFrame.from_records(records, columns=columns).astype(
        {
            "name": "string",
            "transport": "string",
            "providers": "string",
            "inputs": "int64",
            "rows": "int64",
            "chars": "int64",
            "estimated_cost": "float64",
        }
    )
    out.attrs["edenframe"] = RunReport(
        {
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
            "price_notes": estimate["notes"],
            "seconds": round(seconds, 3),
        }
    )
    return out
