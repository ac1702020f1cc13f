"""Table files by extension: CSV, Parquet and JSON lines, as `edenframe run` reads and writes them.

`edenframe.read_table(path)` and `edenframe.write_table(frame, path)` are the command line's file handling offered to
Python: the same formats, the same missing-value rule for CSV, the same nested columns (Arrow in Parquet, nested
JSON in JSON lines, JSON text in CSV cells). Errors are Python's own (`FileNotFoundError`, `IsADirectoryError`) or
`edenframe.ValidationError`; the command turns them into one `edenframe: error:` line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ._errors import ValidationError

# File formats, chosen by extension; CSV and JSON lines may also be compressed (pandas infers it from the suffix).
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zst")

# JSON lines keep date-like columns ("created_at") as they are. pandas before 3.1 converts them unless told
# convert_dates=False; from 3.1 dtype=False alone does it, and passing convert_dates warns (removed in pandas 4).
_TEXT_DATES: dict[str, Any] = (
    {} if tuple(int(part) for part in pd.__version__.split(".")[:2]) >= (3, 1) else {"convert_dates": False}
)


def file_format(path: str | os.PathLike[str]) -> str:
    """The format of a file from its name: csv, parquet or jsonl; ValidationError for anything else."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] in COMPRESSIONS
    if compressed:
        suffixes = suffixes[:-1]
    kind = FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None or (compressed and kind == "parquet"):
        raise ValidationError(
            f"{path}: unknown file type; use .csv, .parquet or .jsonl (JSON lines), "
            f"optionally compressed as .csv.gz or .jsonl.gz"
        )
    return kind


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table file as `edenframe run` reads its input; the extension sets the format.

    `.csv`, `.parquet` (or `.pq`), `.jsonl` (or `.ndjson`, JSON lines); CSV and JSON lines may be compressed
    (`.csv.gz`, `.jsonl.bz2`, `.xz`, `.zst`). In CSV only empty fields are missing: a review that says "NA" or
    "null" stays text. Parquet is read with `edenframe.read_parquet`, so a file edenframe wrote comes back with its
    dtypes and run report.

    Raises:
        FileNotFoundError: no such file.
        IsADirectoryError: the path is a folder.
        ValidationError: an extension it does not know, or content that is not the format the extension says.
    """
    path = Path(path)
    kind = file_format(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a file")
    try:
        if kind == "csv":
            # skip_blank_lines=False: in a one-column file a blank line is a row whose value is missing (to_csv writes
            # it so); skipping it would drop that row and shift every later one
            return pd.read_csv(path, keep_default_na=False, na_values=[""], skip_blank_lines=False)
        if kind == "parquet":
            return _read_parquet(path)
        return pd.read_json(path, lines=True, dtype=False, **_TEXT_DATES)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValidationError(f"{path}: cannot read it as {kind}: {_first_line(exc)}") from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    from ._io import read_parquet

    # Nested columns (lists, structs) come back as pd.ArrowDtype, as edenframe made them; the rest as pandas does.
    return read_parquet(path)


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write `frame` as `edenframe run` writes its output; the extension sets the format (as in `read_table`).

    Parquet is written with `df.eden.to_parquet` (every dtype and the run report kept, for `edenframe.read_parquet`);
    JSON lines writes nested columns (keywords, entities, embeddings) as nested JSON, and CSV as JSON text in the
    cell, where pandas would write Python reprs. The index is not written (call `frame.reset_index()` first to keep
    it); an existing file is replaced.

    Raises:
        ValidationError: an extension it does not know (nothing is written).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"write_table takes a DataFrame, not {type(frame).__name__} (a Series: series.to_frame())")
    path = Path(path)
    kind = file_format(path)
    if kind == "parquet":
        _write_parquet(frame, path)
    elif kind == "csv":
        plain = _nested_as_python(frame)
        for name in _nested_columns(frame):
            plain[name] = pd.array(
                [None if v is None else json.dumps(v, ensure_ascii=False) for v in plain[name]], dtype="string"
            )
        plain.to_csv(path, index=False)
    else:
        _nested_as_python(frame).to_json(path, orient="records", lines=True, force_ascii=False)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    from ._io import to_parquet

    # Readable by plain pd.read_parquet (nested cells as Python objects) and by edenframe.read_parquet (same dtypes).
    to_parquet(frame, path, index=False)


def _nested_columns(frame: pd.DataFrame) -> list[Any]:
    import pyarrow as pa

    return [
        name
        for name in frame.columns
        if isinstance(frame[name].dtype, pd.ArrowDtype) and pa.types.is_nested(frame[name].dtype.pyarrow_dtype)
    ]


def _nested_as_python(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose nested Arrow columns hold plain Python lists and dicts (maps become dicts), None when missing."""
    import pyarrow as pa

    out = frame.copy()
    for name in _nested_columns(frame):
        values = pa.chunked_array(frame[name].array._pa_array).to_pylist()  # type: ignore[attr-defined]
        out[name] = pd.Series([None if v is None else _plain(v) for v in values], index=frame.index, dtype=object)
    return out


def _plain(value: Any) -> Any:
    """Arrow's Python values as JSON values: a map arrives as a list of (key, value) tuples."""
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _plain(v) for k, v in value}
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
