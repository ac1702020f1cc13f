"""The catalog: one declarative entry per Eden AI subfeature. Everything else is driven by it.

The accessor's named methods, parameter validation, output dtypes, the emulator's synthetic outputs and request
packing all read these entries; none of them has per-subfeature code. The model lives in `_model.py`, the entries
themselves in `_entries.py` (data only), those of v3's own subfeatures in `_v3_entries.py` (derived from
`_v3_models`); this module looks them up.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from ._model import MISSING, InputKind, Media, Pack, Param, Subfeature

__all__ = ["MISSING", "InputKind", "Media", "Pack", "Param", "Subfeature", "all_subfeatures", "get_subfeature"]


@dataclass
class _Index:
    by_path: dict[str, Subfeature] = field(default_factory=dict)
    by_method: dict[str, Subfeature] = field(default_factory=dict)


_INDEX: _Index | None = None


def _index() -> _Index:
    global _INDEX
    if _INDEX is None:
        from ._entries import ENTRIES
        from ._v3_entries import v3_entries

        index = _Index()
        for entry in (*ENTRIES, *v3_entries()):  # v2's subfeatures, then v3's own
            if entry.path in index.by_path or entry.method in index.by_method:
                raise RuntimeError(f"duplicate catalog entry {entry.path} / {entry.method}")
            index.by_path[entry.path] = entry
            index.by_method[entry.method] = entry
        _INDEX = index
    return _INDEX


def all_subfeatures() -> tuple[Subfeature, ...]:
    """Every catalog entry, in catalog order."""
    return tuple(_index().by_path.values())


def get_subfeature(name: str) -> Subfeature:
    """The entry for `"feature/subfeature"` or a method name; a clear error with close matches otherwise."""
    from .._errors import ValidationError

    index = _index()
    if name in index.by_path:
        return index.by_path[name]
    if name in index.by_method:
        return index.by_method[name]
    candidates = list(index.by_path) + list(index.by_method)
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValidationError(
        f"unknown subfeature {name!r}.{hint} Use 'feature/subfeature' as in the API path, "
        "e.g. 'text/sentiment_analysis'; edenframe.subfeatures() lists all of them."
    )
