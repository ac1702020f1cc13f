"""Responses to typed columns: built column-wise with pyarrow from the catalog schema, placed on rows by plan keys."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._plan import Plan
from ._schema import STR as STR_TYPE
from ._schema import Enum, ListOf, Mapping, Scalar, Struct, Type
from ._transport import Outcome


@dataclass
class ProviderResult:
    """One provider's share of a run: its new columns (by field name) and per-row error, cost."""

    provider: str
    fields: dict[str, Any]  # field name -> array-like, one value per input row
    error: pd.arrays.StringArray | Any
    cost: np.ndarray
    failed_rows: int


def provider_slug(provider: str) -> str:
    """`openai/gpt-4o` -> `openai_gpt_4o`: the provider part of several-provider column names."""
    return re.sub(r"[^0-9A-Za-z]+", "_", provider).strip("_")


def response_key(provider: str) -> str:
    """The key a provider's object has in a response: the provider name, without a `/model` suffix."""
    return provider.split("/", 1)[0]


def column_names(fields: Sequence[str], prefix: str, providers: Sequence[str]) -> list[tuple[str, str, str]]:
    """(provider, field or 'cost'/'error', column name) for every new column, in output order."""
    names = []
    for provider in providers:
        stem = prefix if len(providers) == 1 else f"{prefix}_{provider_slug(provider)}"
        names.extend((provider, field, f"{stem}_{field}") for field in [*fields, "cost", "error"])
    return names


def provider_result(plan: Plan, provider: str, outcomes: list[Outcome]) -> ProviderResult:
    """Turn one provider's responses (aligned with `plan.bodies`) into its per-row fields, errors and costs."""
    schema = plan.entry.row_output
    request_objects, request_errors, request_costs = _provider_objects(provider, outcomes)
    records, unit_errors = _unit_records(plan, request_objects, request_errors)
    table = _to_arrow(records, schema, unit_errors)

    rows = plan.row_unit
    taken = table.take(pa.array(rows, mask=rows < 0))
    # flatten() (unlike field()) carries the struct's own nulls into each field: a failed row stays NA everywhere.
    flat = taken.flatten()
    fields = {name: _to_pandas(flat[i], t) for i, (name, t) in enumerate(schema.fields)}

    unit_error_array = pa.array(unit_errors, type=pa.string())
    error = pd.StringDtype().__from_arrow__(unit_error_array.take(pa.array(rows, mask=rows < 0)))
    cost = _row_costs(plan, request_costs)
    return ProviderResult(provider, fields, error, cost, failed_rows=int(error.isna().__invert__().sum()))


def _provider_objects(
    provider: str, outcomes: list[Outcome]
) -> tuple[list[dict[str, Any] | None], list[str | None], np.ndarray]:
    key = response_key(provider)
    objects: list[dict[str, Any] | None] = []
    errors: list[str | None] = []
    costs = np.zeros(len(outcomes), dtype=np.float64)
    for position, outcome in enumerate(outcomes):
        obj: Any = None
        error: str | None = None
        if outcome.error is not None:
            error = outcome.error
        else:
            response = outcome.response or {}
            obj = response.get(provider, response.get(key))
            if not isinstance(obj, dict):
                error = f"the response has no result for provider {provider!r}"
                obj = None
            elif str(obj.get("status", "success")).lower() in ("fail", "failed", "error"):
                error = f"{provider}: {_provider_error_message(obj)}"
        if obj is not None:
            cost = obj.get("cost")
            if isinstance(cost, (int, float)) and not isinstance(cost, bool):
                costs[position] = float(cost)
            if error is not None:
                obj = None
        objects.append(obj)
        errors.append(error)
    return objects, errors, costs


def _provider_error_message(obj: dict[str, Any]) -> str:
    error = obj.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or "the provider failed without a message")


def _unit_records(
    plan: Plan, objects: list[dict[str, Any] | None], errors: list[str | None]
) -> tuple[list[dict[str, Any] | None], list[str | None]]:
    """One record (the row-level output) or error per unit."""
    pack = plan.entry.pack
    if pack is None or pack.items_field is None:
        records = [objects[r] for r in plan.unit_request]
        unit_errors = [errors[r] for r in plan.unit_request]
        return records, unit_errors

    per_request: list[dict[int, Any] | str] = []
    for body, obj, error in zip(plan.bodies, objects, errors, strict=True):
        if error is not None or obj is None:
            per_request.append(error or "no result")
            continue
        items = obj.get(pack.items_field)
        count = len(body[plan.entry.input_field])
        if not isinstance(items, list):
            per_request.append(f"the response has no {pack.items_field!r} list")
        elif pack.index_field is not None:
            by_index = {}
            for item in items:
                index = item.get(pack.index_field) if isinstance(item, dict) else None
                if isinstance(index, int) and 0 <= index < count:
                    by_index[index] = item
            per_request.append(by_index)
        elif len(items) != count:
            # Items are matched by position: a count mismatch would misplace values, so fail these rows instead.
            per_request.append(f"the provider returned {len(items)} {pack.items_field} for {count} inputs")
        else:
            per_request.append(dict(enumerate(items)))

    records: list[dict[str, Any] | None] = []
    unit_errors: list[str | None] = []
    for request, slot in zip(plan.unit_request.tolist(), plan.unit_slot.tolist(), strict=True):
        found = per_request[request]
        if isinstance(found, str):
            records.append(None)
            unit_errors.append(found)
        elif slot in found and isinstance(found[slot], dict):
            records.append(found[slot])
            unit_errors.append(None)
        else:
            records.append(None)
            unit_errors.append(f"the provider returned no {pack.items_field} entry for this input")
    return records, unit_errors


def _to_arrow(records: list[dict[str, Any] | None], schema: Struct, errors: list[str | None]) -> pa.StructArray:
    """A struct array of the records; a record that does not fit the schema becomes that unit's error."""
    arrow_type = schema.arrow()
    try:
        return pa.array(records, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        pass
    fitted: list[dict[str, Any] | None] = []
    for position, record in enumerate(records):
        try:
            pa.array([record], type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
            record = coerce(record, schema)
            try:
                pa.array([record], type=arrow_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
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


def _to_pandas(array: pa.Array, t: Type) -> Any:
    """The pandas array for one output field, with the dtype the schema gives (never guessed from the data)."""
    if isinstance(t, Enum):
        return _categorical(array, t)
    if isinstance(t, Scalar):
        if t.kind == "float":
            return array.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        return pd.api.types.pandas_dtype(t.dtype()).__from_arrow__(array)
    return pd.arrays.ArrowExtensionArray(array)


def _categorical(array: pa.Array, t: Enum) -> pd.Categorical:
    codes, uniques = pd.factorize(array.to_numpy(zero_copy_only=False))
    lookup = {c.lower(): c for c in t.values}
    labels = [lookup.get(str(u).lower(), str(u)) for u in uniques]
    categories = list(t.values)
    unexpected = sorted(set(labels) - set(categories))
    if unexpected:
        # Keep the provider's label rather than turning it into NA: no result is silently dropped.
        warnings.warn(
            f"labels outside {categories} came back: {unexpected}; they are kept as extra categories",
            stacklevel=4,
        )
        categories += unexpected
    position = {label: i for i, label in enumerate(categories)}
    mapped = np.array([position[label] for label in labels] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(mapped[codes], categories=categories)


def _row_costs(plan: Plan, request_costs: np.ndarray) -> np.ndarray:
    """Each request's cost on the first row it served, 0.0 on the other rows it served, NaN on skipped rows.

    Summing the column gives what was charged: a request shared by duplicate rows (or packed rows) is paid once.
    """
    rows = plan.row_unit
    cost = np.full(len(rows), np.nan)
    served = rows >= 0
    cost[served] = 0.0
    row_request = np.full(len(rows), -1, dtype=np.int64)
    row_request[served] = plan.unit_request[rows[served]]
    if served.any():
        requests, first_rows = np.unique(row_request[served], return_index=True)
        positions = np.flatnonzero(served)[first_rows]
        cost[positions] = request_costs[requests]
    return cost
