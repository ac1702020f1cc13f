"""text/topic_extraction offline: zero-shot over a shipped taxonomy with the local MiniLM embeddings.

Each label of `edenframe/data/topic-taxonomy.json` (25 labels modelled on IAB tier-1 categories) is embedded once
per process as "This text is about {label}."; a text's label scores are softmax(20 * cosine) over all labels, and
the 3 best labels become `items: [{category, importance}]`, best first. Importances of the 3 returned labels do
not sum to 1 (the rest of the mass is on the other labels). The model is English-only: an item whose `language` is
set to anything else fails; with `language` None the text is assumed to be English.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

from . import embeddings
from ._objects import fail

TAXONOMY_FILE = "topic-taxonomy.json"

_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Taxonomy:
    labels: tuple[str, ...]
    vectors: np.ndarray  # (labels, 384), unit length
    temperature: float
    top_k: int


@cache
def _load() -> _Taxonomy:
    spec = json.loads((embeddings.DATA_DIR / TAXONOMY_FILE).read_text(encoding="utf-8"))
    labels = tuple(str(label) for label in spec["labels"])
    prompt = str(spec.get("prompt", "This text is about {label}."))
    vectors = embeddings.embed([prompt.format(label=label) for label in labels])
    return _Taxonomy(
        labels=labels,
        vectors=vectors,
        temperature=float(spec.get("temperature", 20.0)),
        top_k=int(spec.get("top_k", 3)),
    )


def taxonomy() -> _Taxonomy:
    """The labels and their embeddings, computed once per process (thread-safe)."""
    with _LOCK:
        return _load()


def labels() -> tuple[str, ...]:
    """The categories this implementation can return."""
    return taxonomy().labels


def _is_english(language: object) -> bool:
    if language is None or language == "":
        return True
    return isinstance(language, str) and language.strip().lower().replace("_", "-").split("-")[0] in ("en", "eng")


def compute(items: list[dict]) -> list[dict]:
    """One `{items: [{category, importance}]}` per request item (top 3 labels); texts are embedded in one batch."""
    tax = taxonomy()
    results = [fail("text must be a non-empty string") for _ in items]
    valid: list[int] = []
    for k, item in enumerate(items):
        language = item.get("language")
        if not _is_english(language):
            results[k] = fail(
                f"the local provider's topic extraction supports English only (language='en'); got "
                f"language={language!r}. Use a remote provider for other languages."
            )
        elif isinstance(item.get("text"), str) and item["text"].strip():
            valid.append(k)
    vectors = embeddings.embed([items[k]["text"] for k in valid])
    scores = vectors @ tax.vectors.T  # cosine: all vectors are unit length
    for row, k in enumerate(valid):
        logits = tax.temperature * scores[row].astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        best = np.argsort(-probs, kind="stable")[: tax.top_k]
        results[k] = {
            "items": [{"category": tax.labels[i], "importance": round(float(probs[i]), 4)} for i in best],
            "status": "success",
            "cost": 0.0,
        }
    return results
