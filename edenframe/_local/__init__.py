"""The offline `local` provider: real computations from packages that ship their models, no API key, no network.

Each implementation is a function `compute(items: list[dict]) -> list[dict]` in its own module: it receives request
items (the input field and the subfeature's parameters, as they would be sent to Eden AI) and returns one provider
object per item in Eden AI's standardized shape (`{...fields, "status": "success", "cost": 0.0}`, or
`{"status": "fail", "error": {"message": ...}, "cost": 0.0}` for an item it cannot process). Work is batched over
the items where the library allows it. Modules are imported lazily, so a missing optional extra only matters when
its subfeature is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .._catalog import get_subfeature
from .._errors import MissingDependencyError, ValidationError
from ._objects import ItemError

# subfeature path -> ("module[:function]" under edenframe._local, pip extra that provides its packages).
# The function defaults to `compute`; a module may also define `check(params)`, a pre-flight check of the call's
# parameters that raises ValidationError before anything runs (e.g. a translation pair that is not installed), and
# `MIN_CHUNK_ITEMS`, the fewest items worth one call.
IMPLEMENTATIONS: dict[str, tuple[str, str]] = {
    "text/sentiment_analysis": ("sentiment", "local"),
    "translation/language_detection": ("language_detection", "local"),
    "text/keyword_extraction": ("keywords", "local"),
    "text/summarize": ("summarize", "local"),
    "text/spell_check": ("spell_check", "local"),
    "text/moderation": ("moderation", "local"),
    "text/anonymization": ("anonymization", "local"),
    "text/embeddings": ("embeddings", "local"),
    "text/topic_extraction": ("topics", "local"),
    "text/search": ("search", "local"),
    "text/named_entity_recognition": ("nlp:compute_ner", "local-nlp"),
    "text/syntax_analysis": ("nlp:compute_syntax", "local-nlp"),
    "translation/automatic_translation": ("translation", "local"),
    "ocr/ocr": ("ocr", "local-vision"),
    "image/face_detection": ("faces", "local-vision"),
    "audio/text_to_speech": ("speech", "local-vision"),
}


def has_local(path: str) -> bool:
    """True when the `local` provider implements this subfeature. The one answer to that question: the catalog is
    data and knows no backend, so everything else (the pipeline, the docs, the emulator) asks here."""
    return path in IMPLEMENTATIONS


def local_compute(path: str) -> Callable[[list[dict]], list[dict]]:
    """The compute function for a subfeature, importing its backend (clear errors when it cannot)."""
    module, function = _backend(path)
    return getattr(module, function)


def local_min_chunk(path: str) -> int:
    """The fewest items a call into the backend should carry: its `MIN_CHUNK_ITEMS`, for backends with a large fixed
    cost per call (a process started per call), else 1."""
    module, _ = _backend(path)
    return int(getattr(module, "MIN_CHUNK_ITEMS", 1))


def local_check(path: str, params: dict[str, Any]) -> None:
    """Pre-flight checks of a local call: the backend imports, and its own `check(params)` when it has one (which
    raises ValidationError, or ItemError with the reason alone)."""
    module, _ = _backend(path)
    check = getattr(module, "check", None)
    if check is not None:
        try:
            check(params)
        except ItemError as exc:
            raise _refusal(path, str(exc)) from None


# A plain English sentence: any valid call of a text backend succeeds on it, so a failure names a bad parameter.
PROBE_TEXT = "The battery lasts two days and the screen is bright."


def local_probe(path: str, params: dict[str, Any]) -> None:
    """Refuse a call whose parameters would fail every row (language='fr' for the English-only sentiment model,
    embedding dimensions the model does not have, an empty search query): the backend runs once on a plain sample
    with the call's parameters, and its failure becomes a ValidationError before any row is computed. For text
    backends without their own `check`; slow work (a model loading), so callers run it off the event loop."""
    module, function = _backend(path)
    entry = get_subfeature(path)
    if getattr(module, "check", None) is not None or entry.input_kind not in ("text", "texts"):
        return
    value = [PROBE_TEXT] if entry.pack is not None else PROBE_TEXT
    try:
        (result,) = getattr(module, function)([{**params, entry.input_field: value}])
    except (MissingDependencyError, ValidationError):
        raise
    except Exception:  # a backend crash is the run's to report, row by row
        return
    if isinstance(result, dict) and result.get("status") == "fail":
        error = result.get("error")
        raise _refusal(path, str(error.get("message") if isinstance(error, dict) else error))


def _refusal(path: str, reason: str) -> ValidationError:
    """The error refusing a local call, with the backend's reason and, unless it gives one, the way out."""
    entry = get_subfeature(path)
    message = reason.rstrip(". ")
    if "remote provider" not in message:
        examples = ", ".join(entry.providers[:4]) or "one listed by Eden AI"
        message += f"; change the parameter, or pass providers= with a remote provider (e.g. {examples})"
    return ValidationError(f"the 'local' provider cannot do this {entry.method}() call: {message}")


def _backend(path: str) -> tuple[ModuleType, str]:
    if path not in IMPLEMENTATIONS:
        entry = get_subfeature(path)
        others = ", ".join(entry.providers[:6]) or "a provider listed by Eden AI"
        raise ValidationError(
            f"the 'local' provider has no offline implementation of {path}. "
            f"Pass providers= with a remote provider (e.g. {others}) and set EDENAI_API_KEY."
        )
    target, extra = IMPLEMENTATIONS[path]
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ImportError as exc:
        raise MissingDependencyError(
            f"the 'local' provider for {path} needs packages that are not installed ({exc.name or exc}). "
            f"Install them with: pip install 'edenframe[{extra}]'"
        ) from exc
    return module, function or "compute"
