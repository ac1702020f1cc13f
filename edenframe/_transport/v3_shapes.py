"""A v3 output whose fields differ from the v2 entry's, put back in v2's fields (`_v3_models.OutputMap`, as data).

The financial parser answers invoices and receipts with its own fields (`merchant_information.name`,
`payment_information.total`, ...); v2's invoice and receipt parsers had others (`merchant_name`, `invoice_total`).
`to_v2` builds v2's fields from the mapping so the typed columns are the same on both APIs. Pure functions on JSON
values: nothing here knows about HTTP.
"""

from __future__ import annotations

import math
from typing import Any

from .._schema import ListOf, Scalar, Struct, Type
from .._v3_models import OutputMap

_LIST = "[]"


def to_v2(shape: OutputMap, output: dict[str, Any], v2: Struct) -> dict[str, Any]:
    """v2's output for a v3 `output` (the provider object's fields: status, cost and the like are kept as they
    are). `v2` is the v2 entry's output type: values take its field types where they can."""
    out = {key: value for key, value in output.items() if key != shape.each}
    elements = output.get(shape.each)
    element_type = _element_type(v2, shape.each)
    if isinstance(elements, list):
        out[shape.each] = [_element(shape, e, element_type) for e in elements if isinstance(e, dict)]
    else:
        out[shape.each] = elements
    return out


def _element_type(v2: Struct, name: str) -> Struct | None:
    t = v2.field(name) if name in v2.names else None
    if isinstance(t, ListOf) and isinstance(t.item, Struct):
        return t.item
    return None


def _element(shape: OutputMap, source: dict[str, Any], t: Struct | None) -> dict[str, Any]:
    target: dict[str, Any] = {}
    lists: dict[str, list[tuple[str, str]]] = {}  # v2 list path -> (field inside an element, its v3 source)
    for v2_path, v3_path in shape.fields:
        if _LIST in v2_path:
            head, rest = v2_path.split(_LIST + ".", 1)
            lists.setdefault(head, []).append((rest, v3_path))
            continue
        _put(target, v2_path, _convert(_first(source, v3_path), _type_at(t, v2_path)))
    for head, fields in lists.items():
        item_type = _type_at(t, head)
        item_struct = item_type.item if isinstance(item_type, ListOf) and isinstance(item_type.item, Struct) else None
        _put(target, head, _list(source, fields, item_struct))
    return target


def _list(source: dict[str, Any], fields: list[tuple[str, str]], t: Struct | None) -> list[dict[str, Any]]:
    """A v2 list: element by element of the v3 list its sources name, or one element from fields outside lists."""
    within = [v3 for _, v3 in fields if _LIST in v3]
    if within:
        head = within[0].split(_LIST, 1)[0]
        items = _get(source, head)
        rows = []
        for item in items if isinstance(items, list) else []:
            row: dict[str, Any] = {}
            for name, v3 in fields:
                value = _first(item, v3.split(_LIST + ".", 1)[1]) if isinstance(item, dict) and _LIST in v3 else None
                _put(row, name, _convert(value, _type_at(t, name)))
            rows.append(row)
        return rows
    row = {}
    for name, v3 in fields:
        _put(row, name, _convert(_first(source, v3), _type_at(t, name)))
    return [row] if any(v is not None for v in row.values()) else []


def _first(source: dict[str, Any], alternatives: str) -> Any:
    for path in alternatives.split("|"):
        value = _get(source, path)
        if value is not None:
            return value
    return None


def _get(source: Any, path: str) -> Any:
    for step in path.split("."):
        if not isinstance(source, dict):
            return None
        source = source.get(step)
    return source


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for step in parents:
        target = target.setdefault(step, {})
    target[last] = value


def _type_at(t: Type | None, path: str) -> Type | None:
    for step in path.split("."):
        if not isinstance(t, Struct) or step not in t.names:
            return None
        t = t.field(step)
    return t


def _convert(value: Any, t: Type | None) -> Any:
    """`value` in the v2 field's type where the two differ only in form: a number where v2 has a string (receipts'
    amounts), a numeric string where v2 has a number. Anything else is left for the typing step to judge."""
    if not isinstance(t, Scalar) or value is None or isinstance(value, bool):
        return value
    if t.kind == "string" and isinstance(value, (int, float)):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return str(int(value))  # "12", not "12.0"
        return str(value)
    if t.kind == "float" and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value
