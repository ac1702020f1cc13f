"""Responses to typed columns: built column-wise with pyarrow from the catalog schema, placed on rows by plan keys."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._blocking import warn_user
from .._schema import STR as STR_TYPE
from .._schema import Enum, ListOf, Mapping, Scalar, Struct, Type
from ._results import UnitResults


@dataclass
class ProviderResult:
    """One provider's share of a run: its new columns (by field name) and per-row error, cost."""

    provider: str
    fields: dict[str, Any]  # field name -> array-like, one value per input row
    error: pd.arrays.StringArray | Any
    cost: np.ndarray


def provider_slug(provider: str) -> str:
    """`openai/gpt-4o` -> `openai_gpt_4o`: the provider part of several-provider column names."""
    return re.sub(r"[^0-9A-Za-z]+", "_", provider).strip("_")


def column_names(
    fields: Sequence[str], prefix: str, providers: Sequence[str], with_path: bool = False
) -> list[tuple[str, str, str]]:
    """(provider, field or 'cost'/'error'/'path', column name) for every new column, in output order."""
    names = []
    extra = ["cost", "error", "path"] if with_path else ["cost", "error"]
    for provider in providers:
        stem = prefix if len(providers) == 1 else f"{prefix}_{provider_slug(provider)}"
        names.extend((provider, field, f"{stem}_{field}") for field in [*fields, *extra])
    return names


class ProviderColumns:
    """Collects one provider's results window by window (as Arrow, dropping the Python records), then builds its
    row columns: so a large run never holds more than a window of parsed responses as Python objects."""

    def __init__(self, provider: str, schema: Struct) -> None:
        self.provider = provider
        self.schema = schema
        self._windows: dict[int, tuple[pa.StructArray, pa.Array, np.ndarray]] = {}

    def add(self, window: int, units: UnitResults) -> None:
        errors = list(units.errors)
        records = _to_arrow(units.records, self.schema, errors)
        self._windows[window] = (records, pa.array(errors, type=pa.string()), np.asarray(units.costs, dtype=float))

    def finish(self, rows: np.ndarray) -> ProviderResult:
        """The per-row fields, errors and costs; `rows[i]` is row i's unit (-1: not sent)."""
        order = [self._windows[w] for w in sorted(self._windows)]
        # Chunked, one chunk per window, rather than concatenated: a concatenation would copy every result once
        # more (hundreds of MB for a large run, or for audio and images) and the columns work as well chunked.
        table = pa.chunked_array([o[0] for o in order], type=self.schema.arrow())
        errors = pa.chunked_array([o[1] for o in order], type=pa.string())
        costs = np.concatenate([o[2] for o in order]) if order else np.zeros(0)
        if len(rows) == len(table) and np.array_equal(rows, np.arange(len(rows))):
            taken, row_errors = table, errors  # every row distinct and sent: no reordering to do (nor to copy)
        else:
            positions = pa.array(rows, mask=rows < 0)
            taken, row_errors = table.take(positions), errors.take(positions)
        # flatten() (unlike field()) carries the struct's own nulls into each field: a failed row stays NA everywhere.
        flat = taken.flatten()
        fields = {name: _to_pandas(flat[i], t) for i, (name, t) in enumerate(self.schema.fields)}
        error = pd.StringDtype().__from_arrow__(row_errors)
        return ProviderResult(self.provider, fields, error, _row_costs(rows, costs))


def finish_all(columns: dict[str, ProviderColumns], providers: Sequence[str], rows: np.ndarray) -> list[ProviderResult]:
    """Every provider's row columns (see `ProviderColumns.finish`), their label columns sharing one category set.

    A label outside an enum's fixed list is kept as an extra category of the provider that sent it; without a
    shared set, `out.sentiment_google_general_sentiment == out.sentiment_amazon_general_sentiment` would raise
    ("Categoricals can only be compared if 'categories' are the same"). So every provider's column gets the fixed
    categories, then the union of the extra ones, in sorted order.
    """
    results = [columns[p].finish(rows) for p in providers]
    if len(results) < 2:
        return results
    schema = columns[providers[0]].schema
    for name, t in schema.fields:
        if not isinstance(t, Enum):
            continue
        extra = set().union(*(r.fields[name].categories for r in results)) - set(t.values)
        if extra:
            shared = [*t.values, *sorted(extra)]
            for result in results:
                result.fields[name] = result.fields[name].set_categories(shared)
    return results


# what pyarrow raises for a value its type cannot hold (OverflowError: an integer beyond 64 bits, which JSON and
# JSON Schema's "integer" allow, e.g. in an LLM's reply)
_UNFIT = (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError)


def _to_arrow(records: list[dict[str, Any] | None], schema: Struct, errors: list[str | None]) -> pa.StructArray:
    """A struct array of the records; a record that does not fit the schema becomes that unit's error."""
    arrow_type = schema.arrow()
    try:
        return pa.array(records, type=arrow_type)
    except _UNFIT:
        pass
    fitted: list[dict[str, Any] | None] = []
    for position, record in enumerate(records):
        try:
            pa.array([record], type=arrow_type)
        except _UNFIT as exc:
            record = coerce(record, schema)
            try:
                pa.array([record], type=arrow_type)
            except _UNFIT:
                record = None
                errors[position] = f"the response does not match the {schema_name(schema)} schema: {exc}"
        fitted.append(record)
    return pa.array(fitted, type=arrow_type)


def coerce(value: Any, t: Type) -> Any:
    """Bend a value that pyarrow refused toward its schema type: numbers sent as strings, free-form objects with
    non-string values (kept as JSON text). Anything that still does not fit is left for the caller to reject."""
    if value is None:
        return None
    if isinstance(t, Mapping):
        if not isinstance(value, dict):
            return value
        return {str(k): v if v is None or isinstance(v, str) else json.dumps(v, default=str) for k, v in value.items()}
    if isinstance(t, Struct):
        if not isinstance(value, dict):
            return value
        return {name: coerce(value.get(name), ft) for name, ft in t.fields}
    if isinstance(t, ListOf):
        return [coerce(v, t.item) for v in value] if isinstance(value, list) else value
    if isinstance(t, Scalar) and isinstance(value, str) and t.kind in ("float", "int"):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if t.kind == "int" and number.is_integer() else number
    if t == STR_TYPE and isinstance(value, (int, float, bool)):
        return str(value)
    return value


def schema_name(schema: Struct) -> str:
    return "{" + ", ".join(schema.names) + "}"


def _to_pandas(array: pa.ChunkedArray, t: Type) -> Any:
    """The pandas array for one output field, with the dtype the schema gives (never guessed from the data)."""
    if isinstance(t, Enum):
        return _categorical(array, t)
    if isinstance(t, Scalar):
        if t.kind == "float":
            return array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        return pd.api.types.pandas_dtype(t.dtype()).__from_arrow__(array)
    return pd.arrays.ArrowExtensionArray(array)


def _categorical(array: pa.ChunkedArray, t: Enum) -> pd.Categorical:
    # Dictionary-encode in Arrow: only the few distinct labels ever become Python strings. (One chunk first: each
    # chunk would get its own dictionary; labels are short, so the copy is cheap.)
    encoded = pc.dictionary_encode(array.combine_chunks())
    labels = encoded.dictionary.to_pylist()
    lookup = {c.lower(): c for c in t.values}
    normalised = [lookup.get(str(label).lower(), str(label)) for label in labels]
    categories = list(t.values)
    unexpected = sorted(set(normalised) - set(categories))
    if unexpected:
        # Keep the provider's label rather than turning it into NA: no result is silently dropped.
        warn_user(
            f"labels outside {categories} came back: {unexpected}; they are kept as extra categories",
            stacklevel=4,
        )
        categories += unexpected
    position = {label: i for i, label in enumerate(categories)}
    mapped = np.array([position[label] for label in normalised] + [-1], dtype=np.int64)
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return pd.Categorical.from_codes(mapped[indices], categories=categories)


def _row_costs(rows: np.ndarray, unit_costs: np.ndarray) -> np.ndarray:
    """Each unit's charge on the first row it served, 0.0 on its other rows, NaN on rows that were not sent.

    Summing the column gives what the results cost: a request shared by duplicate rows (or by several packed inputs)
    is counted once. A cached result shows what it cost when it was obtained, so a rerun gives an identical frame;
    the report's `cost` is what this run spent.
    """
    cost = np.full(len(rows), np.nan)
    served = rows >= 0
    cost[served] = 0.0
    if served.any():
        units, first = np.unique(rows[served], return_index=True)
        cost[np.flatnonzero(served)[first]] = unit_costs[units]
    return cost
