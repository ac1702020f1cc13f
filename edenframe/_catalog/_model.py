"""The catalog's model: what one entry says about a subfeature (`Subfeature`, `Param`, `Pack`, `Media`). Data only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .._schema import Struct, Type

InputKind = Literal["text", "texts", "file"]


class _Missing:
    def __repr__(self) -> str:
        return "<no default>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Param:
    """One subfeature-specific request field (besides the input and the common options)."""

    name: str
    type: Type
    required: bool = False
    default: Any = MISSING
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False
    description: str = ""
    # A value format checked before sending, beyond the type (a key of _formats.FORMAT_CHECKS): "language"
    format: str | None = None


@dataclass(frozen=True)
class Pack:
    """How a subfeature whose input is a list (`texts`) packs many rows into one request.

    `items_field` names the output list holding one item per input text; `index_field` names the item field that
    points back into `texts` (search sorts its items by score), or None when items come back in input order.
    `drop` lists item fields that are not row results (an echo of the input, a constant). With `items_field=None`
    each request carries one row and the whole output is that row's result.
    """

    max_items: int
    items_field: str | None = "items"
    index_field: str | None = None
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Media:
    """Where a subfeature's output carries a file (speech, images, documents), for `save_to=`.

    `payload` is the field with the base64 content and `url` the field with its download link; both sit in the
    output itself, or in each element of the list field `within` (image generation gives several images).
    """

    payload: str
    url: str
    kind: Literal["image", "audio", "document"]
    within: str | None = None


@dataclass(frozen=True)
class Subfeature:
    """One Eden AI subfeature: how to build its requests and the shape of its standardized output."""

    path: str  # "text/sentiment_analysis", as in the API path
    method: str  # the accessor method name, "sentiment"
    summary: str  # one line, first line of the method's docstring
    input_field: str  # request field that carries the row's value: "text", "texts", "file_url"
    input_kind: InputKind
    output: Struct  # the standardized output of one provider (wire-format.md section 5)
    params: tuple[Param, ...] = ()
    pack: Pack | None = None
    providers: tuple[str, ...] = ()  # providers Eden AI lists for it (documentation; never enforced client-side)
    max_input_chars: int | None = None
    media: Media | None = None
    notes: str = ""
    # New in Eden AI's v3 API (no v2 form): refused on a v2 base URL before any request (`_v3_entries.py`)
    v3_only: bool = False

    @property
    def feature(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def subfeature(self) -> str:
        return self.path.split("/", 1)[1]

    @property
    def row_output(self) -> Struct:
        """The fields that become one row's columns (for packed subfeatures: one item's fields)."""
        if self.pack is None or self.pack.items_field is None:
            return self.output
        items = self.output.field(self.pack.items_field)
        item = getattr(items, "item", None)
        if not isinstance(item, Struct):
            raise TypeError(f"{self.path}: packed field {self.pack.items_field!r} must be a list of objects")
        skip = set(self.pack.drop) | ({self.pack.index_field} if self.pack.index_field else set())
        return Struct(tuple((name, t) for name, t in item.fields if name not in skip))

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None
