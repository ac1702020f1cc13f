"""Rows to requests: skip missing inputs, send each distinct input once, key every request by a content hash."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._catalog import Subfeature
from .._errors import ValidationError
from .._validate import FIX_ENCODING, first_unencodable, utf8_guaranteed


@dataclass(frozen=True)
class Plan:
    """The distinct inputs of one call and how each row maps to them.

    A *unit* is one distinct input value (`values[u]`); `row_unit[i]` is row i's unit, or -1 for a row that is not
    sent (NA, empty or blank). `params` are the request fields every item carries besides its input.
    """

    entry: Subfeature
    params: dict[str, Any]
    values: list[Any]
    row_unit: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.row_unit)

    @property
    def skipped(self) -> int:
        return int((self.row_unit < 0).sum())

    @property
    def units(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Requests:
    """Request items for one group of providers: `items[r]` carries the units `units[r]` (in slot order)."""

    providers: tuple[str, ...]
    items: list[dict[str, Any]]
    units: list[tuple[int, ...]]  # tuples: the collector stops tracking them, lists it would walk every time


def build_requests(
    plan: Plan,
    units: Sequence[int],
    providers: tuple[str, ...],
    content_names: bool = True,
    pack_size: int | None = None,
) -> Requests:
    """The request items that send `units` to `providers`: one per unit, or packed for list-input subfeatures
    (`pack_size` units a request where the API takes another number than the catalog's `pack.max_items`).

    Each item's `name` is a content hash of everything it sends, so equal requests always get equal names (what
    matching results, job names and crash recovery rely on). Items that never leave the process (the offline
    engine) can do with `content_names=False`: names unique within the call, at no hashing cost.
    """
    entry = plan.entry
    joined = ",".join(providers)
    params, values, field = plan.params, plan.values, entry.input_field
    name_of = content_namer({**params, "providers": joined})
    items = []
    if entry.pack is None:
        # one item per unit: the loop of every large call, so no slicing, no helper calls on the text path
        groups = [(u,) for u in units]
        for u in units:
            value = values[u]
            key = "file" if value.__class__ is not str and is_upload(value) else field
            name = "ef-" + name_of(key, value)[:32] if content_names else f"unit-{u}"
            items.append({**params, key: value, "providers": joined, "name": name})
        return Requests(providers=providers, items=items, units=groups)
    size = pack_size or entry.pack.max_items
    groups = [tuple(units[start : start + size]) for start in range(0, len(units), size)]
    for group in groups:
        packed = [values[u] for u in group]
        name = "ef-" + name_of(field, packed)[:32] if content_names else f"unit-{group[0]}"
        items.append({**params, field: packed, "providers": joined, "name": name})
    return Requests(providers=providers, items=items, units=groups)


def content_namer(constant: Any) -> Callable[..., str]:
    """A fast content hash for many payloads that share `constant`: sha256 of the canonical JSON of the constant
    part, continued with each call's arguments (hashing the shared part once, not once per row)."""
    base = hashlib.sha256(_canonical(constant).encode("utf-8"))

    def name(*parts: Any) -> str:
        digest = base.copy()
        for part in parts:
            digest.update(b"\x00")
            digest.update(part.encode("utf-8") if isinstance(part, str) else _canonical(part).encode("utf-8"))
        return digest.hexdigest()

    return name


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_stand_in)


def _stand_in(value: Any) -> str:
    if isinstance(value, bytes):
        return "bytes:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, Path):
        return f"path:{value}"
    return str(value)


def is_upload(value: Any) -> bool:
    """A file input that has to be uploaded (a local path or bytes) rather than passed as a URL."""
    return isinstance(value, (Path, bytes))


def file_identity(value: Any) -> str | None:
    """What identifies a file input's content for the cache: the URL, or a digest of the bytes (None: unreadable)."""
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, Path):
        digest = hashlib.sha256()
        try:
            with value.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except OSError:
            return None
        return "sha256:" + digest.hexdigest()
    return value if isinstance(value, str) else None


def input_values(values: pd.Series, column: str, files: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The row inputs as an object array, and the mask of rows to send (not NA, not blank).

    Text subfeatures take strings. File subfeatures take URLs (kept as strings), local paths (`str` or
    `pathlib.Path`, turned into `Path`) or bytes. Anything else raises before anything is sent.
    """
    raw = values.to_numpy(dtype=object)
    present = values.notna().to_numpy(dtype=bool)
    if files:
        raw = raw.copy()
        for position in np.flatnonzero(present):
            raw[position] = _file_input(raw[position], column, values.index[position])
    is_text = (
        np.ones(int(present.sum()), dtype=bool)  # file cells were checked one by one above
        if files
        else np.fromiter((isinstance(v, str) for v in raw[present]), dtype=bool, count=int(present.sum()))
    )
    if not is_text.all():
        position = int(np.flatnonzero(present)[np.flatnonzero(~is_text)[0]])
        bad = raw[position]
        raise ValidationError(
            f"column {column!r} holds a value of type {type(bad).__name__} ({bad!r}) at row "
            f"{_label(values.index[position])}; "
            f"this method takes text. Convert first, e.g. df[{column!r}].astype('string')"
        )
    sendable = present.copy()
    sendable[present] = np.fromiter(
        (
            (bool(s := v.strip()) and ((s[0] not in INVISIBLE and s[-1] not in INVISIBLE) or not is_blank(s)))
            if isinstance(v, str)
            else len(v) > 0
            if isinstance(v, bytes)
            else True
            for v in raw[present]
        ),
        dtype=bool,
        count=int(present.sum()),
    )
    return raw, sendable


# Characters that show nothing (zero-width spaces and joiners, word joiner, byte-order mark, soft hyphen, NUL):
# a text made only of these and whitespace is blank, so it is skipped like an empty one, not sent to be charged.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\x00"


def is_blank(text: str) -> bool:
    """True when `text` holds only whitespace and invisible characters: it is skipped, never sent."""
    text = text.strip()
    while text and (text[0] in INVISIBLE or text[-1] in INVISIBLE):
        text = text.strip(INVISIBLE).strip()
    return not text


def _label(label: Any) -> str:
    """A row label as the user wrote it: `10`, not `np.int64(10)`."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _file_input(value: Any, column: str, label: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, os.PathLike):
        return Path(value).expanduser()
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower().startswith(("http://", "https://")):
            return text
        if text.lower().startswith("file://"):
            text = text[7:]
        return Path(text).expanduser()
    raise ValidationError(
        f"column {column!r} holds a value of type {type(value).__name__} ({value!r}) at row {_label(label)}; "
        "file methods take URLs, "
        "local paths or bytes"
    )


def _check_encodable(
    uniques: np.ndarray, codes: np.ndarray, positions: np.ndarray, index: pd.Index, column: str
) -> None:
    """Refuse, naming the row, a distinct text that UTF-8 cannot encode (checked once per distinct value)."""
    found = first_unencodable(uniques)
    if found is None:
        return
    unit, offset, char = found
    position = int(positions[int(np.argmax(codes == unit))])
    raise ValidationError(
        f"column {column!r} holds text that cannot be sent at row {_label(index[position])}: {char!r} at character "
        f"{offset} is a lone surrogate (half of a UTF-16 pair, often left by scraped JSON), which UTF-8 cannot "
        f"encode. Nothing was sent. Replace such characters first, e.g. "
        f"df[{column!r}] = df[{column!r}]{FIX_ENCODING}"
    )


def plan_requests(
    entry: Subfeature, values: pd.Series, column: str, params: dict[str, Any], max_chars: int | None = None
) -> Plan:
    """Build the plan for `values` (one input per row) with the request fields `params`.

    Texts longer than the subfeature's documented limit, or than `max_chars` (edenframe's own guard against
    sending, and paying for, something no provider accepts), are refused before anything is sent.
    """
    raw, sendable = input_values(values, column, files=entry.input_kind == "file")
    limits = [limit for limit in (entry.max_input_chars, max_chars) if limit is not None]
    if limits and entry.input_kind != "file" and sendable.any():
        limit = min(limits)
        lengths = np.fromiter((len(v) for v in raw[sendable]), dtype=np.int64, count=int(sendable.sum()))
        if lengths.max() > limit:
            position = int(np.flatnonzero(sendable)[int(np.argmax(lengths))])
            whose = f"that {entry.path} accepts" if limit == entry.max_input_chars else "of edenframe's max_input_chars"
            raise ValidationError(
                f"column {column!r}: the text at row {values.index[position]!r} has {int(lengths.max()):,} characters, "
                f"more than the {limit:,} {whose}; split or truncate it first "
                "(or raise the guard with edenframe.configure(max_input_chars=...))"
            )
    codes, uniques = pd.factorize(raw[sendable])
    if not utf8_guaranteed(values.dtype):
        _check_encodable(uniques, codes, np.flatnonzero(sendable), values.index, column)
    row_unit = np.full(len(raw), -1, dtype=np.int64)
    row_unit[sendable] = codes
    return Plan(entry=entry, params=params, values=list(uniques), row_unit=row_unit)
