"""The small type language of the catalog: each parameter's and output field's type, and its behaviour.

Types come from Eden AI's own standardized dataclasses and request schemas (wire-format.md section 5), never from
the data, so a column has the same dtype whether the run returned a thousand values or none.

Each type carries its behaviour (pandera's `DataType.check/coerce` is the model), so the client's validator, the
emulator's, the CLI, the docs and the tests share one implementation:

- `check(value)`: None when `value` is a valid wire value of the type (what Eden AI's request schema accepts, JSON
  Schema's reading: `2.0` is an integer), else a `Problem` saying where and what it must be;
- `coerce(value)`: the Python-side normalisations a caller may rely on before `check`: numpy scalars and arrays to
  Python numbers and lists, tuples to lists, an integral float to an int. Never text to numbers (`"2"` stays a
  string and fails `check`: that is a mistake in Python code, and on the wire Eden's JSON Schema refuses it too);
- `parse(text)`: a value from text, for the command line and multipart form fields ("2" -> 2, "true" -> True,
  JSON for lists and objects, "a,b" for a list of strings); raises `ValueError` saying what was expected;
- `label()`: the type for people (docs tables, error messages): "integer", "list of string", "one of `a`, `b`";
- `sample(name, source)`: a valid value, for tests and examples; varied, drawn from `source`, for the emulator's
  synthetic answers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa


@dataclass(frozen=True)
class Problem:
    """Why a value does not fit a type: where in the value, a code, what it must be, and the offending part.

    `path` holds list indexes and object keys from the top of the value (empty when the value itself is wrong);
    `code` names the rule broken, so each side words it its own way (the emulator as Eden AI's DRF messages):
    "choice", "string", "number", "finite", "integer", "boolean", "list", "object", "unknown_keys", "required".
    """

    path: tuple[int | str, ...]
    code: str
    expected: str  # "must be one of ['user', 'assistant']"
    value: Any  # the offending part of the value
    detail: tuple[str, ...] = ()  # the unknown or missing keys; the allowed ones come from the type

    def where(self) -> str:
        """ "item 0, key 'role'", or "" for the value itself."""
        return ", ".join(f"item {p}" if isinstance(p, int) else f"key {p!r}" for p in self.path)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.expected}" if where else self.expected

    def within(self, step: int | str) -> Problem:
        return Problem((step, *self.path), self.code, self.expected, self.value, self.detail)


class Source(Protocol):
    """Where `sample` draws varied values from (the emulator's synthetic answers: a deterministic stream)."""

    def below(self, n: int) -> int: ...
    def unit(self) -> float: ...
    def token(self) -> str: ...
    def string(self, name: str) -> str: ...
    def embedding(self) -> list[float]: ...


def _plain(value: Any) -> Any:
    """numpy scalars to their Python equivalents (np.int64 -> int, np.str_ -> str); anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _as_list(value: Any) -> Any:
    """A tuple or a 1-d numpy array as a list (of Python scalars); anything else unchanged."""
    if isinstance(value, np.ndarray):
        return value.tolist() if value.ndim == 1 else value
    return list(value) if isinstance(value, tuple) else value


def _json_text(text: str, what: str, example: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"expected {what} in JSON, e.g. {example}") from None


@dataclass(frozen=True)
class Scalar:
    """A string, float, integer or boolean."""

    kind: str  # "string" | "float" | "int" | "bool"

    def arrow(self) -> pa.DataType:
        return _SCALAR_ARROW[self.kind]

    def dtype(self) -> Any:
        return _SCALAR_DTYPE[self.kind]

    def check(self, value: Any) -> Problem | None:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind == "string":
            ok, code = isinstance(value, str), "string"
        elif self.kind == "bool":
            ok, code = isinstance(value, bool), "boolean"
        elif not is_number:
            ok, code = False, "integer" if self.kind == "int" else "number"
        elif not math.isfinite(value):  # NaN and infinities are not JSON numbers
            ok, code = False, "finite"
        elif self.kind == "int":
            ok, code = isinstance(value, int) or float(value).is_integer(), "integer"
        else:
            ok, code = True, "number"
        return None if ok else Problem((), code, f"must be {_SCALAR_PHRASE[code]}", value)

    def coerce(self, value: Any) -> Any:
        value = _plain(value)
        if self.kind == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def parse(self, text: str) -> Any:
        if self.kind == "string":
            return text
        if self.kind == "bool":
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "1"):
                return True
            if lowered in ("false", "no", "0"):
                return False
            raise ValueError("expected true or false")
        try:
            return int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise ValueError(f"expected {_SCALAR_PHRASE['integer' if self.kind == 'int' else 'number']}") from None

    def label(self) -> str:
        return {"string": "string", "float": "number", "int": "integer", "bool": "boolean"}[self.kind]

    def sample(self, name: str = "value", source: Source | None = None) -> Any:
        if source is None:
            return {"string": f"{name} value", "float": 0.5, "int": 1, "bool": False}[self.kind]
        if self.kind == "string":
            return source.string(name)
        if self.kind == "float":
            return round(source.unit(), 4)
        return source.below(6) if self.kind == "int" else bool(source.below(2))


@dataclass(frozen=True)
class Enum:
    """A label from a fixed list: a `category` column with exactly these categories."""

    values: tuple[str, ...]

    def arrow(self) -> pa.DataType:
        return pa.string()

    def dtype(self) -> Any:
        return pd.CategoricalDtype(list(self.values))

    def check(self, value: Any) -> Problem | None:
        if isinstance(value, str) and value in self.values:
            return None
        return Problem((), "choice", f"must be one of {list(self.values)}", value)

    def coerce(self, value: Any) -> Any:
        return _plain(value)

    def parse(self, text: str) -> Any:
        return text

    def label(self) -> str:
        return "one of " + ", ".join(f"`{v}`" if v else '`""`' for v in self.values)

    def sample(self, name: str = "value", source: Source | None = None) -> Any:
        if not self.values:
            return ""
        return self.values[source.below(len(self.values)) if source is not None else 0]


@dataclass(frozen=True)
class ListOf:
    """A list of values of one type (items, entities, boxes, answers)."""

    item: Type

    def arrow(self) -> pa.DataType:
        return pa.list_(self.item.arrow())

    def dtype(self) -> Any:
        return pd.ArrowDtype(self.arrow())

    def check(self, value: Any) -> Problem | None:
        return _check_list(self.item, value)

    def coerce(self, value: Any) -> Any:
        value = _as_list(value)
        return [self.item.coerce(v) for v in value] if isinstance(value, list) else value

    def parse(self, text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            if self.item == STR:  # a list of strings also as "a,b"
                return [part.strip() for part in text.split(",") if part.strip()]
            raise ValueError(f"expected a list in JSON, e.g. '{json.dumps([self.item.sample()])}'") from None

    def label(self) -> str:
        return f"list of {self.item.label()}"

    def sample(self, name: str = "value", source: Source | None = None) -> Any:
        count = 1 + source.below(3) if source is not None else 1
        return [self.item.sample(name, source) for _ in range(count)]


@dataclass(frozen=True)
class Struct:
    """An object with named fields, in the order Eden's dataclass declares them."""

    fields: tuple[tuple[str, Type], ...]
    # Keys a request value must hold (Eden's request schemas' `required`); outputs may lack any field.
    required: frozenset[str] = field(default=frozenset())

    def arrow(self) -> pa.DataType:
        return pa.struct([(name, t.arrow()) for name, t in self.fields])

    def dtype(self) -> Any:
        return pd.ArrowDtype(self.arrow())

    def requiring(self, *names: str) -> Struct:
        """This struct with `names` required in request values."""
        unknown = set(names) - set(self.names)
        if unknown:
            raise ValueError(f"requiring unknown fields {sorted(unknown)}")
        return Struct(self.fields, frozenset(names))

    def check(self, value: Any) -> Problem | None:
        if not isinstance(value, dict):
            return Problem((), "object", "must be a dict", value)
        extra = [k for k in value if k not in self.names]
        if extra:
            return Problem(
                (), "unknown_keys", f"has unknown keys {sorted(map(str, extra))}; allowed: {list(self.names)}",
                value, tuple(sorted(map(str, extra))),
            )  # fmt: skip
        for name, t in self.fields:
            if value.get(name) is not None:  # an optional key may be null (Eden's request schemas: nullable)
                problem = t.check(value[name])
                if problem is not None:
                    return problem.within(name)
        missing = [k for k in self.names if k in self.required and value.get(k) is None]
        if missing:
            return Problem((), "required", f"needs the keys {missing}", value, tuple(missing))
        return None

    def coerce(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        types = dict(self.fields)
        return {k: types[k].coerce(v) if k in types else v for k, v in value.items()}

    def parse(self, text: str) -> Any:
        return _json_text(text, "an object", f"'{json.dumps(self.sample())}'")

    def label(self) -> str:
        return "object with " + ", ".join(f"`{name}`" for name in self.names)

    def sample(self, name: str = "value", source: Source | None = None) -> Any:
        return {field_name: t.sample(field_name, source) for field_name, t in self.fields}

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

    def check(self, value: Any) -> Problem | None:
        return None if isinstance(value, dict) else Problem((), "object", "must be a dict", value)

    def coerce(self, value: Any) -> Any:
        return value

    def parse(self, text: str) -> Any:
        return _json_text(text, "an object", """'{"key": "value"}'""")

    def label(self) -> str:
        return "object"

    def sample(self, name: str = "value", source: Source | None = None) -> Any:
        if source is None:
            return {"key": "value"}
        return {f"{name}_{k}": f"value-{source.token()}" for k in range(1 + source.below(2))}


@dataclass(frozen=True)
class Embedding:
    """A vector of floats: float32 lists, ready for `df.eden.matrix`."""

    def arrow(self) -> pa.DataType:
        return pa.list_(pa.float32())

    def dtype(self) -> Any:
        return pd.ArrowDtype(self.arrow())

    def check(self, value: Any) -> Problem | None:
        return _check_list(FLOAT, value)

    def coerce(self, value: Any) -> Any:
        return ListOf(FLOAT).coerce(value)

    def parse(self, text: str) -> Any:
        return ListOf(FLOAT).parse(text)

    def label(self) -> str:
        return "list of numbers"

    def sample(self, name: str = "value", source: Source | None = None) -> Any:
        return source.embedding() if source is not None else [0.1, 0.2]


Type = Scalar | Enum | ListOf | Struct | Mapping | Embedding

STR = Scalar("string")
FLOAT = Scalar("float")
INT = Scalar("int")
BOOL = Scalar("bool")

_SCALAR_ARROW = {"string": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
_SCALAR_DTYPE = {"string": pd.StringDtype(), "float": "float64", "int": "Int64", "bool": "boolean"}
_SCALAR_PHRASE = {
    "string": "a string",
    "number": "a number",
    "finite": "a finite number",
    "integer": "an integer",
    "boolean": "True or False",
}


def _check_list(item: Type, value: Any) -> Problem | None:
    if not isinstance(value, list):
        return Problem((), "list", "must be a list", value)
    for index, element in enumerate(value):
        problem = item.check(element)
        if problem is not None:
            return problem.within(index)
    return None


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


def json_schema(t: Type) -> dict[str, Any]:
    """The strict JSON Schema of a catalog type, for an LLM's structured output (`response_format`).

    Strict as OpenAI-style structured output wants it: every object lists all its properties in `required` and
    allows no others; an `Enum` becomes a string `enum` (so the reply's label is one of the column's categories);
    an `Embedding` an array of numbers. A free-form `Mapping` (syntax's `others`) has no strict form: the field is
    left out of its object, so that value stays missing, as when a provider omits it.
    """
    if isinstance(t, Scalar):
        return {"type": {"string": "string", "float": "number", "int": "integer", "bool": "boolean"}[t.kind]}
    if isinstance(t, Enum):
        return {"type": "string", "enum": list(t.values)}
    if isinstance(t, ListOf):
        return {"type": "array", "items": json_schema(t.item)}
    if isinstance(t, Embedding):
        return {"type": "array", "items": {"type": "number"}}
    if isinstance(t, Struct):
        properties = {name: json_schema(sub) for name, sub in t.fields if not isinstance(sub, Mapping)}
        return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    raise TypeError(f"{t!r} has no strict JSON Schema (a free-form object): leave it out of the schema asked for")
