"""`RunReport`: the dict in `out.attrs["edenframe"]`, with a one-line summary and an HTML table for notebooks."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

# Counters that read as "N <word>" in the one-line summary, in this order.
_COUNTERS = ("rows", "sent", "cached", "deduplicated", "skipped", "failed", "jobs")
# Keys every run has that only say something when set: the summary leaves them out when they are 0, False or None.
_QUIET = ("reattached", "cached_by_provider", "max_cost", "budget_reached", "not_sent")


def usd(amount: float) -> str:
    """An amount of USD for messages, with at least two significant digits: LLM and per-character requests cost
    fractions of a cent, and "$0.0000 is above max_cost=$0.0000" says nothing."""
    if not math.isfinite(amount) or amount <= 0:
        return f"${amount:g}"
    decimals = max(4, 1 - math.floor(math.log10(amount)))
    return f"${amount:.{decimals}f}"


class RunReport(dict[str, Any]):
    """What one `df.eden.<method>(...)` call did: a plain dict (it pickles, deep-copies and JSON-encodes as one).

    Keys: `subfeature`, `providers`, `rows`, `sent` (requests Eden AI received), `cached` (inputs answered by the
    cache for every provider), `deduplicated`, `skipped`, `failed`, `cost`, `jobs` (batch jobs launched),
    `reattached` (journaled jobs of an earlier run collected), `cached_by_provider` ({provider: inputs}),
    `max_cost`, `budget_reached`, `not_sent` (rows never sent because of `max_cost`), `seconds`. In a notebook it
    shows as a small table. A frame made by a chain of calls also has `attrs["edenframe_history"]`: every call's
    report, oldest first.
    """

    def summary(self) -> str:
        """One line, e.g. `text/sentiment_analysis [local]: 300 rows, 293 sent, ... cost 0.0, 0.46 s`."""
        return format_report(self)

    def _repr_html_(self) -> str:
        rows = "".join(
            f'<tr><th style="text-align:left">{html.escape(str(key))}</th>'
            f'<td style="text-align:left">{html.escape(_format_value(key, value))}</td></tr>'
            for key, value in self.items()
        )
        return (
            '<table class="edenframe-report">'
            '<thead><tr><th colspan="2" style="text-align:left">edenframe run report</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )


def format_report(report: Mapping[str, Any]) -> str:
    """The one-line summary of a report (a `RunReport` or a plain dict with the same keys)."""
    head = str(report.get("subfeature", "run"))
    providers = report.get("providers")
    if providers:
        head += f" [{_format_value('providers', providers)}]"
    parts = [f"{report[key]} {key}" for key in _COUNTERS if key in report]
    known = {"subfeature", "providers", "seconds", *_COUNTERS}
    parts += [
        f"{key} {_format_value(key, value)}"
        for key, value in report.items()
        if key not in known and not (key in _QUIET and not _says_something(value))
    ]
    if "seconds" in report:
        parts.append(_format_value("seconds", report["seconds"]))
    return f"{head}: {', '.join(parts)}"


def _says_something(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(value.values())
    return bool(value)


def _format_value(key: str, value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_format_value(str(k), v)}" for k, v in value.items()) if value else "none"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "none"
    if key == "seconds" and isinstance(value, (int, float)):
        return f"{value:.2f} s"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
