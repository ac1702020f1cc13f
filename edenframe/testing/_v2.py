"""The Eden AI v2 endpoints' helpers: what a provider sees of a request, the emulator's input hooks, the info
endpoint's unpriced objects."""

from __future__ import annotations

from typing import Any

from .._catalog import Subfeature
from ._synthetic import canonical_input


def _unpriced_provider_subfeature(entry: Subfeature, provider: str) -> dict[str, Any]:
    """A v2 `ProviderSubfeature` object (every required field) for a provider the price table does not price."""
    return {
        "name": f"{provider}__{entry.feature}__{entry.subfeature}",
        "version": "",
        "pricings": [],
        "is_working": True,
        "description_title": None,
        "description_content": None,
        "provider": {"name": provider, "fullname": provider, "description": None},
        "feature": {"name": entry.feature, "fullname": entry.feature, "description": None},
        "subfeature": {"name": entry.subfeature, "fullname": entry.subfeature, "description": None},
        "constraints": {},
        "models": {},
        "tts_models": {},
        "llm_details": {},
        "languages": [],
        "phase": "",
        "regions": [],
    }


def _input_hits(entry: Subfeature, body: dict[str, Any], values: frozenset[str]) -> bool:
    if not values:
        return False
    value = canonical_input(entry, body)
    if isinstance(value, list):
        return any(isinstance(v, str) and v in values for v in value)
    return isinstance(value, str) and value in values


def _request_item(entry: Subfeature, body: dict[str, Any]) -> dict[str, Any]:
    """What a provider sees: the input and the subfeature's parameters (no options, no `name`)."""
    keep = {entry.input_field, "file", *(p.name for p in entry.params)}
    return {k: v for k, v in body.items() if k in keep}


def _run_local(path: str, items: list[dict[str, Any]]) -> list[Any]:
    from .._local import local_compute

    return list(local_compute(path)(items))


def _request_item_value(body: dict[str, Any]) -> Any:
    return {k: v for k, v in body.items() if not isinstance(v, (bytes, bytearray))}
