"""Test helpers: sample parameter values for any catalog entry, built from its schema."""

from __future__ import annotations

from typing import Any

from edenframe import Subfeature
from edenframe._schema import STR, Type, list_of
from edenframe.testing import Call, EdenEmulator


def sample_value(name: str, t: Type) -> Any:
    """A valid value for a parameter of type `t` (labels and examples chosen so they fit together)."""
    if name == "labels":
        return ["spam", "not spam"]
    if name == "examples" and t == list_of(list_of(STR)):
        return [["win money now", "spam"], ["see you at lunch", "not spam"]]
    if "language" in name and t == STR:
        return "en"
    return t.sample(name)


def required_params(entry: Subfeature) -> dict[str, Any]:
    """Values for every required parameter of `entry` (what a minimal call must pass)."""
    out = {}
    for p in entry.params:
        if p.required:
            out[p.name] = "fr" if p.name == "target_language" else sample_value(p.name, p.type)
    return out


def sent(emu: EdenEmulator) -> list[Call]:
    """The emulator's calls that did or fetched work: all but reads of the public info endpoints (provider lists),
    which edenframe may make while validating a call, before it sends anything."""
    return [c for c in emu.calls if not (c.method == "GET" and "/info" in c.path)]
