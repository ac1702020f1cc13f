"""Shared plumbing of the local media backends (OCR, faces, speech): file input, per-item results, a worker pool.

File subfeatures get request items whose input is one of:

* `file`: the raw file content as `bytes` (also `bytearray`/`memoryview`; a path there is read like `file_url`),
* `file_url`: a local filesystem path (`str` or `os.PathLike`, `~` expanded) or a `file://` URL,
* `file_url`: an `http(s)://` (or any other `scheme://`) URL, which the local provider refuses: it never touches the
  network, so that item fails with a message asking for a local path or the bytes.

`load_bytes(item)` returns the content or raises `ItemError`, whose message names the path; `map_items` turns an
`ItemError` (or any other exception from one item) into that item's `{"status": "fail"}` object, while a
`MissingDependencyError` (a missing apt binary, a run-level problem) propagates.
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._errors import MissingDependencyError
from ._objects import ItemError, fail, success

MAX_WORKERS = 4


def describe(item: dict) -> str:
    """A short name of the item's input for messages: its path or URL, or "<N bytes>"."""
    value = item.get("file")
    if value is None:
        value = item.get("file_url")
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    return str(value)


def _is_remote(value: str) -> bool:
    scheme, sep, _ = value.partition("://")
    return bool(sep) and scheme.isascii() and scheme.isalpha() and scheme.lower() != "file"


def _path_of(value: str | os.PathLike[str]) -> Path:
    if isinstance(value, str) and value[:7].lower() == "file://":
        parsed = urllib.parse.urlparse(value)
        if parsed.netloc not in ("", "localhost"):
            raise ItemError(f"the 'local' provider cannot read {value}: only file:// URLs of this machine work")
        return Path(urllib.request.url2pathname(parsed.path))
    return Path(value).expanduser()


def read_path(value: str | os.PathLike[str]) -> bytes:
    """The content of a local file; ItemError (naming the path) when it is missing, unreadable or empty."""
    if isinstance(value, str) and _is_remote(value.strip()):
        raise ItemError(
            f"the 'local' provider cannot download {value.strip()}: it never uses the network. Pass a local "
            "file path or the file's bytes instead (download the file first), or use a remote provider."
        )
    if isinstance(value, str) and not value.strip():
        raise ItemError("the input file path is empty: pass a local file path or the file's bytes")
    path = _path_of(value.strip() if isinstance(value, str) else value)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ItemError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise ItemError(f"{path} is a directory, not a file") from None
    except PermissionError:
        raise ItemError(f"permission denied reading {path}") from None
    except OSError as exc:
        raise ItemError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise ItemError(f"file is empty: {path}")
    return data


def load_bytes(item: dict) -> bytes:
    """The raw content of the item's input file (`file` bytes, else the `file_url` path), or ItemError."""
    value = item.get("file")
    if value is None:
        value = item.get("file_url")
    if value is None:
        raise ItemError("no input file: the item has neither 'file' (bytes) nor 'file_url' (a local path)")
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if not data:
            raise ItemError("the input file is empty (0 bytes)")
        return data
    if isinstance(value, str | os.PathLike):
        return read_path(value)
    raise ItemError(f"the input file must be bytes or a local path, got {type(value).__name__}")


def worker_count(n_items: int, cap: int = MAX_WORKERS) -> int:
    """Threads for `n_items` independent jobs: at most one per CPU and at most `cap`."""
    return max(1, min(n_items, os.cpu_count() or 1, cap))


def parallel_chunk_items() -> int:
    """The fewest items worth one call into a backend that runs them on `worker_count` threads: a few per thread,
    so no thread sits idle for long at the end of a call."""
    return 4 * worker_count(MAX_WORKERS)


def map_items(
    items: list[dict], compute_one: Callable[[dict], dict[str, Any]], workers: int = 1
) -> list[dict[str, Any]]:
    """Apply `compute_one` to every item (on `workers` threads), in order; a failing item fails only itself."""

    def run(item: dict) -> dict[str, Any]:
        try:
            return success(compute_one(item))
        except MissingDependencyError:
            raise
        except ItemError as exc:
            return fail(str(exc))
        except Exception as exc:  # one bad row must not lose the others; report it like a provider failure
            return fail(f"{type(exc).__name__}: {exc} (input: {describe(item)})")

    if workers <= 1 or len(items) <= 1:
        return [run(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, items))
