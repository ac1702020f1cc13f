"""The small type language of the catalog: each output field's type, and how it maps to pyarrow and pandas.

Types come from Eden AI's own standardized dataclasses (wire-format.md section 5), never from the data, so a column
has the same dtype whether the run returned a thousand values or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa


@dataclass(frozen=True)
class Scalar:
    """A string, float, integer or boolean."""

    kind: str  # "string" | "float" | "int" | "bool"

    def arrow(self) -> pa.DataType:
        return _SCALAR_ARROW[self.kind]

    def dtype(self) -> Any:
        return _SCALAR_DTYPE[self.kind]


@dataclass(frozen=True)
class Enum:
    """A label from a fixed list: a `category` column with exactly these categories."""

    values: tuple[str, ...]

    def arrow(self) -> pa.DataType:
        return pa.string()

    def dtype(self) -> Any:
        return pd.CategoricalDtype(list(self.values))


@dataclass(frozen=True)
class ListOf:
    """A list of values of one type (items, entities, boxes, answers)."""

    item: Type

    def arrow(self) -> pa.DataType:
        return pa.list_(self.item.arrow())

    def dtype(self) -> Any:
        return pd.ArrowDtype(self.arrow())


@dataclass(frozen=True)
class Struct:
    """An object with named fields, in the order Eden's dataclass declares them."""

    fields: tuple[tuple[str, Type], ...]

    def arrow(self) -> pa.DataType:
        return pa.struct([(name, t.arrow()) for name, t in self.fields])

    def dtype(self) -> Any:
        return pd.ArrowDtype(self.arrow())

    def field(self, name: str) -> Type:
        for field_name, t in self.fields:
            if field_name == name:
                return t
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)


@dataclass(frozen=True)
class Mapping:
    """A free-form object (syntax `others`, receipt `receipt_infos`): string keys, values kept as strings."""

    def arrow(self) -> pa.DataType:
        return pa.map_(pa.string(), pa.string())

    def dtype(self) -> Any:
        return pd.ArrowDtype(self.arrow())


@dataclass(frozen=True)
class Embedding:
    """A vector of floats: float32 lists, ready for `df.eden.matrix`."""

    def arrow(self) -> pa.DataType:
        return pa.list_(pa.float32())

    def dtype(self) -> Any:
        return pd.ArrowDtype(self.arrow())


Type = Scalar | Enum | ListOf | Struct | Mapping | Embedding

STR = Scalar("string")
FLOAT = Scalar("float")
INT = Scalar("int")
BOOL = Scalar("bool")

_SCALAR_ARROW = {"string": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
_SCALAR_DTYPE = {"string": pd.StringDtype(), "float": "float64", "int": "Int64", "bool": "boolean"}


def struct(**fields: Type) -> Struct:
    """`struct(label=STR, score=FLOAT)`: keyword order is the field order."""
    return Struct(tuple(fields.items()))


def list_of(item: Type) -> ListOf:
    return ListOf(item)


def enum(*values: str) -> Enum:
    return Enum(tuple(values))


def items_of(**fields: Type) -> ListOf:
    """The common `items: [{...}]` shape."""
    return ListOf(struct(**fields))
