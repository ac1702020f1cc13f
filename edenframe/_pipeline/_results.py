"""Per-unit results of one provider for one window of units: filled from the cache and from transport outcomes as
they arrive, then handed to the frame builder and dropped (so memory stays bounded by the window)."""

from __future__ import annotations

from typing import Any

from .._catalog import Subfeature
from .._gc import collector_paused
from .._transport import Outcome
from ._plan import Requests


class UnitResults:
    """One provider's results for units `start .. start + size - 1`: a record or an error each, and its cost.

    Plain lists rather than numpy arrays: they are written one element at a time, where lists are much faster.
    """

    __slots__ = ("cached", "costs", "done", "errors", "provider", "records", "start")

    def __init__(self, provider: str, start: int, size: int) -> None:
        self.provider = provider
        self.start = start
        self.records: list[dict[str, Any] | None] = [None] * size
        self.errors: list[str | None] = [None] * size
        # a request's charge sits on its first unit (0.0 on its others); a cached unit keeps what it cost then
        self.costs: list[float] = [0.0] * size
        self.cached: list[bool] = [False] * size
        self.done: list[bool] = [False] * size

    def set_record(self, unit: int, record: dict[str, Any], cost: float | None = None, cached: bool = False) -> None:
        local = unit - self.start
        self.records[local], self.errors[local], self.done[local], self.cached[local] = record, None, True, cached
        if cost is not None:
            self.costs[local] = cost

    def set_error(self, unit: int, message: str) -> None:
        local = unit - self.start
        if self.records[local] is not None:
            return  # a result that arrived (and was paid for) is never replaced by a later error about it
        self.records[local], self.errors[local], self.done[local] = None, message, True


def response_key(provider: str) -> str:
    """The key a provider's object has in a response: the provider name, without a `/model` suffix."""
    return provider.split("/", 1)[0]


def absorb(
    entry: Subfeature,
    requests: Requests,
    index: dict[str, int],
    outcomes: dict[str, Outcome],
    results: dict[str, UnitResults],
    keep: bool = True,
) -> tuple[list[tuple[str, int, dict[str, Any]]], float]:
    """Put each outcome's provider results on its units (`keep=False`: nothing to cache, so no list of successes).

    Returns the (provider, unit, record) triples that succeeded, and the cost these outcomes charged. `index` maps
    a request name to its position in `requests`. Values reach their units by request name and, for packed
    requests, by the item's position (or its index field): never by arrival order.
    """
    with collector_paused():
        succeeded: list[tuple[str, int, dict[str, Any]]] = []
        charged = 0.0
        pack_field = entry.pack.items_field if entry.pack is not None else None
        # per provider: its lists, looked up once rather than once per result
        targets = [
            (p, response_key(p), r, r.start, r.records, r.errors, r.done, r.costs)
            for p, r in ((p, results[p]) for p in requests.providers)
        ]
        units_of = requests.units
        # The hot loop of a large run (one pass per result): plain local lookups, no helper calls on the common path.
        for name, outcome in outcomes.items():
            position = index.get(name)
            if position is None:
                continue  # a result for a request this call did not make (a re-attached job's other items)
            units = units_of[position]
            response = outcome.response
            for provider, key, result, start, records, errors, done, costs in targets:
                first = units[0] - start
                if response is None:
                    obj, error = None, outcome.error or "no result"
                else:
                    obj = response.get(provider)
                    if obj is None:
                        obj = response.get(key)
                    if type(obj) is not dict:
                        obj, error = None, f"the response has no result for provider {provider!r}"
                    else:
                        status = obj.get("status")
                        error = None if status is None or status == "success" else _failure(provider, obj, status)
                        cost = obj.get("cost")
                        if cost.__class__ is float or (isinstance(cost, (int, float)) and not isinstance(cost, bool)):
                            costs[first] += cost
                            charged += cost
                if error is not None:
                    for unit in units:
                        result.set_error(unit, error)
                    continue
                if pack_field is None:
                    records[first] = obj
                    errors[first] = None
                    done[first] = True
                    if keep:
                        succeeded.append((provider, units[0], obj))  # type: ignore[arg-type]
                    continue
                packed = _unit_records(entry, obj, len(units))  # type: ignore[arg-type]
                if isinstance(packed, str):
                    for unit in units:
                        result.set_error(unit, packed)
                    continue
                for unit, record in zip(units, packed, strict=True):
                    if record is None:
                        result.set_error(unit, f"the provider returned no {pack_field} entry for this input")
                    elif record.get("status") == "fail":  # this input alone failed (v3 asks an LLM per text)
                        result.set_error(unit, _failure(provider, record, "fail") or "failed")
                    else:
                        result.set_record(unit, record)
                        if keep:
                            succeeded.append((provider, unit, record))
        return succeeded, charged


_FAILED_STATES = ("fail", "failed", "error")


def _failure(provider: str, obj: dict[str, Any], status: Any) -> str | None:
    """The error message of a provider object whose `status` is not "success" (None when it is not a failure)."""
    if str(status).lower() not in _FAILED_STATES:
        return None
    error = obj.get("error")
    message = str(error.get("message") or error) if isinstance(error, dict) else str(error or "no message")
    return f"{provider}: {message}"


def _unit_records(entry: Subfeature, obj: dict[str, Any], count: int) -> list[dict[str, Any] | None] | str:
    """The row-level record of each of a packed request's `count` inputs, or one error message for all of them."""
    pack = entry.pack
    assert pack is not None and pack.items_field is not None
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
