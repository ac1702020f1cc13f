"""`save_to=DIR`: media results (speech, generated or anonymized images, translated documents) written as files.

Each row's base64 payload is decoded (or, when a provider sent only a link, the resource URL is downloaded) into
`DIR/<prefix>_<provider>/<row key>.<ext>`: the folder names the provider even in a one-provider call, so calls with
different providers into one directory never overwrite each other's files, and the same call run twice writes the
same paths. A file that cannot be saved is reported back as that row's problem (the caller turns it into a row
error), never raised.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pandas as pd
import pyarrow as pa

from ._catalog import Media
from ._config import V3_DEFAULT_RATE, Settings, api_of
from ._errors import APIError
from ._transport.http import call
from ._transport.rate_budget import RateBudget, budget_for

# Files decoded or downloaded but not yet written, at most: bounds the memory a large run holds as bytes.
_IN_FLIGHT = 16

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


@asynccontextmanager
async def media_session(settings: Settings) -> AsyncIterator[aiohttp.ClientSession]:
    """The session that downloads resource URLs. Not the run's session: that one carries the Eden AI key, and
    resource URLs point at other hosts (signed storage links) that must never see it. Same timeouts and (through
    `call`) the same retries as the run's requests."""
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout, connect=settings.connect_timeout)
    connector = aiohttp.TCPConnector(limit=_IN_FLIGHT)
    async with aiohttp.ClientSession(
        headers={"User-Agent": "edenframe"}, timeout=timeout, connector=connector, raise_for_status=False
    ) as session:
        yield session


async def save_files(
    session: aiohttp.ClientSession,
    settings: Settings,
    media: Media,
    values: list[Any],
    urls: list[Any] | None,
    folder: Path,
    keys: list[str],
) -> tuple[Any, list[str | None]]:
    """Write one provider's media into `folder`; returns (the path column, each row's problem or None).

    `values` holds each row's base64 payload and `urls` its resource URL; with `media.within`, `values` holds each
    row's list of items (one file per item, named `<row key>_<i>`) and `urls` is unused.
    """
    try:
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        unwritable = None
    except OSError as exc:
        unwritable = f"could not create the folder {folder}: {exc.strerror or exc}"
    slots = asyncio.Semaphore(_IN_FLIGHT)

    async def save(payload: Any, url: Any, key: str) -> tuple[str | None, str | None]:
        async with slots:
            return await _save_one(session, settings, payload, url, folder, key, unwritable)

    if media.within is None:
        assert urls is not None
        saved = await asyncio.gather(*(save(p, u, k) for p, u, k in zip(values, urls, keys, strict=True)))
        return pd.array([path for path, _ in saved], dtype="string"), [problem for _, problem in saved]
    rows = [[] if _missing(items) else list(items) for items in values]
    flat = await asyncio.gather(
        *(
            save(item.get(media.payload), item.get(media.url), f"{key}_{i}")
            for items, key in zip(rows, keys, strict=True)
            for i, item in enumerate(items)
        )
    )
    paths: list[list[str | None] | None] = []
    problems: list[str | None] = []
    start = 0
    for items, value in zip(rows, values, strict=True):
        row = flat[start : start + len(items)]
        start += len(items)
        paths.append(None if _missing(value) else [path for path, _ in row])
        problems.append(next((problem for _, problem in row if problem), None))
    return pd.arrays.ArrowExtensionArray(pa.array(paths, type=pa.list_(pa.string()))), problems


def _download_budget(settings: Settings, url: str) -> RateBudget | None:
    """The account's v3 rate budget when a link points at Eden AI's own host (the base URL's scheme, host and
    port), whose every request may count against the account's limit; None for any other host (a signed storage
    link), which is not Eden AI's API and has no share in that limit. Either way the download goes without the key:
    the link came in an answer and the key goes to the API's requests only."""
    if api_of(settings.base_url) != "v3" or _origin(url) != _origin(settings.base_url):
        return None
    key = settings.api_key.reveal() if settings.api_key is not None else None  # budget_for keeps a digest only
    return budget_for(settings.base_url, key, rate=settings.rate_limit or V3_DEFAULT_RATE)


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = urlsplit(url)
    try:
        port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme.lower())
    except ValueError:  # a malformed port: no origin to match
        return ("", "", None)
    return (parsed.scheme.lower(), (parsed.hostname or "").lower(), port)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA


async def _save_one(
    session: aiohttp.ClientSession,
    settings: Settings,
    payload: Any,
    url: Any,
    folder: Path,
    key: str,
    unwritable: str | None,
) -> tuple[str | None, str | None]:
    """(path, None) when saved; (None, problem) when there was something to save and it failed; else (None, None)."""
    content: bytes | None = None
    if isinstance(payload, str) and payload:
        try:
            content = base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError) as exc:
            return None, f"could not decode the base64 payload: {exc}"
        if not content:
            return None, "could not decode the base64 payload: it holds no data"
    elif isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        where = url.split("?", 1)[0]  # a signed link's query is a credential: never in a message
        try:
            status, body = await call(session, settings, "GET", url, raw=True, limiter=_download_budget(settings, url))
        except APIError as exc:  # retries exhausted; its message names the path, never the query
            return None, f"could not download: {exc}"
        except (aiohttp.ClientError, ValueError) as exc:  # an invalid URL, too many redirects: its text has the query
            return None, f"could not download {where}: {type(exc).__name__}"
        if status != 200:
            return None, f"could not download {where}: HTTP {status}"
        content = body
    if content is None:
        return None, None
    if unwritable is not None:
        return None, unwritable
    path = folder / f"{key}.{extension(content)}"
    try:
        await asyncio.to_thread(path.write_bytes, content)
    except OSError as exc:
        return None, f"could not write {path}: {exc.strerror or exc}"
    return str(path), None
