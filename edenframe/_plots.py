"""Plots of enriched frames: provider agreement on a label, and cost by provider. matplotlib is imported lazily.

The functions take the accessor (they become `df.eden.plot_agreement` / `df.eden.plot_cost`) or a DataFrame, and
find their columns by edenframe's naming rule: `{prefix}_{provider}_{field}`, `{prefix}_{provider}_cost` for a
call with several providers, `{prefix}_{field}` and `{prefix}_cost` for one provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._errors import MissingDependencyError, ValidationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["agreement_matrix", "cost_by_provider", "plot_agreement", "plot_cost"]


def _frame(obj: Any) -> pd.DataFrame:
    """The DataFrame behind `df.eden` (or the DataFrame itself)."""
    frame = getattr(obj, "_obj", obj)
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"expected a DataFrame, got {type(frame).__name__}")
    return frame


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError(
            "plots need matplotlib, which is not installed. Install it with: pip install 'edenframe[plots]'"
        ) from exc
    return plt


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    _, new_ax = _pyplot().subplots()
    return new_ax


def _provider_stems(frame: pd.DataFrame, prefix: str) -> list[str]:
    """The provider parts of a several-provider call's columns, from its `{prefix}_{provider}_cost` columns."""
    start, end = f"{prefix}_", "_cost"
    return [
        str(c)[len(start) : -len(end)]
        for c in frame.columns
        if isinstance(c, str) and c.startswith(start) and c.endswith(end) and len(c) > len(start) + len(end)
    ]


def agreement_matrix(obj: Any, prefix: str, field: str | None = None) -> pd.DataFrame:
    """How often each pair of providers gives the same label: a providers x providers DataFrame of shares (0..1).

    A pair is compared on the rows where both providers have a label (skipped and failed rows are left out); a pair
    with no such row is NaN. `field` is the label field (`general_sentiment`); by default the only field whose
    column has the `category` dtype for every provider.
    """
    frame = _frame(obj)
    providers = _provider_stems(frame, prefix)
    if len(providers) < 2:
        raise ValidationError(
            f"found {len(providers)} provider(s) for prefix {prefix!r}; agreement needs the columns of one call with "
            f"several providers ({prefix}_<provider>_<field>), e.g. df.eden.sentiment(col, providers='google,amazon')"
        )
    label_field = field if field is not None else _label_field(frame, prefix, providers)
    columns = [f"{prefix}_{p}_{label_field}" for p in providers]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValidationError(f"no column(s) {missing} in the DataFrame; pick field= from the label fields")
    labels = {p: frame[c].astype(object) for p, c in zip(providers, columns, strict=True)}
    shares = np.full((len(providers), len(providers)), np.nan)
    for i, a in enumerate(providers):
        for j, b in enumerate(providers):
            both = labels[a].notna() & labels[b].notna()
            if both.any():
                shares[i, j] = float((labels[a][both] == labels[b][both]).mean())
    matrix = pd.DataFrame(shares, index=providers, columns=providers)
    matrix.index.name = matrix.columns.name = "provider"
    matrix.attrs["field"] = label_field
    return matrix


def _label_field(frame: pd.DataFrame, prefix: str, providers: list[str]) -> str:
    per_provider = []
    for provider in providers:
        start = f"{prefix}_{provider}_"
        per_provider.append(
            {
                str(c)[len(start) :]
                for c in frame.columns
                if isinstance(c, str) and c.startswith(start) and isinstance(frame[c].dtype, pd.CategoricalDtype)
            }
        )
    common = sorted(set.intersection(*per_provider))
    if len(common) == 1:
        return common[0]
    if not common:
        raise ValidationError(
            f"no label column (category dtype) is shared by the providers {providers} under prefix {prefix!r}; "
            "pass field= to name one"
        )
    raise ValidationError(f"several label fields under prefix {prefix!r}: {common}; pass field= to pick one")


def plot_agreement(obj: Any, prefix: str, field: str | None = None, ax: Axes | None = None) -> Axes:
    """A heatmap of how often each pair of providers agrees on a label output; returns the matplotlib Axes.

    Reads the columns `{prefix}_{provider}_{field}` of one several-provider call (`category` dtype), finding the
    providers and, unless `field` is given, the label field. Each cell is the share of rows, among those where both
    providers answered, on which they gave the same label. Draws on `ax` when given, else on a new figure.
    """
    matrix = agreement_matrix(obj, prefix, field)
    label_field = matrix.attrs["field"]
    ax = _axes(ax)
    values = np.ma.masked_invalid(matrix.to_numpy())
    image = ax.imshow(values, vmin=0.0, vmax=1.0, cmap="viridis")
    n = len(matrix)
    ax.set_xticks(range(n), labels=list(matrix.columns), rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), labels=list(matrix.index))
    for i in range(n):
        for j in range(n):
            share = matrix.iat[i, j]
            missing = bool(np.isnan(share))
            # viridis is light at the top of the scale: dark text there and on empty (masked) cells
            colour = "black" if missing or share > 0.6 else "white"
            ax.text(j, i, "n/a" if missing else f"{share:.0%}", ha="center", va="center", color=colour)
    ax.set_title(f"Agreement on {prefix} {label_field}")
    ax.set_xlabel("provider")
    ax.set_ylabel("provider")
    ax.figure.colorbar(image, ax=ax, label="share of rows with the same label")
    return ax


def cost_by_provider(obj: Any, prefix: str | None = None) -> pd.Series:
    """Total cost per provider (with `prefix`) or per cost column (without), from the `*_cost` columns."""
    frame = _frame(obj)
    if prefix is not None:
        stems = _provider_stems(frame, prefix)
        if stems:
            columns = {stem: f"{prefix}_{stem}_cost" for stem in stems}
        elif f"{prefix}_cost" in frame.columns:
            columns = {prefix: f"{prefix}_cost"}
        else:
            raise ValidationError(f"no cost column for prefix {prefix!r} ({prefix}_cost or {prefix}_<provider>_cost)")
    else:
        columns = {
            str(c)[: -len("_cost")]: str(c)
            for c in frame.columns
            if isinstance(c, str) and c.endswith("_cost") and pd.api.types.is_float_dtype(frame[c].dtype)
        }
        if not columns:
            raise ValidationError("no cost column (*_cost) in the DataFrame: plot the output of a df.eden method")
    totals = pd.Series({label: float(frame[column].sum()) for label, column in columns.items()}, dtype="float64")
    totals.index.name = "provider" if prefix is not None else "column"
    return totals


def plot_cost(obj: Any, prefix: str | None = None, ax: Axes | None = None) -> Axes:
    """A bar chart of cost by provider, summed from the `*_cost` columns; returns the matplotlib Axes.

    With `prefix`, one bar per provider of that call (`{prefix}_{provider}_cost`; a one-provider call gives one bar
    labelled with the prefix). Without it, one bar per cost column in the frame, labelled with the column name
    without `_cost` (`sentiment_google`, `keywords`). A request's cost sits on the first row it served, so the sums
    are what was charged. Draws on `ax` when given, else on a new figure.
    """
    totals = cost_by_provider(obj, prefix)
    ax = _axes(ax)
    positions = np.arange(len(totals))
    bars = ax.bar(positions, totals.to_numpy())
    ax.set_xticks(positions, labels=list(totals.index), rotation=45, ha="right", rotation_mode="anchor")
    ax.bar_label(bars, labels=[f"{v:.4g}" for v in totals], padding=2)
    ax.set_title("Cost by provider" if prefix is None else f"Cost of {prefix} by provider")
    ax.set_xlabel("provider" if prefix is not None else "call and provider")
    ax.set_ylabel("cost (USD)")
    ax.margins(y=0.15)
    return ax
