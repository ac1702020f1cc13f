"""Rows to requests: skip missing inputs, send each distinct input once, key every request by a content hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._catalog import Subfeature
from ._errors import ValidationError


@dataclass(frozen=True)
class Plan:
    """What to send for one call, and how each row maps back to it.

    A *unit* is one distinct input value. `bodies[r]` is request r without `providers` and `name` (transports add
    them); a unit lives in request `unit_request[u]`, at position `unit_slot[u]` of the packed input list (-1 when
    the request carries a single input); `row_unit[i]` is row i's unit, or -1 for a skipped row.
    """

    entry: Subfeature
    bodies: list[dict[str, Any]]
    unit_request: np.ndarray
    unit_slot: np.ndarray
    row_unit: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.row_unit)

    @property
    def skipped(self) -> int:
        return int((self.row_unit < 0).sum())

    @property
    def units(self) -> int:
        return len(self.unit_request)

    def items(self, providers: tuple[str, ...], extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The request items for one transport: each body with `providers` and its content-hash `name`."""
        joined = ",".join(providers)
        out = []
        for body in self.bodies:
            item = {**body, **(extra or {}), "providers": joined}
            item["name"] = request_name(item)
            out.append(item)
        return out


def request_name(item: dict[str, Any]) -> str:
    """A content hash of a request item (without its own name): equal bodies, equal names."""
    payload = {k: v for k, v in item.items() if k != "name"}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return "ef-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def input_values(values: pd.Series, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The row inputs as an object array, and the mask of rows to send (not NA, not blank).

    Raises before anything is sent when a cell holds something other than text.
    """
    raw = values.to_numpy(dtype=object)
    present = values.notna().to_numpy(dtype=bool)
    is_text = np.fromiter((isinstance(v, str) for v in raw[present]), dtype=bool, count=int(present.sum()))
    if not is_text.all():
        position = int(np.flatnonzero(present)[np.flatnonzero(~is_text)[0]])
        bad = raw[position]
        raise ValidationError(
            f"column {column!r} holds a {type(bad).__name__} ({bad!r}) at row {values.index[position]!r}; "
            f"this method takes text. Convert first, e.g. df[{column!r}].astype('string')"
        )
    sendable = present.copy()
    sendable[present] = np.fromiter((bool(v.strip()) for v in raw[present]), dtype=bool, count=int(present.sum()))
    return raw, sendable


def plan_requests(entry: Subfeature, values: pd.Series, column: str, params: dict[str, Any]) -> Plan:
    """Build the plan for `values` (one input per row) with the subfeature parameters `params`."""
    raw, sendable = input_values(values, column)
    if entry.max_input_chars is not None and sendable.any():
        lengths = np.fromiter((len(v) for v in raw[sendable]), dtype=np.int64, count=int(sendable.sum()))
        if lengths.max() > entry.max_input_chars:
            position = int(np.flatnonzero(sendable)[int(np.argmax(lengths))])
            raise ValidationError(
                f"column {column!r}: the text at row {values.index[position]!r} has {int(lengths.max())} characters, "
                f"more than the {entry.max_input_chars} that {entry.path} accepts; split or truncate it first"
            )
    codes, uniques = pd.factorize(raw[sendable])
    row_unit = np.full(len(raw), -1, dtype=np.int64)
    row_unit[sendable] = codes
    distinct = list(uniques)
    n_units = len(distinct)
    if entry.pack is None:
        bodies = [{**params, entry.input_field: value} for value in distinct]
        unit_request = np.arange(n_units, dtype=np.int64)
        unit_slot = np.full(n_units, -1, dtype=np.int64)
    else:
        size = entry.pack.max_items
        bodies = [{**params, entry.input_field: distinct[start : start + size]} for start in range(0, n_units, size)]
        positions = np.arange(n_units, dtype=np.int64)
        unit_request = positions // size
        unit_slot = positions % size
    return Plan(entry=entry, bodies=bodies, unit_request=unit_request, unit_slot=unit_slot, row_unit=row_unit)
