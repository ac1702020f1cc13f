"""Checks made before any request is sent: every message names the problem and the fix."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ._catalog import MISSING, Param, Subfeature
from ._errors import ValidationError
from ._formats import FORMAT_CHECKS
from ._schema import Problem


def close_matches(name: str, candidates: Iterable[Any]) -> str:
    """' Did you mean ...?' for the nearest candidates, or ''."""
    pool = [str(c) for c in candidates]
    found = difflib.get_close_matches(str(name), pool, n=3, cutoff=0.6)
    return f" Did you mean {', '.join(repr(f) for f in found)}?" if found else ""


def input_column(column: Any, options: dict[str, Any]) -> Any:
    """The input column given by position or as `column=` (the docstrings' name for it; popped from `options`)."""
    if "column" not in options:
        return column
    if column is not None:
        raise ValidationError(f"the input column is given twice ({column!r} and column={options['column']!r})")
    return options.pop("column")


def check_column(frame: pd.DataFrame, column: Any) -> None:
    if column is None:
        raise ValidationError("name the input column, e.g. df.eden.sentiment('review')")
    if column not in frame.columns:
        raise ValidationError(
            f"column {column!r} is not in the DataFrame.{close_matches(column, frame.columns)} "
            f"Columns: {list(frame.columns)[:20]}"
        )
    if isinstance(frame[column], pd.DataFrame):
        raise ValidationError(f"column label {column!r} is duplicated in the DataFrame; make the labels unique first")


def check_params(
    entry: Subfeature, given: dict[str, Any], allowed_options: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    """The subfeature parameters to send, validated; unknown keywords raise with close matches. `optional` names
    required parameters this call may leave out (on v3, what the LLM path does without)."""
    optional = frozenset(optional)
    known = {p.name: p for p in entry.params}
    unknown = [name for name in given if name not in known]
    if unknown:
        name = unknown[0]
        hint = close_matches(name, [*known, *allowed_options])
        takes = ", ".join(known) or "no parameters of its own"
        raise ValidationError(
            f"{entry.method}() ({entry.path}) got an unexpected parameter {name!r}.{hint} "
            f"It takes: {takes}; and the common options {', '.join(sorted(allowed_options))}."
        )
    params: dict[str, Any] = {}
    for p in entry.params:
        if p.name in given:
            params[p.name] = check_value(entry, p, given[p.name])
        elif p.required and p.name not in optional:
            raise ValidationError(
                f"{entry.method}() ({entry.path}) needs the parameter {p.name!r}"
                + (f": {p.description}" if p.description else "")
            )
    return params


def check_value(entry: Subfeature, p: Param, value: Any) -> Any:
    """`value` coerced to `p`'s type (numpy numbers, tuples, an integral float for an integer), or a
    ValidationError naming the parameter, where in the value the problem is, and what it must be."""
    where = f"{entry.method}() parameter {p.name!r}"
    value = p.type.coerce(value) if value is not None else None
    problem = param_problem(p, value)
    if problem is not None:
        inside = f" {problem.where()}:" if problem.path else ""
        raise ValidationError(f"{where}{inside} {problem.expected} (got {problem.value!r})")
    encoding = _encoding_problem(value)
    if encoding:
        raise ValidationError(f"{where} {encoding} (got {value!r})")
    return value


def param_problem(p: Param, value: Any, *, formats: bool = True) -> Problem | None:
    """Why `value` (already coerced) is not a valid value of parameter `p`, or None: null where the parameter is
    not nullable, the type's check, the bounds and (with `formats`) the value format (`Param.format`).

    The one verdict on a parameter value: the client checks before sending, and the emulator checks what it
    receives (with `formats=False`: Eden AI validates language codes per provider, not by their shape; the client
    checks them only to name a likely mistake before anything is paid for)."""
    if value is None:
        if p.nullable or (not p.required and p.default is MISSING) or p.default is None:
            return None
        return Problem((), "null", "cannot be None", value)
    problem = p.type.check(value)
    if problem is not None:
        return problem
    if formats and p.format is not None and value != p.default:
        expected = FORMAT_CHECKS[p.format](value)
        if expected:
            return Problem((), "format", expected, value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if p.minimum is not None and value < p.minimum:
            return Problem((), "minimum", f"must be at least {p.minimum:g}", value)
        if p.maximum is not None and value > p.maximum:
            return Problem((), "maximum", f"must be at most {p.maximum:g}", value)
    return None


# How many texts one UTF-8 check joins: bounds the temporary copy for frames of long texts.
_CHECK_CHUNK = 1 << 16

FIX_ENCODING = ".str.encode('utf-8', 'replace').str.decode('utf-8')"


def utf8_guaranteed(dtype: Any) -> bool:
    """Columns stored by Arrow (pandas 3's default `str`, `string[pyarrow]`, ArrowDtype strings) hold valid UTF-8
    only, so their texts need no encoding check."""
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        return bool(pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype))
    return False


def first_unencodable(values: Sequence[Any]) -> tuple[int, int, str] | None:
    """(index in `values`, character position, the character) of the first text UTF-8 cannot encode: a lone
    surrogate such as '\\ud800' (half of a UTF-16 pair, common in scraped JSON), which would otherwise crash the
    request with a UnicodeEncodeError naming no row. Values that are not `str` are passed over.

    One `encode` of the joined texts per chunk rather than one per text: about 25 ms for a million short texts.
    """
    for start in range(0, len(values), _CHECK_CHUNK):
        chunk = values[start : start + _CHECK_CHUNK]
        texts = ["" if v.__class__ is not str else v for v in chunk]
        joined = "".join(texts)
        if joined.isascii():  # the common case: no copy made
            continue
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError as exc:
            ends = np.cumsum([len(t) for t in texts])
            which = int(np.searchsorted(ends, exc.start, side="right"))
            offset = exc.start - (int(ends[which - 1]) if which else 0)
            return start + which, offset, joined[exc.start]
    return None


def _encoding_problem(value: Any) -> str:
    """A parameter value with a character UTF-8 cannot encode (it would crash the request): say which."""
    if not isinstance(value, (str, list, tuple, dict)):
        return ""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"holds {exc.object[exc.start]!r}, a lone surrogate that UTF-8 cannot encode; replace it first, e.g. "
            "with text.encode('utf-8', 'replace').decode('utf-8')"
        )
    return ""
