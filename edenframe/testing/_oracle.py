"""`assert_rows_match`: a row-by-row oracle for edenframe results computed against `EdenEmulator` (or `local`).

The emulator's answers are a pure function of (subfeature, provider, input, parameters) (see `_synthetic.py`), so
the value every row must hold is known without knowing how the client packed, deduplicated, cached or ordered its
requests: a shuffled, shifted or mixed-up row fails, whatever its index.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .._catalog import Subfeature, get_subfeature
from .._pipeline._frame import provider_slug
from .._pipeline._plan import is_blank
from ._synthetic import expected_row

__all__ = ["assert_rows_match"]

_SHOWN = 5  # mismatches spelled out in one failure message (the rest are counted)


def assert_rows_match(
    result: pd.DataFrame,
    frame: pd.DataFrame | pd.Series,
    column: Hashable | None,
    subfeature: str,
    providers: str | Sequence[str] | None = None,
    *,
    prefix: str | None = None,
    check_dtype: bool = True,
    **params: Any,
) -> None:
    """Assert that every row of `result` holds what the emulator answers for that row's own input.

    `result` is what `frame.eden.<method>(column, providers=..., **params)` (or `frame.eden.run(subfeature, ...)`)
    returned, with the emulator's `synthetic` or named providers, or with `local`. For each row of `frame`: a
    missing or blank input must have NA in every result column and in the error column; any other input must have
    no error and, in each field column, the value `expected_row(subfeature, provider, input, **params)` gives.
    Floats are compared at float32 precision (embedding columns are float32).

    `subfeature` is a path (`"text/sentiment_analysis"`) or a method name (`"sentiment"`). `providers` defaults to
    the providers in the result's report (`result.attrs["edenframe"]`); `prefix` defaults to the method name, or to
    the subfeature name when the result was made by `run`. `params` are the subfeature parameters of the call
    (`target_language="fr"`). `check_dtype` also checks each column's dtype against the catalog. Results written
    with `save_to=` (file paths instead of content) are not covered.

    Raises AssertionError naming the row label, the column, both values and the row's input (as
    `pandas.testing.assert_frame_equal` does for frames).
    """
    entry = get_subfeature(subfeature)
    inputs = _inputs(frame, column)
    if not isinstance(result, pd.DataFrame):
        raise TypeError(f"result must be the DataFrame edenframe returned, not {type(result).__name__}")
    if len(result) != len(inputs) or not result.index.equals(inputs.index):
        raise AssertionError(
            f"the result's index differs from the input's: {len(result)} rows {_short(result.index)} vs "
            f"{len(inputs)} rows {_short(inputs.index)} (edenframe keeps the input's index, labels and order)"
        )
    names = _providers(result, providers)
    stem = _prefix(result, entry, names, prefix)

    fields = list(entry.row_output.fields)
    problems: list[str] = []
    count = 0
    for provider in names:
        base = stem if len(names) == 1 else f"{stem}_{provider_slug(provider)}"
        columns = {field: f"{base}_{field}" for field, _ in fields}
        error_column = f"{base}_error"
        absent = [c for c in [*columns.values(), error_column] if c not in result.columns]
        if absent:
            raise AssertionError(f"the result has no column {absent[0]!r} (columns: {list(result.columns)})")
        if check_dtype:
            for field, t in fields:
                got_dtype, want_dtype = result[columns[field]].dtype, t.dtype()
                if got_dtype != want_dtype:
                    raise AssertionError(
                        f"column {columns[field]!r} has dtype {got_dtype}; the catalog says {want_dtype}"
                    )
        for position in range(len(inputs)):
            value = inputs.iloc[position]
            label = result.index[position]
            error = result[error_column].iloc[position]
            where = f"row {label!r} (position {position}, input {_clip(value)})"
            if _missing_input(value):
                cells = [(columns[f], None) for f, _ in fields] + [(error_column, None)]
            else:
                if not _is_na(error):
                    count += 1
                    if len(problems) < _SHOWN:
                        problems.append(f"{where}, column {error_column!r}: the row failed: {error}")
                    continue
                want = expected_row(entry.path, provider, value, **params)
                cells = [(columns[f], _as_stored(want.get(f), t.arrow())) for f, t in fields]
            for name, expected in cells:
                got = result[name].iloc[position]
                if not _same(got, expected):
                    count += 1
                    if len(problems) < _SHOWN:
                        problems.append(
                            f"{where}, column {name!r}: values differ\n"
                            f"  [result]:   {_clip(got)}\n  [expected]: {_clip(expected)}"
                        )
                    break  # one mismatch per row and provider is enough to name it
    if problems:
        more = f"\n... and {count - len(problems)} more" if count > len(problems) else ""
        raise AssertionError(
            f"{entry.path}: {count} row result(s) differ from what the emulator answers for their input\n"
            + "\n".join(problems)
            + more
        )


def _inputs(frame: pd.DataFrame | pd.Series, column: Hashable | None) -> pd.Series:
    if isinstance(frame, pd.Series):
        return frame
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be the input DataFrame or Series, not {type(frame).__name__}")
    if column not in frame.columns:
        raise KeyError(f"column {column!r} is not in the input frame (columns: {list(frame.columns)})")
    return frame[column]


def _providers(result: pd.DataFrame, providers: str | Sequence[str] | None) -> list[str]:
    if providers is None:
        report = result.attrs.get("edenframe") or {}
        if not report.get("providers"):
            raise ValueError("pass providers=: the result carries no report naming them (result.attrs['edenframe'])")
        return [str(p) for p in report["providers"]]
    if isinstance(providers, str):
        providers = providers.split(",")
    names = [p.strip() for p in providers if p.strip()]
    if not names:
        raise ValueError("providers is empty")
    return names


def _prefix(result: pd.DataFrame, entry: Subfeature, providers: list[str], prefix: str | None) -> str:
    """The prefix given, else the method name or (for `run`) the subfeature name, whichever the columns use."""
    if prefix is not None:
        return prefix
    candidates = [entry.method, entry.subfeature]
    for candidate in candidates:
        stem = candidate if len(providers) == 1 else f"{candidate}_{provider_slug(providers[0])}"
        if f"{stem}_error" in result.columns:
            return candidate
    raise AssertionError(
        f"the result has no {entry.path} columns prefixed {' or '.join(map(repr, candidates))} for "
        f"{', '.join(providers)}; pass prefix= if the call used one (columns: {list(result.columns)})"
    )


def _as_stored(value: Any, arrow_type: pa.DataType) -> Any:
    """The value as its column gives it back (through the column's Arrow type: a map becomes (key, value) pairs,
    an empty map an empty list, a float32 list float32 values); unchanged when it does not fit the type, so the
    comparison shows the value as the emulator answered it."""
    try:
        return pa.array([value], type=arrow_type).to_pylist()[0]
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return value


def _missing_input(value: Any) -> bool:
    """NA, empty and whitespace-only inputs are never sent (DESIGN: missing input)."""
    return _is_na(value) or (isinstance(value, str) and is_blank(value))  # the planner's own rule: never sent


def _is_na(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _same(got: Any, expected: Any) -> bool:
    if _is_na(got) or _is_na(expected):
        return _is_na(got) and _is_na(expected)
    return bool(_plain(got) == _plain(expected))


def _plain(value: Any, float32: bool = True) -> Any:
    """Arrow scalars, lists and maps and numpy values -> plain Python; floats at float32 precision (for comparing,
    not for showing: `float32=False`)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {k: _plain(v, float32) for k, v in value}  # an Arrow map comes back as (key, value) pairs
    if isinstance(value, dict):
        return {k: _plain(v, float32) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, float32) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return float(np.float32(value)) if float32 and abs(value) < 1e30 else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _clip(value: Any, width: int = 200) -> str:
    if _is_na(value):
        return "NA"  # None, NaN, pd.NA, NaT: the same thing to the reader
    text = repr(_plain(value, float32=False))
    return text if len(text) <= width else text[: width - 3] + "..."


def _short(index: pd.Index) -> str:
    return _clip(list(index[:5]), 80)
