"""`EdenEmulator(responses=...)` on v3: a test's fixed answer for a provider, served by the universal-ai routes (sync
and async) and `POST /v3/embeddings` as v2's routes serve it.

`responses` maps a path to `{provider: provider object}` as on v2 (`{"text/moderation": {"google": {...}}}`). On v3
an object is found under the v3 subfeature's path ("audio/tts", "ocr/financial_parser", "ocr/ocr_async"), or under
a v2 catalog path that v3 serves with the same output fields ("text/moderation"; "audio/text_to_speech", narrowed
to v3's `audio_resource_url`). Invoices and receipts are the exception: v3 answers them with the financial
parser's own fields, so their fixed answers go under "ocr/financial_parser" in those fields. The provider is looked
up by its spec as sent ("openai/gpt-4o"), then by its name ("openai").

An object becomes the v3 answer: its fields (but `status`, `cost`, `usage`, `original_response`, `provider`) are the
`output`, its `cost` the cost (0.0 without one); `"status": "fail"` makes the provider fail with its
`error.message`, so fallbacks are tried as for any failure. For embeddings, the object's `items[i].embedding` is
the vector of the request's i-th input (inputs past the end of `items` get none, as a short answer would).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .._catalog import get_subfeature
from .._v3_models import V3Subfeature, v2_paths_of

Responses = Mapping[str, Mapping[str, Any]]
_NOT_OUTPUT = ("status", "cost", "usage", "original_response", "provider")


class ProviderFailure(Exception):
    """A fixed answer with `status: "fail"`: the provider failed with this message."""


def _same_output(sub: V3Subfeature, v2_path: str) -> bool:
    """Whether v3 answers `sub` with the v2 entry's fields (all of them, or a subset such as text to speech's)."""
    if sub.output is None:
        return True
    v2 = get_subfeature(v2_path).output
    return all(name in v2.names and v2.field(name) == t for name, t in sub.output.fields)


def _keys(sub: V3Subfeature) -> list[str]:
    return [sub.path, *(p for p in v2_paths_of(sub.path) if _same_output(sub, p))]


def providers(responses: Responses, sub: V3Subfeature) -> list[str]:
    """The provider names the fixed answers add to a subfeature's served list."""
    return [spec.split("/", 1)[0] for key in _keys(sub) for spec in responses.get(key, {})]


def _find(responses: Responses, keys: list[str], spec: str) -> dict[str, Any] | None:
    for key in keys:
        objects = responses.get(key) or {}
        found = objects.get(spec, objects.get(spec.split("/", 1)[0]))
        if found is not None:
            return copy.deepcopy(dict(found))
    return None


def _raise_if_failed(obj: dict[str, Any]) -> None:
    """A fixed answer with `status: "fail"` fails its provider, with the answer's message."""
    if obj.get("status") == "fail":
        error = obj.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        raise ProviderFailure(str(message or "the provider failed (fixed response)"))


def answer(responses: Responses, sub: V3Subfeature, spec: str) -> tuple[dict[str, Any], float] | None:
    """(output, cost) of the fixed answer for this provider spec, or None; raises ProviderFailure for a failed one."""
    if not responses:
        return None
    obj = _find(responses, _keys(sub), spec)
    if obj is None:
        return None
    _raise_if_failed(obj)
    output = {k: v for k, v in obj.items() if k not in _NOT_OUTPUT}
    if sub.output is not None:  # a narrower output than v2's (text to speech): v3's fields only
        output = {name: output.get(name) for name in sub.output.names if name in output}
    return output, float(obj.get("cost") or 0.0)


def vectors(responses: Responses, path: str, model: str, count: int) -> tuple[list[Any], float] | None:
    """The fixed embeddings for a `/v3/embeddings` request of `count` inputs: (vectors, cost), or None."""
    if not responses:
        return None
    obj = _find(responses, [path], model)
    if obj is None:
        return None
    _raise_if_failed(obj)
    items = obj.get("items") if isinstance(obj.get("items"), list) else []
    found = [item.get("embedding") if isinstance(item, dict) else None for item in items[:count]]
    return found, float(obj.get("cost") or 0.0)
