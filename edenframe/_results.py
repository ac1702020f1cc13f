"""Per-unit results of one provider: filled from the cache and from transport outcomes as they arrive."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._catalog import Subfeature
from ._plan import Requests
from ._transport import Outcome


@dataclass
class UnitResults:
    """One provider's result for every unit: a row-level record or an error, and what this run was charged."""

    provider: str
    records: list[dict[str, Any] | None]
    errors: list[str | None]
    costs: np.ndarray  # a request's charge sits on its first unit (0.0 on its others); cached units keep theirs
    cached: np.ndarray  # bool: answered from the cache
    done: np.ndarray = field(init=False)  # bool: has a record or an error

    def __post_init__(self) -> None:
        self.done = np.zeros(len(self.records), dtype=bool)

    @classmethod
    def empty(cls, provider: str, units: int) -> UnitResults:
        return cls(provider, [None] * units, [None] * units, np.zeros(units), np.zeros(units, dtype=bool))

    def set_record(self, unit: int, record: dict[str, Any], *, cached: bool = False) -> None:
        self.records[unit], self.errors[unit], self.done[unit] = record, None, True
        self.cached[unit] = cached

    def set_error(self, unit: int, message: str) -> None:
        self.records[unit], self.errors[unit], self.done[unit] = None, message, True

    @property
    def failed(self) -> int:
        return sum(error is not None for error in self.errors)


def response_key(provider: str) -> str:
    """The key a provider's object has in a response: the provider name, without a `/model` suffix."""
    return provider.split("/", 1)[0]


def absorb(
    entry: Subfeature, requests: Requests, index: dict[str, int], outcomes: dict[str, Outcome],
    results: dict[str, UnitResults],
) -> tuple[list[tuple[str, int, dict[str, Any]]], float]:
    """Put each outcome's provider results on its units.

    Returns the (provider, unit, record) triples that succeeded, and the cost these outcomes charged.

    `index` maps a request name to its position in `requests`. Values are matched to units by request name and,
    for packed requests, by the item's position (or its index field): never by arrival order.
    """
    succeeded: list[tuple[str, int, dict[str, Any]]] = []
    charged = 0.0
    for name, outcome in outcomes.items():
        position = index.get(name)
        if position is None:
            continue  # a result for a request this call did not make (a re-attached job's other items)
        units = requests.units[position]
        count = len(units)
        for provider in requests.providers:
            result = results[provider]
            obj, error = _provider_object(provider, outcome)
            if obj is not None:
                cost = obj.get("cost")
                if isinstance(cost, (int, float)) and not isinstance(cost, bool):
                    result.costs[units[0]] += float(cost)
                    charged += float(cost)
            if error is not None or obj is None:
                for unit in units:
                    result.set_error(unit, error or "no result")
                continue
            records = _unit_records(entry, obj, count)
            if isinstance(records, str):
                for unit in units:
                    result.set_error(unit, records)
                continue
            for unit, record in zip(units, records, strict=True):
                if record is None:
                    result.set_error(unit, f"the provider returned no {entry.pack.items_field} entry for this input")  # type: ignore[union-attr]
                else:
                    result.set_record(unit, record)
                    succeeded.append((provider, unit, record))
    return succeeded, charged


def _provider_object(provider: str, outcome: Outcome) -> tuple[dict[str, Any] | None, str | None]:
    if outcome.error is not None:
        return None, outcome.error
    response = outcome.response or {}
    obj = response.get(provider, response.get(response_key(provider)))
    if not isinstance(obj, dict):
        return None, f"the response has no result for provider {provider!r}"
    if str(obj.get("status", "success")).lower() in ("fail", "failed", "error"):
        error = obj.get("error")
        message = str(error.get("message") or error) if isinstance(error, dict) else str(error or "no message")
        return obj, f"{provider}: {message}"
    return obj, None


def _unit_records(entry: Subfeature, obj: dict[str, Any], count: int) -> list[dict[str, Any] | None] | str:
    """The row-level record of each of the request's `count` inputs, or one error message for all of them."""
    pack = entry.pack
    if pack is None or pack.items_field is None:
        return [obj]
    items = obj.get(pack.items_field)
    if not isinstance(items, list):
        return f"the response has no {pack.items_field!r} list"
    if pack.index_field is not None:
        by_index: dict[int, dict[str, Any]] = {}
        for item in items:
            index = item.get(pack.index_field) if isinstance(item, dict) else None
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count:
                by_index[index] = item
        return [by_index.get(slot) for slot in range(count)]
    if len(items) != count:
        # Items are matched by position: a count mismatch would misplace values, so fail these rows instead.
        return f"the provider returned {len(items)} {pack.items_field} for {count} inputs"
    return [item if isinstance(item, dict) else None for item in items]
