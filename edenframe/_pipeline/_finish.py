"""Finishing a run: media saved, typed columns placed on the frame, row failures warned about or raised."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from .._blocking import warn_user
from .._errors import RowErrors, RowErrorWarning
from .._media import media_session, row_keys, save_files
from .._report import usd
from ._budget import NOT_SENT
from ._call import PreparedCall
from ._frame import ProviderResult, provider_slug


def history_of(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    """The reports of the calls that made this frame, oldest first (a chain of calls keeps every one)."""
    history = attrs.get("edenframe_history")
    if isinstance(history, list):
        return list(history)
    last = attrs.get("edenframe")
    return [last] if isinstance(last, dict) and not last.get("dry_run") else []


def not_sent_rows(results: list[ProviderResult]) -> int:
    """Rows that some provider never got because the budget was reached."""
    refused = np.zeros(len(results[0].cost) if results else 0, dtype=bool)
    for result in results:
        errors = pd.Series(result.error, dtype="string", copy=False)
        refused |= errors.str.startswith(NOT_SENT).fillna(False).to_numpy(dtype=bool)
    return int(refused.sum())


async def save_media(call: PreparedCall, results: list[ProviderResult], index: pd.Index) -> list[ProviderResult]:
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


def assemble(
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


def failed_rows(results: list[ProviderResult]) -> int:
    failed = np.zeros(len(results[0].cost) if results else 0, dtype=bool)
    for result in results:
        failed |= ~np.asarray(result.error.isna(), dtype=bool)
    return int(failed.sum())


def handle_failures(out: pd.DataFrame, call: PreparedCall, report: dict[str, Any]) -> None:
    budget = ""
    if report["budget_reached"]:
        budget = (
            f"the budget max_cost={usd(call.max_cost)} was reached ({usd(report['cost'])} spent): "
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
