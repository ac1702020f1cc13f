"""`df.eden` and `s.eden`: thin, stateless namespaces. Named methods are generated from the catalog."""

from __future__ import annotations

import inspect
import os
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from . import _plots
from ._blocking import run_sync_from_user
from ._catalog import MISSING, Subfeature, all_subfeatures
from ._errors import ValidationError
from ._io import to_parquet
from ._local import has_local
from ._pipeline import run_frame
from ._pipeline._frame import column_names
from ._prompt import prompt_frame
from ._v3_models import V3_MAPPINGS
from ._validate import check_column, input_column


class _EdenBase:
    def __init__(self, obj: Any) -> None:
        self._obj = obj  # never validate here: accessors must not raise AttributeError on access

    def _frame_and_column(self, column: Any) -> tuple[pd.DataFrame, Any]:
        raise NotImplementedError

    def _input(self, column: Any, options: dict[str, Any]) -> tuple[pd.DataFrame, Any]:
        """The frame and its input column, given by position or as `column=`."""
        return self._frame_and_column(input_column(column, options))

    def run(self, subfeature: str, column: Any = None, /, **options: Any) -> pd.DataFrame:
        """Run any subfeature (`"feature/subfeature"`, e.g. `"text/keyword_extraction"`) on a column.

        Returns a new DataFrame: the input columns, then one column per output field (see the named methods).
        """
        frame, column = self._input(column, options)
        return run_sync_from_user(run_frame(frame, subfeature, column, options, None))

    async def arun(self, subfeature: str, column: Any = None, /, **options: Any) -> pd.DataFrame:
        """The async twin of `run`, for `await` in notebooks and async applications."""
        frame, column = self._input(column, options)
        return await run_frame(frame, subfeature, column, options, None)

    def prompt(
        self, template: str, /, schema: Any = None, providers: Any = None, system: str | None = None, **options: Any
    ) -> pd.DataFrame:
        """Send a prompt built from each row to an LLM (Eden AI v3) and get its answer in typed columns.

        ``df.eden.prompt("Rate this review of {product}: {review}", schema=Rating, providers="openai/gpt-4o-mini")``

        Parameters
        ----------
        template : a ``str.format`` template over column names (``{{``/``}}`` for literal braces; a format spec
            such as ``{price:.2f}`` works). Each row's values appear verbatim; a row missing any named value (NA,
            empty or blank) is skipped (its columns NA). Identical prompts are sent once, and cached.
            On a Series, the template names the Series (``s.eden.prompt("Summarize: {review}")``).
        schema : the reply's structure: a JSON Schema object, a pydantic model class, or the shorthand
            ``{"label": ["positive", "negative"], "score": float, "tags": [str]}`` (every key required). One
            column ``{prefix}_{field}`` per top-level field, typed from the schema (enum -> category, number ->
            float64, integer -> Int64, boolean -> boolean, string -> string, array/object -> ArrowDtype). A reply
            that is not valid JSON or breaks the schema is a row error naming the field and the problem.
            Without a schema: one string column ``{prefix}_text``.
        providers : LLM models as ``"provider/model"`` (``"openai/gpt-4o-mini"``); several give side-by-side
            columns. ``fallback_providers`` (also ``provider/model``) are tried when a model fails.
        system : the system message sent before each prompt.
        temperature (0-2), max_tokens (>= 1), seed, reasoning_effort, top_p (0-1) : chat options.
        prefix (default ``"prompt"``), errors, overwrite, progress, cache, dry_run, max_cost, base_url, api_key :
            as for every method.

        Prompts run on Eden AI's v3 API only: ``edenframe.configure(base_url="https://api.edenai.run/v3")``.
        Returns the frame's columns, then the new ones, plus ``{prefix}_cost`` and ``{prefix}_error``.
        """
        return run_sync_from_user(self.aprompt(template, schema=schema, providers=providers, system=system, **options))

    async def aprompt(
        self, template: str, /, schema: Any = None, providers: Any = None, system: str | None = None, **options: Any
    ) -> pd.DataFrame:
        """The async twin of `prompt`, for `await` in notebooks and async applications."""
        frame, _ = self._frame_and_column(None)
        return await prompt_frame(frame, template, schema, providers, system, options)


@pd.api.extensions.register_dataframe_accessor("eden")
class EdenFrameAccessor(_EdenBase):
    """Eden AI on a DataFrame: `df.eden.sentiment("review")`, `df.eden.run("text/summarize", "review")`."""

    def _frame_and_column(self, column: Any) -> tuple[pd.DataFrame, Any]:
        return self._obj, column

    plot_agreement = _plots.plot_agreement
    plot_cost = _plots.plot_cost

    def to_parquet(self, path: str | os.PathLike[str], *, index: bool | None = None, **kwargs: Any) -> None:
        """Write the frame to Parquet so that `edenframe.read_parquet(path)` gives it back with the same dtypes
        (nested `pd.ArrowDtype` columns included, which `DataFrame.to_parquet` writes but `pd.read_parquet` cannot
        read back). Plain `pd.read_parquet(path)` opens the file too, with the nested cells as Python objects.

        `index` as in `DataFrame.to_parquet`; `kwargs` go to `pyarrow.parquet.write_table` (`compression=`, ...).
        """
        to_parquet(self._obj, path, index=index, **kwargs)

    def matrix(self, column: str) -> np.ndarray:
        """An embedding column as a 2-D float32 array (rows x dimensions), ready for scikit-learn.

        Takes the `pd.ArrowDtype` list column `df.eden.embed` makes, or an object column of lists, tuples or numpy
        arrays (as plain `pd.read_parquet` gives it back).
        """
        check_column(self._obj, column)
        values = _arrow_values(self._obj[column])
        if values is not None and pa.types.is_null(values.dtype.pyarrow_dtype):
            values = values.astype(pd.ArrowDtype(pa.list_(pa.float32())))  # object cells all missing
        if values is None or not pa.types.is_list(values.dtype.pyarrow_dtype):
            raise ValidationError(
                f"column {column!r} is not a list column (an embedding column from df.eden.embed, or an object "
                "column of lists or arrays)"
            )
        missing = int(values.isna().sum())
        if missing:
            raise ValidationError(
                f"column {column!r} has {missing} missing vector(s) (skipped or failed rows); drop them first: "
                f"df.dropna(subset=[{column!r}]).eden.matrix({column!r})"
            )
        array = pa.chunked_array(values.array._pa_array).combine_chunks()  # type: ignore[attr-defined]
        if len(array) == 0:
            return np.empty((0, 0), dtype=np.float32)
        lengths = np.unique(array.value_lengths().to_numpy(zero_copy_only=False))
        if len(lengths) != 1:
            raise ValidationError(f"column {column!r} holds vectors of different lengths {lengths.tolist()}")
        if not (pa.types.is_floating(array.type.value_type) or pa.types.is_integer(array.type.value_type)):
            raise ValidationError(f"column {column!r} holds lists of {array.type.value_type}, not of numbers")
        flat = array.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
        return flat.reshape(len(array), int(lengths[0]))

    def explode(self, column: str, *, keep_columns: bool = False) -> pd.DataFrame:
        """A list-of-struct column in long format: one row per item, one column per struct field, index repeated.

        Rows whose list is empty or missing give one row of NA fields (as `DataFrame.explode` does). With
        `keep_columns=True` the other columns are repeated beside the item fields. Takes the `pd.ArrowDtype` columns
        edenframe makes, or an object column of lists (tuples, numpy arrays) of dicts, None or NaN when missing (as
        plain `pd.read_parquet` gives them back): the fields' types are then read from the values.
        """
        check_column(self._obj, column)
        values = _arrow_values(self._obj[column])
        if values is not None and _holds_nothing(values.dtype.pyarrow_dtype):
            values = _no_items(values)  # object cells all missing or empty: no fields to read, one NA row each
        if values is None or not (
            pa.types.is_list(values.dtype.pyarrow_dtype) and pa.types.is_struct(values.dtype.pyarrow_dtype.value_type)
        ):
            raise ValidationError(
                f"column {column!r} is not a list of objects (such as sentiment_items or keywords_items); "
                "use DataFrame.explode for plain lists"
            )
        exploded = values.explode()
        if values.dtype.pyarrow_dtype.value_type.num_fields:
            fields = exploded.struct.explode()
        else:  # pandas cannot explode a field-less struct
            fields = pd.DataFrame(index=exploded.index, columns=pd.Index([], dtype="str"))
        fields.index = exploded.index
        if not keep_columns:
            return fields
        positions = np.repeat(np.arange(len(self._obj)), _repeat_counts(values))
        others = self._obj.drop(columns=[column]).iloc[positions]
        others.index = exploded.index
        clashes = set(others.columns) & set(fields.columns)
        if clashes:
            raise ValidationError(f"item fields {sorted(clashes)} collide with existing columns; rename them first")
        return pd.concat([others, fields], axis=1)


def _arrow_values(values: pd.Series) -> pd.Series | None:
    """The column as a `pd.ArrowDtype` Series: as it is, or converted from an object column of Python lists, tuples,
    numpy arrays and dicts (None, NaN or pd.NA when missing). None: neither (or nothing to infer a type from)."""
    if isinstance(values.dtype, pd.ArrowDtype):
        return values
    if values.dtype != object:
        return None
    try:
        array = pa.array(values.to_numpy(dtype=object), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None  # mixed or non-nested cells: the caller says what it expected
    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=values.index, name=values.name)


def _holds_nothing(arrow_type: pa.DataType) -> bool:
    """The type pyarrow infers from object cells that are all missing (null) or all empty lists (list<null>)."""
    return pa.types.is_null(arrow_type) or (pa.types.is_list(arrow_type) and pa.types.is_null(arrow_type.value_type))


def _no_items(values: pd.Series) -> pd.Series:
    """Cells without a single item, as a list of (field-less) structs: explodes to one row per row, no field."""
    empty = pa.nulls(len(values), type=pa.list_(pa.struct([])))
    return pd.Series(pd.arrays.ArrowExtensionArray(empty), index=values.index, name=values.name)


def _repeat_counts(values: pd.Series) -> np.ndarray:
    lengths = values.list.len().astype("Int64").fillna(0).to_numpy(dtype=np.int64)
    return np.maximum(lengths, 1)


@pd.api.extensions.register_series_accessor("eden")
class EdenSeriesAccessor(_EdenBase):
    """Eden AI on a Series: `s.eden.sentiment()` returns the Series as a column plus the new columns."""

    def _frame_and_column(self, column: Any) -> tuple[pd.DataFrame, Any]:
        if column is not None:
            raise ValidationError("on a Series, call the method without a column: s.eden.sentiment()")
        name = self._obj.name if self._obj.name is not None else "input"
        return self._obj.to_frame(name=name), name


def _method_doc(entry: Subfeature) -> str:
    lines = [entry.summary, "", f"Eden AI subfeature ``{entry.path}``, one request per distinct row value."]
    if entry.pack is not None and entry.pack.max_items > 1:
        mapping = V3_MAPPINGS.get(entry.path)
        more = ", ".join(f"{n} for {p}" for p, n in mapping.pack_items) if mapping is not None else ""
        lines.append(
            f"Up to {entry.pack.max_items} rows are packed into one request" + (f" (on v3: {more})." if more else ".")
        )
    if entry.v3_only:
        lines.append(entry.notes)  # v3 only (and async where it is): say so where users look first
    lines += ["", "Parameters", "----------"]
    lines.append("column : the input column, by position or as column= (omit on a Series)")
    lines.append(
        "providers : 'google,amazon' or a list" + (" (default: 'local', offline)" if has_local(entry.path) else "")
    )
    for p in entry.params:
        default = "" if p.default is MISSING else f", default {p.default!r}"
        required = ", required" if p.required else ""
        described = f". {p.description}" if p.description else ""
        lines.append(f"{p.name} : {_type_label(p.type)}{required}{default}{described}")
    lines.append("prefix, errors, overwrite, progress, fallback_providers, settings : see edenframe docs")
    lines += ["", "Output columns (one provider; with several, the provider is inserted after the prefix)", "-" * 20]
    for _, field, name in column_names(entry.row_output.names, entry.method, ["p"]):
        if field in ("cost", "error"):
            lines.append(f"{name} : {'float64, the provider cost' if field == 'cost' else 'string, NA on success'}")
        else:
            lines.append(f"{name} : {_dtype_label(entry.row_output.field(field).dtype())}")
    return "\n".join(lines)


def _type_label(t: Any) -> str:
    return type(t).__name__.lower() if not hasattr(t, "kind") else t.kind


def _dtype_label(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return f"category {list(dtype.categories)}"
    return str(dtype)


def _make_method(entry: Subfeature, series: bool) -> Any:
    async def amethod(self: _EdenBase, column: Any = None, /, **options: Any) -> pd.DataFrame:
        frame, column = self._input(column, options)
        return await run_frame(frame, entry, column, options, entry.method)

    def method(self: _EdenBase, column: Any = None, /, **options: Any) -> pd.DataFrame:
        return run_sync_from_user(amethod(self, column, **options))

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    if not series:
        parameters.append(inspect.Parameter("column", inspect.Parameter.POSITIONAL_ONLY))
    parameters.append(inspect.Parameter("providers", inspect.Parameter.KEYWORD_ONLY, default=None))
    for p in entry.params:
        default = inspect.Parameter.empty if p.required else (None if p.default is MISSING else p.default)
        parameters.append(inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=default))
    parameters.append(inspect.Parameter("options", inspect.Parameter.VAR_KEYWORD))
    method.__signature__ = inspect.Signature(parameters, return_annotation=pd.DataFrame)  # type: ignore[attr-defined]
    method.__name__ = method.__qualname__ = entry.method
    method.__doc__ = _method_doc(entry)
    return method


for _entry in all_subfeatures():
    setattr(EdenFrameAccessor, _entry.method, _make_method(_entry, series=False))
    setattr(EdenSeriesAccessor, _entry.method, _make_method(_entry, series=True))
