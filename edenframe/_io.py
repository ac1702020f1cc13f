"""Parquet files that keep edenframe's dtypes: `df.eden.to_parquet(path)` and `edenframe.read_parquet(path)`.

Why not plain `df.to_parquet` / `pd.read_parquet`: pandas records each column's dtype in the file's "pandas"
metadata as a string (`str(dtype)`), and pyarrow rebuilds it on reading with `pd.api.types.pandas_dtype(string)`.
For a nested `pd.ArrowDtype` that string is `"list<item: float>[pyarrow]"` (or `struct<...>`, `map<...>`,
`dictionary<...>`), which `ArrowDtype.construct_from_string` cannot parse (it knows only `pa.type_for_alias` names
such as `int64[pyarrow]`): reading fails with `TypeError: data type 'list<...>[pyarrow]' not understood`.

So the writer records nested columns as `object` in that metadata (plain `pd.read_parquet` then opens the file, with
the nested cells as Python lists, arrays and dicts, which `df.eden.explode` and `df.eden.matrix` accept), and the
reader maps every nested Arrow type to `pd.ArrowDtype` itself, before pyarrow looks at the metadata: so it reads
files written by plain `df.to_parquet` too. Every other dtype (category with its full category list, string, str,
Int64, boolean, float64) and the index come back through pandas' own metadata.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd

from ._report import RunReport

# Where pandas itself keeps `DataFrame.attrs` in a Parquet file (pandas >= 2.1 writes and reads this key).
_ATTRS_KEY = b"PANDAS_ATTRS"


def to_parquet(frame: pd.DataFrame, path: str | os.PathLike[str], *, index: bool | None = None, **kwargs: Any) -> None:
    """Write `frame` with pyarrow so that `read_parquet(path)` gives back the same frame, dtypes included.

    `index` as in `DataFrame.to_parquet` (None: a RangeIndex as metadata, any other index as columns); `kwargs` go to
    `pyarrow.parquet.write_table` (`compression=`, `row_group_size=`, ...). `frame.attrs` (the run report) is kept.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=index)
    metadata = dict(table.schema.metadata or {})
    pandas_meta = json.loads(metadata.get(b"pandas", b"{}"))
    for column in pandas_meta.get("columns", []):
        field = column.get("field_name")
        if field in table.column_names and _nested(table.schema.field(field).type):
            column["numpy_type"] = "object"  # parseable by any reader; read_parquet restores the ArrowDtype
    metadata[b"pandas"] = json.dumps(pandas_meta).encode()
    if frame.attrs:
        metadata[_ATTRS_KEY] = json.dumps(frame.attrs, default=str).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path, **kwargs)


def read_parquet(path: str | os.PathLike[str], *, columns: list[str] | None = None, **kwargs: Any) -> pd.DataFrame:
    """Read a Parquet file with edenframe's dtypes: nested columns (lists, structs, maps, embeddings) as
    `pd.ArrowDtype`, the others as pandas recorded them. Works on files from `df.eden.to_parquet`, from
    `edenframe run -o out.parquet` and from plain `df.to_parquet`. `kwargs` go to `pyarrow.parquet.read_table`
    (`filters=`, ...). The run report comes back in `attrs["edenframe"]`.
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=columns, **kwargs)
    frame = table.to_pandas(types_mapper=arrow_nested_dtype)
    raw = (table.schema.metadata or {}).get(_ATTRS_KEY)
    if raw:
        attrs = json.loads(raw)
        if isinstance(attrs.get("edenframe"), dict):
            attrs["edenframe"] = RunReport(attrs["edenframe"])
        frame.attrs = attrs
    return frame


def arrow_nested_dtype(arrow_type: Any) -> pd.ArrowDtype | None:
    """The `types_mapper` that keeps nested Arrow columns as `pd.ArrowDtype` (None: pandas' usual conversion)."""
    return pd.ArrowDtype(arrow_type) if _nested(arrow_type) else None


def _nested(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_nested(arrow_type))
