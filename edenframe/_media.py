"""`save_to=DIR`: media results (speech, generated or anonymized images, translated documents) written as files.

Each row's base64 payload is decoded (or, when a provider sent only a link, the resource URL is downloaded) into
`DIR/<column stem>/<row key>.<ext>`, and the file's path goes into a `<stem>_path` column.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pandas as pd
import pyarrow as pa

from ._catalog import Media

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpg"),
    (b"GIF8", "gif"),
    (b"%PDF", "pdf"),
    (b"ID3", "mp3"),
    (b"\xff\xfb", "mp3"),
    (b"\xff\xf3", "mp3"),
    (b"OggS", "ogg"),
    (b"fLaC", "flac"),
    (b"PK\x03\x04", "zip"),
)


def extension(content: bytes) -> str:
    """The file extension that the content's first bytes announce ('bin' when unknown)."""
    if content[:4] == b"RIFF" and content[8:12] in (b"WAVE", b"WEBP"):
        return "wav" if content[8:12] == b"WAVE" else "webp"
    for magic, ext in _MAGIC:
        if content.startswith(magic):
            return "docx" if ext == "zip" and b"word/" in content[:2000] else ext
    return "bin"


def row_keys(index: pd.Index) -> list[str]:
    """A file-name-safe key per row from its index label; duplicated labels get their position appended."""
    labels = ["-".join(map(str, label)) if isinstance(label, tuple) else str(label) for label in index]
    safe = [re.sub(r"[^0-9A-Za-z._-]+", "_", label).strip("._") or "row" for label in labels]
    counts = pd.Series(safe).value_counts()
    return [key if counts[key] == 1 else f"{key}-{position}" for position, key in enumerate(safe)]


async def save_media(
    out: pd.DataFrame, media: Media, columns: dict[str, tuple[str, str, str]], directory: Path
) -> dict[str, Any]:
    """Write every row's media for each provider stem; returns the new path columns (stem -> array).

    `columns` maps a stem to (payload column, url column, error column): for one provider the payload and URL
    are the top-level columns; with `media.within` they are the list column (one file per list element).
    """
    keys = row_keys(out.index)
    paths: dict[str, Any] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for stem, (payload_column, url_column, error_column) in columns.items():
            folder = directory / stem
            folder.mkdir(parents=True, exist_ok=True)
            if media.within is None:
                payloads = out[payload_column].tolist()
                urls = out[url_column].tolist()
                results = await asyncio.gather(
                    *(_save_one(session, p, u, folder, key) for p, u, key in zip(payloads, urls, keys, strict=True))
                )
                paths[stem] = pd.array([path for path, _ in results], dtype="string")
            else:
                lists = out[payload_column].tolist()
                results_per_row = []
                for items, key in zip(lists, keys, strict=True):
                    entries = [] if items is None or items is pd.NA else list(items)
                    saved = await asyncio.gather(
                        *(
                            _save_one(session, item.get(media.payload), item.get(media.url), folder, f"{key}_{i}")
                            for i, item in enumerate(entries)
                        )
                    )
                    results_per_row.append(saved)
                lists_of_paths = [
                    None if items is None or items is pd.NA else [path for path, _ in saved]
                    for items, saved in zip(lists, results_per_row, strict=True)
                ]
                paths[stem] = pd.arrays.ArrowExtensionArray(pa.array(lists_of_paths, type=pa.list_(pa.string())))
                results = [
                    (None, next((problem for _, problem in saved if problem), None)) for saved in results_per_row
                ]
            problems = [problem for _, problem in results]
            if any(problems):
                errors = out[error_column].astype(object).to_numpy()
                for position, problem in enumerate(problems):
                    if problem and (errors[position] is None or errors[position] is pd.NA):
                        errors[position] = problem
                out[error_column] = pd.array(
                    np.where(pd.isna(errors), None, errors).tolist(), dtype="string"
                )
    return paths


async def _save_one(
    session: aiohttp.ClientSession, payload: Any, url: Any, folder: Path, key: str
) -> tuple[str | None, str | None]:
    """(path, None) when saved; (None, problem) when there was something to save and it failed; else (None, None)."""
    content: bytes | None = None
    if isinstance(payload, str) and payload:
        try:
            content = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError) as exc:
            return None, f"could not decode the base64 payload: {exc}"
    elif isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        try:
            async with session.get(url) as response:
                if response.status != 200:
                    return None, f"could not download {url.split('?', 1)[0]}: HTTP {response.status}"
                content = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            return None, f"could not download {url.split('?', 1)[0]}: {type(exc).__name__}"
    if content is None:
        return None, None
    path = folder / f"{key}.{extension(content)}"
    try:
        await asyncio.to_thread(path.write_bytes, content)
    except OSError as exc:
        return None, f"could not write {path}: {exc.strerror or exc}"
    return str(path), None
